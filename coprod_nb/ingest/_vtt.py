"""WebVTT (.vtt) transcripts from Teams (voice tags) and Zoom ("Name: text" cues)."""

from __future__ import annotations

import html
import io
import re

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from coprod_nb.domain.transcript import ParsedTranscript
from coprod_nb.errors import InvalidInput

from ._srt import Cue, timing_line_finder, turns_from_cues

__all__ = ["read_vtt"]

# The timestamps webvtt-py accepts when not strict; a line it would silently drop
# is reported here instead.
_TS = r"(?:(\d{1,10}):)?(\d{1,2}):(\d{1,2})\.(\d{1,3})"
_TIMING_RE = re.compile(rf"\s*{_TS}\s*-->\s*{_TS}(?=\s|$)")
# A block starting like a time but without "-->": a timing line missing its arrow.
_TIMING_LIKE_RE = re.compile(r"\s*(?:\d+:)?\d{1,2}:\d{1,2}[.,]\d")
# A tag never holds "<" (WebVTT escapes it as "&lt;"), so a scan for its ">" stops at the
# next "<": each character is looked at once, where "[^>\n]*>" rescans the rest of the
# line from every unclosed "<" (quadratic: a 150 KB cue of "<v name" took minutes). The
# voice's name is one run after one blank, stripped later, for the same reason.
_VOICE_RE = re.compile(r"<v(?:\.[\w-]+)*[ \t]([^<>\n]*)>")
_TAG_RE = re.compile(r"<[^<>\n]*>")
_EXAMPLE = "'00:00:01.000 --> 00:00:04.000'"


def read_vtt(
    text: str, *, file: str, encoding: str, speaker_re: re.Pattern[str]
) -> ParsedTranscript:
    """Read decoded WebVTT text with webvtt-py.

    The speaker of a cue is its voice tag ``<v Name>`` (Teams) or a ``Name:`` prefix
    (Zoom); a cue naming nobody continues the previous speaker.

    Raises
    ------
    InvalidInput
        No ``WEBVTT`` header, a bad timing line (with its line number), cues out of order.
    """
    timings = _check_lines(text, file)
    try:
        captions = webvtt.from_buffer(io.StringIO(text)).captions
    except (MalformedFileError, MalformedCaptionError) as exc:
        # _check_lines catches what we know of; this is the library's last word.
        raise InvalidInput(f"not a valid WebVTT file: {exc}", file=file) from None
    if not captions:
        raise InvalidInput(
            f"no cues found: a cue starts with a timing line like {_EXAMPLE}", file=file
        )

    find = timing_line_finder(timings)
    cues: list[Cue] = []
    for caption in captions:
        start_ms = caption.start_time.in_milliseconds()
        end_ms = caption.end_time.in_milliseconds()
        cues.extend(_split_voices(caption.raw_text, start_ms, end_ms, find(start_ms, end_ms)))
    warnings: list[str] = []
    turns = turns_from_cues(cues, file=file, speaker_re=speaker_re, warnings=warnings)
    if not turns:
        raise InvalidInput("the cues contain no text", file=file)
    return ParsedTranscript(turns=turns, format="vtt", encoding=encoding, warnings=warnings)


def _split_voices(raw: str, start_ms: int, end_ms: int, line: int | None) -> list[Cue]:
    """One cue per voice span, so a cue holding two speakers gives both their words."""
    voices = [v for v in _VOICE_RE.finditer(raw) if v.group(1).strip()]
    if not voices:
        return [Cue(start_ms, end_ms, _plain(raw), line)]
    cues = []
    if raw[: voices[0].start()].strip():
        cues.append(Cue(start_ms, end_ms, _plain(raw[: voices[0].start()]), line))
    for this, following in zip(voices, [*voices[1:], None], strict=True):
        body = raw[this.end() : following.start() if following else len(raw)]
        cues.append(Cue(start_ms, end_ms, _plain(body), line, this.group(1).strip()))
    return cues


def _plain(cue_text: str) -> str:
    return html.unescape(_TAG_RE.sub("", cue_text))


def _check_lines(text: str, file: str) -> list[tuple[int, int, int]]:
    """Check the header and every timing line; return ``(line, start_ms, end_ms)`` of each.

    webvtt-py names no line in its errors and silently drops cues with bad times, so
    the lines are checked here first.
    """
    lines = text.split("\n")
    if not lines[0].startswith("WEBVTT"):
        raise InvalidInput(
            "missing the WEBVTT header: a .vtt file must start with the line 'WEBVTT' "
            f"(found {lines[0][:40]!r})",
            file=file,
            place="line 1",
        )
    timings = []
    in_block = 0  # how many lines of the current block came before this one
    first_is_timing = False
    in_note = False
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            in_block, in_note = 0, False
            continue
        in_block += 1
        if in_block == 1:
            in_note = line.startswith("NOTE")
            first_is_timing = "-->" in line
        if in_note:
            continue
        if "-->" in line:
            times = _timing(line)
            if times is None:
                raise InvalidInput(_bad_timing(line), file=file, place=f"line {number}")
            timings.append((number, *times))
        elif (
            # the first line of a block, or the second after an identifier
            (in_block == 1 or (in_block == 2 and not first_is_timing))
            and _TIMING_LIKE_RE.match(line)
            and not (number < len(lines) and "-->" in lines[number])  # not an identifier
        ):
            raise InvalidInput(_bad_timing(line), file=file, place=f"line {number}")
    return timings


def _timing(line: str) -> tuple[int, int] | None:
    match = _TIMING_RE.match(line)
    if not match:
        return None
    groups = match.groups()
    times = []
    for h, m, s, frac in (groups[:4], groups[4:]):
        if int(m) > 59 or int(s) > 59:
            return None
        times.append(((int(h or 0) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac.ljust(3, "0")))
    return times[0], times[1]


def _bad_timing(line: str) -> str:
    return (
        f"bad cue timing line {line.strip()[:80]!r}: expected start and end times like {_EXAMPLE}"
    )
