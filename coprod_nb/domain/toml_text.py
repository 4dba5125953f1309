"""TOML text: reading it under limits, and writing strings.

The standard library reads TOML (``tomllib``) but cannot write it, and recurses once per
nesting level, so a deeply nested file raises ``RecursionError``; :func:`load_toml`
checks the size and the nesting depth before ``tomllib`` sees the text.

Decision logs and course files are written with the string writers, and read back with
``tomllib``; hostile text round-trips (tested in ``tests/test_domain_decisions.py``).
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from coprod_nb.errors import InvalidInput

__all__ = ["MAX_TOML_CHARS", "MAX_TOML_DEPTH", "load_toml", "toml_basic", "toml_string"]

MAX_TOML_CHARS = 10 * 2**20
"""Longer TOML texts are refused: a decision log or manifest is a few hundred KB at most."""

MAX_TOML_DEPTH = 32
"""Arrays and inline tables nested deeper are refused (real files nest two or three)."""

# The pre-scan is hand-written because no TOML library offers a depth limit: it skips
# strings (the four kinds, with their escapes) and comments, and counts the brackets
# left. A malformed file may be scanned loosely; tomllib then names its error.
_TOKENS = re.compile(
    r'"""(?:\\[\s\S]|[^\\])*?"""{1,3}'
    r"|'''[\s\S]*?'''{1,3}"
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'[^'\n]*'"
    r"|#[^\n]*"
    r"|[\[{]|[\]}]"
)


def load_toml(text: str, *, file: str | None = None) -> dict[str, Any]:
    """Parse TOML text with ``tomllib`` after checking its size and nesting depth.

    Parameters
    ----------
    text : str
    file : str, optional
        The file's name, for messages.

    Returns
    -------
    dict

    Raises
    ------
    InvalidInput
        Longer than :data:`MAX_TOML_CHARS`, or arrays and inline tables nested deeper
        than :data:`MAX_TOML_DEPTH` (naming the line).
    tomllib.TOMLDecodeError
        Not valid TOML: left to the caller, who knows how to word it.
    """
    if len(text) > MAX_TOML_CHARS:
        raise InvalidInput(
            f"the text has {len(text):,} characters; TOML files longer than "
            f"{MAX_TOML_CHARS:,} characters are not read",
            file=file,
        )
    depth = 0
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth > MAX_TOML_DEPTH:
                line = text.count("\n", 0, token.start()) + 1
                raise InvalidInput(
                    f"arrays or inline tables nested more than {MAX_TOML_DEPTH} deep; "
                    "not read (a decision log or manifest nests two or three)",
                    file=file,
                    place=f"line {line}",
                )
        elif mark in "]}":
            depth = max(depth - 1, 0)
    try:
        return tomllib.loads(text)
    except RecursionError:  # the pre-scan should make this unreachable; never a traceback
        raise InvalidInput("nested too deeply to read", file=file) from None


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _escape_char(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    code = ord(c)
    if code < 0x20 or code == 0x7F:  # TOML allows no raw control characters but tab
        return f"\\u{code:04X}"
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate has no UTF-8 form, so no TOML form
        raise InvalidInput(f"text contains an invalid character (U+{code:04X})")
    return c


def toml_basic(text: str) -> str:
    """A one-line TOML basic string (the escapes are JSON's, which TOML shares)."""
    return '"' + "".join(_escape_char(c) for c in text) + '"'


def toml_string(text: str) -> str:
    """A basic string, or a multi-line basic string when the text has line breaks.

    In the multi-line form newlines stay raw and everything else is escaped as in a
    basic string, except quotes: a quote stays raw only when the next character is
    neither a quote nor the end of the text, so no run of three quotes (the closing
    delimiter) can form. The newline after the opening delimiter is dropped by TOML.
    """
    if "\n" not in text:
        return toml_basic(text)
    chars = []
    for i, c in enumerate(text):
        if c == "\n":
            chars.append(c)
        elif c == '"':
            raw = i + 1 < len(text) and text[i + 1] != '"'
            chars.append(c if raw else '\\"')
        else:
            chars.append(_escape_char(c))
    return '"""\n' + "".join(chars) + '"""'
