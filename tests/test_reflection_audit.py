"""The reflective questions worksheet in the store, its migration, and the audit functions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from coprod_nb.analysis.audit import (
    AUDIT_COLUMNS,
    HISTORY_COLUMNS,
    audit_objects,
    audit_trail,
    object_history,
    step1_visibility,
)
from coprod_nb.domain.reflection import REFLECTIVE_TOPICS, check_topic, topic_title
from coprod_nb.domain.wording import prompt_source
from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.storage import Store, head_revision
from coprod_nb.storage.database import _alembic_config, current_revision
from tests.acting import as_, as_lead

FIXTURE = Path(__file__).parent / "data" / "studies" / "study_schema_0001.db"


# --- the six topics ------------------------------------------------------------------------


def test_six_topics_each_a_title_and_a_question():
    assert len(REFLECTIVE_TOPICS) == 6
    for title, question in REFLECTIVE_TOPICS:
        assert title and question.rstrip().endswith("?")
    assert [t for t, _ in REFLECTIVE_TOPICS][2] == "Sharing power"
    assert topic_title(6) == "6. Reviewing progress"
    assert check_topic("3") == 3
    for bad in (0, 7, "x", 2.5, True):
        with pytest.raises(ValueError, match="1-6"):
            check_topic(bad)


# --- storage on SQLite and PostgreSQL --------------------------------------------------------


def test_answers_are_set_updated_and_logged(store):
    store.add_partnership("TCP", "Tarn Coast")
    store.add_partnership("AVC", "Ardle Valley")
    first = store.set_answer("TCP", 1, "  Power shared over the budget.  ")
    assert (first.topic, first.answer, first.answered_by) == (
        1,
        "Power shared over the budget.",
        "tester",
    )
    store.set_answer("tcp", 1, "Power shared over the budget and the agenda.")
    store.set_answer("AVC", 6, "Yearly, with the council.")
    assert store.set_answer("AVC", 6, "Yearly, with the council.").answer  # unchanged: no event
    assert store.set_answer("AVC", 2, "   ") is None  # nothing to clear: nothing written
    rows = store.answers()
    assert [(store.partnership(a.partnership_id).short, a.topic) for a in rows] == [
        ("AVC", 6),
        ("TCP", 1),
    ]
    assert [a.answer for a in store.answers("TCP")] == [
        "Power shared over the budget and the agenda."
    ]
    log = store.history("reflective_answer")
    assert [e.action for e in log] == ["answer"] * 3
    assert log[0].before is None and log[0].detail == "TCP, topic 1"
    assert log[1].before["answer"] == "Power shared over the budget."
    assert log[1].after["answer"] == "Power shared over the budget and the agenda."
    store.set_answer("TCP", 1, "")  # clearing is a change too
    assert store.answers("TCP")[0].answer == "" and len(store.history("reflective_answer")) == 4


def test_bad_topics_and_partnerships_are_refused(store):
    store.add_partnership("TCP", "Tarn Coast")
    for bad in (0, 7, "seven"):
        with pytest.raises(InvalidInput, match="1-6"):
            store.set_answer("TCP", bad, "x")
    with pytest.raises(NotFound):
        store.set_answer("XYZ", 1, "x")
    assert store.answers() == [] and store.history("reflective_answer") == []


def test_the_database_refuses_a_seventh_topic_and_a_second_answer(store):
    pid = store.add_partnership("TCP", "Tarn Coast").id
    insert = text(
        "INSERT INTO reflective_answer (partnership_id, topic, answer, answered_by, updated_at)"
        " VALUES (:p, :t, 'x', 'sql', CURRENT_TIMESTAMP)"
    )
    for topic in (7, 1):
        if topic == 1:
            store.set_answer("TCP", 1, "first")
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(insert, {"p": pid, "t": topic})


def test_a_fresh_study_is_at_head_with_the_worksheet_table(store):
    assert current_revision(store.engine) == head_revision() >= "0005"
    schema = inspect(store.engine)
    assert "reflective_answer" in schema.get_table_names()
    names = {c["name"] for c in schema.get_unique_constraints("reflective_answer")}
    assert names == {"uq_reflective_answer_topic"}
    assert not names & set(schema.get_table_names())


def test_the_0001_fixture_upgrades_to_head_with_the_new_table(tmp_path):
    study = tmp_path / "old"
    study.mkdir()
    shutil.copy(FIXTURE, study / "study.db")
    st = Store(study, actor="upgrader")
    try:
        assert current_revision(st.engine) == head_revision()
        assert "reflective_answer" in inspect(st.engine).get_table_names()
        pship = st.partnerships()[0].short
        assert st.set_answer(pship, 4, "A shared training budget.").topic == 4
    finally:
        st.close()


def test_0005_downgrades_and_upgrades_again(tmp_path):
    st = Store(tmp_path / "s", actor="t")
    cfg = _alembic_config()
    try:
        with st.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        assert "reflective_answer" not in inspect(st.engine).get_table_names()
        with st.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        assert current_revision(st.engine) == head_revision()
        assert "reflective_answer" in inspect(st.engine).get_table_names()
    finally:
        st.close()


# --- audit on the demo study -----------------------------------------------------------------


def test_history_of_a_tension_shows_its_evidence_links_decisions_and_versions(demo):
    table = object_history(demo, "tension", "T3")
    assert list(table.columns) == HISTORY_COLUMNS
    assert table["at"].is_monotonic_increasing
    attach = table[table.action == "attach"]
    assert len(attach) == 1
    stored = {e.note_id or e.excerpt_id for e in demo.evidence("T3")}
    assert set(attach.after.iloc[0]["notes"]) | set(attach.after.iloc[0]["excerpts"]) == stored
    assert "excerpts 40, 41, 42" in attach.detail.iloc[0]
    assert list(table.action) == [
        "create",
        "attach",
        "link",
        "freeze",
        "decide",
        "decide",
        "freeze",
    ]
    assert table.detail.iloc[-1] == "in framework v2"


def test_history_of_a_detached_item_and_of_tensions_only_decisions_made(demo):
    demo.detach_evidence("T1", notes=[16])
    table = object_history(demo, "tension", "T1")
    detach = table[table.action == "detach"]
    assert detach.before.iloc[0] == {"notes": [16], "excerpts": []}
    assert detach.detail.iloc[0] == "note 16"
    merged = object_history(demo, "tension", "T8")  # no stored row: made by D2
    assert list(merged.action) == ["decide", "freeze"]
    assert merged.detail.iloc[0].startswith("merge T4, T5, T6 → T8")
    with pytest.raises(NotFound):
        object_history(demo, "tension", "T99")
    with pytest.raises(InvalidInput):
        object_history(demo, "meeting", 1)


def test_history_of_decision_d2_shows_its_revert(workshop_open):
    demo = workshop_open  # during the workshop: once its result is frozen, no revert
    before = object_history(demo, "decision", "D2")
    assert list(before.action) == ["decide"]
    as_lead(demo).revert_decision(None, "D2", rationale="the group wants to keep T6 apart")
    after = object_history(demo, "decision", "D2")
    assert list(after.action) == ["decide", "revert"]
    assert after.detail.iloc[1] == "reverted: the group wants to keep T6 apart"
    assert after.actor.iloc[1] == "alder"  # the lead reverts
    trail = audit_trail(demo)
    revert = trail[trail.action == "revert"].iloc[0]
    assert (revert.object, revert.rationale, revert.who.replace("alder", "tester")) == (
        "D2",
        "the group wants to keep T6 apart",
        "tester",
    )
    with pytest.raises(NotFound):
        object_history(demo, "decision", "D99")


def test_history_of_a_note_shows_closure_and_the_tensions_it_supports(demo):
    table = object_history(demo, "note", 12)
    assert list(table.action) == ["create", "close", "attach", "attach"]
    assert list(table.detail[2:]) == ["attached to T2 as evidence", "attached to T3 as evidence"]
    demo.update_note(12, as_(demo, "Alder").note(12).researcher_id, text="edited after closure")
    assert object_history(demo, "note", 12).action.iloc[-1] == "update"
    with pytest.raises(NotFound):
        object_history(demo, "note", 999)


def test_while_step1_is_open_a_notes_history_is_its_authors_only(recall_demo):
    birch = as_(recall_demo, "Birch").notes()[0]
    with pytest.raises(Forbidden):
        object_history(as_(recall_demo, "Alder"), "note", birch.id, viewer="Alder")
    with pytest.raises(Forbidden):
        object_history(recall_demo, "note", birch.id)
    assert list(
        object_history(as_(recall_demo, "Birch"), "note", birch.id, viewer="Birch").action
    ) == ["create"]
    assert audit_objects(recall_demo, "note") == []
    mine = audit_objects(as_(recall_demo, "Birch"), "note", viewer="Birch")
    assert len(mine) == 13 and all(" Birch · " in label for label, _ in mine)
    assert step1_visibility(recall_demo).empty


def test_step1_visibility_from_the_closure_snapshot(demo):
    table = step1_visibility(demo)
    assert list(table.researcher) == ["Alder", "Birch", "Cedar"]
    assert list(table.own) == [13, 13, 13]
    assert list(table.others) == [26, 26, 26]
    assert list(table["from"]) == ["Birch 13, Cedar 13", "Alder 13, Cedar 13", "Alder 13, Birch 13"]
    assert set(table.closed_by) == {"Alder"}
    assert table.attrs["notes"] == 39 and table.attrs["closed_by"] == "Alder"
    # later notes and deletions do not change what was shown at the closure
    demo.add_note("Birch", "TCP", "written after the closure")
    assert list(step1_visibility(demo).others) == [26, 26, 26]


def test_audit_trail_lists_step_2_and_3_acts_with_rationale_and_evidence(demo):
    trail = audit_trail(demo)
    assert list(trail.columns) == AUDIT_COLUMNS
    assert set(trail.step) == {2, 3}
    assert "vote" not in set(trail.action)  # ballots are not decisions, and stay secret
    decided = trail[trail.action == "decide"]
    assert list(decided.object) == [f"D{i}" for i in range(1, 7)]
    for d, row in zip(demo.decisions(), decided.itertuples(), strict=True):
        assert row.rationale == d.rationale and row.proposer == d.proposer
        assert row.evidence == "; ".join(prompt_source(p) for p in d.prompted_by)
        assert str(row.date) == "2021-11-10" and row.step == 3
    attach = trail[(trail.action == "attach") & (trail.object == "T1")].iloc[0]
    assert attach.evidence == "notes 1, 16, 4, 29, 7, 10, 13, 39; excerpts 34, 35, 36"
    freezes = trail[trail.action == "freeze"]
    assert list(zip(freezes.object, freezes.step, strict=True)) == [
        ("framework v1", 2),
        ("framework v2", 3),
    ]
    polls = trail[trail.object.str.startswith("poll")]
    assert list(zip(polls.action, polls.object, strict=True)) == [
        ("open", "poll opening"),
        ("close", "poll opening"),
        ("open", "poll revote"),
        ("close", "poll revote"),
    ]
    dissents = trail[trail.object.str.startswith("dissent")]
    assert len(dissents) == 4 and dissents.rationale.str.len().gt(0).all()
    assert str(dissents.date.iloc[0]) == "2021-09-14"
    assert "threshold 75% fixed" in trail[trail.action == "create"].summary.str.cat()


def test_audit_objects_lists_stored_and_decided_tensions_and_decisions(demo):
    codes = [ref for _, ref in audit_objects(demo, "tension")]
    assert codes == ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"]
    assert [ref for _, ref in audit_objects(demo, "decision")] == [f"D{i}" for i in range(1, 7)]
    assert len(audit_objects(demo, "note")) == 39
