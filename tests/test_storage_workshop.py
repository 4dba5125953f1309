"""Step 3 in the store: workshop, responses, hidden polls, decisions replayed and reverted."""

from __future__ import annotations

from datetime import date

import pytest

from coprod_nb.domain.decisions import Decision, DecisionError
from coprod_nb.errors import Forbidden, InvalidInput, NotFound

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


def test_reverting_the_merge_restores_t4_t5_t6(demo):
    with pytest.raises(DecisionError, match="later decision"):
        demo.revert_decision(None, "D1")  # the fold (D3) needs the added T7
    demo.revert_decision(None, "D2", rationale="on reflection, three tensions")
    now = demo.current_framework()
    assert now.codes == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert "Motivation versus skills" in now.get("T3").subthemes  # the fold still applies
    assert [d.reverted for d in demo.decisions() if d.ref == "D2"] == [True]
    assert demo.framework(2).codes == ["T1", "T2", "T3", "T8"]  # frozen v2 is untouched
    assert demo.history("decision")[-1].action == "revert"


def test_a_decision_that_cannot_apply_is_refused_and_not_recorded(demo):
    before = len(demo.decisions())
    with pytest.raises(DecisionError):
        demo.record_decision(None, Decision(kind="drop", targets=("T4",)))  # merged away
    with pytest.raises(DecisionError, match="already recorded"):
        demo.record_decision(None, Decision(kind="keep", targets=("T1",), ref="D1"))
    assert len(demo.decisions()) == before
    demo.record_decision(
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
    store.freeze_framework("Ash")
    ws = store.add_workshop(date(2021, 11, 10), facilitators=["Ash"], participants=["Pat", "Sol"])
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
    store.close_poll(poll.id)
    assert store.ballots(poll.id) == {"Pat": ["T2"], "Sol": ["T2"]}
    with pytest.raises(Forbidden, match="closed"):
        store.cast_ballot(poll.id, "Sol", ["T1"])


def test_responses_threshold_and_positions(store):
    store.add_partnership("P", "P")
    store.add_researcher("Ash", lead=True)
    store.add_participant("Pat", "P")
    store.add_tension("A", "a1", "a2", status="agreed")
    store.freeze_framework("Ash")
    with pytest.raises(InvalidInput, match="threshold"):
        store.add_workshop(date(2021, 11, 10), consensus_threshold=0.4)
    ws = store.add_workshop(date(2021, 11, 10), participants=["Pat"])
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


def test_cli_applies_a_decision_log_all_or_nothing(demo_dir, tmp_path, capsys):
    from coprod_nb.cli import main
    from coprod_nb.storage import Store

    bad, good = tmp_path / "bad.toml", tmp_path / "good.toml"
    bad.write_text(BAD)
    good.write_text(LOG)
    assert main(["decisions", str(demo_dir), "apply", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.toml" in err and "D9" in err and "nothing was applied" in err
    with Store(demo_dir) as study:
        assert [d.ref for d in study.decisions()][-1] == "D7"
    assert main(["decisions", str(demo_dir), "apply", str(good)]) == 0
    assert "framework now: T1" in capsys.readouterr().out
    with Store(demo_dir) as study:
        assert study.current_framework().get("T8").name.endswith("structural conditions")
    assert main(["decisions", str(demo_dir), "revert", "D8", "--rationale", "undo"]) == 0
    with Store(demo_dir) as study:
        assert study.current_framework().get("T8").name.endswith("structural issues")
    (tmp_path / "typo.toml").write_text("[[decisions]\nkind = 'keep'")
    assert main(["decisions", str(demo_dir), "apply", str(tmp_path / "typo.toml")]) == 1
    assert "line 1" in capsys.readouterr().err
