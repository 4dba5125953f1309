"""Built demo studies kept in the user's cache, so that a notebook opens a copy at once.

Building the demo through the public API (five transcripts, notes, the joint meeting,
the workshop) takes 0.6 to 1.6 s depending on the stage, and every notebook started
without ``COPROD_STUDY`` used to do it again. Each stage is now built once into the
cache folder and copied with SQLite's backup API (milliseconds) for every notebook.
The build is deterministic apart from its timestamps, so a copy holds what a fresh
build would, except that its timestamps are those of the first build.

The cache folder is ``$COPROD_DEMO_CACHE``, else ``$XDG_CACHE_HOME/coprod_nb`` (by
default ``~/.cache/coprod_nb``); ``COPROD_DEMO_CACHE=off`` turns the cache off. Entries
are keyed by the package version and a hash of the package's source and the demo data,
so a change to either builds afresh (entries a day old of other keys are removed).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

import coprod_nb
from coprod_nb.errors import InvalidInput
from coprod_nb.seed.demo import STAGES, build_demo, demo_data_dir
from coprod_nb.storage.database import DB_FILE

_PACKAGE = Path(__file__).resolve().parent


def cache_root() -> Path | None:
    """The folder of cached demo studies, or None when the cache is off."""
    setting = os.environ.get("COPROD_DEMO_CACHE")
    if setting is not None and setting.strip().lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "coprod_nb"


def _key() -> str:
    digest = hashlib.sha256()
    data = demo_data_dir()
    files = [(p.relative_to(_PACKAGE).as_posix(), p) for p in _PACKAGE.rglob("*.py")]
    files += [(f"data/{p.relative_to(data).as_posix()}", p) for p in data.rglob("*")]
    for name, path in sorted(files):
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"demo-{coprod_nb.__version__}-{digest.hexdigest()[:16]}"


def demo_template(stage: str = STAGES[-1]) -> Path | None:
    """The cached demo study of ``stage`` (built on first use), or None without a cache.

    None also when the cache folder cannot be written; callers then build in place.
    """
    if stage not in STAGES:
        raise InvalidInput(f"stage must be one of {', '.join(STAGES)} (got {stage!r})")
    root = cache_root()
    if root is None or os.environ.get("COPROD_DB"):
        return None  # off, or the demo is meant to go into that database
    entry = root / _key()
    folder = entry / stage
    if (folder / DB_FILE).is_file():
        return folder
    try:
        entry.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{stage}-", dir=entry))
        try:
            build_demo(work / "study", stage=stage).close()
            try:
                # Atomic: two notebooks starting together both build, one rename wins.
                (work / "study").rename(folder)
            except OSError:
                if not (folder / DB_FILE).is_file():
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except OSError:
        return None
    # Entries of earlier code are removed once a day old (not at once: two checkouts of
    # different versions may share the cache and would otherwise rebuild in turn).
    for old in root.glob("demo-*"):
        try:
            stale = old != entry and time.time() - old.stat().st_mtime > 86_400
        except OSError:
            continue
        if stale:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def copy_demo(study_dir: str | os.PathLike, stage: str = STAGES[-1]) -> bool:
    """Put a copy of the cached demo study of ``stage`` into ``study_dir``.

    Returns False (and writes nothing) when there is no cache to copy from.
    """
    template = demo_template(stage)
    if template is None:
        return False
    dest = Path(study_dir)
    dest.mkdir(parents=True, exist_ok=True)
    # The backup API copies a consistent database, whatever is still in the WAL file.
    with (
        closing(sqlite3.connect(template / DB_FILE)) as src,
        closing(sqlite3.connect(dest / DB_FILE)) as out,
    ):
        src.backup(out)
    return True
