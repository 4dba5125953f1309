"""A REFI-QDA import is one transaction (issue 18): a failure late in it changes nothing.

The database itself refuses a late write (a SQLite trigger, as a full disk or a guard
would): naming the lead at the very end of an import into an empty study, or the first
note's event after the transcripts, excerpts and tensions of an import into a study that
has its own. The study's tables are the same afterwards, and the same import then goes
through. Demo and second study, both ways.
"""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text

from coprod_nb.exchange.refi_qda import export_qdpx, import_qdpx
from coprod_nb.storage import Store
from tests.acting import as_
from tests.badinput import table_checksums

LATE = {
    # the last write of an import into an empty study: _write_lead names the lead
    "lead": "CREATE TRIGGER late BEFORE UPDATE OF lead ON researcher "
    "BEGIN SELECT RAISE(ABORT, 'no room left'); END",
    # the notes' events, written after transcripts, excerpts and tensions
    "notes": "CREATE TRIGGER late BEFORE INSERT ON event WHEN NEW.object_type = 'note' "
    "BEGIN SELECT RAISE(ABORT, 'no room left'); END",
}


@pytest.fixture
def exported(tmp_path, demo_template, second_templates):
    def get(name: str):
        src = tmp_path / f"src-{name}"
        shutil.copytree(demo_template if name == "demo" else second_templates("workshop"), src)
        with Store(src, actor="owner") as st:
            lead = next(r for r in st.researchers() if r.lead)
            path = export_qdpx(as_(st, lead.login or lead.name), tmp_path / f"{name}.qdpx")
        return path, lead.name

    return get


def _refused_then_accepted(target, path, lead: str | None, late: str) -> None:
    db = target / "study.db"
    with Store(target, actor="owner") as st:
        with st.engine.begin() as conn:
            conn.execute(text(LATE[late]))
    before = table_checksums(db)
    with Store(target, actor="owner") as st:
        # the database's refusal, as the store reports it (the message is the store's)
        with pytest.raises(Exception) as refused:
            import_qdpx(st, path, lead=lead)
        assert "no room left" in repr(refused.value) + repr(refused.value.__cause__)
    assert table_checksums(db) == before
    with Store(target, actor="owner") as st:
        with st.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER late"))
        summary = import_qdpx(st, path, lead=lead)
        assert summary.sources and summary.selections and summary.notes
        assert len(st.transcripts(text=False)) >= len(summary.sources)


@pytest.mark.parametrize("name", ["demo", "second"])
def test_a_refused_last_write_leaves_an_empty_study_empty(tmp_path, exported, name):
    path, lead = exported(name)
    Store(tmp_path / "empty", actor="owner").close()
    _refused_then_accepted(tmp_path / "empty", path, lead, "lead")


@pytest.mark.parametrize(("name", "into"), [("demo", "second"), ("second", "demo")])
def test_a_refused_note_leaves_a_study_with_its_own_as_it_was(
    tmp_path, exported, demo_template, second_templates, name, into
):
    path, _ = exported(name)
    target = tmp_path / "target"
    shutil.copytree(demo_template if into == "demo" else second_templates("recall"), target)
    _refused_then_accepted(target, path, None, "notes")  # the study has its lead
