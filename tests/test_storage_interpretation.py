"""Step 2 in the store: meetings, dissents, tensions, evidence, links, frozen versions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from coprod_nb.domain import compare_frameworks
from coprod_nb.errors import Forbidden, InvalidInput, NotFound, OutOfOrder
from tests.acting import as_


@pytest.fixture
def team(store):
    store.add_partnership("P1", "Partnership one")
    store.add_researcher("Ash", lead=True)
    store.add_researcher("Bay")
    return store


def test_meeting_and_dissent_log(team):
    m = team.add_meeting(date(2021, 9, 14), ["Ash", "bay"], "We compared readings.")
    assert m.attendees == ["Ash", "Bay"]
    d = team.add_dissent(
        m.id,
        "Is payment a power issue?",
        [{"who": "Ash", "position": "yes"}, {"who": "Bay", "position": "no, a finance rule"}],
    )
    assert d.settled is False
    team.settle_dissent(d.id, "Both: recorded as a sub-theme")
    [meeting] = team.meetings()
    assert meeting.dissents[0].settled and "sub-theme" in meeting.dissents[0].resolution
    team.update_meeting(m.id, minutes="Revised minutes")
    assert [e.action for e in team.history("meeting", m.id)] == ["create", "update"]
    with pytest.raises(InvalidInput, match="'who' and 'position'"):
        team.add_dissent(m.id, "x", [{"who": "Ash"}])
    with pytest.raises(NotFound):
        team.add_dissent(999, "x", [])


def test_tensions_codes_status_and_validation(team):
    t1 = team.add_tension("Idealistic vs realistic", "Idealistic", "Realistic", proposer="Ash")
    t2 = team.add_tension("Power", "Shared", "Held", subthemes=["pay", " ", "reciprocity"])
    assert (t1.code, t2.code, t2.subthemes) == ("T1", "T2", ["pay", "reciprocity"])
    assert t1.status == "candidate"
    team.update_tension("T1", status="agreed", description="A spectrum.")
    assert team.tension("T1").status == "agreed"
    assert [t.code for t in team.tensions(status="agreed")] == ["T1"]
    with pytest.raises(InvalidInput, match="two poles"):
        team.add_tension("x", "only one", " ")
    with pytest.raises(InvalidInput, match="status must be"):
        team.update_tension("T2", status="maybe")
    with pytest.raises(InvalidInput, match="already exists"):
        team.add_tension("dup", "a", "b", code="T1")
    with pytest.raises(InvalidInput, match="unknown tension field"):
        team.update_tension("T1", colour="red")


def test_notes_are_evidence_only_after_step_1_closes(team):
    t = team.add_tension("Power", "Shared", "Held")
    n = team.add_note("Bay", "P1", "pay late, trust lost")
    with pytest.raises(Forbidden):
        team.attach_evidence(t.code, notes=[n.id])
    as_(team, "Ash").close_recall()
    assert team.attach_evidence(t.code, notes=[n.id, n.id]) == 1
    assert team.attach_evidence(t.code, notes=[n.id]) == 0
    assert [e.note_id for e in team.evidence("T1")] == [n.id]
    assert team.detach_evidence("T1", notes=[n.id]) == 1
    assert team.evidence("T1") == []


def test_links_and_freeze_snapshots_never_change(team):
    team.add_tension("A", "a1", "a2", status="agreed")
    team.add_tension("B", "b1", "b2", status="agreed")
    team.add_tension("C", "c1", "c2", status="parked")
    team.link_tensions("T1", "T2", "contradicts")
    with pytest.raises(InvalidInput, match="one of"):
        team.link_tensions("T1", "T2", "hates")
    with pytest.raises(InvalidInput, match="itself"):
        team.link_tensions("T1", "T1", "relates to")
    assert team.tension_links() == [("T1", "contradicts", "T2")]
    as_(team, "Ash").close_recall()
    v1 = as_(team, "Ash").freeze_framework("agreed at the joint meeting")
    assert v1.version == 1
    fw1 = team.framework(1)
    assert fw1.codes == ["T1", "T2"]  # parked tensions are not part of the framework
    assert team.frozen_links(1) == [{"source": "T1", "kind": "contradicts", "target": "T2"}]
    team.update_tension("T1", name="A renamed")
    assert team.framework(1).get("T1").name == "A"  # the snapshot is untouched
    as_(team, "Ash").freeze_framework()
    changes = compare_frameworks(team.framework(1), team.framework(2))
    assert changes == [{"code": "T1", "change": "changed", "fields": ["name"]}]
    with pytest.raises(DBAPIError), team.engine.begin() as conn:
        conn.execute(text("UPDATE framework_version SET label = 'edited'"))
    assert [v.label for v in team.framework_versions()] == ["agreed at the joint meeting", "v2"]
    with pytest.raises(NotFound):
        team.framework(9)


def test_no_framework_is_frozen_while_step_1_is_open(team):
    team.add_tension("A", "a1", "a2", status="agreed")
    events_before = len(team.history("framework"))
    with pytest.raises(OutOfOrder, match=r"step 1 \(individual recall\) is still open") as err:
        as_(team, "Ash").freeze_framework("v1")
    assert "close_recall" in str(err.value) and "close-recall" in str(err.value)
    assert isinstance(err.value, Forbidden)  # a CoprodError: one line in the CLI and widgets
    assert team.framework_versions() == [] and len(team.history("framework")) == events_before
    with pytest.raises(Forbidden, match="only the study lead"):
        as_(team, "Bay").freeze_framework()
    as_(team, "Ash").close_recall()
    assert as_(team, "Ash").freeze_framework("v1").version == 1
    # later freezes from the tension board (before any workshop) come after step 1 too
    team.update_tension("T1", name="A again")
    assert as_(team, "Ash").freeze_framework().version == 2
    # a study whose v1 was frozen with step 1 open (an older coprod_nb) cannot freeze v3
    with team.engine.begin() as conn:
        conn.execute(text("DELETE FROM step_closure"))
    with pytest.raises(OutOfOrder, match="still open"):
        as_(team, "Ash").freeze_framework()
    assert [v.version for v in team.framework_versions()] == [1, 2]


# -- what the tension board lists, and undo at the board (SQLite and PostgreSQL) -----------


def test_note_lines_are_the_notes_listing_with_a_count_and_a_limit(team):
    team.add_partnership("P2", "Partnership two")
    for i in range(5):
        team.add_note("Bay" if i % 2 else "Ash", "P1" if i < 3 else "P2", f"note {i}")
    bay = as_(team, "Bay")
    # step 1 open: Bay's own notes only, as notes() gives them
    got = bay.note_lines()
    assert [n.id for n in got.rows] == [n.id for n in bay.notes()] and got.total == 2
    assert {n.researcher for n in got.rows} == {"Bay"}
    with pytest.raises(Forbidden):
        bay.note_lines(researcher="Ash")
    as_(team, "Ash").close_recall()
    every = bay.notes()
    got = bay.note_lines(limit=2)
    assert [n.id for n in got.rows] == [n.id for n in every[:2]] and got.total == len(every) == 5
    p2 = bay.note_lines(partnership="P2")
    assert [(n.partnership, n.text) for n in p2.rows] == [("P2", "note 3"), ("P2", "note 4")]
    assert bay.note_lines(ids=[every[0].id]).rows[0].id == every[0].id


def test_excerpt_lines_follow_the_excerpts_blinding(team):
    from coprod_nb.domain import RawTurn

    team.add_partnership("P2", "Partnership two")
    ids = []
    for p in ("P1", "P2"):
        tr = team.add_transcript(
            [RawTurn("Lee", f"Words of {p} here.")],
            title=f"t-{p}",
            source_name=f"{p}.txt",
            source_format="txt",
            content_hash=p,
            partnership=p,
        )
        ids.append(team.excerpt_of_turn(team.turns(tr.id)[0].id, 0, 5).id)
    ash = as_(team, "Ash")
    ash.add_note("Ash", "P1", "mine", excerpts=[ids[0]])
    bay = as_(team, "Bay")
    # step 1 open: the excerpt Ash's note anchors is hidden from Bay
    assert [e.id for e in bay.excerpt_lines().rows] == [e.id for e in bay.excerpts()] == [ids[1]]
    got = ash.excerpt_lines(partnership="P1")
    assert [(e.id, e.transcript, e.partnership) for e in got.rows] == [(ids[0], "t-P1", "P1")]
    assert ash.excerpt_lines(limit=1).total == 2


def test_board_undo_writes_back_through_the_store(team):
    ash = as_(team, "Ash")
    ash.close_recall()
    from coprod_nb.storage.interpretation import BoardUndo

    t1 = ash.add_tension("A", "a1", "a2")
    t2 = ash.add_tension("B", "b1", "b2")
    n = ash.add_note("Ash", "P1", "evidence")
    undo = BoardUndo(ash)
    undo.save_tension(t1.id, name="A renamed")
    undo.attach(t1.id, notes=[n.id])
    link = undo.link(t1.id, t2.id, "contradicts")
    assert [c.kind for c in undo.changes] == ["tension", "attach", "link"]
    assert undo.undo() == "the link T1 contradicts T2"
    assert team.tension_links() == [] and link.id
    assert undo.undo() == "1 note attached to T1"
    assert team.evidence("T1") == []
    assert undo.undo() == "the edit of T1"
    assert team.tension("T1").name == "A"
    assert [e.action for e in team.history("tension", t1.id)][-4:] == [
        "update",
        "attach",
        "detach",
        "update",
    ]
    with pytest.raises(InvalidInput, match="nothing to undo"):
        undo.undo()
    # a change the lead froze into a framework stays
    ash.update_tension("T1", status="agreed")
    undo.save_tension(t1.id, name="A again")
    ash.freeze_framework("v1")
    with pytest.raises(OutOfOrder, match="framework v1 was agreed after"):
        undo.undo()
    assert team.tension("T1").name == "A again"
