"""Opening a study database: engine set-up, migrations, backups.

A study folder holds ``study.db`` (SQLite) unless a SQLAlchemy URL is given, e.g. a
PostgreSQL database that a team shares from JupyterHub.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError

from coprod_nb.errors import InvalidInput

if TYPE_CHECKING:
    from alembic.config import Config

DB_FILE = "study.db"
BUSY_TIMEOUT_MS = 30_000
#: Study files (``study.db``, its backups) are created readable by their owner only. A
#: course's group studies, which its students share on one hub, use ``GROUP_FILE_MODE``
#: (docs/teaching/course-mode.md).
FILE_MODE = 0o600
GROUP_FILE_MODE = 0o660
_MIGRATIONS = Path(__file__).with_name("migrations")


# Alembic is imported inside the functions that need it: it takes about a third of a
# second to import, and opening a study that is already at the newest revision (the
# usual case) does not need it (see prepare).


def _alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest schema revision this package knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def database_url(study_dir: str | os.PathLike, url: str | None = None) -> str:
    """The URL for a study: ``url``, else ``$COPROD_DB``, else ``DIR/study.db``."""
    url = url or os.environ.get("COPROD_DB")
    if url:
        return url
    return f"sqlite:///{Path(study_dir).resolve() / DB_FILE}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers (a second notebook, the CLI) work while one researcher writes;
    # foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Sorts and temporary indexes of big statements stay in memory, not in /tmp, where
    # transcript text would outlive the study folder's permissions.
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def create_private_file(path: str | os.PathLike, mode: int = FILE_MODE) -> None:
    """Create ``path`` empty with ``mode`` (whatever the umask) unless it exists.

    SQLite gives its ``-wal`` and ``-shm`` files the permissions of the database file,
    so creating ``study.db`` this way keeps them private too.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away
    finally:
        os.close(fd)


def make_engine(url: str, *, file_mode: int = FILE_MODE) -> Engine:
    """Create an engine with the settings coprod_nb relies on.

    A SQLite database file that does not exist yet is created with ``file_mode``
    (owner-only by default).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        # SQLAlchemy names an unknown scheme by a plugin lookup error; say what to write.
        hint = "postgresql://" if backend == "postgres" else "sqlite:///FILE or postgresql://"
        raise InvalidInput(
            f"database URL {parsed.render_as_string(hide_password=True)!r}: "
            f"{backend}:// is not a kind of database coprod_nb opens; write {hint}..."
        )
    if backend == "sqlite":
        file = parsed.database
        if file and file != ":memory:" and not file.startswith("file:"):
            if Path(file).parent.is_dir():
                create_private_file(file, file_mode)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so that a
        # write transaction starts with BEGIN IMMEDIATE and waits on busy_timeout
        # instead of failing with "database is locked" at its first write.
        event.listen(engine, "connect", _disable_pysqlite_begin)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    if parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def _disable_pysqlite_begin(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None


def _begin_immediate(conn) -> None:
    # Read-only sessions take a plain (deferred) snapshot so that readers never wait.
    read_only = conn.get_execution_options().get("coprod_read_only", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, or None for an empty one."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def prepare(engine: Engine, study_dir: Path | None) -> Path | None:
    """Create a fresh schema, or back up then upgrade an older one.

    Returns
    -------
    Path or None
        The backup written before an upgrade, if any.
    """
    # The usual case, a study already at the head, is answered without alembic.
    quick_head = _head_from_files()
    if quick_head is not None and _stored_revision(engine) == quick_head:
        return None
    from alembic import command
    from alembic.script import ScriptDirectory

    head = head_revision()
    rev = current_revision(engine)
    if rev == head:
        return None
    has_tables = bool(inspect(engine).get_table_names())
    if rev is None and has_tables:
        raise InvalidInput(
            "the database has tables but no coprod_nb schema version; refusing to touch it",
            file=str(engine.url.render_as_string(hide_password=True)),
        )
    script = ScriptDirectory.from_config(_alembic_config())
    known = {sc.revision for sc in script.walk_revisions()}
    if rev is not None and rev not in known:
        raise InvalidInput(
            f"the study was written by a newer coprod_nb (schema {rev}); upgrade the package",
            file=str(engine.url.render_as_string(hide_password=True)),
        )
    backup = _backup(engine, study_dir, rev) if rev is not None else None
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return backup


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.+)$", re.MULTILINE)


def _head_from_files() -> str | None:
    """The head revision read from the migration files' text; None when unsure.

    Only a shortcut for :func:`prepare` (alembic gives the answer that counts): a
    file it cannot read plainly, or more than one head, returns None.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"].strip())
            down = ast.literal_eval(found.get("down_revision", "None").strip())
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else (down or ()))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(engine: Engine) -> str | None:
    """The revision in ``alembic_version`` read with plain SQL; None if there is none."""
    with engine.execution_options(coprod_read_only=True).connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def _backup(engine: Engine, study_dir: Path | None, rev: str) -> Path | None:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if engine.dialect.name == "sqlite":
        src = Path(engine.url.database)
        dest = src.with_name(f"{src.stem}.backup-{rev}-{stamp}{src.suffix}")
        # A backup holds everything the study does: as private as the study file.
        create_private_file(dest, _mode_of(src))
        # sqlite3's backup API copies a consistent snapshot, WAL included.
        with sqlite3.connect(src) as s, sqlite3.connect(dest) as d:
            s.backup(d)
        return dest
    if study_dir is None:
        return None
    # Other servers: a JSON dump of every table into the study folder.
    dest = Path(study_dir) / f"backup-{rev}-{stamp}.json"
    create_private_file(dest)
    dump: dict[str, list[dict]] = {}
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
            dump[table] = [dict(r) for r in rows]
    dest.write_text(json.dumps(dump, default=str, indent=1), encoding="utf-8")
    return dest


