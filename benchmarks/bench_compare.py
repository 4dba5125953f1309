"""The step-2 comparison over all the notes: ``compare_counts`` + ``plot_compare``.

Timed as a user waits for it: the counts, the heatmap drawn and its PNG rendered by the
views' own helper (``widgets._common.render_figure``, what ``FigureBox`` shows), on the
Agg backend, figure closed after each run; median of 3 after a warm-up. Floor (for the
ratio): the same counts from one SQL query and a pandas groupby, drawn as a bare
``imshow`` and rendered by the same helper. Reported for information: the counts alone,
and counts + figure built without rendering it.
"""

from __future__ import annotations

import sqlite3

from benchmarks._util import Context, Figure, median_time, profile_to_file

TARGET_S = 1.0


def run(ctx: Context, repeat: int = 3) -> list[Figure]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from coprod_nb.analysis import compare_counts, plot_compare
    from coprod_nb.storage import Store
    from coprod_nb.widgets._common import render_figure

    store = Store(ctx.study_dir, actor="bench")
    lead_row = next(r for r in store.researchers() if r.lead)
    store.actor = lead_row.login or lead_row.name  # the viewer must be the person working
    lead = lead_row.name

    def ours(draw: bool = True):
        counts = compare_counts(store, lead)
        if draw:
            render_figure(lambda: plot_compare(counts))
        else:
            plt.close(plot_compare(counts).figure)
        return counts

    db = ctx.study_dir / "study.db"

    def floor():
        with sqlite3.connect(db) as con:
            notes = pd.read_sql_query(
                "SELECT r.name AS researcher, p.short AS partnership, n.category "
                "FROM note n JOIN researcher r ON r.id = n.researcher_id "
                "JOIN partnership p ON p.id = n.partnership_id WHERE n.deleted_at IS NULL",
                con,
            )
        wide = notes.groupby(["researcher", "partnership", "category"]).size().unstack([1, 2])

        def bare():
            _, ax = plt.subplots()
            ax.imshow(wide.fillna(0).to_numpy(), cmap="Blues", aspect="auto")
            return ax

        render_figure(bare)

    counts = compare_counts(store, lead)
    seconds = median_time(ours, repeat=repeat)
    t_counts = median_time(lambda: compare_counts(store, lead), repeat=repeat)
    t_built = median_time(lambda: ours(draw=False), repeat=repeat)
    t_floor = median_time(floor, repeat=repeat)
    profile_to_file(ctx, "compare", ours)
    n_notes = int(counts["notes"].sum())
    cells = counts.groupby(["partnership", "category"]).ngroups
    store.close()
    figures = [
        Figure(
            "compare",
            f"compare_counts + plot_compare, rendered ({n_notes} notes)",
            seconds,
            "s",
            t_floor,
            "SQL + groupby + bare imshow, rendered",
            "value",
            TARGET_S,
            detail={"researchers": counts["researcher"].nunique(), "columns": cells},
        ),
        Figure("compare", "  compare_counts alone (info)", t_counts, "s", t_floor, "same floor"),
        Figure(
            "compare",
            "  counts + figure, not rendered (info)",
            t_built,
            "s",
            t_floor,
            "same floor",
        ),
    ]
    ctx.add(*figures)
    return figures
