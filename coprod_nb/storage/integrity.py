"""Is the record sound? ``coprod-nb check`` and ``coprod-nb restore``.

:func:`check_study` runs SQLite's own checks (``PRAGMA integrity_check``,
``foreign_key_check``) and the study's invariants, reading through a read-only
connection so that checking a damaged study never changes it. The invariants read ids
and offsets only, never the text of notes or excerpts, so no blinding rule of the access
policy (:mod:`coprod_nb.storage.access`) is at stake: the report names objects by number.

:func:`restore_backup` puts the newest backup (or a named one) in place of ``study.db``,
keeping the file it replaces aside in the study's ``backups`` folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from coprod_nb.domain.decisions import Decision, DecisionError, replay
from coprod_nb.domain.framework import Framework, Tension
from coprod_nb.errors import CoprodError, NotFound
from coprod_nb.storage.database import (
    BACKUP_FOLDERS,
    DB_FILE,
    FILE_MODE,
    check_sqlite_file,
    create_private_file,
    damaged_study,
    database_url,
    head_revision,
    make_engine,
    newest_backup,
)

__all__ = ["check_study", "restore_backup", "tensions_digest"]


def tensions_digest(tensions: list) -> str:
    """A SHA-256 of a frozen version's stored tensions, kept in its freeze event.

    Computed over the JSON in a canonical form (sorted keys), so that SQLite and
    PostgreSQL, which return the same JSON, give the same digest; :func:`check_study`
    compares it with the version as stored now.
    """
    canonical = json.dumps(tensions, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _json(value):
    # Plain SQL gives SQLite's JSON columns back as text.
    return json.loads(value) if isinstance(value, str) else value


def check_study(study_dir: str | os.PathLike, url: str | None = None) -> list[str]:
    """Every problem found in a study's record (an empty list: the study is sound).

    Checks, on SQLite, ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``; on
    every database: the schema revision is this package's newest; each turn's and each
    excerpt's offsets lie within its transcript's text; tension codes are unique in the
    working set and in each frozen version; each frozen version still has the codes its
    freeze event recorded; each workshop's decisions replay over its base version, and
    a workshop frozen as a version replays to exactly that version.

    Raises
    ------
    NotFound
        There is no study database.
    """
    study_dir = Path(study_dir)
    url = database_url(study_dir, url)
    parsed = make_url(url)
    problems: list[str] = []
    if parsed.get_backend_name() == "sqlite":
        file = Path(parsed.database or "")
        if not file.is_file():
            raise NotFound(f"no study database {file}")
        try:
            check_sqlite_file(file, study_dir)  # refuses a file that is not a study at all
        except CoprodError as exc:
            return [str(exc)]
        try:
            problems += _sqlite_checks(file)
        except sqlite3.DatabaseError as exc:
            return [f"SQLite's integrity check: {damaged_study(file, study_dir, str(exc))}"]
        if problems and any("integrity" in p for p in problems):
            return problems  # the invariants would read damaged pages
        url = f"sqlite:///{file.resolve().as_uri()}?mode=ro&uri=true"
        engine = create_engine(url)
    else:
        engine = make_engine(url)  # refuses an unknown kind of database by name
    try:
        with engine.connect() as conn:
            problems += _invariants(conn)
    except Exception as exc:  # a damaged page found while reading: a finding, not a crash
        problems.append(f"the record cannot be read to the end ({exc})")
    finally:
        engine.dispose()
    return problems


def _sqlite_checks(file: Path) -> list[str]:
    con = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        # Each finding names the file: which database is damaged is the first thing to know.
        found = [f"SQLite integrity check of {file}: {r}" for r in rows[:20]]
        out = [] if rows == ["ok"] else found
        for table, rowid, parent, _ in con.execute("PRAGMA foreign_key_check"):
            out.append(f"{table} row {rowid} points at a missing {parent} row")
        return out
    finally:
        con.close()


def _invariants(conn) -> list[str]:
    out: list[str] = []
    tables = set(inspect(conn).get_table_names())
    revisions = (
        conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if "alembic_version" in tables
        else []
    )
    head = head_revision()
    if revisions != [head]:
        out.append(
            f"schema revision {', '.join(revisions) or 'none'} is not the newest ({head}); "
            "opening the study with coprod_nb upgrades it (after a backup)"
        )
        return out
    lengths = dict(conn.execute(text("SELECT id, length(text) FROM transcript")).all())
    for tid, seq, start, end in conn.execute(
        text("SELECT transcript_id, seq, char_start, char_end FROM turn")
    ):
        if not 0 <= start <= end <= lengths.get(tid, -1):
            out.append(f"transcript {tid}, turn {seq}: offsets {start}-{end} outside its text")
    for eid, tid, start, end in conn.execute(
        text('SELECT id, transcript_id, start, "end" FROM excerpt')
    ):
        if not 0 <= start < end <= lengths.get(tid, -1):
            out.append(f"excerpt {eid}: offsets {start}-{end} outside transcript {tid}")
    codes = list(conn.execute(text("SELECT code FROM tension")).scalars())
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        out.append(f"tension code {code} is used twice in the working set")
    frozen: dict[int, Framework] = {}
    digests: dict[int, str] = {}
    for version, tensions in conn.execute(text("SELECT version, tensions FROM framework_version")):
        digests[version] = tensions_digest(_json(tensions))
        items = [Tension.from_dict(t) for t in _json(tensions) if "code" in t]
        seen = [t.code for t in items]
        for code in sorted({c for c in seen if seen.count(c) > 1}):
            out.append(f"framework v{version}: tension code {code} is used twice")
        frozen[version] = Framework(tuple(items), version=version)
    from_workshop: dict[int, int] = {}
    for after in conn.execute(
        text("SELECT after FROM event WHERE object_type = 'framework' AND action = 'freeze'")
    ).scalars():
        after = _json(after) or {}
        version = after.get("version")
        if version in frozen and after.get("digest") not in (None, digests[version]):
            out.append(f"framework v{version}: its content was changed after it was frozen")
        if version in frozen and "tensions" in after:
            if list(after["tensions"]) != frozen[version].codes:
                out.append(
                    f"framework v{version} was changed after it was frozen (frozen with "
                    f"{', '.join(after['tensions'])}; now {', '.join(frozen[version].codes)})"
                )
        if after.get("workshop") is not None and version is not None:
            from_workshop.setdefault(int(after["workshop"]), int(version))
    for ws_id, base in conn.execute(text("SELECT id, base_version FROM workshop")):
        rows = conn.execute(
            text("SELECT payload, reverted_at FROM decision WHERE workshop_id = :w ORDER BY seq"),
            {"w": ws_id},
        ).all()
        decisions = [Decision.from_dict({**_json(p), "reverted": r is not None}) for p, r in rows]
        if base not in frozen:
            out.append(f"workshop {ws_id}: its base framework v{base} is missing")
            continue
        try:
            result = replay(frozen[base], decisions)
        except DecisionError as exc:
            out.append(f"workshop {ws_id}: its decisions no longer replay ({exc})")
            continue
        version = from_workshop.get(ws_id)
        if version in frozen and result.tensions != frozen[version].tensions:
            out.append(
                f"workshop {ws_id}: its decisions replay to {', '.join(result.codes)}, "
                f"not to framework v{version} it was frozen as ({', '.join(frozen[version].codes)})"
            )
    return out


def restore_backup(
    study_dir: str | os.PathLike, backup: str | os.PathLike | None = None
) -> tuple[Path, Path | None]:
    """Put a backup in place of the study's ``study.db`` (SQLite studies).

    The current ``study.db`` (and its ``-wal``/``-shm`` files), damaged or not, is moved
    into the study's ``backups`` folder first, so nothing is lost.

    Parameters
    ----------
    study_dir : path
        The study folder.
    backup : path, optional
        The backup to restore; default the newest one beside ``study.db``.

    Returns
    -------
    (Path, Path or None)
        The backup restored, and where the replaced file was kept (None if there was none).

    Raises
    ------
    NotFound
        No backup (or the named one does not exist).
    CoprodError
        The named file is not a coprod_nb study.
    """
    study_dir = Path(study_dir)
    db = study_dir / DB_FILE
    if backup is None:
        source = newest_backup(db)
        if source is None:
            raise NotFound(
                f"no backup of the study in {study_dir} (backups are named "
                f"{db.stem}.backup-REVISION-DATE{db.suffix}): nothing was restored"
            )
    else:
        source = Path(backup)
        if not source.is_file():
            raise NotFound(f"{source}: no such backup file; nothing was restored")
    if source.resolve() == db.resolve():
        raise CoprodError(f"{source} is the study's own database, not a backup")
    if source.stat().st_size == 0:
        raise CoprodError(f"{source} is empty, not a backup of a study; nothing was restored")
    check_sqlite_file(source, study_dir)  # a backup must itself be a study
    kept = None
    if db.exists():
        aside = study_dir / BACKUP_FOLDERS[0]
        aside.mkdir(exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = aside / f"{db.stem}.replaced-{stamp}{db.suffix}"
        for side in ("", "-wal", "-shm"):
            part = study_dir / f"{DB_FILE}{side}"
            if part.exists():
                shutil.move(part, aside / f"{kept.name}{side}")
    mode = source.stat().st_mode & 0o660 or FILE_MODE
    create_private_file(db, mode)
    # The backup API copies a consistent database (not a half-written file).
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dest = sqlite3.connect(db)
        try:
            src.backup(dest)
        finally:
            dest.close()
    finally:
        src.close()
    return source, kept
