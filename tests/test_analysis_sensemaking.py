"""Step 3 results over the demo study: the numbers a workshop sees, checked by hand."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from coprod_nb.analysis import (  # noqa: E402
    circle_results,
    decisions_table,
    final_labels,
    lineage_table,
    plot_lineage,
    poll_results,
    responses_table,
    revote_comparison,
    spectra,
)
from coprod_nb.errors import Forbidden  # noqa: E402
from tests.acting import as_lead


def test_opening_poll_tally_and_borda(demo):
    tally = poll_results(demo).set_index("option")
    # ballots: Jo T1,T3,T2 | Sam T6,T1,T5 | Kit T2,T3,T1 | Lee T6,T2 | Max T1,T2,T6
    assert tally["count"].to_dict() == {"T1": 4, "T2": 4, "T3": 2, "T4": 0, "T5": 1, "T6": 3}
    # Borda 3/2/1: T1 = 3+2+1+3 = 9, T2 = 1+3+2+2 = 8, T6 = 3+3+1 = 7
    assert tally["borda"].to_dict() == {"T1": 9, "T2": 8, "T3": 4, "T4": 0, "T5": 1, "T6": 7}
    assert tally.loc["T1", "share"] == pytest.approx(0.8)
    assert tally.loc["T6", "rank_1"] == 2


def test_results_of_an_open_poll_are_hidden(joint_demo):
    from datetime import date

    ws = as_lead(joint_demo).add_workshop(date(2021, 11, 10), participants=["Jo Linden"])
    poll = joint_demo.open_poll(ws.id, "opening", ["T1", "T2"])
    joint_demo.cast_ballot(poll.id, "Jo Linden", ["T2"])
    with pytest.raises(Forbidden):
        poll_results(joint_demo)


def test_circle_results_use_the_workshops_threshold(demo):
    circles = circle_results(demo).set_index("option")
    assert circles.attrs["threshold"] == 0.75
    assert circles.loc["T1", ["inner", "outer", "none"]].tolist() == [4, 1, 0]
    assert circles.loc["T1", "consensus"] == "inner"  # 4 of 5 = 80% >= 75%
    assert circles.loc["T3", "consensus"] == ""  # 2 inner, 2 outer, 1 none
    assert circles.loc["T1", "mean_score"] == pytest.approx((4 * 2 + 1) / 5)
    assert 0 < circles.attrs["kendall_w"] < 1


def test_lineage_of_the_worked_example(demo):
    table = lineage_table(demo)
    rows = {(r.source, r.target): r.path for r in table.itertuples()}
    assert rows[("T1", "T1")] == "kept"
    assert all(rows[(c, "T8")] == "merged into T8" for c in ("T4", "T5", "T6"))
    assert rows[("T7", "T3")] == "added, folded into T3"
    assert rows[("T3", "T3")] == "received T7 (folded), kept"  # not "unchanged"
    assert final_labels(demo.framework(2)) == {"T1": "F1", "T2": "F2", "T3": "F3", "T8": "F4"}
    assert set(table.final) == {"F1", "F2", "F3", "F4"}
    ax = plot_lineage(table)
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("F4 (T8)") for t in texts) and any(t.startswith("T7") for t in texts)
    assert len(ax.patches) >= len(table)  # one band per row, plus the node boxes
    # bands are coloured by what happened to the origin: T3 received a fold, T7 was folded
    bands = dict(zip(table.source, (p.get_label() for p in ax.patches), strict=False))
    assert (bands["T3"], bands["T7"], bands["T4"], bands["T1"]) == (
        "kept",
        "folded",
        "merged",
        "kept",
    )
    import matplotlib.pyplot as plt

    plt.close(ax.figure)  # leave no figure open for the tests that check for one


def test_the_lineage_of_a_frozen_version_is_the_one_it_was_frozen_with(demo):
    from datetime import date

    from coprod_nb.analysis.sensemaking import framework_trail
    from coprod_nb.errors import InvalidInput

    assert lineage_table(demo, version=2).equals(lineage_table(demo))
    before = lineage_table(demo, version=1)  # the version the workshop started from
    assert set(before.path) == {"unchanged"} and list(before.target) == list(before.source)
    trail = framework_trail(demo, version=2)
    assert trail.final.codes == ["T1", "T2", "T3", "T8"] and len(trail.decisions) == 6
    follow_up = as_lead(demo).add_workshop(date(2022, 11, 9))
    with pytest.raises(InvalidInput, match="did not come from the workshop of 2022-11-09"):
        lineage_table(demo, follow_up.id, version=1)


def test_revote_against_the_opening_poll(demo):
    table = revote_comparison(demo).set_index("option")
    # opening T4 + T5 + T6 nominations (0 + 1 + 3) are summed onto their heir T8
    assert table.loc["T8", "count_before"] == 4
    # re-vote: Jo T8,T1 | Sam T8,T2 | Kit T2,T3 | Lee T8,T2 | Max T1,T8
    assert table.loc["T8", "count_after"] == 4 and table.loc["T2", "count_after"] == 3


def test_responses_decisions_and_spectra_tables(demo):
    t3 = responses_table(demo, code="T3")
    assert len(t3) == 5 and set(t3.partnership) == {"LAHRP", "WVC", "TCP", "AVC", "CCPH"}
    log = decisions_table(demo)
    assert log.ref.tolist()[:3] == ["D1", "D2", "D3"] and (log.rationale != "").all()
    pos = spectra(demo)
    assert len(pos) == 40 and pos.position.between(0, 100).all()
