"""Reading any input file with a cap: plain files, devices, FIFOs and zip members.

Every reader of a user's file (transcripts, Word files, ``.qdpx`` projects, decision logs,
manifests, resource-pack responses) reads it through :func:`read_capped`, and every zip
member through :func:`read_member`. Neither trusts a size the file declares: the bytes
actually read (or inflated) are counted, and reading stops one byte past the cap, so
``/dev/zero``, a FIFO or a zip entry whose header lies about its size cost at most the cap
in memory.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

from coprod_nb.errors import InvalidInput

__all__ = [
    "CHUNK",
    "MAX_TEXT_BYTES",
    "read_capped",
    "read_member",
    "read_text_capped",
    "restored_zip",
]

MAX_TEXT_BYTES = 10 * 2**20
"""Cap for TOML files (decision logs, manifests): a real one is a few hundred KB at most."""

CHUNK = 1 << 20
"""Bytes read (or inflated) per step; what a lying size can cost beyond a cap."""


class _TooLarge(InvalidInput):
    """A member past its cap (told apart from one that cannot be read)."""


def _mb(n: int) -> str:
    return f"{n / 2**20:g} MB"


def read_capped(path: str | os.PathLike, limit: int, *, what: str = "file") -> bytes:
    """The bytes of ``path``, refused when there are more than ``limit``.

    A regular file larger than ``limit`` is refused before it is read; anything else (a
    device, a FIFO, a file growing meanwhile) is read for at most ``limit + 1`` bytes, the
    extra byte telling that there is more.

    Parameters
    ----------
    path : path-like
    limit : int
        Most bytes accepted.
    what : str
        What the file is, for the message (``"decision log"``, ``"transcript"``).

    Raises
    ------
    InvalidInput
        Missing, a folder, unreadable, or longer than ``limit`` (naming the file and the cap).
    """
    path = Path(path)
    name = path.name or str(path)
    too_big = f"more than {_mb(limit)}; a {what} larger than {_mb(limit)} is not read"
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise InvalidInput("this is a folder, not a file", file=name)
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise InvalidInput(f"the file is {st.st_size / 2**20:.0f} MB, {too_big}", file=name)
        with open(path, "rb") as fh:
            chunks, size = [], 0
            while size <= limit and (chunk := fh.read(min(CHUNK, limit + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise InvalidInput("the file does not exist", file=name) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read the file: {exc.strerror or exc}", file=name) from None
    if size > limit:
        raise InvalidInput(f"the file holds {too_big}", file=name)
    return b"".join(chunks)


def read_text_capped(path: str | os.PathLike, *, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text file (decision log, manifest), read through :func:`read_capped`.

    A byte order mark is dropped; a byte that is not UTF-8 is refused with its line.

    Raises
    ------
    InvalidInput
        See :func:`read_capped`; or not UTF-8 (naming the line).
    """
    path = Path(path)
    data = read_capped(path, limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            f"not a UTF-8 text file: byte 0x{data[exc.start]:02X} is not valid UTF-8; "
            f"save the {what} as UTF-8",
            file=path.name,
            place=f"line {line}",
        ) from None


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, *, file: str) -> bytes:
    """A zip member's bytes, inflated step by step and refused past ``limit``.

    ``ZipFile.read`` inflates a member in one call up to whatever the stream holds before
    cutting it to the declared size, so a header that lies costs the whole bomb; this reads
    :data:`CHUNK` at a time and counts.

    Raises
    ------
    InvalidInput
        The member unpacks to more than ``limit`` bytes, or cannot be read (bad CRC, a
        truncated stream, encryption).
    """
    member = info.filename
    problem = (
        f"archive member {member!r} unpacks to more than {_mb(limit)}; "
        f"members larger than {_mb(limit)} unpacked are not read"
    )
    if info.file_size > limit:
        raise _TooLarge(problem, file=file)
    chunks, size = [], 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _TooLarge(problem, file=file)
                chunks.append(chunk)
    except InvalidInput:
        raise
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
        raise InvalidInput(f"archive member {member!r} cannot be read ({exc})", file=file) from None
    except Exception as exc:  # zlib.error and friends from a corrupt stream
        raise InvalidInput(
            f"archive member {member!r} cannot be read ({type(exc).__name__})", file=file
        ) from None
    return b"".join(chunks)


def restored_zip(
    path: str | os.PathLike, *, max_file: int, max_unpacked: int, not_zip: str
) -> io.BytesIO:
    """A zip file read under caps and rewritten in memory without compression.

    For libraries that read a zip themselves with ``ZipFile.read`` (python-docx): each
    member is inflated here through :func:`read_member`, with the total capped too, and
    stored uncompressed, so the library can inflate nothing more than was counted.

    Parameters
    ----------
    path : path-like
    max_file : int
        Most bytes of the zip file itself.
    max_unpacked : int
        Most bytes all members may unpack to, together.
    not_zip : str
        The message when the file is not a zip archive.

    Raises
    ------
    InvalidInput
        Too large, packed or unpacked, not a zip, or a member that cannot be read.
    """
    path = Path(path)
    name = path.name
    data = read_capped(path, max_file, what="Word document")
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, zipfile.ZipFile(out, "w") as copy:
            total = 0
            names: set[str] = set()
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if info.filename in names:  # which copy a reader takes is anyone's guess
                    raise InvalidInput(
                        f"{not_zip} (archive member {info.filename!r} appears twice)", file=name
                    )
                names.add(info.filename)
                left = max_unpacked - total
                try:
                    content = read_member(archive, info, left, file=name)
                except _TooLarge:
                    raise InvalidInput(
                        f"the document unpacks to more than {_mb(max_unpacked)}; documents "
                        f"larger than {_mb(max_unpacked)} unpacked are not read",
                        file=name,
                    ) from None
                total += len(content)
                copy.writestr(info.filename, content)
    except InvalidInput:  # a ValueError too, but already the answer
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise InvalidInput(not_zip, file=name) from None
    out.seek(0)
    return out
