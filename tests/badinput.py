"""A kit for bad-input and fault tests: what a refused command must leave behind.

Every bad-input test of the project asserts the same contract (see ``assert_refused``):

- exit status 1 and a message ``error: ...`` naming the file, place and problem;
- no traceback;
- every table of the study's SQLite database unchanged (a checksum per table);
- nothing written outside the study folder, /tmp included.

The write recorder is a ``sys.addaudithook`` hook (hooks cannot be removed, so one is added
per session and records only inside ``recording()``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, inspect, text


def table_checksums(db: Path) -> dict[str, str]:
    """One checksum per table of a SQLite study: its rows, in any order."""
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            sums = {}
            for table in sorted(inspect(conn).get_table_names()):
                rows = sorted(
                    repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{table}"'))
                )
                sums[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            return sums
    finally:
        engine.dispose()


def files_under(root: Path, *, skip: Path | None = None) -> set[str]:
    """Every path under ``root`` (relative), leaving out ``skip`` and what is under it."""
    out = set()
    for p in Path(root).rglob("*"):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        out.add(p.relative_to(root).as_posix())
    return out


def tmp_names() -> set[str]:
    """Top-level names in /tmp, without pytest's own."""
    return {n for n in os.listdir("/tmp") if not n.startswith("pytest-of-")}


def written_paths(event, args):
    """Absolute paths that an audited event (``sys.addaudithook``) writes, creates or removes.

    Also run inside subprocess probes (its source is copied there), so it imports its own.
    """
    import os

    if event == "open":
        path, mode, flags = args
        if mode is None:
            writes = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
        else:
            writes = any(c in mode for c in "wxa+")
        targets = [path] if writes else []
    elif event in (
        "os.mkdir",
        "os.remove",
        "os.rmdir",
        "os.truncate",
        "os.chmod",
        "os.chown",
        "os.utime",
        "shutil.rmtree",
        "tempfile.mkstemp",
        "tempfile.mkdtemp",
        "sqlite3.connect",
    ):
        targets = [args[0]]
    elif event in ("os.rename", "os.replace", "shutil.move"):
        targets = [args[0], args[1]]
    elif event in ("os.link", "os.symlink", "shutil.copyfile", "shutil.copytree"):
        targets = [args[1]]
    else:
        return []
    out = []
    if event == "sqlite3.connect" and isinstance(target := targets[0], str):
        if target.startswith("file:"):  # a URI: a read-only one writes nothing
            from urllib.parse import unquote, urlsplit

            uri = urlsplit(target)
            targets = [] if "mode=ro" in uri.query else [unquote(uri.path)]
    for target in targets:
        if isinstance(target, str | bytes | os.PathLike) and target not in ("", ":memory:"):
            path = os.path.abspath(os.fsdecode(target))
            if "/__pycache__/" not in path:  # Python's bytecode cache, not the command's doing
                out.append(path)
    return out


_RECORDER: list[list[str]] = []  # while a command runs: the paths it writes
_HOOKED = False


def _audit(event, args):
    if _RECORDER:
        _RECORDER[-1].extend(written_paths(event, args))


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Record every path written inside the block (the list fills as it runs)."""
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True
    written: list[str] = []
    _RECORDER.append(written)
    try:
        yield written
    finally:
        _RECORDER.remove(written)


def outside(written: list[str], study: Path) -> list[str]:
    """Written paths that are not inside the study folder."""
    root = os.path.realpath(study)
    return sorted({p for p in written if os.path.commonpath([os.path.realpath(p), root]) != root})


def new_tmp_names(before: set[str], written: list[str]) -> set[str]:
    """New top-level names in /tmp that the command wrote.

    Other processes on the machine create names in /tmp at any moment, so a new name counts
    only if the command's own writes touched it.
    """
    touched = {Path(p).parts[2] for p in written if Path(p).parts[:2] == ("/", "tmp")}
    return (tmp_names() - before) & touched


def run_cli(argv: list[str], capsys) -> tuple[int, str, str, list[str]]:
    """Run ``coprod-nb ARGV`` in-process; an uncaught exception fails the test (a traceback).

    Returns the exit status, standard output, standard error and every path written.
    """
    import pytest

    from coprod_nb.cli import main

    capsys.readouterr()
    with recording() as written:
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse usage errors
            status = exc.code
        except Exception as exc:
            pytest.fail(
                f"coprod-nb {' '.join(argv)}: uncaught {type(exc).__name__} ({exc}); "
                "a user would see a traceback",
                pytrace=False,
            )
    captured = capsys.readouterr()
    return status, captured.out, captured.err, written


def assert_refused(
    argv: list[str],
    study: Path,
    capsys,
    *,
    names: tuple[str, ...] = (),
    allowed_outside: tuple[Path, ...] = (),
) -> str:
    """Run a command that must be refused, and check the whole contract.

    ``names`` are what the message must contain (the file, the place, the problem), compared
    without case. Writes outside the study are allowed only under ``allowed_outside`` (the
    output folder a command was pointed at, say). Returns the message.
    """
    db = Path(study) / "study.db"
    before = table_checksums(db)
    inside = files_under(study)
    tmp = tmp_names()
    status, out, err, written = run_cli(argv, capsys)
    assert "Traceback" not in out + err
    assert status == 1, f"exit status {status}; stdout {out!r}; stderr {err!r}"
    assert err.startswith("error: "), err
    for name in names:
        assert name.casefold() in err.casefold(), f"the message does not say {name!r}: {err}"
    assert table_checksums(db) == before, "the study's tables changed although it was refused"
    allowed = [os.path.realpath(p) for p in allowed_outside]
    stray = [
        p
        for p in outside(written, study)
        if not any(os.path.commonpath([os.path.realpath(p), a]) == a for a in allowed)
    ]
    assert not stray, f"written outside the study folder: {stray}"
    assert not new_tmp_names(tmp, written), "written in /tmp"
    side = {"study.db-wal", "study.db-shm", "study.db-journal"}
    assert files_under(study) - inside <= side, "written into the study folder"
    return err
