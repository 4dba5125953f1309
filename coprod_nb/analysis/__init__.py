"""Analysis: pure functions from a study to DataFrames, and from DataFrames to plots.

The names load on first use (``from coprod_nb.analysis import study_status`` imports
the overview module and what it needs, not the plot modules), as the views do: a
notebook's first cell pays only for what it names, and a script that needs no figure
never imports matplotlib through this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coprod_nb._lazy import lazy_names

if TYPE_CHECKING:
    from coprod_nb.analysis.audit import (
        audit_trail,
        object_history,
        step1_visibility,
    )
    from coprod_nb.analysis.codebook import codebook, coded_excerpts
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
        study_status,
        transcripts_table,
    )
    from coprod_nb.analysis.recall import (
        notes_markdown,
        notes_table,
        plot_progress,
        progress_table,
    )
    from coprod_nb.analysis.sensemaking import (
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
    from coprod_nb.analysis.workshop import (
        circle_summary,
        kendall_w,
        plot_circles,
        plot_poll,
        plot_ring_counts,
        plot_spectra,
        poll_tally,
    )

#: public name -> the module that defines (or re-exports) it
_LAZY = {
    "codebook": "coprod_nb.analysis.codebook",
    "coded_excerpts": "coprod_nb.analysis.codebook",
    "audit_trail": "coprod_nb.analysis.audit",
    "object_history": "coprod_nb.analysis.audit",
    "step1_visibility": "coprod_nb.analysis.audit",
    "circle_results": "coprod_nb.analysis.sensemaking",
    "circle_summary": "coprod_nb.analysis.workshop",
    "decisions_table": "coprod_nb.analysis.sensemaking",
    "final_labels": "coprod_nb.analysis.sensemaking",
    "kendall_w": "coprod_nb.analysis.workshop",
    "lineage_table": "coprod_nb.analysis.sensemaking",
    "plot_circles": "coprod_nb.analysis.workshop",
    "plot_lineage": "coprod_nb.analysis.sensemaking",
    "plot_poll": "coprod_nb.analysis.workshop",
    "plot_ring_counts": "coprod_nb.analysis.workshop",
    "plot_spectra": "coprod_nb.analysis.workshop",
    "poll_results": "coprod_nb.analysis.sensemaking",
    "poll_tally": "coprod_nb.analysis.workshop",
    "responses_table": "coprod_nb.analysis.sensemaking",
    "revote_comparison": "coprod_nb.analysis.sensemaking",
    "spectra": "coprod_nb.analysis.sensemaking",
    "category_alpha": "coprod_nb.analysis.interpretation",
    "compare_counts": "coprod_nb.analysis.interpretation",
    "dissent_table": "coprod_nb.analysis.interpretation",
    "evidence_matrix": "coprod_nb.analysis.interpretation",
    "gaps": "coprod_nb.analysis.interpretation",
    "overlaps": "coprod_nb.analysis.interpretation",
    "plot_compare": "coprod_nb.analysis.interpretation",
    "plot_evidence": "coprod_nb.analysis.interpretation",
    "side_by_side": "coprod_nb.analysis.interpretation",
    "tension_evidence": "coprod_nb.analysis.interpretation",
    "tensions_table": "coprod_nb.analysis.interpretation",
    "notes_markdown": "coprod_nb.analysis.recall",
    "notes_table": "coprod_nb.analysis.recall",
    "plot_progress": "coprod_nb.analysis.recall",
    "progress_table": "coprod_nb.analysis.recall",
    "history_table": "coprod_nb.analysis.overview",
    "marked_to_html": "coprod_nb.analysis.overview",
    "marked_to_text": "coprod_nb.analysis.overview",
    "search": "coprod_nb.analysis.overview",
    "study_info": "coprod_nb.analysis.overview",
    "study_status": "coprod_nb.analysis.overview",
    "transcripts_table": "coprod_nb.analysis.overview",
}

__all__ = [
    "codebook",
    "coded_excerpts",
    "audit_trail",
    "object_history",
    "step1_visibility",
    "circle_results",
    "circle_summary",
    "decisions_table",
    "final_labels",
    "kendall_w",
    "lineage_table",
    "plot_circles",
    "plot_lineage",
    "plot_poll",
    "plot_ring_counts",
    "plot_spectra",
    "poll_results",
    "poll_tally",
    "responses_table",
    "revote_comparison",
    "spectra",
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
    "study_status",
    "transcripts_table",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
