"""Step 1 analysis on the demo study: progress, my notes, exports."""

from __future__ import annotations

import csv

import matplotlib
import pytest

matplotlib.use("Agg")

from coprod_nb.analysis import notes_markdown, notes_table, plot_progress, progress_table  # noqa: E402
from coprod_nb.cli import main  # noqa: E402
from tests.acting import as_


@pytest.fixture
def demo(recall_demo):
    """These tests play step 1: the demo study with step 1 still open."""
    return recall_demo


def test_demo_notes_are_spread_and_anchored(demo):
    for who in ("Alder", "Birch", "Cedar"):
        mine = notes_table(as_(demo, who), who)
        assert len(mine) >= 10
        assert set(mine["partnership"]) == {"LAHRP", "WVC", "TCP", "AVC", "CCPH"}
        assert (mine["anchors"] != "").mean() >= 0.5
    # the partner who did not consent to quotation is never quoted
    assert (notes_table(as_(demo, "Alder"), "Alder", partnership="AVC")["anchors"] == "").all()


def test_progress_counts_notes_and_reads(demo):
    demo.mark_read("Cedar", "tcp_2021-05-25")
    table = progress_table(demo)
    assert len(table) == 3 * 5
    row = table[(table.researcher == "Cedar") & (table.transcript == "tcp_2021-05-25")].iloc[0]
    assert bool(row.read) is True
    assert row.notes == len(notes_table(as_(demo, "Cedar"), "Cedar", partnership="TCP"))
    assert table["read"].sum() == 1
    ax = plot_progress(table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Alder", "Birch", "Cedar"]
    assert any("✓" in t.get_text() for t in ax.texts)


def test_my_notes_filters_and_markdown(demo):
    barriers = notes_table(as_(demo, "Birch"), "Birch", category="barrier")
    assert set(barriers["category"]) == {"barrier"} and len(barriers) >= 1
    md = notes_markdown(barriers, "Birch")
    assert md.startswith("# Birch")
    for text in barriers["text"]:
        assert text in md


def test_cli_exports_own_notes_only(demo, tmp_path, capsys):
    demo_dir = demo.study_dir
    out = tmp_path / "cedar.csv"
    assert main(["notes", str(demo_dir), "--as", "cedar", "--format", "csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) >= 10
    md = tmp_path / "cedar.md"
    assert (
        main(
            [
                "notes",
                str(demo_dir),
                "--as",
                "cedar",
                "--format",
                "md",
                "--partnership",
                "TCP",
                str(md),
            ]
        )
        == 0
    )
    assert md.read_text().startswith("# Notes of Cedar")
    assert main(["close-recall", str(demo_dir), "--as", "cedar"]) == 1
    assert "only the study lead (Alder) can close step 1; you are Cedar" in capsys.readouterr().err
    assert main(["close-recall", str(demo_dir), "--as", "alder"]) == 0
