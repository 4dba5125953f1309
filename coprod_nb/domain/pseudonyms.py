"""Replacing real names with pseudonyms in speaker labels and in text.

The rules (also in docs/study-setup.md, "Pseudonyms"):

- **Matching** is on whole words, insensitive to letter case and to Unicode normalisation:
  a name typed as "José" (one character é, NFC) also matches "José" written with a
  combining accent (NFD), and the other way round. Replacement happens in the original
  text, so offsets into it (excerpts) stay correct.
- **Longest first**: full names are replaced before their parts, so "Helen Marsh" is one
  match, never "Helen" and then "Marsh".
- **Name parts**: a full name also replaces its first name alone and its last name alone,
  since people call each other by first name. A part the key lists itself keeps its own
  entry. A part **shared by two people** ("Helen Marsh" and "Helen Okafor", both "Helen")
  cannot be told apart by the text: it is replaced by both candidates, "[Alder or Birch]",
  so that no real name is left and the reader sees it is ambiguous; give "Helen" an entry
  of its own (or edit the passage) where the conversation makes clear who is meant.
- **A key is refused** (:func:`check_entry`, raising :class:`InvalidInput` that names both
  entries) when a pseudonym is a real name in the key (or a first or last name the key
  replaces), when a real name is already someone's pseudonym, or when the entries would
  form a cycle (A -> B, B -> A, or longer): re-applying such a key would write real names
  into the text.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from itertools import accumulate, product
from typing import Any

from coprod_nb.domain.transcript import _NON_ASCII
from coprod_nb.errors import InvalidInput

#: Combining marks that may follow a letter in decomposed (NFD) text: a name must not end
#: in the middle of a letter ("Jose" is not the start of "José" written as e + accent).
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_BEFORE = r"(?<!\w)"
_AFTER = rf"(?![\w{_MARKS}])"
#: ASCII letters lowered, and nothing else: the same length as the text, always.
_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(65, 91)})


def _prefilter(forms: list[str]) -> tuple[Any, re.Pattern[str]]:
    """What :meth:`PseudonymTable._matches` looks for, for the names ``forms``:

    - an Aho-Corasick automaton (pyahocorasick) of the lowered ASCII spellings that the
      key's pattern (case-insensitive) matches, keeping only those that no shorter one
      starts (a match starts where one does); None when there is none;
    - a pattern matching one character equal, ignoring case as the key's pattern does,
      to a character of a name in composed or decomposed form.

    Python's regex engine equates some non-ASCII letters with ASCII ones ("K", the
    Kelvin sign, with "k"; "ſ" with "s"; "ı" and "İ" with "i"): they are in the names'
    letters, so a text holding one is searched in full.
    """
    ascii_chars = [chr(c) for c in range(128)]

    def ascii_spellings(code_point: str) -> set[str]:
        pattern = re.compile(re.escape(code_point), re.IGNORECASE)
        return {x.lower() for x in ascii_chars if pattern.fullmatch(x)}

    needles: set[str] = set()
    letters: set[str] = set()
    for form in forms:
        choices = []
        for c in " ".join(unicodedata.normalize("NFC", form).split()):
            spellings: set[str] = set()
            for written in dict.fromkeys((c, unicodedata.normalize("NFD", c))):
                letters.update(written)
                spellings.update("".join(p) for p in product(*map(ascii_spellings, written)))
            choices.append(sorted(spellings))
        needles.update("".join(p) for p in product(*choices))
    kept = [n for n in needles if n and not any(m != n and n.startswith(m) for m in needles)]
    finder = None
    if kept:
        import ahocorasick  # only when a key is applied

        finder = ahocorasick.Automaton()
        for needle in kept:
            finder.add_word(needle, len(needle))
        finder.make_automaton()
    alphabet = "|".join(re.escape(c) for c in sorted(letters)) or "(?!x)x"
    return finder, re.compile(alphabet, re.IGNORECASE)


def canonical(name: str) -> str:
    """The form two spellings of a name share when they are the same name: Unicode
    canonical caseless matching (NFD, casefold, NFC) and single spaces."""
    folded = unicodedata.normalize("NFD", str(name)).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())


def name_regex(name: str, separator: str = " ") -> str:
    """A regular expression (use with ``re.IGNORECASE``) matching ``name`` in NFC or NFD.

    Each letter that has a decomposed form matches either form; the parts of the name are
    joined by ``separator`` (by default one space, as the key writes it: a name does not
    run over a line break, and "Ada  Lovell" is two names, each replaced on its own).
    """

    def letter(c: str) -> str:
        forms = dict.fromkeys((c, unicodedata.normalize("NFD", c)))
        if len(forms) == 1:
            return re.escape(c)
        return "(?:" + "|".join(re.escape(f) for f in forms) + ")"

    parts = unicodedata.normalize("NFC", str(name)).split()
    return separator.join("".join(letter(c) for c in part) for part in parts)


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
        self._finder: Any = None  # where names can start (see _prefilter)
        self._alphabet: re.Pattern[str] | None = None
        self._in_names: dict[str, bool] = {}
        self._replacements: dict[str, str] = {}

    def add(self, real: str, pseudonym: str) -> None:
        """Add or change one entry."""
        self.mapping[real.strip()] = pseudonym.strip()
        self._pattern = None

    def _compile(self) -> None:
        lookup: dict[str, str] = {}
        for real, pseudo in self.mapping.items():
            lookup[canonical(real)] = pseudo
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
                    parts.setdefault(canonical(r_parts[i]), set()).add(target)
        for key, targets in parts.items():
            if key not in lookup:
                # Shared by two people: both candidates, so that no real name is left.
                ordered = sorted(targets, key=str.casefold)
                lookup[key] = ordered[0] if len(ordered) == 1 else f"[{' or '.join(ordered)}]"
        self._lookup = lookup
        # The pattern is built from the names as written: casefolding first would turn
        # "Weiß" into "weiss", which no longer matches the text.
        forms = set(self.mapping)
        for real in self.mapping:
            parts = real.split()
            if len(parts) >= 2:
                forms.update(p for p in (parts[0], parts[-1]) if canonical(p) in lookup)
        if forms:
            alternatives = sorted(forms, key=len, reverse=True)
            body = "|".join(name_regex(a) for a in alternatives)
            self._pattern = re.compile(rf"{_BEFORE}(?:{body}){_AFTER}", re.IGNORECASE)
        else:
            self._pattern = re.compile(r"(?!x)x")
        self._forms = alternatives if forms else []
        self._finder, self._alphabet = _prefilter(self._forms)
        self._in_names, self._replacements = {}, {}

    def _replacement(self, matched: str) -> str:
        # a study's few names are matched thousands of times, mostly spelt alike
        known = self._replacements.get(matched)
        if known is None:
            known = self._replacements[matched] = self._replacement_of(matched)
        return known

    def _replacement_of(self, matched: str) -> str:
        found = self._lookup.get(canonical(matched))
        if found is not None:
            return found
        # Case-insensitive matching can accept a spelling whose casefold differs (a
        # Turkish dotted İ, for one): find the name it matched.
        for form in self._forms:
            if re.fullmatch(name_regex(form), matched, re.IGNORECASE):
                return self._lookup[canonical(form)]
        return matched

    def apply(self, text: str) -> str:
        """Return ``text`` with every known real name replaced by its pseudonym."""
        return self._replaced(text, self._matches([text]).get(0, []))[0]

    def apply_many(self, texts: list[str]) -> list[str]:
        """:meth:`apply` to each of ``texts``, searching them all at once (an import's
        thousands of turns, most without a name)."""
        if not self.mapping:  # no key yet (a new study): nothing to look for
            return list(texts)
        found = self._matches(texts)
        return [self._replaced(t, found[i])[0] if i in found else t for i, t in enumerate(texts)]

    def _replaced(
        self, text: str, matches: list[tuple[int, int]]
    ) -> tuple[str, list[tuple[int, int, int]]]:
        """``text`` with the names at ``matches`` (start, end) replaced, and the edits
        (old start, old end, new length)."""
        pieces: list[str] = []
        edits: list[tuple[int, int, int]] = []
        last = 0
        for start, end in matches:
            repl = self._replacement(text[start:end])
            pieces += (text[last:start], repl)
            edits.append((start, end, len(repl)))
            last = end
        pieces.append(text[last:])
        return "".join(pieces), edits

    def _matches(self, texts: list[str]) -> dict[int, list[tuple[int, int]]]:
        """The spans (start, end) that the key's pattern finds in each of ``texts``, as
        ``finditer`` on each text alone finds them, by index; texts without one are
        left out.

        Running the pattern (case-insensitive, every name an alternative) at every word
        start is slow, so it runs only where a match can start. Every character of a
        match equals, ignoring case, a letter of a name (or of its decomposed form): a
        text holding such a non-ASCII character is searched with the pattern in full. In
        the others a match is ASCII, and the lowered text holds one of the names' lowered
        ASCII spellings where it starts, found all at once by an Aho-Corasick
        automaton (``_finder``): the pattern is tried at those
        places only, in order, as ``finditer`` would come to them. The texts are searched
        joined by line breaks, which no name spans and which end a word as a text's end
        does.
        """
        if self._pattern is None:
            self._compile()
        assert self._pattern is not None
        found: dict[int, list[tuple[int, int]]] = {}
        if not self._forms:
            return found
        joined = "\n".join(texts)
        full: set[int] = set()
        if not joined.isascii():
            odd = [x for x in set(_NON_ASCII.findall(joined)) if self._in_a_name(x)]
            if odd:
                chars = re.compile("[" + "".join(re.escape(x) for x in odd) + "]")
                full = {i for i, t in enumerate(texts) if chars.search(t)}
        for i in full:
            spans = [m.span() for m in self._pattern.finditer(texts[i])]
            if spans:
                found[i] = spans
        if self._finder is None:
            return found
        probe = joined.lower()
        if len(probe) != len(joined):  # "İ" lowers to two characters: keep offsets
            probe = joined.translate(_ASCII_LOWER)
        # Aho-Corasick: every place of every spelling, overlapping ones too, in one pass
        places = {end - size + 1 for end, size in self._finder.iter(probe)}
        starts = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        match, done = self._pattern.match, 0
        for at in sorted(places):
            if at < done:
                continue  # inside the last name found
            i = bisect_right(starts, at) - 1
            if i in full:
                continue  # searched in full above
            m = match(joined, at)
            if m is None:
                continue
            done = m.end()
            found.setdefault(i, []).append((at - starts[i], done - starts[i]))
        return found

    def _in_a_name(self, char: str) -> bool:
        known = self._in_names.get(char)
        if known is None:
            assert self._alphabet is not None
            known = self._in_names[char] = bool(self._alphabet.fullmatch(char))
        return known

    def pseudonym_for(self, real: str) -> str | None:
        """The pseudonym of exactly this name (or a name part), if known."""
        if self._pattern is None:
            self._compile()
        return self._lookup.get(canonical(real))

    def digest(self) -> str:
        """A digest of the key's entries: equal for two keys that replace alike."""
        entries = sorted(self.mapping.items())
        return hashlib.sha256(json.dumps(entries, ensure_ascii=False).encode()).hexdigest()

    def text_digest(self, text: str, key_digest: str | None = None) -> str:
        """A digest of this key together with ``text`` (pass ``key_digest`` from
        :meth:`digest` when hashing many texts).

        A transcript stores the digest of the text the key gave it; while text and key
        give the same digest, applying the key again would change nothing.
        """
        h = hashlib.sha256((key_digest or self.digest()).encode())
        h.update(text.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def real_names(self) -> list[str]:
        """Every real name in the key (for leak checks)."""
        return list(self.mapping)

    def apply_mapped(self, text: str) -> tuple[str, OffsetMap]:
        """Like :meth:`apply`, also returning how old offsets move in the new text.

        Excerpts are offsets into a transcript's text; when a pseudonym is added after
        excerpts exist, the map keeps them on the same words.
        """
        new, edits = self._replaced(text, self._matches([text]).get(0, []))
        return new, OffsetMap(edits)


@dataclass(frozen=True)
class OffsetMap:
    """Maps character offsets of a text to offsets after names were replaced."""

    edits: list[tuple[int, int, int]]

    def __post_init__(self) -> None:
        # Sorted, non-overlapping edits (one regex pass): a bisect finds the last edit
        # starting before an offset, so a transcript with thousands of edits and of
        # excerpts is not quadratic.
        starts = [start for start, _, _ in self.edits]
        shifts = [0, *accumulate(n - (e - s) for s, e, n in self.edits)]
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_shifts", shifts)

    def __call__(self, offset: int) -> int:
        i = bisect_left(self._starts, offset)  # edits 0..i-1 start before the offset
        if i and offset < self.edits[i - 1][1]:
            # Inside a replaced name: snap to the replacement's end.
            start, _, new_len = self.edits[i - 1]
            return start + self._shifts[i - 1] + new_len
        return offset + self._shifts[i]

    def shift_at(self, offset: int) -> int:
        """How far ``offset`` moves, for an offset outside every replaced name."""
        return self._shifts[bisect_left(self._starts, offset)]


def name_scrubber(mapping: dict[str, str]) -> Callable[[str], tuple[str, int]]:
    """A function replacing the key's real full names in free text typed by people.

    Transcripts are pseudonymised as they come in; notes, minutes, tension descriptions
    and rationales are typed by the team, who know the real names. Exports run them
    through this: a full name is matched however its parts are separated (space, ``_``,
    ``.``, ``-``), in any letter case and in composed (NFC) or decomposed (NFD) Unicode.
    Returns the text and the number replaced.
    """
    if not mapping:
        return lambda text: (text, 0)
    lookup = {canonical(real): pseudo for real, pseudo in mapping.items()}
    body = "|".join(
        name_regex(real, r"[\s_.\-]+") for real in sorted(mapping, key=len, reverse=True)
    )
    pattern = re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_]|[{_MARKS}])", re.IGNORECASE)

    def pseudonym_of(m: re.Match) -> str:
        found = lookup.get(canonical(" ".join(re.split(r"[\s_.\-]+", m.group(0)))))
        if found is not None:
            return found
        for real in mapping:  # a spelling whose casefold differs (a dotted İ)
            if re.fullmatch(name_regex(real, r"[\s_.\-]+"), m.group(0), re.IGNORECASE):
                return mapping[real]
        return m.group(0)

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


