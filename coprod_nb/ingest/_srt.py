"""SubRip (.srt) transcripts, and the cue-to-turn rules that WebVTT shares."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import srt

from coprod_nb.domain.transcript import ParsedTranscript, RawTurn, format_time, merge_consecutive
from coprod_nb.errors import InvalidInput

from ._txt import UNKNOWN_SPEAKER, clean, match_speaker

__all__ = ["Cue", "split_cue_speaker", "turns_from_cues", "read_srt"]

# <i>, <font ...>, and ASS overrides {\an8}; a tag's scan stops at the next opening
# bracket, so unclosed ones cost linear time (see _vtt._TAG_RE).
_TAG_RE = re.compile(r"<[^<>\n]*>|\{\\[^{}\n]*\}")
_CHEVRONS_RE = re.compile(r"^>>\s*")  # broadcast captions mark a new speaker with ">>"
_BRACKET_RE = re.compile(r"^\[(?P<speaker>[^\W\d_][^\]\n:]{0,59})\]\s*:?\s*(?P<text>.*)$", re.S)
# Bracketed sound descriptions look like "[Name]" labels but are not speakers.
_SOUND_TAGS = frozenset(
    "music laughter laughs laughing applause inaudible crosstalk silence pause noise "
    "unintelligible indistinct overlapping coughs coughing sighs background".split()
)
_SRT_TIMING_RE = re.compile(r"^\s*(\S+) *-[ -] *> *(\S+)")
_INDEX_LINE_RE = re.compile(r"^\s*-?\d+(?:\.\d*)?\s*$")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue, before it is joined with its neighbours into turns."""

    start_ms: int
    end_ms: int
    text: str  # plain text, tags removed, maybe still prefixed by "Name:"
    line: int | None  # line of its timing line
    speaker: str | None = None  # from markup (a WebVTT voice tag), if any


def split_cue_speaker(text: str, speaker_re: re.Pattern[str]) -> tuple[str | None, str]:
    """``(speaker, text)`` from a cue's text: ``Name: text``, ``>> Name: text`` or ``[Name] text``.

    The speaker is None when the cue names nobody.
    """
    # Collapsed first: the speaker pattern matches one line, a cue may have several.
    text = _CHEVRONS_RE.sub("", clean(text))
    bracket = _BRACKET_RE.match(text)
    if bracket and bracket.group("speaker").strip().casefold() not in _SOUND_TAGS:
        return clean(bracket.group("speaker")), bracket.group("text")
    labelled = match_speaker(text, speaker_re)
    if labelled:
        return labelled
    return None, text


def turns_from_cues(
    cues: Iterable[Cue], *, file: str, speaker_re: re.Pattern[str], warnings: list[str]
) -> list[RawTurn]:
    """Turns from cues: speakers carried over, times checked, one speaker's cues merged.

    A cue naming nobody continues the previous speaker; a first cue naming nobody is
    given the speaker ``"Unknown"`` and a warning.

    Raises
    ------
    InvalidInput
        A cue starting before the previous one, or ending before it starts.
    """
    turns: list[RawTurn] = []
    speaker: str | None = None
    previous: Cue | None = None
    for cue in cues:
        place = f"line {cue.line}" if cue.line else None
        if previous is not None and cue.start_ms < previous.start_ms:
            raise InvalidInput(
                f"cue times out of order: this cue starts at {_clock(cue.start_ms)}, before "
                f"the previous cue ({_clock(previous.start_ms)}); the cues must be sorted by time",
                file=file,
                place=place,
            )
        if cue.end_ms < cue.start_ms:
            raise InvalidInput(
                f"the cue ends at {_clock(cue.end_ms)}, before it starts ({_clock(cue.start_ms)})",
                file=file,
                place=place,
            )
        previous = cue
        if cue.speaker:
            named, text = cue.speaker, cue.text
        else:
            named, text = split_cue_speaker(cue.text, speaker_re)
        if named:
            speaker = named
        elif speaker is None:
            speaker = UNKNOWN_SPEAKER
            warnings.append(
                f"{place or 'first cue'}: the first cue names no speaker; "
                f"it and the cues after it up to the next named speaker are "
                f"given the speaker {UNKNOWN_SPEAKER!r}"
            )
        text = clean(text)
        if text:
            turns.append(RawTurn(speaker, text, cue.start_ms, cue.end_ms, place or ""))
    return merge_consecutive(turns)


def timing_line_finder(timings: list[tuple[int, int, int]]):
    """A function mapping a cue's ``(start_ms, end_ms)`` to its timing line, in file order.

    The libraries give no line numbers; cues come back in file order, so the next
    timing line with the same times is the cue's own.
    """
    position = 0

    def find(start_ms: int, end_ms: int) -> int | None:
        nonlocal position
        for i in range(position, len(timings)):
            line, start, end = timings[i]
            if (start, end) == (start_ms, end_ms):
                position = i + 1
                return line
        return None

    return find


def read_srt(
    text: str, *, file: str, encoding: str, speaker_re: re.Pattern[str]
) -> ParsedTranscript:
    """Read decoded SubRip text with the ``srt`` library.

    Raises
    ------
    InvalidInput
        A block the library cannot read (with its line), no subtitle, times out of order.
    """
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        line, found = _unmatched_line(text, exc.expected_start, exc.actual_start)
        raise InvalidInput(
            "cannot read this subtitle block: expected a number line, then a timing line "
            f"like '00:00:01,000 --> 00:00:04,000', then the text; found {found!r}",
            file=file,
            place=f"line {line}",
        ) from None
    except srt.TimestampParseError as exc:
        raise InvalidInput(f"cannot read a subtitle time: {exc}", file=file) from None
    if not subtitles:
        raise InvalidInput("no subtitles found in the file", file=file)

    find = timing_line_finder(_srt_timings(text))
    cues = []
    for sub in subtitles:
        start_ms, end_ms = _ms(sub.start), _ms(sub.end)
        plain = _TAG_RE.sub("", sub.content)
        cues.append(Cue(start_ms, end_ms, plain, find(start_ms, end_ms)))
    warnings: list[str] = []
    turns = turns_from_cues(cues, file=file, speaker_re=speaker_re, warnings=warnings)
    if not turns:
        raise InvalidInput("the subtitles contain no text", file=file)
    return ParsedTranscript(turns=turns, format="srt", encoding=encoding, warnings=warnings)


def _ms(delta: timedelta) -> int:
    return delta // timedelta(milliseconds=1)


def _clock(ms: int) -> str:
    return f"{format_time(ms)}.{ms % 1000:03d}"


def _srt_timings(text: str) -> list[tuple[int, int, int]]:
    timings = []
    for number, line in enumerate(text.split("\n"), 1):
        match = _SRT_TIMING_RE.match(line)
        if not match:
            continue
        try:
            start, end = (srt.srt_timestamp_to_timedelta(t) for t in match.groups())
        except srt.TimestampParseError:
            continue
        timings.append((number, _ms(start), _ms(end)))
    return timings


def _unmatched_line(text: str, start: int, stop: int) -> tuple[int, str]:
    """Line number and text of the first line the parser could not read.

    An index line ("12") is skipped: the fault is usually the timing line below it.
    """
    first_line = text.count("\n", 0, start) + 1
    lines = text[start:stop].split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()] or [0]
    chosen = next((i for i in filled if not _INDEX_LINE_RE.match(lines[i])), filled[0])
    return first_line + chosen, lines[chosen].strip()
