"""Read interview transcripts (.vtt, .srt, .txt, .docx) into speaker turns.

Every problem with a file is raised as :class:`~coprod_nb.errors.InvalidInput`
naming the file, the place in it and what is wrong, never as a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from coprod_nb.domain.transcript import ParsedTranscript
from coprod_nb.errors import InvalidInput

from ._decode import read_text
from ._srt import read_srt
from ._txt import DEFAULT_SPEAKER_PATTERN, compile_speaker_pattern, read_txt
from ._vtt import read_vtt

__all__ = ["DEFAULT_SPEAKER_PATTERN", "SUPPORTED_SUFFIXES", "read_transcript"]

_TEXT_READERS = {".vtt": read_vtt, ".srt": read_srt, ".txt": read_txt}

SUPPORTED_SUFFIXES: tuple[str, ...] = (".vtt", ".srt", ".txt", ".docx")
"""File name endings :func:`read_transcript` reads (in any letter case)."""


def read_transcript(
    path: str | os.PathLike[str],
    *,
    speaker_pattern: str | re.Pattern[str] | None = None,
    encoding: str | None = None,
) -> ParsedTranscript:
    """Read a transcript file into speaker turns.

    The format follows the file name's suffix:

    - ``.vtt``: WebVTT; the speaker is a Teams voice tag ``<v Name>`` or a Zoom
      prefix ``Name: text``.
    - ``.srt``: SubRip; the speaker is a prefix ``Name:``, ``>> Name:`` or ``[Name]``.
    - ``.txt``: lines ``Name: text``, or Otter headers ``Name  0:03`` with the text below.
    - ``.docx``: a table with Speaker and Text columns (Time optional), or paragraphs
      laid out as in ``.txt``.

    In subtitles, a cue naming no speaker continues the previous speaker, and
    consecutive cues of one speaker become one turn; a first cue naming nobody is
    given the speaker ``"Unknown"`` with a warning. Text files are UTF-8 (with or
    without BOM) or UTF-16/32 with a BOM; another encoding (Windows-1252, say) is read
    only when given as ``encoding``: text not valid in its encoding is refused with the
    line of the first bad byte, never guessed. Control characters (NUL, C0 but tab and
    line breaks, C1, U+FFFE/U+FFFF) are refused with their line and column. Tracked
    changes in a Word file are read as accepted (insertions kept, deletions dropped),
    and counted in a warning.

    Parameters
    ----------
    path : str or path-like
    speaker_pattern : str or re.Pattern, optional
        Regular expression for a line (or cue, or paragraph) that starts a turn, with
        named groups ``speaker`` and ``text``, e.g. ``r"^(?P<speaker>[A-Z]+) - (?P<text>.*)"``
        for ``HELEN - text``. Replaces :data:`DEFAULT_SPEAKER_PATTERN` (``Name: text``).
    encoding : str, optional
        Codec of a text file that is neither UTF-8 nor marked by a BOM (``"cp1252"``).

    Returns
    -------
    ParsedTranscript
        Turns with ``place`` set (``"line 12"``, ``"paragraph 4"``, ``"table 1, row 3"``);
        times in milliseconds for subtitles and Otter headers; ``warnings`` for what
        was skipped or guessed.

    Raises
    ------
    InvalidInput
        Unsupported suffix, unreadable, empty, binary or malformed file, invalid
        ``speaker_pattern``, or no speaker turn found.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InvalidInput(
            f"cannot read {suffix or 'files without a suffix'}: transcripts must be "
            + ", ".join(SUPPORTED_SUFFIXES)
            + " files",
            file=path.name,
        )
    speaker_re = compile_speaker_pattern(speaker_pattern, path.name)
    if suffix == ".docx":
        # Imported here: python-docx takes a while to import, and most studies (the
        # demo included) have no Word transcripts.
        from ._docx import read_docx

        return read_docx(path, speaker_re=speaker_re)
    text, encoding = read_text(path, encoding)
    return _TEXT_READERS[suffix](text, file=path.name, encoding=encoding, speaker_re=speaker_re)
