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
