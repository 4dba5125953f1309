"""Plain-text transcripts, and the line rules that Word paragraphs and subtitle cues share.

A turn starts at a line ``Speaker: text`` (the speaker pattern) or at an Otter-style
header ``Speaker  0:03`` whose text follows on the next lines. Other lines continue
the current turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from coprod_nb.domain.transcript import ParsedTranscript, RawTurn
from coprod_nb.domain.wording import plural
from coprod_nb.errors import InvalidInput

__all__ = [
    "DEFAULT_SPEAKER_PATTERN",
    "UNKNOWN_SPEAKER",
    "TURN_LINE_HINT",
    "clean",
    "compile_speaker_pattern",
    "parse_clock",
    "turns_from_lines",
    "read_txt",
]

UNKNOWN_SPEAKER = "Unknown"

# A label is 1-60 characters, starts with a letter, and has at most six words, so an
# ordinary sentence with a colon ("The point was this: ...") is rarely taken for a
# speaker. The colon must be followed by a space or the line end, which rules out
# "http://..." and times such as "10:30".
DEFAULT_SPEAKER_PATTERN = (
    r"^(?=[^:]{1,60}:)"
    r"(?P<speaker>[^\W\d_][\w.'’()&-]*(?:[ \t][\w.'’()&-]+){0,5})"
    r"[ \t]*:(?:\s+|$)(?P<text>.*)$"
)

TURN_LINE_HINT = (
    "a turn starts with a line like 'Helen Marsh: what she said' or a header "
    "'Helen Marsh  0:03' (name, two spaces or a tab, time) with the text on the next lines"
)

_CLOCK = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_CLOCK_RE = re.compile(r"\[?(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?\]?")
_HEADER_RE = re.compile(
    r"(?P<speaker>[^\W\d_][^\t:]{0,59}?)(?: {2,}|\t)[ \t]*(?P<time>\[?" + _CLOCK + r"\]?)"
)
_DEFAULT_RE = re.compile(DEFAULT_SPEAKER_PATTERN)

# Labels of header lines ("Date: 12 May"), never speakers; only the default pattern
# skips them, a user's own pattern is taken at its word.
_METADATA_LABELS = frozenset(
    "date time title subject location venue duration participants attendees "
    "recorded recording meeting transcript transcription note notes".split()
)


def clean(text: str) -> str:
    """Strip and collapse every whitespace run (newlines too) to one space."""
    return " ".join(text.split())


def compile_speaker_pattern(pattern: str | re.Pattern[str] | None, file: str) -> re.Pattern[str]:
    """The user's speaker pattern compiled, or the default one.

    Raises
    ------
    InvalidInput
        Not a valid regular expression, or no named groups ``speaker`` and ``text``.
    """
    if pattern is None:
        return _DEFAULT_RE
    if isinstance(pattern, re.Pattern):
        compiled = pattern
    else:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise InvalidInput(
                f"the speaker pattern {pattern!r} is not a valid regular expression: {exc}",
                file=file,
            ) from None
    missing = {"speaker", "text"} - set(compiled.groupindex)
    if missing:
        raise InvalidInput(
            f"the speaker pattern {compiled.pattern!r} needs the named groups "
            "(?P<speaker>...) and (?P<text>...); missing: " + ", ".join(sorted(missing)),
            file=file,
        )
    return compiled


def parse_clock(value: str) -> int | None:
    """Milliseconds of ``"1:23"``, ``"00:01:23"``, ``"01:23.5"`` or ``"[1:02:03]"``; else None."""
    match = _CLOCK_RE.fullmatch(value.strip())
    if not match:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if int(seconds) > 59 or (hours is not None and int(minutes) > 59):
        return None
    ms = int((fraction or "0").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + ms


def match_speaker(line: str, speaker_re: re.Pattern[str]) -> tuple[str, str] | None:
    """``(speaker, text)`` when ``line`` starts a turn by the speaker pattern, else None."""
    match = speaker_re.match(line)
    if not match:
        return None
    speaker = clean(match.group("speaker") or "")
    if not speaker:
        return None
    if speaker_re.pattern == DEFAULT_SPEAKER_PATTERN and speaker.casefold() in _METADATA_LABELS:
        return None
    return speaker, match.group("text") or ""


def match_header(line: str) -> tuple[str, int] | None:
    """``(speaker, start_ms)`` for an Otter/Teams header ``Name  0:03``, else None."""
    match = _HEADER_RE.fullmatch(line)
    if not match:
        return None
    start_ms = parse_clock(match.group("time"))
    if start_ms is None:
        return None
    return clean(match.group("speaker")), start_ms


@dataclass
class _Open:
    speaker: str
    place: str
    start_ms: int | None = None
    parts: list[str] = field(default_factory=list)


def turns_from_lines(
    lines: Iterable[tuple[str, str]],
    speaker_re: re.Pattern[str],
    warnings: list[str],
) -> list[RawTurn]:
    """Turns from ``(place, line)`` pairs; shared by the TXT and Word paragraph readers.

    Lines before the first turn are skipped with one warning; a turn without text is
    dropped with a warning.
    """
    turns: list[RawTurn] = []
    skipped: list[str] = []
    current: _Open | None = None

    def close() -> None:
        if current is None:
            return
        text = clean(" ".join(current.parts))
        if text:
            turns.append(RawTurn(current.speaker, text, current.start_ms, None, current.place))
        else:
            warnings.append(f"{current.place}: turn of {current.speaker} has no text; skipped")

    for place, raw in lines:
        line = raw.strip()
        if not line:
            continue
        if header := match_header(line):
            close()
            current = _Open(header[0], place, start_ms=header[1])
        elif labelled := match_speaker(line, speaker_re):
            close()
            current = _Open(labelled[0], place, parts=[labelled[1]])
        elif current is not None:
            current.parts.append(line)
        else:
            skipped.append(place)
    close()
    if skipped and turns:
        warnings.append(
            f"{skipped[0]}: skipped {plural(len(skipped), 'line')} before the first speaker turn "
            "(a title or a date?)"
        )
    return turns


def read_txt(
    text: str, *, file: str, encoding: str, speaker_re: re.Pattern[str]
) -> ParsedTranscript:
    """Read decoded plain text; see the module docstring for the rules.

    Raises
    ------
    InvalidInput
        No line starts a turn.
    """
    warnings: list[str] = []
    numbered = ((f"line {n}", line) for n, line in enumerate(text.split("\n"), 1))
    turns = turns_from_lines(numbered, speaker_re, warnings)
    if not turns:
        raise InvalidInput(f"no speaker turns found: {TURN_LINE_HINT}", file=file)
    return ParsedTranscript(turns=turns, format="txt", encoding=encoding, warnings=warnings)
