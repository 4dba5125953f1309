"""Counted nouns in words: "1 turn", "3 turns", never "1 turns" or "turn(s)"."""

from __future__ import annotations

import re

__all__ = ["plural"]

_IRREGULAR = {"person": "people", "child": "children", "analysis": "analyses"}


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``n`` and ``noun``, the noun in the plural unless ``n`` is 1.

    Parameters
    ----------
    n : int
    noun : str
        The singular; in a phrase ("matching turn") only the last word changes.
    many : str, optional
        The plural when it is not regular ("people").

    Examples
    --------
    >>> plural(1, "turn"), plural(3, "turn"), plural(0, "match")
    ('1 turn', '3 turns', '0 matches')
    """
    if n == 1:
        return f"{n} {noun}"
    if many is None:
        head, _, last = noun.rpartition(" ")
        if last in _IRREGULAR:
            last = _IRREGULAR[last]
        elif last.endswith(("s", "x", "z", "ch", "sh")):
            last += "es"
        elif last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
            last = last[:-1] + "ies"
        else:
            last += "s"
        many = f"{head} {last}" if head else last
    return f"{n} {many}"


def version_title(version: int, label: str) -> str:
    """``"v1: agreed at the meeting"``, once: a label that already names its version keeps it.

    Labels are free text and people often start them with the version ("v2: after the
    workshop"); prefixing again would read "v2: v2: after the workshop".
    """
    label = " ".join((label or "").split())
    prefix = f"v{version}"
    if label == prefix or label.startswith((f"{prefix}:", f"{prefix} ")):
        return label
    return f"{prefix}: {label}" if label else prefix


def column_heading(name: object) -> str:
    """A column name as a heading in words: ``"share_inner"`` -> ``"share inner"``.

    Public analysis functions keep snake_case names (stable for code that uses them);
    what a person reads in a widget is this.
    """
    # "step1_closed" -> "step 1 closed": a step's number is a word of its own
    return re.sub(r"\bstep(\d)", r"step \1", str(name).replace("_", " ")).strip()


def prompt_source(ref: str) -> str:
    """What prompted a decision, in words: ``"response:Kit Moreland:T3"`` ->
    ``"Kit Moreland's response on T3"``; ``"poll"`` and ``"circles"`` stay."""
    kind, _, rest = str(ref).partition(":")
    if kind == "response" and rest:
        who, _, code = rest.rpartition(":")
        return f"{who}'s response on {code}" if who else f"a response on {code}"
    return str(ref)
