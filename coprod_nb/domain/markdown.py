"""THE escape for text typed or quoted by people when it goes into a Markdown output.

Notes, quotes, tension names and rationales are untrusted text: in a Markdown file a
renderer would turn ``[x](javascript:...)`` into a link, ``![i](http://host/x.png)`` into
an image fetched from another host, ``<script>`` into HTML, a ``|`` into a new table cell
and a leading ``#`` into a heading. :func:`md_text` makes such text show as itself in any
CommonMark or GitHub-flavoured renderer (JupyterLab, GitHub, VS Code, markdown-it,
Python-Markdown):

- ``&``, ``<`` and ``>`` become HTML entities (every renderer decodes them, none runs
  them): no raw HTML, no ``<...>`` autolink, no block quote;
- the characters that start inline syntax are backslash-escaped: ``\\`` `````` ``*``
  ``_`` ``[`` ``]`` ``|`` ``~`` ``$`` (code, emphasis, links and images, table cells,
  strike-through, maths);
- at the start of a line, what would start a block is escaped too: headings ``#``, list
  markers ``-``, ``+``, ``1.``, ``1)``, thematic breaks and setext underlines ``=``,
  ``-``; leading spaces (an indented code block) are dropped.

The escape is written by hand because no Markdown library offers one (they parse and
render, they do not quote); the tests render its output with markdown-it-py and check
that the visible text equals the text typed.
"""

from __future__ import annotations

import re

__all__ = ["md_cell", "md_line", "md_text"]

_INLINE = re.compile(r"([\\`*_\[\]|~$])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ORDERED = re.compile(r"^(\d{1,9})([.)])")


def _inline(text: str) -> str:
    text = "".join(_ENTITIES.get(c, c) for c in text)
    return _INLINE.sub(r"\\\1", text)


def _line(line: str) -> str:
    line = _inline(line.lstrip(" \t"))
    if line[:1] in ("#", "-", "+", "="):
        line = "\\" + line
    return _ORDERED.sub(r"\1\\\2", line)


def md_text(text: str) -> str:
    """``text`` as Markdown that renders as exactly this text (paragraphs kept).

    Lines are escaped one by one; line breaks stay as they are.
    """
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_line(x) for x in lines)


def md_line(text: str) -> str:
    """``text`` escaped for one line of Markdown (a heading, a list item): line breaks
    become spaces."""
    return _line(" ".join(str(text).split()))


def md_cell(text: str) -> str:
    """``text`` escaped for a cell of a Markdown table: line breaks become ``<br>``.

    A cell holds inline text only, so what starts a block needs no escape there.
    """
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(_inline(" ".join(x.split())) for x in lines)
