"""Opening a study's database: the one rule, for the store and for light read paths.

:class:`~coprod_nb.storage.store.Store` opens its database here, and so does the
command line's search (:func:`coprod_nb.storage.search.search_study`), which must not
load the ORM models: which file may be opened, the schema upgrade (with its backup) and
who is acting (on a database server the connected role, :func:`team.bind_actor`) are
decided in this module only. Nothing here imports the models.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DatabaseError, OperationalError

from coprod_nb.errors import CoprodError, NotFound
from coprod_nb.storage.database import (
    FILE_MODE,
    check_sqlite_file,
    damage_reason,
    damaged_study,
    database_url,
    make_engine,
    prepare,
)
from coprod_nb.storage.team import bind_actor


def default_actor() -> str:
    """Who is acting: ``$COPROD_USER``, ``$JUPYTERHUB_USER``, else the OS user."""
    return (
        os.environ.get("COPROD_USER")
        or os.environ.get("JUPYTERHUB_USER")
        or getpass.getuser()
        or "unknown"
    )


@dataclass
class OpenDatabase:
    """A study's database, opened and at the schema's head, and who is acting on it."""

    study_dir: Path
    url: str
    engine: Engine
    backup: Path | None
    #: The SQLite file (None on a database server or in memory).
    db_file: str | None
    actor: str
    #: The researcher login of the connected role (database servers), else None.
    connected_as: str | None


def open_database(
    study_dir: str | os.PathLike,
    url: str | None = None,
    *,
    actor: str | None = None,
    create: bool = True,
    file_mode: int = FILE_MODE,
) -> OpenDatabase:
    """Open (or, with ``create``, make) a study's database; the parameters are the store's.

    Raises
    ------
    NotFound
        No study folder or database, when ``create`` is false.
    CoprodError
        A damaged SQLite file (naming it and its backup), a database that cannot be
        opened, or a declared actor other than the connected role.
    """
    study_dir = Path(study_dir).resolve()
    resolved = database_url(study_dir, url)
    is_sqlite = resolved.startswith("sqlite")
    if is_sqlite and not (study_dir / "study.db").exists() and not create:
        if url is None and not os.environ.get("COPROD_DB"):
            raise NotFound(f"no study in {study_dir} (run `coprod-nb init` first)")
    if create:
        study_dir.mkdir(parents=True, exist_ok=True)
    elif not study_dir.is_dir():
        raise NotFound(f"no study folder {study_dir}")
    elif is_sqlite:
        # Opening must not leave an empty database file behind (perhaps outside the
        # study folder, when $COPROD_DB names one).
        file = make_url(resolved).database
        if file and file != ":memory:" and not Path(file).exists():
            raise NotFound(f"no study database {file}")
    db_file: str | None = None
    if is_sqlite:
        file = make_url(resolved).database
        if file and file != ":memory:" and not file.startswith("file:"):
            # Before any read-write connection: never open a foreign file read-write.
            check_sqlite_file(file, study_dir)
            db_file = file
    engine = make_engine(resolved, file_mode=file_mode)
    try:
        backup = prepare(engine, study_dir)
    except DatabaseError as exc:
        engine.dispose()
        reason = damage_reason(exc)
        if reason is not None and db_file:
            raise damaged_study(db_file, study_dir, reason) from exc
        if not isinstance(exc, OperationalError):
            raise
        where = engine.url.render_as_string(hide_password=True)
        raise CoprodError(f"cannot open the study database {where}: {exc.orig}") from exc
    # On a database server the connected role says who is acting (storage/team.py).
    try:
        who, connected_as = bind_actor(engine, actor, actor or default_actor())
    except CoprodError:
        engine.dispose()
        raise
    return OpenDatabase(study_dir, resolved, engine, backup, db_file, who, connected_as)
