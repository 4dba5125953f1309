"""Word (.docx) transcripts: a Speaker/Text table, or speaker-labelled paragraphs."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docx
from docx.opc.exceptions import OpcError
from lxml import etree

from coprod_nb.domain.transcript import ParsedTranscript, RawTurn
from coprod_nb.errors import InvalidInput

from ._decode import MAX_FILE_BYTES, check_size
from ._txt import TURN_LINE_HINT, UNKNOWN_SPEAKER, clean, parse_clock, turns_from_lines

__all__ = ["MAX_UNPACKED_BYTES", "read_docx"]

MAX_UNPACKED_BYTES = 4 * MAX_FILE_BYTES
"""python-docx unpacks every part into memory, so a zip bomb is refused before."""

_SPEAKER_HEADERS = {"speaker", "name", "speaker name", "participant"}
_TEXT_HEADERS = {"text", "transcript", "utterance", "content", "speech"}
_TIME_HEADERS = {"time", "timestamp", "start", "start time", "time stamp"}
_NOT_DOCX = (
    "not a Word .docx file (an old .doc, a PDF or a renamed file?); "
    "open it in Word and save it as .docx"
)


def read_docx(path: Path, *, speaker_re: re.Pattern[str]) -> ParsedTranscript:
    """Read a Word document with python-docx.

    Tables whose header row has a Speaker (or Name) and a Text (or Transcript,
    Utterance, Content) column, with an optional Time column, are read row by row.
    Without such a table, body paragraphs are read like lines of a text transcript:
    ``Name: text`` or a header ``Name   0:03`` followed by text paragraphs.

    Raises
    ------
    InvalidInput
        Not a .docx, too large unpacked, or no speaker turn found.
    """
    document = _open(path)
    warnings: list[str] = []
    turns = _table_turns(document, warnings)
    if not turns:
        turns = turns_from_lines(_paragraph_lines(document), speaker_re, warnings)
    if not turns:
        raise InvalidInput(
            "no speaker turns found: use a table with a 'Speaker' and a 'Text' column, "
            f"or paragraphs where {TURN_LINE_HINT}",
            file=path.name,
        )
    return ParsedTranscript(turns=turns, format="docx", encoding="utf-8", warnings=warnings)


def _open(path: Path):
    check_size(path)
    name = path.name
    if not zipfile.is_zipfile(path):
        raise InvalidInput(_NOT_DOCX, file=name)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise InvalidInput(_NOT_DOCX, file=name) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise InvalidInput(
            f"the document unpacks to {unpacked / 1024 / 1024:.0f} MB; documents "
            f"larger than {MAX_UNPACKED_BYTES // 1024 // 1024} MB unpacked are not read",
            file=name,
        )
    try:
        return docx.Document(str(path))
    # python-docx reports a zip without Word parts as KeyError, a zip of another
    # Office type as ValueError, broken XML as XMLSyntaxError.
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError):
        raise InvalidInput(_NOT_DOCX, file=name) from None


def _paragraph_lines(document) -> Iterator[tuple[str, str]]:
    # Numbered over all body paragraphs, empty ones included, as Word shows them.
    for number, paragraph in enumerate(document.paragraphs, 1):
        for line in paragraph.text.split("\n"):  # soft line breaks (Shift+Enter)
            yield f"paragraph {number}", line


def _columns(table) -> tuple[int, int, int | None] | None:
    """``(speaker, text, time)`` column indexes when the header row names them."""
    if not table.rows:
        return None
    header = [clean(cell.text).casefold().rstrip(":") for cell in table.rows[0].cells]

    def find(names: set[str]) -> int | None:
        return next((i for i, h in enumerate(header) if h in names), None)

    speaker, text, time = find(_SPEAKER_HEADERS), find(_TEXT_HEADERS), find(_TIME_HEADERS)
    if speaker is None or text is None:
        return None
    return speaker, text, time


def _cell(cells: list[str], index: int | None) -> str:
    # Rows with merged or missing cells can be shorter than the header.
    return cells[index] if index is not None and index < len(cells) else ""


def _table_turns(document, warnings: list[str]) -> list[RawTurn]:
    turns: list[RawTurn] = []
    for t, table in enumerate(document.tables, 1):
        columns = _columns(table)
        if columns is None:
            continue
        speaker_col, text_col, time_col = columns
        for r, row in enumerate(table.rows, 1):
            if r == 1:
                continue
            cells = [clean(cell.text) for cell in row.cells]
            place = f"table {t}, row {r}"
            speaker, text, time = (_cell(cells, i) for i in (speaker_col, text_col, time_col))
            if not text:
                continue
            start_ms = parse_clock(time) if time else None
            if time and start_ms is None:
                warnings.append(f"{place}: time {time!r} not understood; left empty")
            if not speaker and turns:
                # A row without a speaker goes on with the turn above.
                turns[-1] = replace(turns[-1], text=f"{turns[-1].text} {text}")
                continue
            if not speaker:
                speaker = UNKNOWN_SPEAKER
                warnings.append(
                    f"{place}: the first row names no speaker; given {UNKNOWN_SPEAKER!r}"
                )
            turns.append(RawTurn(speaker, text, start_ms, None, place))
    return turns
