"""Read a transcript file's bytes as text: size guard, encoding detection, newlines."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from coprod_nb.errors import InvalidInput
from coprod_nb.ingest.limits import read_capped

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_LINE_CHARS",
    "check_characters",
    "check_size",
    "decode",
    "read_bytes",
    "read_text",
]

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
    """The file's content, at most :data:`MAX_FILE_BYTES` (devices and FIFOs included)."""
    check_size(path)
    return read_capped(path, MAX_FILE_BYTES, what="transcript")


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode a text file by a clear rule, never by a guess.

    Accepted: a byte order mark (UTF-8, UTF-16, UTF-32) and its encoding, else strict
    UTF-8, else the ``encoding`` given. Text that is not valid in that encoding is
    refused with the line of the first bad byte (a guess would garble accents, and let
    accented real names slip past the pseudonym key); so are control characters (NUL,
    C0 but tab and line breaks, C1, U+FFFE/U+FFFF), with their line and column.

    Parameters
    ----------
    path : Path
    encoding : str, optional
        The file's encoding when it is neither UTF-8 nor marked by a BOM (e.g.
        ``"cp1252"``); a BOM still wins.

    Returns
    -------
    text : str
        Without a byte order mark, newlines normalised to ``\\n``.
    encoding : str
        The codec used, e.g. ``"utf-8"``, ``"utf-8-sig"``, ``"utf-16-le"``, ``"cp1252"``.

    Raises
    ------
    InvalidInput
        Empty, binary, undecodable or oversized file, a control character, or a line
        too long.
    """
    data = read_bytes(path)
    text, encoding = decode(data, path.name, encoding)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InvalidInput("the file is empty", file=path.name)
    _check_line_lengths(text, path.name)
    check_characters(text, path.name)
    return text, encoding


def decode(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str]:
    """``(text, codec)`` of a file's bytes by the rule of :func:`read_text`."""
    if not data.strip():
        raise InvalidInput("the file is empty", file=name)
    for bom, marked in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            try:
                return body.decode(marked.removesuffix("-sig")), marked
            except UnicodeDecodeError as exc:
                raise InvalidInput(
                    f"not a text file: it starts with a {marked} byte order mark but "
                    f"byte {exc.start + len(bom)} cannot be decoded",
                    file=name,
                    place=_line_of(body, exc.start, marked),
                ) from None
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InvalidInput(f"unknown encoding {encoding!r}", file=name) from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"byte 0x{data[exc.start]:02X} is not valid {encoding}; give the file's "
                "real encoding, or save it as UTF-8",
                file=name,
                place=_line_of(data, exc.start, encoding),
            ) from None
    if _looks_binary(data):
        raise InvalidInput(_binary_problem(data), file=name)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if b"\x00" in data:  # not UTF-8 and NUL bytes: binary, or UTF-16 without a BOM
            raise InvalidInput(_binary_problem(data), file=name) from None
        raise InvalidInput(
            f"the file is not UTF-8: byte 0x{data[exc.start]:02X} is not valid UTF-8 "
            "(often a Windows quote, apostrophe or accent); save the file as UTF-8, or give "
            'its encoding: --encoding cp1252 on the command line, encoding="cp1252" in Python',
            file=name,
            place=_line_of(data, exc.start, "utf-8"),
        ) from None


def _line_of(data: bytes, offset: int, encoding: str) -> str:
    """``"line N"`` of a byte offset, counting newlines as the encoding writes them."""
    newline = "\n".encode(encoding.removesuffix("-sig"))
    return f"line {data.count(newline, 0, offset) + 1}"


# Characters a transcript never holds on purpose: C0 controls but tab, LF and CR; DEL
# and C1; the noncharacters U+FFFE and U+FFFF; lone surrogates (from a lenient codec).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def check_characters(
    text: str, name: str, *, place: str | None = None, within: str | None = None
) -> None:
    """Refuse a control character, naming its line and column (or ``place``).

    Parameters
    ----------
    text : str
        Decoded text; lines are counted at ``\\n``.
    name : str
        The file, for the message.
    place : str, optional
        Where ``text`` is in the file when it is not the whole file (``"paragraph 3"``);
        the column is then counted within it.
    within : str, optional
        The part of the file (an archive member) the lines are counted in, put before them.

    Raises
    ------
    InvalidInput
        The first control character found.
    """
    match = _CONTROL.search(text)
    if match is None:
        return
    at = match.start()
    line_start = text.rfind("\n", 0, at) + 1
    column = at - line_start + 1
    where = place or f"line {text.count(chr(10), 0, at) + 1}"
    if within:
        where = f"{within}, {where}"
    code = ord(match.group())
    surrogate = 0xD800 <= code <= 0xDFFF
    label = "a lone surrogate" if surrogate else _CONTROL_NAMES.get(code, "a control character")
    raise InvalidInput(
        f"the text holds U+{code:04X} ({label}), which a "
        "transcript never holds; remove it (is the file damaged, or binary?)",
        file=name,
        place=f"{where}, column {column}",
    )


_CONTROL_NAMES = {
    0: "a NUL control character",
    0x1B: "the escape control character",
    0x7F: "the delete control character",
    0xFFFE: "a noncharacter",
    0xFFFF: "a noncharacter",
}


_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _looks_binary(data: bytes) -> bool:
    """A known binary signature, or control bytes thick in the first 8 KB (over 1 in 20).

    A text with a stray control character is refused with its place instead (see
    :func:`check_characters`); this tells a file that is no text at all.
    """
    head = data[:8192]
    if any(head.startswith(sig) for sig, _ in _KNOWN_SIGNATURES):
        return True
    return len(_CONTROL_BYTES.findall(head)) * 20 > len(head)


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
