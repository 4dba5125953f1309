"""THE rule for every file a command or widget writes at a path someone named.

Reports, resource packs, notes, exports (CSV, XLSX, QDPX) and manifests are all written
through :class:`Outputs` (or :func:`write_output` for one file). The rule:

- **Never the record.** A path that is the study database, its ``-wal``, ``-shm`` or
  ``-journal`` file, one of its backups or a file in a backup folder
  (:func:`coprod_nb.storage.database.record_files`) is refused, however it is reached:
  relative paths and symbolic links are resolved, and an existing target that is the
  same file (a hard link) is refused too.
- **Replace only when asked.** An existing file is replaced only with ``force=True``
  (``--force`` on the command line), the same for every output.
- **All or nothing.** Each file is written to a temporary file in its own folder and moved
  into place (``os.replace``) only once every file of the output is complete: a failure
  (a full disk, a file size limit) leaves the old output as it was and no half file.
- **Clear messages.** A folder given as a file, a missing folder, a path through a file,
  a place that cannot be written and a full disk each raise :class:`InvalidInput` naming
  the path and the problem.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from coprod_nb.errors import InvalidInput

__all__ = [
    "FORCE_HINT",
    "Outputs",
    "check_folder",
    "check_output",
    "os_error_of",
    "protected_places",
    "write_output",
]

FORCE_HINT = "it is replaced only when asked: --force on the command line, force=True in Python"

_OS_PROBLEMS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than this place allows (a file size limit)",
    errno.EACCES: "permission denied: this place cannot be written",
    errno.EPERM: "permission denied: this place cannot be written",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "is a folder: give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "the folder to write into does not exist",
    errno.ENAMETOOLONG: "the name is too long",
}


def protected_places(store: Any) -> list[tuple[Path, str]]:
    """The study's record on disk as ``(folder, pattern)`` pairs (none without a store)."""
    if store is None:
        return []
    from coprod_nb.storage.database import record_files

    return record_files(store.engine, getattr(store, "study_dir", None))


def _problem(path: Path, exc: OSError, *, kept: bool) -> InvalidInput:
    what = _OS_PROBLEMS.get(exc.errno or 0) or f"cannot be written ({exc.strerror or exc})"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        what += (
            "; nothing was written and the file there before is kept"
            if kept
            else "; nothing was written"
        )
    return InvalidInput(what, file=str(path))


