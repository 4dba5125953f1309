"""Step 1 in the store: notes, blinding, soft delete, versions after close, readings."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.storage import Store, head_revision
from coprod_nb.storage.database import current_revision
from tests.acting import as_

FIXTURE = Path(__file__).parent / "data" / "studies" / "study_schema_0001.db"


@pytest.fixture
def team(store):
    store.add_partnership("P1", "Partnership one")
    store.add_partnership("P2", "Partnership two")
    store.add_researcher("Ash", "ash", lead=True)
    store.add_researcher("Bay", "bay")
    return store


def test_note_lifecycle_is_logged(team):
    n = team.add_note("Ash", "P1", "first thoughts", category="barrier", kind="recalled memory")
    team.update_note(n.id, "ash", text="first thoughts, revised")
    team.delete_note(n.id, "Ash")
    assert as_(team, "Ash").notes() == []
    hidden = as_(team, "Ash").notes(include_deleted=True)
    assert hidden[0].deleted_at is not None
    team.restore_note(n.id, "Ash")
    assert [x.text for x in as_(team, "Ash").notes()] == ["first thoughts, revised"]
    actions = [e.action for e in as_(team, "Ash").history("note", n.id)]
    assert actions == ["create", "update", "delete", "restore"]
    assert as_(team, "Bay").history("note", n.id) == []  # blind while step 1 is open
    assert team.history("note", n.id) == []  # the actor "tester" is none of the team
    update = as_(team, "Ash").history("note", n.id)[1]
    assert (update.before["text"], update.after["text"]) == (
        "first thoughts",
        "first thoughts, revised",
    )


def test_only_the_author_edits_and_choices_are_checked(team):
    n = team.add_note("Ash", "P1", "x")
    with pytest.raises(Forbidden):
        team.update_note(n.id, "Bay", text="not mine")
    with pytest.raises(InvalidInput, match="category must be one of"):
        team.add_note("Ash", "P1", "x", category="gossip")
    with pytest.raises(NotFound):
        team.add_note("Ash", "P9", "x")
    team.update_study(settings={"categories": ["practice", "gossip"]})
    assert team.add_note("Ash", "P1", "x", category="gossip").category == "gossip"


def test_blinding_before_close_and_team_view_after(team):
    a = team.add_note("Ash", "P1", "Ash's reading")
    b = team.add_note("Bay", "P1", "Bay's reading")
    assert [n.id for n in as_(team, "Bay").notes()] == [b.id]
    assert [n.id for n in as_(team, "Bay").notes(partnership="P1")] == [b.id]
    with pytest.raises(Forbidden):
        as_(team, "Bay").notes(researcher="Ash")
    with pytest.raises(NotFound):
        as_(team, "Bay").note(a.id)
    with pytest.raises(Forbidden, match="only the study lead"):
        as_(team, "Bay").close_recall()
    closure = as_(team, "Ash").close_recall()
    assert closure.closed_by == "Ash"
    assert {n["text"] for n in closure.snapshot["notes"]} == {"Ash's reading", "Bay's reading"}
    assert {n.id for n in as_(team, "Bay").notes(researcher="Ash")} == {a.id}
    assert as_(team, "Bay").note(a.id).text == "Ash's reading"
    with pytest.raises(InvalidInput, match="already closed"):
        as_(team, "Ash").close_recall()


def test_closure_snapshot_is_deferred_but_readable_where_asked_for(team):
    # The snapshot column is deferred (megabytes in a large study); the objects outlive
    # their session, so every path that hands one out must have loaded it already.
    team.add_note("Ash", "P1", "Ash's reading")
    assert not team.step_closed() and team.step_closure() is None
    closed = as_(team, "Ash").close_recall()
    assert team.step_closed()
    again = team.step_closure()
    for closure in (closed, again):
        assert [n["text"] for n in closure.snapshot["notes"]] == ["Ash's reading"]
    light = team.step_closure(snapshot=False)
    assert (light.closed_by, light.closed_at) == (again.closed_by, again.closed_at)
    with pytest.raises(SQLAlchemyError):  # not loaded, and the session is gone
        light.snapshot  # noqa: B018 (reading it is the test)


def test_note_counts_are_blind_like_notes(team):
    team.add_note("Ash", "P1", "a", category="practice")
    team.add_note("Ash", "P1", "b", category="practice")
    team.add_note("Bay", "P2", "c", category="barrier")
    gone = team.add_note("Bay", "P1", "d", category="barrier")
    team.delete_note(gone.id, "Bay")
    assert as_(team, "Ash").note_counts() == [("Ash", "P1", "practice", 2)]
    as_(team, "Ash").close_recall()
    assert sorted(as_(team, "Bay").note_counts()) == [
        ("Ash", "P1", "practice", 2),
        ("Bay", "P2", "barrier", 1),
    ]
    assert ("Bay", "P1", "barrier", 1) in as_(team, "Bay").note_counts(include_deleted=True)


def test_edits_after_close_become_versions(team):
    n = team.add_note("Bay", "P2", "v1 text", category="practice")
    team.update_note(n.id, "Bay", text="still v1 during step 1")
    as_(team, "Ash").close_recall()
    team.update_note(n.id, "Bay", text="v2 text")
    team.update_note(n.id, "Bay", category="barrier")
    assert as_(team, "Ash").note(n.id).version == 3
    versions = as_(team, "Ash").note_versions(n.id)
    assert [(v.version, v.text, v.category) for v in versions] == [
        (1, "still v1 during step 1", "practice"),
        (2, "v2 text", "practice"),
    ]


def test_anchors_and_readings(team):
    from coprod_nb.domain import RawTurn

    tr = team.add_transcript(
        [RawTurn("Ash", "We met in the library on Saturdays.")],
        title="t",
        source_name="t.txt",
        source_format="txt",
        content_hash="x1",
        partnership="P1",
    )
    ex = team.excerpt_of_quote(tr.id, "library on Saturdays")
    n = team.add_note("Ash", "P1", "venue matters", excerpts=[ex.id])
    assert [e.text for e in as_(team, "Ash").note(n.id).excerpts] == ["library on Saturdays"]
    with pytest.raises(NotFound):
        team.add_note("Ash", "P1", "x", excerpts=[999])
    team.mark_read("Bay", tr.id)
    team.mark_read("Bay", tr.id)  # idempotent
    assert team.readings() == [("Bay", tr.id)]
    team.mark_read("Bay", tr.id, read=False)
    assert team.readings() == []


def test_first_released_schema_is_backed_up_and_upgraded(tmp_path):
    study = tmp_path / "old"
    study.mkdir()
    shutil.copy(FIXTURE, study / "study.db")
    with sqlite3.connect(study / "study.db") as conn:
        before = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "partnership",
                "participant",
                "researcher",
                "transcript",
                "turn",
                "excerpt",
                "event",
                "name_key",
            )
        }
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    st = Store(study, actor="upgrader")
    assert current_revision(st.engine) == head_revision() != "0001"
    assert st.backup is not None and st.backup.exists()
    with sqlite3.connect(st.backup) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    with sqlite3.connect(study / "study.db") as conn:
        after = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before}
    assert after == before
    assert st.search("plain-language")  # full-text index intact
    assert st.excerpts()[0].text == "plain-language"
    note = st.add_note("Alder", "LAHRP", "works on the upgraded study")
    assert as_(st, "Alder").notes()[0].id == note.id
    st.close()


def test_excerpts_of_colleagues_private_notes_stay_hidden(team):
    from coprod_nb.domain import RawTurn

    tr = team.add_transcript(
        [RawTurn("Lee", "One passage. Another passage.")],
        title="t",
        source_name="t.txt",
        source_format="txt",
        content_hash="x2",
        partnership="P1",
    )
    mine = team.excerpt_of_quote(tr.id, "One passage")
    theirs = team.excerpt_of_quote(tr.id, "Another passage")
    team.add_note("Ash", "P1", "mine", excerpts=[mine.id])
    team.add_note("Bay", "P1", "theirs", excerpts=[theirs.id])
    assert [e.text for e in as_(team, "Ash").excerpts()] == ["One passage"]
    assert team.excerpts() == []  # someone outside the team sees no researcher's choice
    as_(team, "Ash").close_recall()
    assert len(as_(team, "Ash").excerpts()) == 2
