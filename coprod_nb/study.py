"""Opening the study a notebook works on: the one it is told to, never a silent demo.

A study is *named* by the ``study_dir`` argument, ``$COPROD_STUDY``, or a database
(``url=`` or ``$COPROD_DB``). A named study that does not exist is an error that says how
to create one: a typing mistake in ``COPROD_STUDY`` must not hand a researcher the
fictional demo. The demo is built only when asked for (``demo=True``, ``coprod-nb demo
DIR``) or when nothing is named at all, and then it says so in the notebook's output.
Such a demo lives in a temporary folder that is removed again when its store is no longer
used or the process (the notebook's kernel) ends, so that "nothing you do here is kept"
holds and a shared server's temporary space does not fill with copies. A kernel that is
killed cannot clean up after itself; its folder is removed by the next temporary demo
opened, which knows the folder is abandoned because the operating system released the
lock its process held on it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

from sqlalchemy.engine import make_url

from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.storage import Store, default_actor
from coprod_nb.storage.database import DB_FILE, database_url

if sys.platform != "win32":
    import fcntl
else:  # no advisory locks: a killed kernel's folder is left to the system's clean-up
    fcntl = None

#: The name of every temporary demo folder starts so (in the system's temporary folder).
DEMO_PREFIX = "coprod-demo-"
#: The file of a temporary demo folder that its process holds locked while it works.
IN_USE = ".in-use"

#: Printed when a temporary demo study is opened. It names no path: the temporary
#: folder changes with every run, and stored notebook outputs must not.
DEMO_NOTICE = (
    "This is a temporary fictional demo study: nothing you do here is kept. "
    "Set COPROD_STUDY to open your own study."
)


def open_study(
    study_dir: str | os.PathLike | None = None,
    *,
    url: str | None = None,
    actor: str | None = None,
    stage: str = "workshop",
    demo: bool = False,
    create: bool = False,
) -> Store:
    """Open the study a notebook should work on.

    Parameters
    ----------
    study_dir : path, optional
        The study folder; default ``$COPROD_STUDY``. It must hold a study (in
        ``study.db``, or in the database of ``url`` / ``$COPROD_DB``).
    url : str, optional
        A SQLAlchemy URL of the study database (default ``$COPROD_DB``, else
        ``study_dir/study.db``).
    actor : str, optional
        Who is working (default :func:`coprod_nb.storage.default_actor`).
    stage : str
        For a demo only: how far the demo study has got (see
        :data:`coprod_nb.seed.demo.STAGES`); a named study is opened as it is.
    demo : bool
        Open a fresh temporary demo study even if a study is named in the environment
        (in a SQLite file, unless ``url`` is given).
    create : bool
        Create a new, empty study in the named folder when it holds none (notebook 00,
        where a study is set up), and say so; on a database server the study must exist
        (its owner creates it with ``coprod-nb init DIR --db URL``).

    When no study is named at all (no ``study_dir``, ``COPROD_STUDY``, ``url`` or
    ``COPROD_DB``), or with ``demo=True``, a fresh demo study is built in a temporary
    folder, so that a notebook runs on its own and never writes into the repository;
    :data:`DEMO_NOTICE` is printed and the store's ``is_demo`` is True (False for a
    named study).

    Raises
    ------
    NotFound
        A named study does not exist (the message says how to create one), or
        ``COPROD_DB`` is set without a study folder.
    """
    if demo:
        if study_dir is not None:
            raise InvalidInput(
                "open_study(demo=True) opens a temporary demo study; to keep a demo study, "
                "build it with `coprod-nb demo DIR` and open DIR"
            )
        return _temporary_demo(url, actor, stage)
    named_by = "the study folder" if study_dir else "COPROD_STUDY"
    target = study_dir or os.environ.get("COPROD_STUDY")
    server = url or os.environ.get("COPROD_DB")
    if not target and not server:
        return _temporary_demo(None, actor, stage)
    if not target:
        raise NotFound(
            f"{'url' if url else 'COPROD_DB'} names the study database, but no study folder "
            "(for its backups and exports) is named: set COPROD_STUDY too"
        )
    folder = Path(target)
    if create and not server and not (folder / DB_FILE).is_file():
        store = _create_empty(folder, actor, named_by)
    else:
        store = _open_named(folder, url, actor, named_by)
    store.is_demo = False
    return store


#: Printed when notebook 00 creates a study in a named folder that held none.
NEW_STUDY_NOTICE = (
    "A new, empty study was created in {folder} (named by {named_by}); if you meant "
    "another study, check the name and open the notebook again."
)


def _create_empty(folder: Path, actor: str | None, named_by: str) -> Store:
    if folder.exists() and not folder.is_dir():
        raise NotFound(f"{folder} (named by {named_by}) is not a folder")
    try:
        store = Store(folder, actor=actor, create=True)
    except OSError as exc:
        raise NotFound(f"cannot create a study in {folder} ({exc.strerror})") from exc
    print(NEW_STUDY_NOTICE.format(folder=folder, named_by=named_by))
    return store


def _how_to_create(folder: Path) -> str:
    return (
        f"create one with `coprod-nb init {folder}` (or with the set-up in notebook 00), "
        f"or build the fictional demo study there with `coprod-nb demo {folder}`"
    )


def _open_named(folder: Path, url: str | None, actor: str | None, named_by: str) -> Store:
    if url is None and not os.environ.get("COPROD_DB"):
        # A SQLite study: its database file must be there already.
        if not (folder / DB_FILE).is_file():
            raise NotFound(f"no study in {folder} (named by {named_by}): {_how_to_create(folder)}")
        return Store(folder, actor=actor, create=False)
    # A database server: the folder only keeps backups and exports, and may be new.
    if folder.exists() and not folder.is_dir():
        raise NotFound(f"{folder} (named by {named_by}) is not a folder")
    made = not folder.exists()
    if made:
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise NotFound(f"cannot create the study folder {folder} ({exc.strerror})") from exc
    try:
        return Store(folder, url, actor=actor, create=False)
    except NotFound as exc:
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        where = make_url(database_url(folder, url)).render_as_string(hide_password=True)
        raise NotFound(
            f"no study in the database {where}: {_how_to_create(folder)}, "
            "with the same database URL"
        ) from exc


def _temporary_demo(url: str | None, actor: str | None, stage: str) -> Store:
    from coprod_nb.seed.demo import DEMO_ACTOR, STAGES, build_demo
    from coprod_nb.seed.demo_cache import copy_demo

    if stage not in STAGES:
        raise InvalidInput(f"stage must be one of {', '.join(STAGES)} (got {stage!r})")
    _sweep_abandoned()
    folder = Path(tempfile.mkdtemp(prefix=DEMO_PREFIX))
    held = _hold(folder)
    try:
        if url is None:
            # A SQLite file in the temporary folder, whatever $COPROD_DB says: a team's
            # database never receives the demo unless it is passed as ``url``. Copied
            # from the cache of built demos (coprod_nb.seed.demo_cache) when there is one.
            local = f"sqlite:///{folder.resolve() / DB_FILE}"
            if copy_demo(folder, stage):
                store = Store(folder, local, actor=actor)
            else:
                store = build_demo(folder, url=local, stage=stage)
        else:
            store = build_demo(folder, url=url, stage=stage)
    except BaseException:  # an interrupted or failed build leaves no half-built folder
        _release(folder, held)
        raise
    store.actor = actor or default_actor()  # the demo was built by "demo"; now it is you
    notice = DEMO_NOTICE
    if actor is None and store.acting_researcher() is None:
        # On a throwaway copy of the fictional demo, whoever is not one of its researchers
        # works as one of them, so that every step is open to try.
        store.actor = DEMO_ACTOR
        notice += f" You work as its researcher {store.acting_researcher().name}."
    store.is_demo = True
    _discard_when_done(store, held)
    print(notice)
    return store


def _hold(folder: Path) -> int | None:
    """Lock ``folder`` as in use by this process; the operating system releases the lock
    when the process ends, however it ends."""
    if fcntl is None:
        return None
    # Locked before it is renamed into place, so no sweep ever sees it unlocked.
    fd, name = tempfile.mkstemp(prefix=".lock-", dir=folder)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.replace(name, folder / IN_USE)
    return fd


def _release(folder: Path, held: int | None) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if held is not None:
        os.close(held)


def _sweep_abandoned() -> None:
    """Remove the temporary demos of processes that ended without removing them."""
    if fcntl is None:
        return
    for folder in Path(tempfile.gettempdir()).glob(f"{DEMO_PREFIX}*"):
        try:  # another user's (unreadable), still being created, or not locked at all
            fd = os.open(folder / IN_USE, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its process is still working on it
            os.close(fd)
            continue
        _release(folder, fd)


def _discard_when_done(store: Store, held: int | None) -> None:
    """Remove a temporary demo's folder once ``store`` is garbage-collected or the
    process ends (whichever comes first); never in a forked child, whose parent may
    still be working on it."""
    folder, engine, owner = store.study_dir, store.engine, os.getpid()

    def discard() -> None:
        if os.getpid() == owner:
            engine.dispose()
            _release(folder, held)

    weakref.finalize(store, discard)
