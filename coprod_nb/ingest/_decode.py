"""Read a transcript file's bytes as text: size guard, encoding detection, newlines."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import charset_normalizer

from coprod_nb.errors import InvalidInput

__all__ = ["MAX_FILE_BYTES", "MAX_LINE_CHARS", "check_size", "read_bytes", "read_text"]

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Larger files are refused: a transcript is a few MB at most, and the readers hold it whole."""

MAX_LINE_CHARS = 1_000_000
"""Longer lines are refused: regular expressions over them would take minutes."""

# UTF-32 first: its little-endian BOM begins with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Unicode blocks that any Western text may use; a guess showing another script
# (Cyrillic, Greek, ...) is believed over cp1252.
_SCRIPT_NEUTRAL = {
    "Control character",
    "General Punctuation",
    "Currency Symbols",
    "Letterlike Symbols",
    "Number Forms",
    "Spacing Modifier Letters",
    "Combining Diacritical Marks",
    "Mathematical Operators",
}

_KNOWN_SIGNATURES = (
    (b"PK\x03\x04", "it looks like a zip file, e.g. a Word .docx"),
    (b"%PDF", "it looks like a PDF"),
    (b"\xd0\xcf\x11\xe0", "it looks like an old Word .doc or another Office file"),
)


def check_size(path: Path) -> int:
    """Return the file's size in bytes; refuse missing, unreadable or oversized files."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput("the file does not exist", file=path.name) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read the file: {exc.strerror}", file=path.name) from None
    if path.is_dir():
        raise InvalidInput("this is a folder, not a file", file=path.name)
    if size > MAX_FILE_BYTES:
        raise InvalidInput(
            f"the file is {size / 1024 / 1024:.0f} MB; transcripts larger than "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB are not read",
            file=path.name,
        )
    return size


def read_bytes(path: Path) -> bytes:
    """The file's content, after :func:`check_size`."""
    check_size(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the file: {exc.strerror}", file=path.name) from None


def read_text(path: Path) -> tuple[str, str]:
    """Decode a text file whatever its encoding.

    Tries, in order: a byte order mark (UTF-8, UTF-16, UTF-32), strict UTF-8 (a
    file that is UTF-8 but for a few stray bytes is refused with the line of the
    first one, rather than guessed as another codec), Windows-1252, then
    charset-normalizer's guess. Windows-1252 comes before the guess because
    charset-normalizer often mistakes short Western texts for cp1250; its guess
    wins only when it finds a non-Latin script.

    Parameters
    ----------
    path : Path

    Returns
    -------
    text : str
        Without a byte order mark, newlines normalised to ``\\n``.
    encoding : str
        The codec used, e.g. ``"utf-8"``, ``"utf-8-sig"``, ``"utf-16-le"``, ``"cp1252"``.

    Raises
    ------
    InvalidInput
        Empty, binary, undecodable or oversized file, or a line too long.
    """
    data = read_bytes(path)
    text, encoding = _decode(data, path.name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InvalidInput("the file is empty", file=path.name)
    _check_line_lengths(text, path.name)
    return text, encoding


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if not data.strip():
        raise InvalidInput("the file is empty", file=name)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding.removesuffix("-sig")), encoding
            except UnicodeDecodeError as exc:
                raise InvalidInput(
                    f"not a text file: it starts with a {encoding} byte order mark but "
                    f"byte {exc.start + len(bom)} cannot be decoded",
                    file=name,
                ) from None
    if b"\x00" in data:
        raise InvalidInput(_binary_problem(data), file=name)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if _mostly_utf8(data):
            # Guessing another codec would garble every accented letter (and let accented
            # real names slip past the pseudonym key); the honest answer is the bad byte.
            line = data.count(b"\n", 0, exc.start) + 1
            raise InvalidInput(
                f"the file is UTF-8 text except for byte 0x{data[exc.start]:02X}, which is "
                "not valid UTF-8 (often a Windows quote or apostrophe pasted in); fix that "
                "character and save the file as UTF-8",
                file=name,
                place=f"line {line}",
            ) from None
    best = charset_normalizer.from_bytes(data).best()
    try:
        cp1252 = data.decode("cp1252")
    except UnicodeDecodeError:
        cp1252 = None
    if cp1252 is not None and (best is None or not _has_other_script(best.alphabets)):
        return cp1252, "cp1252"
    if best is None:
        raise InvalidInput(_binary_problem(data), file=name)
    return str(best), best.encoding


# A valid multi-byte UTF-8 sequence; in cp1252 text these byte pairs are rare ("Ã©").
_UTF8_MULTIBYTE = re.compile(
    rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}"
)


def _mostly_utf8(data: bytes) -> bool:
    """Whether the bytes are UTF-8 with a few stray bytes rather than another codec."""
    valid = len(_UTF8_MULTIBYTE.findall(data))
    if not valid:
        return False
    invalid = data.decode("utf-8", errors="replace").count("\ufffd")
    return valid >= invalid


def _has_other_script(alphabets: list[str]) -> bool:
    return any("Latin" not in a and a not in _SCRIPT_NEUTRAL for a in alphabets)


def _binary_problem(data: bytes) -> str:
    hint = next((h for sig, h in _KNOWN_SIGNATURES if data.startswith(sig)), None)
    problem = "not a text file (it contains binary data"
    problem += f"; {hint})" if hint else ")"
    return problem + "; save the transcript as plain text"


def _check_line_lengths(text: str, name: str) -> None:
    if len(text) <= MAX_LINE_CHARS:
        return
    start = 0
    number = 1
    while start <= len(text):
        end = text.find("\n", start)
        if end == -1:
            end = len(text)
        if end - start > MAX_LINE_CHARS:
            raise InvalidInput(
                f"the line has {end - start:,} characters, more than the "
                f"{MAX_LINE_CHARS:,} a transcript line may have; is this really a transcript?",
                file=name,
                place=f"line {number}",
            )
        start = end + 1
        number += 1
