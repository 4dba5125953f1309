"""After an import on PostgreSQL the planner knows the new rows (``refresh_statistics``).

Until autovacuum's next pass the planner counts a freshly filled table as it was, and
chose plans for an empty ``turn`` table: the first searches after importing 800
transcripts took 47 ms of median instead of 17 ms. The import analyses the tables it
wrote when the connected role owns them; a role that owns nothing is left to autovacuum
and gets no error. Tested on the second study (no demo names), with autovacuum turned off
for the tables so that only the import can have analysed them.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from coprod_nb.ingest import import_transcripts
from coprod_nb.storage import Store
from coprod_nb.storage.ingest import IMPORTED_TABLES, refresh_statistics
from tests.second_study import HERE as SECOND_HERE
from tests.second_study import build_second_study

pytestmark = pytest.mark.postgres


def _estimates(url: str, tables=IMPORTED_TABLES) -> dict[str, tuple[float, int]]:
    """Each table's planner estimate (``reltuples``) and its real row count."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: (
                    conn.execute(
                        sql("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                        {"t": t},
                    ).scalar_one(),
                    conn.execute(sql(f'SELECT count(*) FROM "{t}"')).scalar_one(),
                )
                for t in tables
            }
    finally:
        engine.dispose()


def _renamed_copies(dest: Path) -> Path:
    """The second study's transcripts again under new names, one byte longer each, so
    that the import takes them as new sources."""
    dest.mkdir()
    for path in sorted((SECOND_HERE / "transcripts").iterdir()):
        if path.is_file():
            (dest / f"again-{path.name}").write_bytes(path.read_bytes() + b"\n")
    return dest


def _without_autovacuum(url: str, tables=IMPORTED_TABLES) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for t in tables:
                conn.execute(sql(f'ALTER TABLE "{t}" SET (autovacuum_enabled = false)'))
    finally:
        engine.dispose()


def test_an_import_leaves_the_planner_counting_the_new_rows(tmp_path, pg_url):
    build_second_study(tmp_path / "study", "transcripts", url=pg_url).close()
    _without_autovacuum(pg_url)
    before = _estimates(pg_url)
    files = _renamed_copies(tmp_path / "files")
    assert list(files.iterdir()), "the second study has .txt transcripts to import again"
    store = Store(tmp_path / "study", pg_url, actor="rowan")
    try:
        report = import_transcripts(store, [files], progress=False)
    finally:
        store.close()
    assert report.imported and not report.errors
    after = _estimates(pg_url)
    assert after["turn"][1] > before["turn"][1]
    for table, (estimate, rows) in after.items():
        assert estimate == rows, table  # small tables: ANALYZE reads every row


def test_a_role_that_owns_no_table_is_left_to_autovacuum(tmp_path, pg_url):
    build_second_study(tmp_path / "study", "transcripts", url=pg_url).close()
    _without_autovacuum(pg_url)
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        # a stale estimate, as right after a bulk write (the server's superuser may)
        conn.execute("UPDATE pg_class SET reltuples = 1 WHERE oid = 'turn'::regclass")
    reader = create_engine(pg_url.replace("://coprod@", f"://{role}@"))
    try:
        refresh_statistics(reader)  # no error, although PostgreSQL would refuse it
        assert _estimates(pg_url)["turn"][0] == 1
    finally:
        reader.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{role}"')
    owner = create_engine(pg_url)
    try:
        refresh_statistics(owner)
    finally:
        owner.dispose()
    estimate, rows = _estimates(pg_url)["turn"]
    assert estimate == rows > 1


def test_a_qdpx_import_leaves_the_planner_counting_its_rows(tmp_path, pg_url, second_templates):
    """The REFI-QDA import writes turns, passages and notes: the same refresh after it."""
    import shutil

    from coprod_nb.exchange.refi_qda import export_qdpx, import_qdpx
    from tests.acting import as_

    tables = (*IMPORTED_TABLES, "excerpt", "note")
    src = tmp_path / "src"
    shutil.copytree(second_templates("workshop"), src)
    with Store(src, actor="owner") as st:
        lead = next(r for r in st.researchers() if r.lead)
        path = export_qdpx(as_(st, lead.login or lead.name), tmp_path / "second.qdpx")
    with Store(tmp_path / "target", pg_url, actor="owner") as st:
        _without_autovacuum(pg_url, tables)
        summary = import_qdpx(st, path, lead=lead.name)
    assert summary.sources and summary.notes
    for table, (estimate, rows) in _estimates(pg_url, tables).items():
        assert estimate == rows > 0, table
