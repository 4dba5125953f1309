"""Step 3 in the store: workshop, responses, hidden polls, decisions replayed and reverted."""

from __future__ import annotations

from datetime import date

import pytest

from coprod_nb.domain.decisions import Decision, DecisionError
from coprod_nb.errors import Forbidden, InvalidInput, NotFound, OutOfOrder
from tests.acting import as_, as_lead

FINAL = {
    "T1": (
        "Idealistic, tokenistic vs realistic narratives",
        (
            "Lack of clarity on the meaning of co-production",
            "Lack of funding for co-produced research",
        ),
    ),
    "T2": (
        "Power differences and (lack of) reciprocity",
        ("Challenging traditional research approaches", "Co-production as a creative endeavour"),
    ),
    "T3": (
        "Excluding vs including language and communication",
        ("Language and communication", "Motivation versus skills"),
    ),
    "T8": (
        "Individual motivation vs structural issues",
        ("Individual motivation for working in co-production", "Structural barriers"),
    ),
}


def test_the_demo_workshop_replays_the_worked_example(demo):
    v2 = demo.framework(2)
    assert {t.code: (t.name, t.subthemes) for t in v2.tensions} == FINAL
    assert v2.codes == ["T1", "T2", "T3", "T8"]
    assert demo.current_framework().codes == v2.codes
    kinds = [d.kind for d in demo.decisions()]
    assert kinds[:3] == ["add", "merge", "fold"]


def test_reverting_the_merge_restores_t4_t5_t6(workshop_open):
    demo = workshop_open  # the demo during its workshop: the result is not frozen yet
    with pytest.raises(DecisionError, match="later decision"):
        as_lead(demo).revert_decision(None, "D1")  # the fold (D3) needs the added T7
    as_lead(demo).revert_decision(None, "D2", rationale="on reflection, three tensions")
    now = demo.current_framework()
    assert now.codes == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert "Motivation versus skills" in now.get("T3").subthemes  # the fold still applies
    assert [d.reverted for d in demo.decisions() if d.ref == "D2"] == [True]
    assert len(demo.framework(1).codes) == 6  # frozen v1 is untouched
    assert demo.history("decision")[-1].action == "revert"


def test_a_decision_that_cannot_apply_is_refused_and_not_recorded(workshop_open):
    demo = workshop_open
    before = len(demo.decisions())
    with pytest.raises(DecisionError):
        as_lead(demo).record_decision(None, Decision(kind="drop", targets=("T4",)))  # merged away
    with pytest.raises(DecisionError, match="already recorded"):
        as_lead(demo).record_decision(None, Decision(kind="keep", targets=("T1",), ref="D1"))
    assert len(demo.decisions()) == before
    as_lead(demo).record_decision(
        None,
        Decision(
            kind="rename",
            targets=("T8",),
            name="Individual motivation vs structures",
            rationale="shorter",
        ),
    )
    assert demo.current_framework().get("T8").name == "Individual motivation vs structures"


