"""Transcripts as speaker turns, and the canonical text that excerpts point into."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: What joins two runs of word characters into one word ("don't", "well-being").
_JOINERS = "'’-"
# A word: runs of word characters (\w) joined by single joiners. Possessive: the same
# words, found about twice as fast (no backtracking state kept).
_WORD = re.compile(rf"\w++(?:[{re.escape(_JOINERS)}]\w++)*+")
_WORD_CHAR = re.compile(r"\w")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _char_class(c: str) -> str:
    """``"a"`` for a word character, ``"'"`` for a joiner, ``" "`` for the rest."""
    return "a" if _WORD_CHAR.match(c) else "'" if c in _JOINERS else " "


# Every ASCII character as its class (bytes past 127 never occur: the text is ASCII).
_CLASSES = "".join(_char_class(chr(i)) for i in range(128)).encode("ascii") + b" " * 128
# A joiner that starts a word: followed by a word character, not preceded by one.
_LONE_JOINER = re.compile(rb"'(?<!a')(?=a)")
#: Beyond this many distinct non-ASCII characters a text is counted by ``_WORD`` itself.
_FEW_NON_ASCII = 24


@dataclass(frozen=True)
class RawTurn:
    """One speaker turn as read from a file, before pseudonymisation.

    Times are milliseconds from the start of the recording, or ``None`` when the
    source has none (plain text, Word).
    """

    speaker: str
    text: str
    start_ms: int | None = None
    end_ms: int | None = None
    place: str = ""  # where the turn starts in its file ("line 12"), for messages


@dataclass
class ParsedTranscript:
    """What a reader returns: turns plus facts about the source file."""

    turns: list[RawTurn]
    format: str
    encoding: str = "utf-8"
    warnings: list[str] = field(default_factory=list)

    @property
    def speakers(self) -> list[str]:
        """Distinct speaker labels in order of first appearance."""
        return list(dict.fromkeys(t.speaker for t in self.turns))


@dataclass(frozen=True)
class TurnSpan:
    """Where a turn's text sits in the transcript's canonical text."""

    start: int
    end: int


def merge_consecutive(turns: list[RawTurn]) -> list[RawTurn]:
    """Join consecutive turns of one speaker (subtitle cues) into one turn.

    The merged turn keeps the first start time and the last end time.
    """
    # Each run of one speaker is joined once, at its end: joining cue by cue would copy
    # the growing text again for every cue (quadratic in a long monologue).
    merged: list[RawTurn] = []
    run: list[RawTurn] = []

    def close() -> None:
        if not run:
            return
        first = run[0]
        end_ms = next((t.end_ms for t in reversed(run) if t.end_ms is not None), None)
        text = " ".join(filter(None, (t.text for t in run))).strip() if len(run) > 1 else first.text
        merged.append(RawTurn(first.speaker, text, first.start_ms, end_ms, first.place))
        run.clear()

    for turn in turns:
        if run and run[-1].speaker != turn.speaker:
            close()
        run.append(turn)
    close()
    return merged


def canonical_text(turns: list[tuple[str, str]]) -> tuple[str, list[TurnSpan]]:
    """Plain text of a transcript, one ``Speaker: text`` line per turn.

    Excerpts are character offsets into this text, so they stay valid whatever
    widget or export displays the transcript; REFI-QDA selections use the same
    offsets. A turn without a speaker (empty label: a paragraph of a plain document,
    see :func:`paragraph_spans`) is written as its text alone, so a plain document's
    canonical text is the document itself.

    Parameters
    ----------
    turns : list of (speaker, text)

    Returns
    -------
    text : str
    spans : list of TurnSpan
        Offsets of each turn's *text* (without the speaker label) in ``text``.
    """
    parts: list[str] = []
    spans: list[TurnSpan] = []
    pos = 0
    for speaker, text in turns:
        label = speaker_prefix(speaker)
        start = pos + len(label)
        parts.append(f"{label}{text}\n")
        spans.append(TurnSpan(start, start + len(text)))
        pos += len(label) + len(text) + 1
    return "".join(parts), spans


def speaker_prefix(speaker: str | None) -> str:
    """``"Name: "`` before a turn's text, or ``""`` for a turn without a speaker."""
    return f"{speaker}: " if speaker else ""


def paragraph_spans(text: str) -> list[TurnSpan]:
    """The paragraphs of a plain document, as the turns that rebuild it exactly.

    A paragraph starts at the first non-blank line after a blank (whitespace-only)
    line; the first one at the start of the text. Each span runs to the newline before
    the next paragraph, so it holds the paragraph's own blank lines and indentation,
    and :func:`canonical_text` of the spans' texts (without speakers) gives ``text``
    back, with a final newline added when it had none. Empty for a blank ``text``.
    """
    if not text.strip():
        return []
    starts = [0]  # blank lines before the first paragraph belong to it
    pos, seen, blank_before = 0, False, False
    for line in text.split("\n"):
        if line.strip():
            if seen and blank_before:
                starts.append(pos)
            seen, blank_before = True, False
        else:
            blank_before = True
        pos += len(line) + 1
    end = len(text) - 1 if text.endswith("\n") else len(text)
    ends = [s - 1 for s in starts[1:]] + [end]
    return [TurnSpan(s, e) for s, e in zip(starts, ends, strict=True)]


def word_count(text: str) -> int:
    """Number of words in ``text`` (letters and digits, contractions count once).

    The count of ``_WORD``'s matches, found without building them: an import counts
    millions of words, and the regex's strings took a tenth of its time. Each character
    becomes its class (word, joiner, other; a text of many distinct non-ASCII characters,
    Greek or Chinese, is left to the regex), and a word starts at a word character after
    anything but a word character or a joiner following one. Both ways are defined by
    ``_JOINERS`` and ``\\w``; ``tests/test_word_count.py`` checks they agree.
    """
    if not text.isascii():
        chars = set(_NON_ASCII.findall(text))
        if len(chars) > _FEW_NON_ASCII:
            return len(_WORD.findall(text))
        for c in chars:
            text = text.replace(c, _char_class(c))
    classes = text.encode("ascii").translate(_CLASSES)
    count = classes.startswith(b"a") + classes.count(b" a")
    if b"'" in classes:
        count += len(_LONE_JOINER.findall(classes))
    return count


def format_time(ms: int | None) -> str:
    """``H:MM:SS`` (or ``M:SS`` under an hour) for a time in milliseconds; ``""`` if unknown."""
    if ms is None:
        return ""
    seconds = ms // 1000
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