def check_entry(mapping: dict[str, str], real: str, pseudonym: str) -> tuple[str, str]:
    """Check a new or changed entry ``real -> pseudonym`` against the key ``mapping``.

    Returns the entry to store: both names in composed Unicode (NFC), and ``real`` spelt
    as the key already has it when it is the same name in another case or normalisation
    (so the entry is changed, not doubled).

    Raises
    ------
    InvalidInput
        Naming both entries: the pseudonym is a real name of the key (or a first or last
        name the key replaces), the real name is already another entry's pseudonym, or
        the entries would form a cycle.
    """
    real = unicodedata.normalize("NFC", " ".join(str(real).split()))
    pseudonym = unicodedata.normalize("NFC", " ".join(str(pseudonym).split()))
    if not real or not pseudonym:
        raise InvalidInput("both a real name and a pseudonym are needed")
    if canonical(real) == canonical(pseudonym):
        raise InvalidInput(f"the pseudonym of {real!r} must differ from the real name")
    others = {r: p for r, p in mapping.items() if canonical(r) != canonical(real)}
    same = [r for r in mapping if canonical(r) == canonical(real)]
    if same:
        real = same[0]
    # A cycle first: its message is the most telling (A -> B -> A).
    chain, step = [real, pseudonym], pseudonym
    by_canon = {canonical(r): (r, p) for r, p in others.items()}
    seen = {canonical(real)}
    while canonical(step) in by_canon and canonical(step) not in seen:
        seen.add(canonical(step))
        step = by_canon[canonical(step)][1]
        chain.append(step)
        if canonical(step) == canonical(real):
            raise InvalidInput(
                "these entries would form a cycle, so that applying the key turns real names "
                "into each other: " + " -> ".join(repr(n) for n in chain)
            )
    for r, p in others.items():
        if canonical(r) == canonical(pseudonym):
            raise InvalidInput(
                f"the pseudonym {pseudonym!r} (for {real!r}) is the real name of another "
                f"entry ({r!r} -> {p!r}): applying the key would write a real name into "
                "the text; choose another pseudonym"
            )
        if canonical(p) == canonical(real):
            raise InvalidInput(
                f"the real name {real!r} (-> {pseudonym!r}) is already the pseudonym of "
                f"another entry ({r!r} -> {p!r}): choose another pseudonym for {r!r} first"
            )
        parts = r.split()
        if len(parts) >= 2 and canonical(pseudonym) in {canonical(parts[0]), canonical(parts[-1])}:
            raise InvalidInput(
                f"the pseudonym {pseudonym!r} (for {real!r}) is a name of another entry "
                f"({r!r} -> {p!r}), which the key replaces when it stands alone; choose "
                "another pseudonym"
            )
        mine = real.split()
        if len(mine) >= 2 and canonical(p) in {canonical(mine[0]), canonical(mine[-1])}:
            raise InvalidInput(
                f"the real name {real!r} (-> {pseudonym!r}) contains {p!r}, the pseudonym "
                f"of another entry ({r!r} -> {p!r}), which the key would then replace; "
                f"choose another pseudonym for {r!r} first"
            )
    return real, pseudonym