def test_polls_hide_results_until_closed_and_update_ballots(store):
    store.add_partnership("P", "P")
    store.add_researcher("Ash", lead=True)
    for name in ("Pat", "Sol", "Kim"):
        store.add_participant(name, "P")
    store.add_tension("A", "a1", "a2", status="agreed")
    store.add_tension("B", "b1", "b2", status="agreed")
    as_(store, "Ash").close_recall()
    as_(store, "Ash").freeze_framework()
    ws = as_lead(store).add_workshop(
        date(2021, 11, 10), facilitators=["Ash"], participants=["Pat", "Sol"]
    )
    poll = store.open_poll(ws.id, "opening", ["T1", "T2"], max_choices=1)
    store.cast_ballot(poll.id, "Pat", ["T1"])
    store.cast_ballot(poll.id, "Pat", ["T2"])  # a second submission replaces the first
    store.cast_ballot(poll.id, "Sol", ["T2"])
    assert store.ballot_count(poll.id) == 2
    with pytest.raises(Forbidden, match="hidden"):
        store.ballots(poll.id)
    with pytest.raises(Forbidden, match="not a participant"):
        store.cast_ballot(poll.id, "Kim", ["T1"])
    with pytest.raises(InvalidInput, match="at most 1"):
        store.cast_ballot(poll.id, "Sol", ["T1", "T2"])
    with pytest.raises(InvalidInput, match="not on the ballot"):
        store.cast_ballot(poll.id, "Sol", ["T9"])
    # the event log says who voted, never what
    votes = [e for e in store.history("poll", poll.id) if e.action == "vote"]
    assert len(votes) == 3 and all(set(e.after) == {"by"} for e in votes)
    as_lead(store).close_poll(poll.id)
    assert store.ballots(poll.id) == {"Pat": ["T2"], "Sol": ["T2"]}
    with pytest.raises(Forbidden, match="closed"):
        store.cast_ballot(poll.id, "Sol", ["T1"])


def test_responses_threshold_and_positions(store):
    store.add_partnership("P", "P")
    store.add_researcher("Ash", lead=True)
    store.add_participant("Pat", "P")
    store.add_tension("A", "a1", "a2", status="agreed")
    as_(store, "Ash").close_recall()
    as_(store, "Ash").freeze_framework()
    with pytest.raises(InvalidInput, match="threshold"):
        as_lead(store).add_workshop(date(2021, 11, 10), consensus_threshold=0.4)
    ws = as_lead(store).add_workshop(date(2021, 11, 10), participants=["Pat"])
    assert ws.consensus_threshold == 0.75 and ws.threshold_fixed_at is not None
    store.set_response(ws.id, "Pat", "T1", comment="  matters ", circle="inner")
    store.set_response(ws.id, "Pat", "T1", suggestion="split it")
    [r] = store.responses(ws.id)
    assert (r.comment, r.suggestion, r.circle) == ("matters", "split it", "inner")
    assert store.placements(ws.id) == {"Pat": {"T1": "inner"}}
    with pytest.raises(InvalidInput, match="circle must be"):
        store.set_response(ws.id, "Pat", "T1", circle="middle")
    with pytest.raises(InvalidInput, match="not a card"):
        store.set_response(ws.id, "Pat", "T9", comment="x")
    store.set_position("P", "T1", "2018", 30)
    store.set_position("P", "T1", "2018", 35)
    assert store.positions() == [
        {"partnership": "P", "tension": "T1", "when": "2018", "position": 35.0}
    ]
    with pytest.raises(InvalidInput, match="between 0 and 100"):
        store.set_position("P", "T1", "2021", 101)
    with pytest.raises(NotFound):
        store.workshop(99)


LOG = """
[[decisions]]
id = "D8"
kind = "rename"
target = "T8"
name = "Individual motivation vs structural conditions"
rationale = "Typed up after the workshop from the facilitator's notes."
proposer = "Cedar"
date = "2021-11-12"
"""

BAD = (
    LOG
    + """
[[decisions]]
id = "D9"
kind = "drop"
target = "T4"
rationale = "T4 was merged away: this cannot apply"
"""
)


def test_cli_applies_a_decision_log_all_or_nothing(workshop_open_dir, tmp_path, capsys):
    from coprod_nb.cli import main
    from coprod_nb.storage import Store

    demo_dir = workshop_open_dir  # the demo during its workshop: decisions can still change

    bad, good = tmp_path / "bad.toml", tmp_path / "good.toml"
    bad.write_text(BAD)
    good.write_text(LOG)
    assert main(["decisions", str(demo_dir), "apply", str(bad), "--as", "alder"]) == 1
    err = capsys.readouterr().err
    assert "bad.toml" in err and "D9" in err and "nothing was applied" in err
    with Store(demo_dir) as study:
        assert [d.ref for d in study.decisions()][-1] == "D6"
    assert main(["decisions", str(demo_dir), "apply", str(good), "--as", "alder"]) == 0
    assert "framework now: T1" in capsys.readouterr().out
    with Store(demo_dir) as study:
        assert study.current_framework().get("T8").name.endswith("structural conditions")
    assert (
        main(["decisions", str(demo_dir), "revert", "D8", "--rationale", "undo", "--as", "alder"])
        == 0
    )
    with Store(demo_dir) as study:
        assert study.current_framework().get("T8").name.endswith("structural issues")
    (tmp_path / "typo.toml").write_text("[[decisions]\nkind = 'keep'")
    assert main(["decisions", str(demo_dir), "apply", str(tmp_path / "typo.toml")]) == 1
    assert "line 1" in capsys.readouterr().err


