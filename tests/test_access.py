"""The access policy (coprod_nb/storage/access.py), on the second study.

(a) Blinding over random sequences of actions by its three researchers (Rowan, the lead,
    login ``rowan``; Quill ``quill``; Tamsin ``tamsin``): before step 1 closes no public
    function (Store methods, analysis functions, exports, the command line) gives one
    researcher another's note, excerpt or event.
(b) No one stands in for another: a ``viewer`` or ``by`` naming someone else is refused.
(c) Every lead act is refused to a researcher who is not the lead.
(d) Ballots: no route gives a ballot or a tally before the poll closes, except a
    participant's own ballot through their personal link.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from coprod_nb.analysis import compare_counts, history_table, notes_table, poll_results
from coprod_nb.analysis.audit import audit_objects, object_history
from coprod_nb.cli import main
from coprod_nb.domain.decisions import Decision
from coprod_nb.errors import Forbidden, NotFound
from coprod_nb.exchange.refi_qda import export_qdpx
from coprod_nb.exchange.tables import export_tables, study_tables
from coprod_nb.storage import Store
from coprod_nb.storage.access import LEAD_ACTS
from coprod_nb.storage.models import Excerpt, Note, NoteExcerpt
from tests.second_study import RESEARCHERS

LOGINS = tuple(RESEARCHERS.values())  # rowan, quill, tamsin
NAME = {login: name for name, login in RESEARCHERS.items()}


def _copy(template: Path) -> Path:
    dest = Path(tempfile.mkdtemp(prefix="access-")) / "study"
    shutil.copytree(template, dest)
    return dest


# -- (a) blinding over random actions -------------------------------------------------------

ACTION = st.one_of(
    st.tuples(st.just("note"), st.sampled_from(LOGINS), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("edit"), st.sampled_from(LOGINS), st.integers(0, 5)),
    st.tuples(st.just("anchor"), st.sampled_from(LOGINS), st.integers(0, 5), st.integers(0, 40)),
    st.tuples(st.just("excerpt"), st.sampled_from(LOGINS), st.integers(0, 40)),
    st.tuples(st.just("read"), st.sampled_from(LOGINS), st.integers(0, 2)),
    st.tuples(st.just("delete"), st.sampled_from(LOGINS), st.integers(0, 5)),
    st.tuples(st.just("peek"), st.sampled_from(LOGINS), st.sampled_from(LOGINS)),
)


class World:
    """The second study at step 1 with what each researcher did, to check views against."""

    def __init__(self, store: Store):
        self.store = store
        self.counter = 0
        self.turns = [t.id for tr in store.transcripts() for t in store.turns(tr.id) if t.text]
        self.transcripts = [t.id for t in store.transcripts()]
        self.shorts = [p.short for p in store.partnerships()]

    def act(self, action) -> None:
        kind, who, *rest = action
        st_ = self.store
        st_.actor = who
        me = NAME[who]
        mine = [n.id for n in st_.notes(include_deleted=True)]
        if kind == "note":
            part, anchored = rest
            anchors = []
            if anchored:
                anchors = [st_.excerpt_of_turn(self.turns[self.counter % len(self.turns)]).id]
            self.counter += 1
            st_.add_note(
                me,
                self.shorts[part],
                f"NOTE-{who}-{self.counter}",
                category="observation",
                kind="self-reflection",
                excerpts=anchors,
            )
        elif kind == "edit" and mine:
            self.counter += 1
            st_.update_note(mine[rest[0] % len(mine)], me, text=f"EDIT-{who}-{self.counter}")
        elif kind == "anchor" and mine:
            ex = st_.excerpt_of_turn(self.turns[rest[1] % len(self.turns)])
            note = st_.note(mine[rest[0] % len(mine)])
            st_.update_note(note.id, me, excerpts=[e.id for e in note.excerpts] + [ex.id])
        elif kind == "excerpt":
            st_.excerpt_of_turn(self.turns[rest[0] % len(self.turns)])
        elif kind == "read":
            st_.mark_read(me, self.transcripts[rest[0] % len(self.transcripts)])
        elif kind == "delete" and mine:
            st_.delete_note(mine[rest[0] % len(mine)], me)
        elif kind == "peek" and rest[0] != who:
            other = NAME[rest[0]]
            for attempt in (
                lambda: st_.notes(other),
                lambda: st_.notes(researcher=other),
                lambda: st_.excerpts(viewer=other),
                lambda: st_.history("note", viewer=other),
                lambda: notes_table(st_, other),
                lambda: study_tables(st_, viewer=other),
            ):
                with pytest.raises(Forbidden):
                    attempt()

    def truth(self, login: str) -> tuple[set[int], set[int], set[int], set[int]]:
        """(own note ids, colleagues' note ids, colleagues' excerpt ids, all excerpts)."""
        with self.store.session(write=False) as s:
            notes = s.execute(select(Note.id, Note.researcher_id)).all()
            me = next(r.id for r in self.store.researchers() if r.login == login)
            own = {n for n, r in notes if r == me}
            others = {n for n, r in notes if r != me}
            anchors = s.execute(
                select(NoteExcerpt.excerpt_id, Note.researcher_id).join(
                    Note, Note.id == NoteExcerpt.note_id
                )
            ).all()
            mine_anchor = {e for e, r in anchors if r == me}
            other_anchor = {e for e, r in anchors if r != me}
            made = dict(s.execute(select(Excerpt.id, Excerpt.created_by)).all())
        colleagues = {x for x in LOGINS if x != login} | {NAME[x] for x in LOGINS if x != login}
        hidden = {
            e
            for e, by in made.items()
            if e not in mine_anchor and (e in other_anchor or (by or "") in colleagues)
        }
        return own, others, hidden, set(made)


def _markers(login: str) -> tuple[str, ...]:
    return (f"NOTE-{login}-", f"EDIT-{login}-")


def check_views(world: World, login: str, out: Path) -> None:
    st_ = world.store
    st_.actor = login
    own, others, hidden, _ = world.truth(login)
    colleagues = [x for x in LOGINS if x != login]
    # Store methods
    assert {n.id for n in st_.notes(include_deleted=True)} <= own
    assert {n.id for n in st_.notes(NAME[login], include_deleted=True)} <= own
    assert not {e.id for e in st_.excerpts()} & hidden
    for n in others:
        with pytest.raises(NotFound):
            st_.note(n)
        with pytest.raises(NotFound):
            st_.note_versions(n)
    assert not {e.object_id for e in st_.history("note")} & others
    assert not {e.object_id for e in st_.history("excerpt")} & hidden
    assert sum(c for r, _, _, c in st_.note_counts() if r != NAME[login]) == 0
    # analysis functions
    assert set(notes_table(st_).id) <= own
    table = history_table(st_, "note")
    assert not set(table.object_id) & others
    assert not {ref for _, ref in audit_objects(st_, "note")} & others
    for n in list(others)[:3]:
        with pytest.raises(Forbidden):
            object_history(st_, "note", n)
    # exports
    tables = study_tables(st_)
    assert set(tables["notes"].id) <= own
    ev = tables["events"]
    assert not set(ev[ev.object_type == "note"].object_id) & others
    assert not set(ev[ev.object_type == "excerpt"].object_id) & hidden
    assert not set(tables["excerpts"].id) & hidden
    folder = out / f"csv-{login}"
    export_tables(st_, "csv", folder)
    qdpx = export_qdpx(st_, out / f"{login}.qdpx")
    with zipfile.ZipFile(qdpx) as zf:
        project = zf.read("project.qde").decode("utf-8")
    text = project + "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())
    for colleague in colleagues:
        for marker in _markers(colleague):
            assert marker not in text, f"{login} sees {marker}"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTION, min_size=1, max_size=12))
def test_no_public_function_shows_a_colleague_anything_before_closure(second_templates, actions):
    folder = _copy(second_templates("recall"))
    try:
        with Store(folder, actor="rowan") as store:
            world = World(store)
            for action in actions:
                world.act(action)
            for login in LOGINS:
                check_views(world, login, folder.parent)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


def test_the_command_line_shows_only_what_the_actor_may_see(second_study, tmp_path, capsys):
    store = second_study("recall", actor="quill")
    store.add_note(
        "Quill", "GULL", "NOTE-quill-cli", category="observation", kind="self-reflection"
    )
    store.actor = "tamsin"
    store.add_note(
        "Tamsin", "DUNE", "NOTE-tamsin-cli", category="observation", kind="self-reflection"
    )
    d = str(store.study_dir)
    store.close()
    for login in LOGINS:
        colleagues = [x for x in LOGINS if x != login]
        capsys.readouterr()
        out = tmp_path / f"{login}.csv"
        assert main(["notes", d, "--as", login, "--format", "csv", str(out)]) == 0
        assert main(["history", d, "note", "--as", login]) == 0
        assert main(["history", d, "excerpt", "--as", login]) == 0
        assert main(["export", d, "--format", "csv", "--as", login, str(tmp_path / login)]) == 0
        assert (
            main(["export", d, "--format", "qdpx", "--as", login, str(tmp_path / f"{login}.qdpx")])
            == 0
        )
        # (a report needs a frozen framework, so step 1 closed: refused here)
        assert main(["report", d, "--format", "md", "--as", login, str(tmp_path / "r.md")]) == 1
        shown = capsys.readouterr().out + out.read_text(encoding="utf-8")
        shown += "".join(p.read_text(encoding="utf-8") for p in (tmp_path / login).iterdir())
        with zipfile.ZipFile(tmp_path / f"{login}.qdpx") as zf:
            shown += zf.read("project.qde").decode("utf-8")
        for colleague in colleagues:
            assert f"NOTE-{colleague}-cli" not in shown
        # asking for a colleague's notes is refused, before the closure
        other = NAME[colleagues[0]]
        code = main(["notes", d, "--as", login, "--researcher", other, str(tmp_path / "x.md")])
        assert code == 1 and "step 1 is open" in capsys.readouterr().err
    # the removed options that let one person stand in for another
    for argv in (
        ["export", d, "--format", "csv", "--viewer", "Quill", str(tmp_path / "v")],
        ["close-recall", d, "--lead", "Rowan"],
    ):
        with pytest.raises(SystemExit):
            main(argv)
    capsys.readouterr()
    assert main(["close-recall", d, "--as", "quill"]) == 1
    err = capsys.readouterr().err
    assert "only the study lead (Rowan) can close step 1; you are Quill" in err
    assert main(["close-recall", d, "--as", "rowan"]) == 0


# -- (b) no one stands in for another ---------------------------------------------------------


def test_a_viewer_or_by_naming_someone_else_is_refused(second_study):
    store = second_study("recall", actor="quill")
    calls = [
        lambda: store.notes("Rowan"),
        lambda: store.note_counts("Tamsin"),
        lambda: store.excerpts(viewer="rowan"),
        lambda: store.history("note", viewer="Tamsin"),
        lambda: notes_table(store, "Rowan"),
        lambda: study_tables(store, viewer="Rowan"),
        lambda: history_table(store, "note", viewer="Rowan"),
        lambda: audit_objects(store, "note", viewer="Tamsin"),
    ]
    for call in calls:
        with pytest.raises(Forbidden, match="you are quill; you cannot"):
            call()
    # naming oneself is fine
    assert {n.researcher_id for n in store.notes("Quill")} == {store.researcher("Quill").id}
    lead = second_study("recall", actor="rowan")
    with pytest.raises(Forbidden, match="you are rowan; you cannot close step 1 as Quill"):
        lead.close_recall(by="Quill")
    assert lead.close_recall(by="Rowan").closed_by == "Rowan"
    closed = second_study("joint", actor="quill")
    with pytest.raises(Forbidden):
        compare_counts(closed, "Rowan")
    assert not compare_counts(closed).empty  # after closure Quill sees every count


def test_a_researcher_writes_only_in_their_own_name(second_study):
    store = second_study("recall", actor="quill")
    rowans = [n for n in as_rowan(store).notes()]
    for call in (
        lambda: store.add_note("Rowan", "GULL", "in Rowan's name", category="observation"),
        lambda: store.update_note(rowans[0].id, "Rowan", text="changed by Quill"),
        lambda: store.delete_note(rowans[0].id, "Rowan"),
        lambda: store.mark_read("Tamsin", store.transcripts()[0].id),
    ):
        with pytest.raises(Forbidden, match="you are quill; you cannot write as"):
            call()
    assert [n.text for n in as_rowan(store).notes()] == [n.text for n in rowans]
    mine = store.add_note("Quill", "GULL", "my own", category="observation")
    assert store.note(mine.id).text == "my own"


def as_rowan(store):
    from tests.acting import as_

    return as_(store, "rowan")


def test_the_actor_of_a_sqlite_study_is_declared_and_can_change(second_study):
    store = second_study("recall", actor="quill")
    store.actor = "tamsin"
    assert store.acting_researcher().name == "Tamsin"
    with pytest.raises(Exception, match="say who is working"):
        store.actor = " "


def test_the_actor_is_recognised_whatever_the_case_and_composition_of_a_name(second_study):
    """SQLite's lower() folds ASCII only: "ÉLODIE" must still be Élodie, and a name
    typed decomposed (E + combining acute) the same person."""
    store = second_study("recall", actor="rowan")
    store.add_researcher("Élodie Brûlé", login="élodie")
    for typed in ("ÉLODIE", "E\u0301LODIE", "élodie brûlé", "ÉLODIE BRÛLÉ"):
        store.actor = typed
        assert store.acting_researcher().name == "Élodie Brûlé", typed
    store.actor = "Elodie"  # no accent: someone else (nobody of the team)
    assert store.acting_researcher() is None


# -- (c) lead acts ------------------------------------------------------------------------------


def _decision(ref: str = "D9") -> Decision:
    return Decision(
        kind="rename",
        ref=ref,
        targets=("H1",),
        name="Community-led vs county-led agendas",
        rationale="The follow-up group named the county.",
        date=date(2023, 6, 20),
    )


@pytest.mark.parametrize("who", ["quill", "tamsin", "someone"])
def test_every_lead_act_is_refused_to_anyone_but_the_lead(second_study, who):
    recall = second_study("recall", actor=who)
    joint = second_study("joint", actor=who)
    live = second_study("two_workshops", actor=who)
    ws = live.workshops()[-1].id
    poll = live.current_poll(ws).id
    acts = {
        "close step 1": lambda: recall.close_recall(),
        "freeze a framework": lambda: joint.freeze_framework("v2"),
        "record the workshop": lambda: joint.add_workshop(date(2022, 7, 1)),
        "record a decision": lambda: live.record_decision(ws, _decision()),
        "record decisions": lambda: live.record_decisions(ws, [_decision()]),
        "revert a decision": lambda: live.revert_decision(ws, "D1", rationale="no"),
        "freeze the workshop's framework": lambda: live.freeze_workshop_framework(ws, "v3"),
        "close a poll": lambda: live.close_poll(poll),
        "issue participant links": lambda: live.issue_links(ws),
        "revoke participant links": lambda: live.revoke_links(ws),
    }
    assert {a for a in acts if a != "record decisions"} == set(LEAD_ACTS)
    for call in acts.values():
        with pytest.raises(Forbidden, match=r"only the study lead \(Rowan\) can"):
            call()
    # nothing happened
    assert not recall.step_closed()
    assert [v.version for v in joint.framework_versions()] == [1]
    assert live.current_poll(ws).closed_at is None
    assert live.active_links(ws) == {}
    # the lead may
    recall.actor = "rowan"
    assert recall.close_recall().closed_by == "Rowan"
    live.actor = "rowan"
    assert live.issue_links(ws)
    live.close_poll(poll)


# -- (d) ballots ------------------------------------------------------------------------------


def test_no_route_gives_a_ballot_before_the_poll_closes(second_study, tmp_path):
    store = second_study("two_workshops", actor="rowan")
    ws = store.workshops()[-1]
    poll = store.current_poll(ws.id)
    assert poll.closed_at is None
    for call in (
        lambda: store.ballots(poll.id),
        lambda: store.own_ballot(poll.id, "Ash Penhale"),
        lambda: poll_results(store, "opening", ws.id),
    ):
        with pytest.raises(Forbidden, match="is open"):
            call()
    ballots = study_tables(store)["ballots"]
    assert poll.id not in set(ballots.poll_id)
    # a participant sees their own, through their personal link
    links = store.issue_links(ws.id)
    assert store.own_ballot_by_link(links["Ash Penhale"], poll.id) == ["H4"]
    assert store.own_ballot_by_link(links["Nico Trevail"], poll.id) is None
    with pytest.raises(Forbidden):
        store.own_ballot_by_link("not-a-key", poll.id)
    store.close_poll(poll.id)
    assert store.own_ballot(poll.id, "Ash Penhale") == ["H4"]
    assert store.ballots(poll.id) == {"Ash Penhale": ["H4"]}
    assert isinstance(poll_results(store, "opening", ws.id), pd.DataFrame)


# -- file permissions ---------------------------------------------------------------------------


def test_a_study_file_and_its_backup_are_its_owners_only(tmp_path):
    import os

    from coprod_nb.storage.database import create_private_file

    old = os.umask(0o022)
    try:
        with Store(tmp_path / "s", actor="me") as st_:
            assert st_.study().name == "s"
        assert (tmp_path / "s" / "study.db").stat().st_mode & 0o777 == 0o600
        create_private_file(tmp_path / "b.json")
        assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
