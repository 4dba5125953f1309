"""Replacing real names with pseudonyms in speaker labels and in text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any


def _looks_like_name(word: str) -> bool:
    return len(word) > 1 and word[0].isupper() and word.replace("-", "").replace("'", "").isalpha()


@dataclass
class PseudonymTable:
    """A study's key of real name -> pseudonym.

    Longer names are replaced first, so "Margaret Okafor" wins over "Margaret";
    matching is case-insensitive on whole words. A full name also replaces its
    first name alone and its last name alone (unless those are listed themselves or
    are shared by two people), since people call each other by first name.
    """

    mapping: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._lookup: dict[str, str] = {}
        self._forms: list[str] = []

    def add(self, real: str, pseudonym: str) -> None:
        """Add or change one entry."""
        self.mapping[real.strip()] = pseudonym.strip()
        self._pattern = None

    def _compile(self) -> None:
        lookup: dict[str, str] = {}
        for real, pseudo in self.mapping.items():
            lookup[real.casefold()] = pseudo
        # Name parts: a person called by first or last name alone. Part maps to part
        # when the pseudonym is itself a name of the same shape ("Margaret Okafor" ->
        # "Jo Linden"), otherwise to the whole pseudonym ("Helen Marsh" -> "Alder",
        # "Oliver Stanmore" -> "Director B", "Sol Marr" -> "Leader 1").
        parts: dict[str, set[str]] = {}
        for real, pseudo in self.mapping.items():
            r_parts, p_parts = real.split(), pseudo.split()
            if len(r_parts) < 2:
                continue
            same_shape = len(r_parts) == len(p_parts) and all(_looks_like_name(w) for w in p_parts)
            for i in (0, -1):
                target = p_parts[i] if same_shape else pseudo
                if len(r_parts[i]) > 1:
                    parts.setdefault(r_parts[i].casefold(), set()).add(target)
        for key, targets in parts.items():
            if key not in lookup and len(targets) == 1:
                lookup[key] = next(iter(targets))
        self._lookup = lookup
        # The pattern is built from the names as written: casefolding first would turn
        # "Weiß" into "weiss", which no longer matches the text.
        forms = set(self.mapping)
        for real in self.mapping:
            parts = real.split()
            if len(parts) >= 2:
                forms.update(p for p in (parts[0], parts[-1]) if p.casefold() in lookup)
        if forms:
            alternatives = sorted(forms, key=len, reverse=True)
            body = "|".join(re.escape(a) for a in alternatives)
            self._pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)
        else:
            self._pattern = re.compile(r"(?!x)x")
        self._forms = alternatives if forms else []

    def _replacement(self, matched: str) -> str:
        found = self._lookup.get(matched.casefold())
        if found is not None:
            return found
        # Case-insensitive matching can accept a spelling whose casefold differs (a
        # Turkish dotted İ, for one): find the name it matched.
        for form in self._forms:
            if re.fullmatch(re.escape(form), matched, re.IGNORECASE):
                return self._lookup[form.casefold()]
        return matched

    def apply(self, text: str) -> str:
        """Return ``text`` with every known real name replaced by its pseudonym."""
        if self._pattern is None:
            self._compile()
        assert self._pattern is not None
        return self._pattern.sub(lambda m: self._replacement(m.group(0)), text)

    def pseudonym_for(self, real: str) -> str | None:
        """The pseudonym of exactly this name (or a name part), if known."""
        if self._pattern is None:
            self._compile()
        return self._lookup.get(real.strip().casefold())

    def real_names(self) -> list[str]:
        """Every real name in the key (for leak checks)."""
        return list(self.mapping)

    def apply_mapped(self, text: str) -> tuple[str, OffsetMap]:
        """Like :meth:`apply`, also returning how old offsets move in the new text.

        Excerpts are offsets into a transcript's text; when a pseudonym is added after
        excerpts exist, the map keeps them on the same words.
        """
        if self._pattern is None:
            self._compile()
        assert self._pattern is not None
        pieces: list[str] = []
        edits: list[tuple[int, int, int]] = []  # (old_start, old_end, new_length)
        last = 0
        for m in self._pattern.finditer(text):
            repl = self._replacement(m.group(0))
            pieces.append(text[last : m.start()])
            pieces.append(repl)
            edits.append((m.start(), m.end(), len(repl)))
            last = m.end()
        pieces.append(text[last:])
        return "".join(pieces), OffsetMap(edits)


@dataclass(frozen=True)
class OffsetMap:
    """Maps character offsets of a text to offsets after names were replaced."""

    edits: list[tuple[int, int, int]]

    def __call__(self, offset: int) -> int:
        shift = 0
        for start, end, new_len in self.edits:
            if offset <= start:
                break
            if offset < end:  # inside a replaced name: snap to the replacement's end
                return start + shift + new_len
            shift += new_len - (end - start)
        return offset + shift


def name_scrubber(mapping: dict[str, str]) -> Callable[[str], tuple[str, int]]:
    """A function replacing the key's real full names in free text typed by people.

    Transcripts are pseudonymised as they come in; notes, minutes, tension descriptions
    and rationales are typed by the team, who know the real names. Exports run them
    through this: a full name is matched however its parts are separated (space, ``_``,
    ``.``, ``-``) and in any letter case. Returns the text and the number replaced.
    """
    if not mapping:
        return lambda text: (text, 0)
    lookup = {" ".join(real.casefold().split()): pseudo for real, pseudo in mapping.items()}
    body = "|".join(
        r"[\s_.\-]+".join(re.escape(part) for part in real.split())
        for real in sorted(mapping, key=len, reverse=True)
    )
    pattern = re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])", re.IGNORECASE)

    def pseudonym_of(m: re.Match) -> str:
        return lookup[" ".join(re.split(r"[\s_.\-]+", m.group(0).casefold()))]

    return lambda text: pattern.subn(pseudonym_of, text)


def scrub_fields(obj: Any, scrub: Callable[[str], tuple[str, int]]) -> Any:
    """``obj`` with ``scrub`` applied to every string inside it.

    Walks dataclasses, tuples, lists and dict values (keys and bytes are left alone), so
    a whole report or resource pack is scrubbed before it is laid out.
    """
    if isinstance(obj, str):
        return scrub(obj)[0]
    if is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: scrub_fields(getattr(obj, f.name), scrub) for f in fields(obj) if f.init}
        return replace(obj, **changes)
    if isinstance(obj, tuple):
        return tuple(scrub_fields(v, scrub) for v in obj)
    if isinstance(obj, list):
        return [scrub_fields(v, scrub) for v in obj]
    if isinstance(obj, dict):
        return {k: scrub_fields(v, scrub) for k, v in obj.items()}
    return obj