# -- the order of the method: a frozen workshop is finished ------------------------------


@pytest.fixture
def small_workshop(store):
    """Three agreed tensions frozen as v1 (after step 1), a workshop on v1 with D1 recorded."""
    store.add_partnership("P", "P")
    store.add_researcher("Ash", lead=True)
    for name in ("A", "B", "C"):
        store.add_tension(name, f"{name}1", f"{name}2", status="agreed")
    as_(store, "Ash").close_recall()
    as_(store, "Ash").freeze_framework("v1")
    ws = as_lead(store).add_workshop(date(2021, 11, 10), facilitators=["Ash"])
    as_lead(store).record_decision(
        ws.id, Decision(kind="keep", targets=("T1",), rationale="most named")
    )
    return store, ws


def test_a_frozen_workshop_refuses_new_and_reverted_decisions(small_workshop):
    store, ws = small_workshop
    assert store.workshop_frozen_as(ws.id) is None and store.open_workshop().id == ws.id
    as_lead(store).record_decision(
        ws.id, Decision(kind="drop", targets=("T3",), rationale="no one")
    )
    fv = as_(store, "Ash").freeze_workshop_framework(ws.id)
    assert (fv.version, store.workshop_frozen_as(ws.id), store.open_workshop()) == (2, 2, None)
    events_before = len(store.history("decision"))
    attempts = [
        lambda: as_lead(store).record_decision(
            ws.id, Decision(kind="drop", targets=("T2",), rationale="late")
        ),
        lambda: as_lead(store).record_decisions(
            None, [Decision(kind="keep", targets=("T2",), ref="D9", rationale="late")]
        ),
        lambda: as_lead(store).revert_decision(ws.id, "D2", rationale="changed our minds"),
    ]
    for attempt in attempts:
        with pytest.raises(OutOfOrder) as err:
            attempt()
        message = str(err.value)
        assert "already frozen as framework v2" in message
        assert "record a new workshop" in message  # what to do instead
    assert [(d.ref, d.reverted) for d in store.decisions(ws.id)] == [("D1", False), ("D2", False)]
    assert len(store.history("decision")) == events_before
    assert store.current_framework(ws.id).codes == store.framework(2).codes == ["T1", "T2"]
    # a new workshop on v2 is open to decisions
    follow_up = as_lead(store).add_workshop(date(2022, 11, 9))
    assert follow_up.base_version == 2 and store.open_workshop().id == follow_up.id
    as_lead(store).record_decision(
        follow_up.id, Decision(kind="drop", targets=("T2",), rationale="now")
    )
    assert store.current_framework(follow_up.id).codes == ["T1"]


