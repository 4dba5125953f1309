"""Step 2 analysis: hand-made cases for comparison, overlaps, gaps, alpha and evidence."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from coprod_nb.analysis.interpretation import (  # noqa: E402
    MAX_LABELLED_CELLS,
    category_alpha,
    compare_counts,
    evidence_matrix,
    gaps,
    overlaps,
    plot_compare,
    plot_evidence,
    side_by_side,
    tension_evidence,
)
from coprod_nb.domain import RawTurn  # noqa: E402
from coprod_nb.errors import Forbidden  # noqa: E402
from tests.acting import as_


@pytest.fixture(autouse=True)
def _close_figures():
    # Figures left open here would fail the open-figure check of the widget tests.
    yield
    plt.close("all")


@pytest.fixture
def small(store):
    """Two researchers, one transcript of three turns, notes on overlapping passages."""
    store.add_partnership("P1", "One")
    store.add_partnership("P2", "Two")
    store.add_researcher("Ash", lead=True)
    store.add_researcher("Bay")
    tr = store.add_transcript(
        [
            RawTurn("Lee", "Alpha turn words here."),
            RawTurn("Lee", "Beta turn words here."),
            RawTurn("Lee", "Gamma turn words here."),
        ],
        title="t",
        source_name="t.txt",
        source_format="txt",
        content_hash="h",
        partnership="P1",
    )
    turns = store.turns(tr.id)

    def ex(i, a=0, b=None):
        return store.excerpt_of_turn(turns[i].id, a, b).id

    # unit 0: both "practice"; unit 1: practice vs barrier; unit 2: both "barrier"
    store.add_note("Ash", "P1", "a0", category="practice", excerpts=[ex(0)])
    store.add_note("Bay", "P1", "b0", category="practice", excerpts=[ex(0, 0, 5)])
    store.add_note("Ash", "P1", "a1", category="practice", excerpts=[ex(1)])
    store.add_note("Bay", "P1", "b1", category="barrier", excerpts=[ex(1, 6, 10)])
    store.add_note("Ash", "P1", "a2", category="barrier", excerpts=[ex(2)])
    store.add_note("Bay", "P1", "b2", category="barrier", excerpts=[ex(2)])
    store.add_note("Bay", "P2", "only Bay on P2", category="reflection")
    return store


def test_everything_waits_for_step_1_to_close(small):
    with pytest.raises(Forbidden):
        compare_counts(as_(small, "Ash"), "Ash")
    with pytest.raises(Forbidden):
        overlaps(as_(small, "Bay"), "Bay")


def test_counts_side_by_side_gaps(small):
    as_(small, "Ash").close_recall()
    counts = compare_counts(as_(small, "Ash"), "Ash")
    assert len(counts) == 2 * 2 * 4  # every researcher × partnership × category, zeros too
    got = counts.set_index(["researcher", "partnership", "category"]).notes
    assert got["Ash", "P1", "practice"] == 2 and got["Bay", "P1", "barrier"] == 2
    assert got["Ash", "P2", "reflection"] == 0
    table = side_by_side(as_(small, "Ash"), "Ash", "P1")
    assert list(table.columns) == ["Ash", "Bay"] and len(table) == 3
    assert table.loc[0, "Ash"] == "[practice] a0"
    lonely = gaps(as_(small, "Bay"), "Bay")
    assert lonely.to_dict("records") == [
        {"partnership": "P2", "category": "reflection", "researcher": "Bay", "notes": 1}
    ]
    ax = plot_compare(counts)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Ash", "Bay"]


def test_compare_counts_from_sql_equal_counting_the_notes(joint_demo):
    # compare_counts counts in the database; it must agree with counting the notes
    # the viewer sees (what it did before), zeros and order included.
    me = "Birch"
    names = {r.id: r.name for r in joint_demo.researchers()}
    shorts = {p.id: p.short for p in joint_demo.partnerships()}
    notes = pd.DataFrame(
        [
            (names[n.researcher_id], shorts[n.partnership_id], n.category)
            for n in as_(joint_demo, me).notes()
        ],
        columns=["researcher", "partnership", "category"],
    )
    index = pd.MultiIndex.from_product(
        [
            [r.name for r in joint_demo.researchers()],
            [p.short for p in joint_demo.partnerships()],
            list(joint_demo.note_categories()),
        ],
        names=["researcher", "partnership", "category"],
    )
    expected = (
        notes.groupby(["researcher", "partnership", "category"])
        .size()
        .reindex(index, fill_value=0)
        .rename("notes")
        .reset_index()
    )
    got = compare_counts(as_(joint_demo, me), me)
    pd.testing.assert_frame_equal(got, expected)
    assert got.notes.sum() == len(notes) > 0


def test_plot_compare_labels_small_grids_only():
    def grid(cells):
        return pd.DataFrame(
            [("r", f"P{i}", "c", i) for i in range(cells)],
            columns=["researcher", "partnership", "category", "notes"],
        )

    def labels(counts, **kwargs):
        ax = plot_compare(counts, **kwargs)
        plt.close(ax.figure)
        return len(ax.texts)

    big = MAX_LABELLED_CELLS + 1
    assert labels(grid(16)) == 16
    assert labels(grid(16), annotate=False) == 0
    assert labels(grid(big)) == 0  # unreadable, and slow to draw
    assert labels(grid(big), annotate=True) == big


def test_overlaps_pair_different_researchers_on_shared_words(small):
    as_(small, "Ash").close_recall()
    pairs = overlaps(as_(small, "Ash"), "Ash")
    assert len(pairs) == 3
    assert set(pairs.same_category) == {True, False}
    disagreement = pairs[~pairs.same_category].iloc[0]
    assert {disagreement.category_a, disagreement.category_b} == {"practice", "barrier"}


def test_category_alpha_matches_a_hand_computation(small):
    as_(small, "Ash").close_recall()
    # units (practice, practice), (practice, barrier), (barrier, barrier):
    # D_o = 2/6, D_e = 2·3·3/(6·5) = 0.6, alpha = 1 - (1/3)/0.6 = 4/9
    assert category_alpha(as_(small, "Bay"), "Bay") == pytest.approx(4 / 9)


def test_evidence_matrix_and_tension_evidence(small):
    as_(small, "Ash").close_recall()
    t = small.add_tension("Pay", "Late", "On time", status="agreed")
    mine = as_(small, "Ash").notes(researcher="Bay")
    small.attach_evidence(
        t.code, notes=[mine[0].id, mine[-1].id], excerpts=[small.excerpts()[0].id]
    )
    m = evidence_matrix(small).set_index(["tension", "partnership"])
    assert (m.loc[("T1", "P1"), "notes"], m.loc[("T1", "P1"), "quotes"]) == (1, 1)
    assert m.loc[("T1", "P2"), "total"] == 1
    ax = plot_evidence(evidence_matrix(small))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["P1", "P2"]
    ev = tension_evidence(as_(small, "Ash"), "Ash", "T1")
    assert sorted(ev.kind) == ["note", "note", "quote"]
    assert "Alpha turn words here." in set(ev.text)


def test_plot_compare_draws_a_large_grid_as_quads_with_the_same_counts(second_study):
    """A large grid is drawn as a mesh (no image resampled to the figure's pixels); the
    cells, their colours and the colour bar are those of the counts."""
    counts = pd.DataFrame(
        [
            {"researcher": f"R{r:02}", "partnership": f"P{p:02}", "category": c, "notes": r * p}
            for r in range(30)
            for p in range(20)
            for c in ("a", "b")
        ]
    )
    ax = plot_compare(counts)
    [image], [mesh] = ax.images, ax.collections
    wide = counts.pivot_table(
        index="researcher", columns=["partnership", "category"], values="notes", aggfunc="sum"
    )
    assert not image.get_visible() and mesh.get_visible()
    assert (mesh.get_array().reshape(wide.shape) == wide.to_numpy()).all()
    assert mesh.norm is image.norm and mesh.get_cmap() is image.get_cmap()
    assert ax.get_xlim() == (-0.5, wide.shape[1] - 0.5)
    assert ax.get_ylim() == (len(wide) - 0.5, -0.5)  # first researcher on top, as the image
    assert image.colorbar.vmax == wide.to_numpy().max()

    # a small grid (the second study) keeps its image with numbers in the cells
    small = plot_compare(compare_counts(second_study("joint")))
    assert [im.get_visible() for im in small.images] == [True] and not small.collections
