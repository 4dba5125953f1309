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
from coprod_nb.domain.wording import plural
from coprod_nb.errors import InvalidInput
from coprod_nb.ingest.limits import restored_zip

from ._decode import MAX_FILE_BYTES, check_characters
from ._txt import TURN_LINE_HINT, UNKNOWN_SPEAKER, clean, parse_clock, turns_from_lines

__all__ = ["MAX_UNPACKED_BYTES", "accept_tracked_changes", "open_docx", "read_docx"]

MAX_UNPACKED_BYTES = 4 * MAX_FILE_BYTES
"""python-docx unpacks every part into memory, so a zip bomb is refused before (counted)."""

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
    ``Name: text`` or a header ``Name   0:03`` followed by text paragraphs. Tracked
    changes are read as accepted (see :func:`accept_tracked_changes`), with a warning
    that counts them.

    Raises
    ------
    InvalidInput
        Not a .docx, too large unpacked, a control character, or no speaker turn found.
    """
    document = open_docx(path)
    warnings: list[str] = []
    changes = accept_tracked_changes(document.element.body)
    if changes:
        warnings.append(
            f"{plural(changes, 'tracked change')} accepted: inserted text is read, deleted text "
            "left out, as Word shows the document with all changes accepted"
        )
    turns = _table_turns(document, warnings)
    if not turns:
        turns = turns_from_lines(_paragraph_lines(document), speaker_re, warnings)
    if not turns:
        raise InvalidInput(
            "no speaker turns found: use a table with a 'Speaker' and a 'Text' column, "
            f"or paragraphs where {TURN_LINE_HINT}",
            file=path.name,
        )
    for turn in turns:
        check_characters(f"{turn.speaker} {turn.text}", path.name, place=turn.place)
    return ParsedTranscript(turns=turns, format="docx", encoding="utf-8", warnings=warnings)


def open_docx(path: Path, *, not_docx: str = _NOT_DOCX):
    """A python-docx ``Document`` of ``path``, read under size caps.

    The zip is inflated member by member with the bytes counted
    (:func:`~coprod_nb.ingest.limits.restored_zip`), whatever sizes its headers declare;
    anything python-docx cannot read is ``not_docx``.

    Raises
    ------
    InvalidInput
        Larger than :data:`MAX_FILE_BYTES`, unpacking to more than
        :data:`MAX_UNPACKED_BYTES`, or not a Word document.
    """
    stream = restored_zip(
        path, max_file=MAX_FILE_BYTES, max_unpacked=MAX_UNPACKED_BYTES, not_zip=not_docx
    )
    try:
        return docx.Document(stream)
    # python-docx reports a zip without Word parts as KeyError, a zip of another Office
    # type as ValueError, broken XML as XMLSyntaxError, and a malformed
    # [Content_Types].xml or relationship as AttributeError, TypeError or IndexError.
    except (
        OpcError,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        etree.XMLSyntaxError,
        AttributeError,
        TypeError,
        IndexError,
    ):
        raise InvalidInput(not_docx, file=path.name) from None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_KEPT = (f"{_W}ins", f"{_W}moveTo")  # their runs are the accepted text
_DROPPED = (f"{_W}del", f"{_W}moveFrom")  # their runs are what was taken out
_MOVE_MARKS = tuple(
    f"{_W}{k}"
    for k in ("moveFromRangeStart", "moveFromRangeEnd", "moveToRangeStart", "moveToRangeEnd")
)


def accept_tracked_changes(body: etree._Element) -> int:
    """Accept every tracked change in a document body, in place; return how many there were.

    Runs inside ``w:ins`` and ``w:moveTo`` are kept (unwrapped), ``w:del`` and
    ``w:moveFrom`` removed with their runs (their ``w:delText``), a table row marked
    deleted removed, the marks of inserted rows and paragraph marks dropped. python-docx
    reads text only from runs that are direct children of a paragraph, so without this
    inserted text would be lost; the walk is over lxml elements because python-docx has
    no API for revisions.
    """
    changes = 0
    for element in list(body.iter(*_KEPT, *_DROPPED, *_MOVE_MARKS)):
        parent = element.getparent()
        if parent is None or element.getroottree().getroot() is not body.getroottree().getroot():
            continue  # inside a change already removed
        if element.tag in _MOVE_MARKS:
            parent.remove(element)
            continue
        if parent.tag == f"{_W}trPr":  # a whole table row inserted or deleted
            changes += 1
            if element.tag in _DROPPED:
                row = parent.getparent()
                row.getparent().remove(row)
            else:
                parent.remove(element)
        elif parent.tag == f"{_W}rPr":
            # The mark of an inserted or deleted paragraph mark: the text is in the runs,
            # counted with them.
            parent.remove(element)
        elif element.tag in _DROPPED:
            changes += 1
            parent.remove(element)
        else:
            changes += 1
            at = parent.index(element)
            for child in reversed(list(element)):
                parent.insert(at, child)
            parent.remove(element)
    return changes


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