def test_a_failed_record_leaves_nothing_written(small_workshop, monkeypatch):
    store, ws = small_workshop
    import coprod_nb.storage.events as events_module

    def broken_log(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(events_module, "log", broken_log)
    monkeypatch.setattr(events_module, "log_many", broken_log)  # the decisions' events
    with pytest.raises(RuntimeError):
        as_lead(store).record_decision(ws.id, Decision(kind="drop", targets=("T2",), rationale="x"))
    with pytest.raises(RuntimeError):
        as_lead(store).record_decisions(
            ws.id,
            [
                Decision(kind="keep", targets=("T2",), ref="D5", rationale="x"),
                Decision(kind="drop", targets=("T3",), ref="D6", rationale="y", reverted=True),
            ],
        )
    monkeypatch.undo()
    assert [d.ref for d in store.decisions(ws.id)] == ["D1"]
    # a log whose last entry cannot apply writes none of the entries before it
    with pytest.raises(DecisionError, match="T9 is not in the framework"):
        as_lead(store).record_decisions(
            ws.id,
            [
                Decision(kind="keep", targets=("T2",), ref="D5", rationale="x"),
                Decision(kind="drop", targets=("T9",), ref="D6", rationale="y"),
            ],
        )
    assert [d.ref for d in store.decisions(ws.id)] == ["D1"]


def test_two_decisions_recorded_at_once_are_checked_against_each_other(small_workshop, monkeypatch):
    """Two facilitators drop T2 at the same moment: the check and the write are one
    transaction, so the second is checked against the first and refused."""
    import threading
    import time

    import coprod_nb.storage.workshop as workshop_module
    from coprod_nb.storage import Store

    store, ws = small_workshop
    real_check = workshop_module.check_decisions

    def slow_check(framework, decisions, **kwargs):
        if any(d.ref in ("DA", "DB") for d in decisions):
            time.sleep(0.4)  # between the check and the write
        return real_check(framework, decisions, **kwargs)

    monkeypatch.setattr(workshop_module, "check_decisions", slow_check)
    url = str(store.engine.url.render_as_string(hide_password=False))
    outcomes: dict[str, str] = {}

    def record(ref: str) -> None:
        with Store(store.study_dir, url, actor=ref) as other:
            try:
                as_lead(other).record_decision(
                    ws.id, Decision(kind="drop", targets=("T2",), ref=ref, rationale="gone")
                )
                outcomes[ref] = "recorded"
            except DecisionError as exc:
                outcomes[ref] = str(exc)

    threads = [threading.Thread(target=record, args=(ref,)) for ref in ("DA", "DB")]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["DA", "DB"]
    assert list(outcomes.values()).count("recorded") == 1, outcomes
    refused = next(v for v in outcomes.values() if v != "recorded")
    assert "T2 is not in the framework" in refused
    assert store.current_framework(ws.id).codes == ["T1", "T3"]
    assert len(store.decisions(ws.id)) == 2


# -- undo of the last decision --------------------------------------------------------------


def _undo_event(store):
    last = store.history("decision")[-1]
    return last.action, last.detail


def test_undo_reverts_the_last_demo_decision_as_a_recorded_act(workshop_open):
    demo = workshop_open
    before = demo.current_framework().codes
    row = as_lead(demo).record_decision(
        None, Decision(kind="drop", targets=("T1",), rationale="tried in the room")
    )
    assert "T1" not in demo.current_framework().codes
    undone = as_lead(demo).undo_decision(None, row.ref, rationale="clicked too soon")
    assert undone.ref == row.ref and undone.reverted_at is not None
    assert demo.current_framework().codes == before
    # the decision stays in the log, reverted, and the undo is an event with its reason
    assert [(d.ref, d.reverted) for d in demo.decisions()][-1] == (row.ref, True)
    assert _undo_event(demo) == ("revert", "undo of the last decision: clicked too soon")
    with pytest.raises(InvalidInput, match="already reverted"):
        as_lead(demo).undo_decision(None, row.ref)


def test_undo_on_the_second_study_open_workshop_and_refusals(second_study):
    live = second_study("two_workshops")
    frozen_ws, open_ws = [ws.id for ws in live.workshops()]
    first = live.record_decision(
        open_ws,
        Decision(
            kind="keep",
            targets=(live.current_framework(open_ws).codes[0],),
            rationale="named by most",
        ),
    )
    code = live.current_framework(open_ws).codes[-1]
    second = live.record_decision(
        open_ws, Decision(kind="drop", targets=(code,), rationale="nobody placed it")
    )
    events = len(live.history("decision"))
    # an older decision is not "the last": revert it with a reason instead
    with pytest.raises(OutOfOrder, match=rf"cannot undo {first.ref}: {second.ref} was recorded"):
        live.undo_decision(open_ws, first.ref)
    # a workshop whose result is frozen
    with pytest.raises(OutOfOrder, match="already frozen as framework v2"):
        live.undo_decision(frozen_ws, "D2")
    with pytest.raises(NotFound, match="no decision D99"):
        live.undo_decision(open_ws, "D99")
    # someone other than the lead, who may decide: a researcher, and a stranger
    for who in ("quill", "someone"):
        with pytest.raises(Forbidden, match=r"only the study lead \(Rowan\) can revert"):
            as_(live, who).undo_decision(open_ws, second.ref)
    assert len(live.history("decision")) == events  # refusals write nothing
    assert [d.reverted for d in live.decisions(open_ws)] == [False, False]
    assert code not in live.current_framework(open_ws).codes
    live.undo_decision(open_ws, second.ref)
    assert code in live.current_framework(open_ws).codes
    assert _undo_event(live) == ("revert", "undo of the last decision")
    assert [d.reverted for d in live.decisions(frozen_ws)] == [False, False]


def test_undo_under_the_workshop_lock_on_each_database(small_workshop):
    store, ws = small_workshop
    row = as_lead(store).record_decision(
        ws.id, Decision(kind="drop", targets=("T2",), rationale="no one")
    )
    with pytest.raises(OutOfOrder, match=f"cannot undo D1: {row.ref} was recorded after it"):
        as_lead(store).undo_decision(ws.id, "D1")
    as_lead(store).undo_decision(ws.id, row.ref)
    assert store.current_framework(ws.id).codes == ["T1", "T2", "T3"]
    assert [(d.ref, d.reverted) for d in store.decisions(ws.id)] == [("D1", False), ("D2", True)]


def test_a_frozen_workshop_keeps_its_record_undo_and_threshold(small_workshop, second_study):
    """Past the freeze: the person who placed a card cannot undo it, and the lead cannot
    move the threshold of a workshop that had no results; the store says which workshop
    and version, and nothing changes. The second study's frozen workshop refuses an undo
    too, while its open follow-up takes one."""
    store, ws = small_workshop
    store.add_participant("Pat", "P")
    store.set_response(ws.id, "Pat", "T1", circle="inner", reason="ours")
    store.set_response(ws.id, "Pat", "T1", circle="outer")
    quiet = as_lead(store).add_workshop(date(2021, 11, 11))  # no results at all
    as_(store, "Ash").freeze_workshop_framework(ws.id, "v2")
    as_(store, "Ash").freeze_workshop_framework(quiet.id, "v3")
    events_before = len(store.history("card_response")), len(store.history("workshop"))
    for attempt, workshop in (
        (lambda: store.undo_response(ws.id, "Pat"), ws),
        (lambda: store.undo_response(ws.id), ws),
        (
            lambda: as_lead(store).set_consensus_threshold(quiet.id, 0.9, rationale="after"),
            quiet,
        ),
    ):
        with pytest.raises(OutOfOrder) as err:
            attempt()
        version = store.workshop_frozen_as(workshop.id)
        assert f"workshop of {workshop.date:%Y-%m-%d}" in str(err.value)
        assert f"frozen as framework v{version}" in str(err.value)
    assert [(r.circle, r.reason) for r in store.responses(ws.id)] == [("outer", "ours")]
    assert store.workshop(quiet.id).consensus_threshold == 0.75
    assert (len(store.history("card_response")), len(store.history("workshop"))) == events_before

    # the second study: its frozen workshop refuses an undo, its open follow-up takes one
    st = second_study("two_workshops", "rowan")
    frozen, follow_up = st.workshops()
    before = st.placements(frozen.id)
    with pytest.raises(OutOfOrder, match="frozen as framework v2"):
        st.undo_response(frozen.id)
    assert st.placements(frozen.id) == before
    st.set_response(follow_up.id, "Bea Kestle", "H4", circle="outer")
    assert st.undo_response(follow_up.id, "Bea Kestle").circle == "none"


def _migration_0017():
    import importlib.util
    from pathlib import Path

    import coprod_nb.storage as storage

    path = Path(storage.__file__).parent / "migrations/versions/0017_frozen_workshop_guard.py"
    spec = importlib.util.spec_from_file_location("guard_0017", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_database_refuses_a_plain_sql_write_to_a_frozen_workshop(tmp_path, db_url):
    """Migration 0017's triggers, past the API: on a frozen workshop a changed or new
    response, a new poll, a new or changed ballot (in a poll left open at the freeze) are
    refused (by name, as an OutOfOrder); on an open workshop they go through; 0017 down
    lets them through, up again not."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import select, text

    from coprod_nb.storage.guards import WORKSHOP_FROZEN
    from coprod_nb.storage.models import Ballot
    from tests.second_study import build_second_study

    store = build_second_study(tmp_path / "study", "workshop", db_url, second_workshop=True)
    frozen, follow_up = store.workshops()
    left_open = store.poll("opening", follow_up.id)  # Ash's ballot in it
    as_lead(store).freeze_workshop_framework(follow_up.id, "v3")
    ora, bea = (store.participant(n).id for n in ("Ora Menhay", "Bea Kestle"))
    response = "UPDATE card_response SET comment = '{}' WHERE workshop_id = {}"
    writes = {
        "response changed": response.format("x", frozen.id),
        "response added": "INSERT INTO card_response (workshop_id, participant_id, code, "
        f"comment, suggestion, circle, reason, source, updated_at) VALUES ({frozen.id}, "
        f"{ora}, 'H3', 'x', '', 'inner', '', 'sql', '2024-01-01')",
        "poll opened": "INSERT INTO poll (workshop_id, name, options, ranked, opened_at) "
        f"VALUES ({frozen.id}, 'late', '[\"H1\"]', false, '2024-01-01')",
        "ballot added": "INSERT INTO ballot (poll_id, participant_id, choices, cast_at) "
        f"VALUES ({left_open.id}, {bea}, '[]', '2024-01-01')",
        "ballot changed": f"UPDATE ballot SET choices = '[]' WHERE poll_id = {left_open.id}",
    }

    def record():
        with store.session(write=False) as s:
            counts = [
                s.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("card_response", "poll", "ballot")
            ]
            ballots = [
                (b.participant_id, b.choices)
                for b in s.scalars(select(Ballot).where(Ballot.poll_id == left_open.id))
            ]
        return counts, ballots, sorted(r.comment for r in store.responses(frozen.id))

    before = record()
    for what, sql in writes.items():
        with pytest.raises(OutOfOrder) as err, store.session() as s:
            s.execute(text(sql))
        assert str(err.value) == f"the database refused the change: {WORKSHOP_FROZEN}", what
    assert record() == before
    # an open workshop is not guarded
    third = as_lead(store).add_workshop(date(2024, 6, 4), participants=["Ash Penhale"])
    store.set_response(third.id, "Ash Penhale", "H1", circle="inner")
    with store.session() as s:
        s.execute(text(response.format("ok", third.id)))
    assert [r.comment for r in store.responses(third.id)] == ["ok"]

    migration = _migration_0017()

    def step(fn) -> None:
        with store.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            fn()

    step(migration.downgrade)
    with store.session() as s:  # without the triggers a plain write goes through
        s.execute(text(writes["response changed"]))
    assert "x" in {r.comment for r in store.responses(frozen.id)}
    step(migration.upgrade)
    with pytest.raises(OutOfOrder, match="keeps its record"), store.session() as s:
        s.execute(text(response.format("y", frozen.id)))
    store.close()