#: Folders inside the study folder that hold nothing but backups (``coprod-nb restore``
#: keeps the file it replaced there). Outputs are never written into them.
BACKUP_FOLDERS = ("backups",)


def record_files(engine: Engine, study_dir: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """Where the study's record lives on disk, as ``(folder, glob pattern)`` pairs.

    The SQLite file, its ``-wal``/``-shm``/``-journal`` files, the backups that
    :func:`_backup` writes (and their side files), and the backup folders: what no output
    may ever be written onto (:mod:`coprod_nb.exchange.outputs`). Kept beside
    :func:`_backup` so that the two name backups the same way.
    """
    found: list[tuple[Path, str]] = []
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        src = Path(engine.url.database).absolute()
        for name in (src.name, f"{src.stem}.backup-*{src.suffix}"):
            found += [(src.parent, name + side) for side in ("", "-wal", "-shm", "-journal")]
    if study_dir is not None:
        found.append((Path(study_dir).absolute(), "backup-*.json"))
        found += [(Path(study_dir).absolute() / f, "*") for f in BACKUP_FOLDERS]
    return found


def _mode_of(path: Path) -> int:
    """The study file's permission bits, at most owner and group read/write."""
    try:
        return path.stat().st_mode & GROUP_FILE_MODE
    except OSError:
        return FILE_MODE


def retry_on_conflict(fn):
    """Retry an insert-or-update when a concurrent writer inserted the same key first.

    On PostgreSQL two researchers can both see "no row yet" and both insert; the second
    transaction then fails on the unique constraint, and running it again finds the row
    and updates it. (SQLite write transactions are serialised by BEGIN IMMEDIATE.)
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for attempt in range(3):
            try:
                return fn(*args, **kwargs)
            except IntegrityError:
                if attempt == 2:
                    raise
        return None  # pragma: no cover

    return wrapper


# -- a damaged or foreign database file -------------------------------------------------

# What SQLite says when a file is not (or no longer) a readable database.
_DAMAGE = (
    "file is not a database",
    "database disk image is malformed",
    "file is encrypted",
    "malformed database schema",
    "database corruption",
)


def newest_backup(db: str | os.PathLike) -> Path | None:
    """The newest backup of a SQLite study file that :func:`_backup` wrote (None if none)."""
    src = Path(db)
    found = [p for p in src.parent.glob(f"{src.stem}.backup-*{src.suffix}") if p.is_file()]
    return max(found, key=lambda p: (p.stat().st_mtime, p.name)) if found else None


def damaged_study(db: str | os.PathLike, study_dir: str | os.PathLike, reason: str):
    """The error for a study file SQLite cannot read: which file, and how to restore it."""
    from coprod_nb.errors import CoprodError

    backup = newest_backup(db)
    if backup is not None:
        how = (
            f"the newest backup is {backup.name}: restore it with `coprod-nb restore "
            f"{study_dir}` (the damaged file is kept aside)"
        )
    else:
        how = (
            "there is no backup of it in the study folder; restore a copy kept elsewhere "
            f"with `coprod-nb restore {study_dir} COPY`"
        )
    return CoprodError(f"{db} is damaged ({reason}); nothing was changed: {how}")


def damage_reason(exc: BaseException) -> str | None:
    """SQLite's words when ``exc`` says a database file is damaged, else None."""
    seen = exc
    while seen is not None:
        message = str(getattr(seen, "orig", None) or seen)
        if isinstance(seen, sqlite3.DatabaseError | DatabaseError) and any(
            m in message.lower() for m in _DAMAGE
        ):
            return next(m for m in _DAMAGE if m in message.lower())
        seen = seen.__cause__ or seen.__context__
    return None


def check_sqlite_file(file: str | os.PathLike, study_dir: str | os.PathLike) -> None:
    """Refuse to open a SQLite file that exists and is not a coprod_nb study.

    Checked before any read-write connection (SQLite's WAL set-up alone writes to the
    file): the study's own ``study.db`` must start with SQLite's header, or it is
    reported damaged (with the newest backup); any other existing file (``--db
    sqlite:///PATH``) must be a SQLite database holding a coprod_nb schema
    (``alembic_version``), read through a read-only connection. An empty or missing
    file is a new study. So a SQLite ``--db`` is the study's own file, a new file, or a
    file that is already a study.

    Raises
    ------
    CoprodError
        Naming the file and what is wrong with it.
    """
    from coprod_nb.errors import CoprodError

    path = Path(file)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CoprodError(f"{path}: cannot read the study database ({exc.strerror})") from exc
    if not size:
        return
    own = path.resolve() == (Path(study_dir).resolve() / DB_FILE)
    # Read through SQLite, never a plain open(): closing any other descriptor of the file
    # drops every POSIX lock this process holds on it (a kernel that opens the study a
    # second time), and another process may then checkpoint and delete the WAL under
    # this process's connections, so that their later writes are lost.
    try:
        ro = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in ro.execute("SELECT name FROM sqlite_master")}
        finally:
            ro.close()
    except sqlite3.DatabaseError as exc:
        reason = damage_reason(exc)
        if own and reason:
            if reason == "file is not a database":
                reason = "it does not start like a SQLite database"
            raise damaged_study(path, study_dir, reason) from exc
        if reason == "file is not a database":
            raise CoprodError(
                f"{path} is not a SQLite database, so not a coprod_nb study: refusing to open "
                "it (give the study's own database, or a new file)"
            ) from exc
        raise CoprodError(f"{path}: cannot read it as a SQLite database ({exc})") from exc
    if own:
        return
    if tables and "alembic_version" not in tables:
        raise CoprodError(
            f"{path} is a SQLite database but not a coprod_nb study (it has no schema "
            "version): refusing to open it"
        )
