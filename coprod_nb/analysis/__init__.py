"""Analysis: pure functions from a study to DataFrames, and from DataFrames to plots."""

from coprod_nb.analysis.interpretation import (
    category_alpha,
    compare_counts,
    dissent_table,
    evidence_matrix,
    gaps,
    overlaps,
    plot_compare,
    plot_evidence,
    side_by_side,
    tension_evidence,
    tensions_table,
)
from coprod_nb.analysis.overview import (
    history_table,
    marked_to_html,
    marked_to_text,
    search,
    study_info,
    transcripts_table,
)
from coprod_nb.analysis.recall import (
    notes_markdown,
    notes_table,
    plot_progress,
    progress_table,
)

__all__ = [
    "category_alpha",
    "compare_counts",
    "dissent_table",
    "evidence_matrix",
    "gaps",
    "overlaps",
    "plot_compare",
    "plot_evidence",
    "side_by_side",
    "tension_evidence",
    "tensions_table",
    "notes_markdown",
    "notes_table",
    "plot_progress",
    "progress_table",
    "history_table",
    "marked_to_html",
    "marked_to_text",
    "search",
    "study_info",
    "transcripts_table",
]