def os_error_of(exc: BaseException) -> OSError | None:
    """The operating system's refusal behind ``exc``, if that is what it is.

    Writers wrap it: lxml (used by openpyxl and python-docx) reports a failed write as
    ``SerialisationError: IO_EFBIG`` or ``IO_ENOSPC``, not as an ``OSError``.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError):
            return exc
        named = re.search(r"\bIO_(E[A-Z]+)\b", str(exc))
        if named and isinstance(getattr(errno, named.group(1), None), int):
            code = getattr(errno, named.group(1))
            return OSError(code, os.strerror(code))
        exc = exc.__cause__ or exc.__context__
    return None


def _record_hit(path: Path, places: list[tuple[Path, str]]) -> str | None:
    """What of the record ``path`` is, or None."""
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(path)
    except OSError:
        st = None
    for folder, pattern in places:
        real_folder = Path(os.path.realpath(folder))
        for candidate in {Path(os.path.abspath(path)), real}:
            inside = candidate.parent == real_folder or candidate.parent == folder
            if pattern == "*" and (real_folder in candidate.parents or folder in candidate.parents):
                return "a backup folder of the study"
            if inside and fnmatch.fnmatchcase(candidate.name, pattern):
                return _label(pattern)
        if st is not None and pattern != "*":
            # The same file under another name: a hard link, or a link the checks above
            # cannot see (a study.db that is itself a symbolic link).
            for existing in real_folder.glob(pattern):
                with contextlib.suppress(OSError):
                    if os.path.samestat(st, os.stat(existing)):
                        return _label(pattern)
    return None


def _label(pattern: str) -> str:
    if ".backup-" in pattern or pattern.startswith("backup-"):
        return "a backup of the study database"
    if pattern.endswith(("-wal", "-shm", "-journal")):
        return "a file of the study database (" + pattern.rsplit("-", 1)[1] + ")"
    return "the study database"


def check_output(path: str | os.PathLike, store: Any = None, *, force: bool = False) -> Path:
    """Check that ``path`` may be written as an output; return it as an absolute path.

    Raises
    ------
    InvalidInput
        The path is (a file of) the study's record, a folder, in a folder that does not
        exist or through a file, or exists and ``force`` is not set.
    """
    text = os.fspath(path)
    if not str(text).strip():
        raise InvalidInput("give the name of the file to write")
    target = Path(os.path.abspath(os.path.expanduser(text)))
    hit = _record_hit(target, protected_places(store))
    if hit:
        raise InvalidInput(
            f"is {hit}: an output is never written onto the study's record; "
            "choose another file name",
            file=str(target),
        )
    if str(text).endswith(os.sep) or target.is_dir():
        raise InvalidInput("is a folder: give a file name (inside it)", file=str(target))
    parent = target.parent
    if not parent.is_dir():
        blocker = next((p for p in (parent, *parent.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise InvalidInput(f"{blocker} is a file, not a folder", file=str(target))
        raise InvalidInput(f"the folder to write into does not exist: {parent}", file=str(target))
    if os.path.lexists(target) and not force:
        raise InvalidInput(f"already exists; {FORCE_HINT}", file=str(target))
    return target


def check_folder(path: str | os.PathLike, store: Any = None) -> Path:
    """Check that ``path`` may hold output files (an existing folder or a new one)."""
    text = os.fspath(path)
    if not str(text).strip():
        raise InvalidInput("give the name of the folder to write")
    target = Path(os.path.abspath(os.path.expanduser(text)))
    hit = _record_hit(target, protected_places(store))
    if hit:
        raise InvalidInput(
            f"is {hit}: an output is never written onto the study's record", file=str(target)
        )
    if os.path.lexists(target) and not target.is_dir():
        raise InvalidInput("exists and is not a folder", file=str(target))
    parent = target.parent
    if not target.is_dir() and not parent.is_dir():
        raise InvalidInput(f"the folder to write into does not exist: {parent}", file=str(target))
    return target


class Outputs:
    """One output of one or more files, written all or nothing.

    Use as ``with Outputs(store, force=force) as out: out.write(path, data)``; the files
    appear when the block ends without an error, and not at all otherwise.

    Parameters
    ----------
    store : Store, optional
        The study whose record (database, side files, backups) is protected.
    force : bool, default False
        Replace files that exist.
    """

    def __init__(self, store: Any = None, *, force: bool = False):
        self.store = store
        self.force = force
        self._pending: list[tuple[Path, Path]] = []  # (temporary file, target)
        self._made: list[Path] = []  # folders this output created

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def folder(self, path: str | os.PathLike) -> Path:
        """A folder to write files into; created (empty) if new, removed again on failure."""
        target = check_folder(path, self.store)
        if not target.is_dir():
            try:
                target.mkdir()
            except OSError as exc:
                raise _problem(target, exc, kept=False) from None
            self._made.append(target)
        return target

    @contextlib.contextmanager
    def open(
        self,
        path: str | os.PathLike,
        *,
        text: bool = False,
        encoding: str = "utf-8",
        newline: str | None = None,
    ) -> Iterator[IO]:
        """A file handle for ``path`` that writes a temporary file beside it."""
        target = check_output(path, self.store, force=self.force)
        if any(t == target for _, t in self._pending):
            raise InvalidInput("is written twice by one output", file=str(target))
        tmp: Path | None = None
        try:
            fd, name = tempfile.mkstemp(prefix=f".{target.name[:60]}.", dir=target.parent)
            tmp = Path(name)
            mode = "w" if text else "wb"
            kwargs = {"encoding": encoding, "newline": newline} if text else {}
            with os.fdopen(fd, mode, **kwargs) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, _mode_for(target))
        except BaseException as exc:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            self.discard()
            failed = os_error_of(exc)
            if failed is None:
                raise
            raise _problem(target, failed, kept=os.path.lexists(target)) from None
        self._pending.append((tmp, target))

    def write(self, path: str | os.PathLike, data: bytes | str) -> Path:
        """Write ``data`` (text as UTF-8) to ``path``; returns the absolute path."""
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        with self.open(path) as fh:
            fh.write(raw)
        return self._pending[-1][1]

    def commit(self) -> None:
        """Move every written file into place (checked once more: files can appear)."""
        try:
            for _tmp, target in self._pending:
                check_output(target, self.store, force=self.force)
            for tmp, target in self._pending:
                if self.force:
                    os.replace(tmp, target)
                    continue
                try:  # "never replace": a link fails if a file appeared meanwhile
                    os.link(tmp, target)
                except FileExistsError:
                    raise InvalidInput(f"already exists; {FORCE_HINT}", file=str(target)) from None
                except OSError:  # a file system without hard links
                    os.replace(tmp, target)
                else:
                    tmp.unlink()
        except OSError as exc:
            self.discard()
            raise _problem(target, exc, kept=True) from None
        except BaseException:
            self.discard()
            raise
        self._pending.clear()
        self._made.clear()

    def discard(self) -> None:
        """Remove the temporary files, and folders this output created (if still empty)."""
        for tmp, _ in self._pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._pending.clear()
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._made.clear()


def _mode_for(target: Path) -> int:
    """A replaced file keeps its permissions; a new one gets the usual ones (umask)."""
    try:
        return os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_output(
    path: str | os.PathLike, data: bytes | str, store: Any = None, *, force: bool = False
) -> Path:
    """Write one output file by the rule of this module; returns the absolute path."""
    with Outputs(store, force=force) as out:
        written = out.write(path, data)
    return written
