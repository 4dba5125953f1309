"""Step 3 analysis: poll tallies, circles, Kendall's W, poll comparison, spectra.

Every expected number is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import math
import tomllib

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch  # noqa: E402

from coprod_nb.analysis.workshop import (  # noqa: E402
    RING_SCORES,
    circle_summary,
    compare_polls,
    kendall_w,
    plot_circles,
    plot_poll,
    plot_ring_counts,
    plot_spectra,
    poll_tally,
    spectra_table,
)
from coprod_nb.seed.demo import demo_data_dir

DEMO = demo_data_dir() / "workshop.toml"
INITIAL = ["T1", "T2", "T3", "T4", "T5", "T6"]


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def col(table: pd.DataFrame, column: str) -> dict:
    return dict(zip(table["option"], table[column], strict=True))


# ---------------------------------------------------------------------------- poll


def test_approval_counts_and_shares():
    ballots = {"a": ["A", "B"], "b": ["B"], "c": ["B", "C"], "d": []}
    tally = poll_tally(ballots, ["A", "B", "C", "D"])
    # 4 ballots (the empty one counts): A 1, B 3, C 1, D 0
    assert list(tally.columns) == ["option", "count", "share", "order"]
    assert list(tally["option"]) == ["A", "B", "C", "D"]
    assert col(tally, "count") == {"A": 1, "B": 3, "C": 1, "D": 0}
    assert col(tally, "share") == {"A": 0.25, "B": 0.75, "C": 0.25, "D": 0.0}
    # order by count, ties share the lowest number: B 1, A and C 2, D 4
    assert col(tally, "order") == {"A": 2, "B": 1, "C": 2, "D": 4}
    assert tally.attrs["ballots"] == 4


def test_ranked_borda_with_short_ballots():
    ballots = {"p": ["A", "B", "C"], "q": ["B", "A"], "r": ["C"], "s": ["B", "C", "A"]}
    tally = poll_tally(ballots, ["A", "B", "C", "D"], ranked=True)
    # k = longest ballot = 3: 1st = 3 points, 2nd = 2, 3rd = 1
    # A: p 1st (3) + q 2nd (2) + s 3rd (1) = 6
    # B: p 2nd (2) + q 1st (3) + s 1st (3) = 8
    # C: p 3rd (1) + r 1st (3) + s 2nd (2) = 6
    # D: 0
    assert list(tally.columns) == [
        "option",
        "count",
        "share",
        "rank_1",
        "rank_2",
        "rank_3",
        "borda",
        "order",
    ]
    assert col(tally, "borda") == {"A": 6, "B": 8, "C": 6, "D": 0}
    # rank distribution: how many ballots put the option at each position
    assert col(tally, "rank_1") == {"A": 1, "B": 2, "C": 1, "D": 0}
    assert col(tally, "rank_2") == {"A": 1, "B": 1, "C": 1, "D": 0}
    assert col(tally, "rank_3") == {"A": 1, "B": 0, "C": 1, "D": 0}
    # counts A 3, B 3, C 3 of 4 ballots
    assert col(tally, "count") == {"A": 3, "B": 3, "C": 3, "D": 0}
    assert col(tally, "share") == {"A": 0.75, "B": 0.75, "C": 0.75, "D": 0.0}
    # order: B (8) first; A and C tie on borda 6 and count 3 -> both 2; D 4
    assert col(tally, "order") == {"A": 2, "B": 1, "C": 2, "D": 4}


def test_ranked_order_breaks_borda_ties_by_count():
    # k = 2. A: x 1st (2) = 2, count 1. B: y 2nd (1) + z 2nd (1) = 2, count 2.
    # C: y 1st (2) + z 1st (2) = 4, count 2.
    ballots = {"x": ["A"], "y": ["C", "B"], "z": ["C", "B"]}
    tally = poll_tally(ballots, ["A", "B", "C"], ranked=True)
    assert col(tally, "borda") == {"A": 2, "B": 2, "C": 4}
    # C 1; B and A tie on borda 2, B has more nominations -> B 2, A 3
    assert col(tally, "order") == {"A": 3, "B": 2, "C": 1}


def test_positions_sets_the_borda_scale():
    # the poll allowed 3 positions though nobody used the 3rd: 1st = 3 points
    tally = poll_tally({"x": ["A", "B"]}, ["A", "B"], ranked=True, positions=3)
    assert col(tally, "borda") == {"A": 3, "B": 2}
    assert col(tally, "rank_3") == {"A": 0, "B": 0}
    with pytest.raises(ValueError, match="x: 2 choices on a poll that allows 1"):
        poll_tally({"x": ["A", "B"]}, ["A", "B"], ranked=True, positions=1)


@pytest.mark.parametrize(
    ("ballots", "message"),
    [
        ({"Jo": ["A", "Z"]}, "Jo: option 'Z' is not on the poll"),
        ({"Jo": ["A"], "Sam": ["B", "B"]}, "Sam: option 'B' is named twice"),
        ({"Kit": "A"}, "Kit: a ballot must be a list"),
    ],
)
def test_poll_rejects_bad_ballots(ballots, message):
    with pytest.raises(ValueError, match=message):
        poll_tally(ballots, ["A", "B"], ranked=True)


def test_poll_with_no_ballots():
    tally = poll_tally({}, ["A", "B"], ranked=True)
    assert col(tally, "count") == {"A": 0, "B": 0}
    assert tally["share"].isna().all()
    assert col(tally, "borda") == {"A": 0, "B": 0}
    assert tally.attrs["ballots"] == 0


def test_plot_poll_stacks_rank_positions(ax):
    tally = poll_tally({"p": ["A", "B"], "q": ["B"]}, ["A", "B", "C"], ranked=True)
    assert plot_poll(tally, ax) is ax
    # one bar container per rank position (2), three bars each
    assert len(ax.containers) == 2
    assert [len(c) for c in ax.containers] == [3, 3]
    # share labels: A 1/2, B 2/2, C 0/2
    assert [t.get_text() for t in ax.texts] == ["50%", "100%", "0%"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C"]
    plain = poll_tally({"p": ["A"]}, ["A", "B"])
    ax.clear()
    assert plot_poll(plain, ax, title="Re-vote") is ax
    assert len(ax.containers) == 1 and ax.get_title() == "Re-vote"


# ---------------------------------------------------------------------------- Kendall's W


def test_kendall_w_perfect_agreement_is_one():
    # 3 raters all 1,2,3,4: R = 3,6,9,12, mean 7.5, S = 20.25+2.25+2.25+20.25 = 45
    # W = 12 * 45 / (9 * (64 - 4)) = 540 / 540 = 1
    assert kendall_w([[1, 2, 3, 4]] * 3) == pytest.approx(1.0)
    assert kendall_w([[1, 2, 3, 4]] * 3, correct_ties=False) == pytest.approx(1.0)


def test_kendall_w_with_ties_by_hand():
    ranks = [
        [1, 2, 3, 4],  # no ties: T = 0
        [1.5, 1.5, 3, 4],  # one pair tied: T = 2^3 - 2 = 6
        [1, 3, 3, 3],  # three tied: T = 3^3 - 3 = 24
    ]
    # R = 3.5, 6.5, 9, 11 (sum 30), mean 7.5; deviations -4, -1, 1.5, 3.5
    # S = 16 + 1 + 2.25 + 12.25 = 31.5
    # uncorrected: 12 * 31.5 / (3^2 * (4^3 - 4)) = 378 / 540 = 0.7
    # corrected:   378 / (540 - 3 * (0 + 6 + 24)) = 378 / 450 = 0.84
    assert kendall_w(ranks, correct_ties=False) == pytest.approx(0.7)
    assert kendall_w(ranks) == pytest.approx(0.84)


def test_kendall_w_all_tied_is_nan():
    # every rater ties everything: S = 0 and the corrected denominator
    # 9 * 24 - 3 * 3 * (27 - 3) = 216 - 216 = 0
    ranks = [[2, 2, 2]] * 3
    assert math.isnan(kendall_w(ranks))
    # uncorrected: 0 / 216 = 0
    assert kendall_w(ranks, correct_ties=False) == 0.0
    assert math.isnan(kendall_w([[1]] * 2))


def test_kendall_w_rejects_non_ranks():
    with pytest.raises(ValueError, match="rank 1..n"):
        kendall_w([[2, 1, 0]])  # scores, not ranks
    with pytest.raises(ValueError, match="2-D"):
        kendall_w([1, 2, 3])


# ---------------------------------------------------------------------------- circles

TINY = {
    "P1": {"A": "inner", "B": "outer", "C": "none"},  # scores 2, 1, 0
    "P2": {"A": "inner", "B": "inner", "C": "outer"},  # scores 2, 2, 1
    "P3": {"A": "outer"},  # scores 1, 0, 0 (B and C missing = none)
}


def test_circle_summary_tiny_case():
    summary = circle_summary(TINY, ["A", "B", "C"])
    assert list(summary.columns) == [
        "option",
        "inner",
        "outer",
        "none",
        "share_inner",
        "mean_score",
        "borda",
        "order",
        "consensus",
        "mean_rank",
    ]
    # distributions
    assert col(summary, "inner") == {"A": 2, "B": 1, "C": 0}
    assert col(summary, "outer") == {"A": 1, "B": 1, "C": 1}
    assert col(summary, "none") == {"A": 0, "B": 1, "C": 2}
    assert col(summary, "share_inner") == pytest.approx({"A": 2 / 3, "B": 1 / 3, "C": 0})
    # mean scores: A (2+2+1)/3, B (1+2+0)/3, C (0+1+0)/3
    assert col(summary, "mean_score") == pytest.approx({"A": 5 / 3, "B": 1, "C": 1 / 3})
    # Borda with ties = options strictly lower + 0.5 x other options tied
    # P1 (2,1,0): A 2,        B 1,         C 0
    # P2 (2,2,1): A 1 + 0.5,  B 1 + 0.5,   C 0
    # P3 (1,0,0): A 2,        B 0 + 0.5,   C 0 + 0.5
    # sums: A 5.5, B 3, C 0.5 (total 9 = 3 participants x 3 pairs)
    assert col(summary, "borda") == {"A": 5.5, "B": 3.0, "C": 0.5}
    assert col(summary, "order") == {"A": 1, "B": 2, "C": 3}
    # average ranks: P1 A1 B2 C3; P2 A1.5 B1.5 C3; P3 A1 B2.5 C2.5
    # mean: A 3.5/3, B 6/3, C 8.5/3 (and borda = n - rank summed: 9 - 3.5 = 5.5 ...)
    assert col(summary, "mean_rank") == pytest.approx({"A": 3.5 / 3, "B": 2, "C": 8.5 / 3})
    # no ring reaches 75%: best are A inner 2/3 and C none 2/3
    assert col(summary, "consensus") == {"A": "", "B": "", "C": ""}
    # Kendall's W: R = 3.5, 6, 8.5, mean 6, S = 6.25 + 0 + 6.25 = 12.5
    # ties: P2 one pair (6), P3 one pair (6) -> sum T = 12
    # uncorrected 12 * 12.5 / (9 * 24) = 150 / 216 = 25/36
    # corrected   150 / (216 - 3 * 12) = 150 / 180 = 5/6
    assert summary.attrs["participants"] == 3
    assert summary.attrs["threshold"] == 0.75
    assert summary.attrs["kendall_w_uncorrected"] == pytest.approx(25 / 36)
    assert summary.attrs["kendall_w"] == pytest.approx(5 / 6)


def test_average_ranks_equal_scipy_rankdata():
    # circle_summary ranks with pandas to spare notebooks the import of scipy.stats;
    # the numbers must be scipy's, ties and all.
    from scipy.stats import rankdata

    from coprod_nb.analysis.workshop import _average_ranks

    rng = np.random.default_rng(0)
    for shape in [(1, 1), (3, 6), (30, 12), (7, 40)]:
        values = -rng.choice(list(RING_SCORES.values()), size=shape)
        expected = rankdata(values, axis=1, method="average")
        np.testing.assert_array_equal(_average_ranks(values), expected)


def test_circle_order_ties_share_min_rank():
    # X and Y both inner for both participants, Z outer, W none
    # each participant: X 2 + 0.5 = 2.5, Y 2.5, Z 1, W 0 -> sums X 5, Y 5, Z 2, W 0
    placements = {p: {"X": "inner", "Y": "inner", "Z": "outer"} for p in ("a", "b")}
    summary = circle_summary(placements, ["W", "X", "Y", "Z"])
    assert col(summary, "borda") == {"W": 0, "X": 5, "Y": 5, "Z": 2}
    assert col(summary, "order") == {"W": 4, "X": 1, "Y": 1, "Z": 3}
    # full agreement on tied ranks: corrected W = 1 (uncorrected underestimates it)
    # ranks 1.5, 1.5, 3, 4 for both: R = 3, 3, 6, 8 mean 5, S = 4 + 4 + 1 + 9 = 18
    # uncorrected 12 * 18 / (4 * 60) = 0.9; corrected 216 / (240 - 2 * 2 * 6) = 1
    assert summary.attrs["kendall_w"] == pytest.approx(1.0)
    assert summary.attrs["kendall_w_uncorrected"] == pytest.approx(0.9)


def test_consensus_threshold_is_inclusive():
    four = {"a": {"A": "inner"}, "b": {"A": "inner"}, "c": {"A": "inner"}, "d": {"A": "outer"}}
    # 3 of 4 = 0.75 >= 0.75
    assert col(circle_summary(four, ["A"]), "consensus") == {"A": "inner"}
    three = {"a": {"A": "inner"}, "b": {"A": "inner"}, "c": {"A": "none"}}
    # 2 of 3 = 0.667 < 0.75, but >= 0.6
    assert col(circle_summary(three, ["A"]), "consensus") == {"A": ""}
    summary = circle_summary(three, ["A"], threshold=0.6)
    assert col(summary, "consensus") == {"A": "inner"}
    assert summary.attrs["threshold"] == 0.6
    # a single card cannot be ranked: W is undefined
    assert math.isnan(summary.attrs["kendall_w"])


@pytest.mark.parametrize(
    ("placements", "threshold", "message"),
    [
        ({"Jo": {"A": "middle"}}, 0.75, "Jo: 'A' placed in unknown ring 'middle'"),
        ({"Jo": {"Z": "inner"}}, 0.75, "Jo: option 'Z' is not on the cards"),
        ({"Jo": {"A": "inner"}}, 0.5, "threshold"),
        ({"Jo": {"A": "inner"}}, 1.2, "threshold"),
    ],
)
def test_circle_summary_rejects_bad_input(placements, threshold, message):
    with pytest.raises(ValueError, match=message):
        circle_summary(placements, ["A", "B"], threshold=threshold)


def test_ring_scores():
    assert RING_SCORES == {"inner": 2, "outer": 1, "none": 0}


def test_plot_circles_and_ring_counts(ax):
    summary = circle_summary(TINY, ["A", "B", "C"])
    assert plot_circles(summary, ax) is ax
    texts = [t.get_text() for t in ax.texts]
    assert "inner circle" in texts and "outer circle" in texts
    # one card per option, labelled with its code and mean score
    assert {"A\n1.7", "B\n1.0", "C\n0.3"} <= set(texts)
    assert sum(isinstance(p, Circle) for p in ax.patches) == 2
    # the card with the highest score sits nearest the centre
    cards = {t.get_text()[0]: np.hypot(*t.get_position()) for t in ax.texts if "\n" in t.get_text()}
    assert cards["A"] < cards["B"] < cards["C"]
    assert cards["A"] < 1 < cards["B"] < 2 < cards["C"]
    ax.clear()
    assert plot_ring_counts(summary, ax) is ax
    assert len(ax.containers) == 3  # inner, outer, none
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C"]


def card_boxes(ax):
    ax.figure.canvas.draw()
    return [t.get_bbox_patch().get_window_extent() for t in ax.texts if "\n" in t.get_text()]


def test_plot_circles_spreads_crowded_cards():
    # ten cards, eight of them sharing the top score: none may overlap another
    codes = [f"X{i}" for i in range(10)]
    summary = circle_summary(
        {"a": dict.fromkeys(codes, "inner"), "b": dict.fromkeys(codes[:8], "inner")}, codes
    )
    fig, ax = plt.subplots(figsize=(5, 5))
    plot_circles(summary, ax)
    boxes = card_boxes(ax)
    assert len(boxes) == 10
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    # moved along their circle only: the radius still says the mean score
    radii = [np.hypot(*t.get_position()) for t in ax.texts if "\n" in t.get_text()]
    assert all(r < 1 for r in radii[:8]) and all(1 < r < 2 for r in radii[8:])
    plt.close(fig)


# ---------------------------------------------------------------------------- compare polls


def test_compare_polls_with_merge():
    opening = poll_tally(
        {"a": ["T1", "T4"], "b": ["T5", "T6"], "c": ["T1"], "d": ["T2"]},
        ["T1", "T2", "T4", "T5", "T6"],
    )
    revote = poll_tally(
        {"a": ["T8"], "b": ["T8"], "c": ["T1"], "d": ["T8", "T2"]}, ["T1", "T2", "T8"]
    )
    table = compare_polls(opening, revote, mapping={"T4": "T8", "T5": "T8", "T6": "T8"})
    assert list(table.columns) == [
        "option",
        "count_before",
        "share_before",
        "count_after",
        "share_after",
        "change",
    ]
    assert list(table["option"]) == ["T1", "T2", "T8"]
    # before (4 ballots): T1 2 (0.5), T2 1 (0.25), T8 = T4 1 + T5 1 + T6 1 = 3 (0.75)
    # after (4 ballots): T1 1 (0.25), T2 1 (0.25), T8 3 (0.75)
    assert col(table, "count_before") == {"T1": 2, "T2": 1, "T8": 3}
    assert col(table, "share_before") == {"T1": 0.5, "T2": 0.25, "T8": 0.75}
    assert col(table, "count_after") == {"T1": 1, "T2": 1, "T8": 3}
    assert col(table, "change") == pytest.approx({"T1": -0.25, "T2": 0.0, "T8": 0.0})


def test_compare_polls_unmatched_options_and_bad_mapping():
    first = poll_tally({"a": ["A"]}, ["A", "B"])
    second = poll_tally({"a": ["C"]}, ["A", "C"])
    table = compare_polls(first, second)
    # C was not on the first poll, B not on the second: missing, not zero
    assert list(table["option"]) == ["A", "C", "B"]
    assert table.set_index("option").loc["C", "count_before"] is pd.NA
    assert math.isnan(table.set_index("option").loc["B", "share_after"])
    assert col(table, "change")["A"] == -1.0
    with pytest.raises(ValueError, match="not in the first poll: Z"):
        compare_polls(first, second, mapping={"Z": "A"})


# ---------------------------------------------------------------------------- spectra


def test_spectra_table_validates():
    table = spectra_table(
        [
            {"partnership": "P", "tension": "T1", "when": "2018", "position": 0},
            {"partnership": "P", "tension": "T1", "when": "2021", "position": 100},
        ]
    )
    assert list(table.columns) == ["partnership", "tension", "when", "position"]
    assert list(table["position"]) == [0, 100]
    bad = {"partnership": "P", "tension": "T1", "when": "2018"}
    with pytest.raises(ValueError, match="P on T1 at 2018: position 101 is outside 0..100"):
        spectra_table([{**bad, "position": 101}])
    with pytest.raises(ValueError, match="outside 0..100"):
        spectra_table([{**bad, "position": -1}])
    with pytest.raises(ValueError, match="must be a number"):
        spectra_table([{**bad, "position": "50"}])
    with pytest.raises(ValueError, match="missing position"):
        spectra_table([bad])
    with pytest.raises(ValueError, match="given twice"):
        spectra_table([{**bad, "position": 1}, {**bad, "position": 2}])


def test_plot_spectra_arrows_per_partnership_with_two_times(ax):
    table = spectra_table(
        [
            {"partnership": "P", "tension": "T1", "when": "2021", "position": 70},
            {"partnership": "P", "tension": "T1", "when": "2018", "position": 40},
            {"partnership": "Q", "tension": "T1", "when": "2018", "position": 20},
            {"partnership": "Q", "tension": "T1", "when": "2021", "position": 35},
            {"partnership": "R", "tension": "T1", "when": "2021", "position": 50},
            {"partnership": "P", "tension": "T2", "when": "2018", "position": 10},
            {"partnership": "P", "tension": "T2", "when": "2021", "position": 15},
        ]
    )
    poles = {"T1": ("Idealistic", "Realistic")}
    assert plot_spectra(table, ax, tension="T1", poles=poles) is ax
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 2  # P and Q have two time points, R one
    # arrows run from the earlier time to the later one, whatever the input order
    starts_ends = sorted((a._posA_posB[0][0], a._posA_posB[1][0]) for a in arrows)
    assert starts_ends == [(20, 35), (40, 70)]
    texts = [t.get_text() for t in ax.texts]
    assert "Idealistic" in texts and "Realistic" in texts
    ax.clear()
    assert plot_spectra(table, ax) is ax
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["T1", "T2"]
    with pytest.raises(ValueError, match="no positions for tension 'T9'"):
        plot_spectra(table, ax, tension="T9")


# ---------------------------------------------------------------------------- demo study


@pytest.fixture(scope="module")
def demo():
    with DEMO.open("rb") as f:
        return tomllib.load(f)


def test_demo_poll_and_circles(demo):
    ballots = {b["participant"]: b["choices"] for b in demo["poll"]["ballots"]}
    tally = poll_tally(ballots, INITIAL, ranked=True)
    assert col(tally, "count") == {"T1": 4, "T2": 4, "T3": 2, "T4": 0, "T5": 1, "T6": 3}
    # Borda (3, 2, 1): T1 3+2+1+3, T2 1+3+2+2, T3 2+2, T5 1, T6 3+3+1
    assert col(tally, "borda") == {"T1": 9, "T2": 8, "T3": 4, "T4": 0, "T5": 1, "T6": 7}

    placements: dict[str, dict[str, str]] = {}
    for r in demo["responses"]:
        placements.setdefault(r["participant"], {})[r["tension"]] = r["circle"]
    summary = circle_summary(placements, INITIAL, threshold=demo["workshop"]["consensus_threshold"])
    rings = {o: (i, m, n) for o, i, m, n in summary[["option", "inner", "outer", "none"]].values}
    assert rings == {
        "T1": (4, 1, 0),
        "T2": (4, 1, 0),
        "T3": (2, 2, 1),
        "T4": (0, 3, 2),
        "T5": (1, 3, 1),
        "T6": (2, 2, 1),
    }
    # 4 of 5 = 80% >= 75%: T1 and T2 reach consensus on the inner circle
    assert col(summary, "consensus") == {"T1": "inner", "T2": "inner"} | dict.fromkeys(
        ["T3", "T4", "T5", "T6"], ""
    )
    assert summary.attrs["participants"] == 5
    w, w0 = summary.attrs["kendall_w"], summary.attrs["kendall_w_uncorrected"]
    assert 0 < w0 < w < 1

    revote = {b["participant"]: b["choices"] for b in demo["revote"]["ballots"]}
    after = poll_tally(revote, ["T1", "T2", "T3", "T8"], ranked=True)
    merged = compare_polls(tally, after, mapping={"T4": "T8", "T5": "T8", "T6": "T8"})
    # T8 before: T4 0 + T5 1 + T6 3 = 4 nominations; after 4 (Jo, Sam, Lee, Max)
    assert col(merged, "count_before")["T8"] == 4
    assert col(merged, "count_after")["T8"] == 4

    spectra = spectra_table(demo["spectra"])
    _, ax = plt.subplots()
    plot_spectra(spectra, ax)
    # 5 partnerships x 4 tensions, each with 2018 and 2021
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == 20
    plt.close("all")
