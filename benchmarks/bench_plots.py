"""Every plot of the analysis on the large study, timed with its rendering.

Each figure is what a widget shows: the table read from the study, the plot drawn, and
the PNG written by the views' own helper, ``widgets._common.render_figure`` (the one
``FigureBox`` calls: dpi 180 for sharp images, the "tight" area measured without the
extra draw of ``bbox_inches="tight"``), on the Agg backend; median of 3 after a
warm-up, figures closed. Floor: a bare ``imshow`` of a 30 x 200 array on a 12 x 8 inch
figure, saved by the same helper. Target: each under 1 s
(a notebook cell that waits longer feels stuck). Also given, for information: each plot
in CPU time of the process (drawing and rendering run in it), which leaves out the waits
for a core on a loaded machine, against the floor's CPU time.
"""

from __future__ import annotations

import statistics
import time

from benchmarks._util import Context, Figure, profile_to_file

TARGET_S = 1.0


def _save(plot) -> int:
    """Bytes of the PNG of ``plot()`` as a view renders it (its figures closed after)."""
    from coprod_nb.widgets._common import render_figure

    return len(render_figure(plot, "png")[0])


def _times(fn, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeat`` calls after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def plots(store) -> dict:
    """name -> a callable drawing and rendering that plot from the study."""
    from coprod_nb import analysis as a
    from coprod_nb.analysis import sensemaking as sm
    from coprod_nb.analysis.workshop import plot_circles, plot_poll, plot_ring_counts, plot_spectra

    workshops = store.workshops()
    ws = workshops[0].id if workshops else None

    def drawn(plot, read):
        """Read the table, then draw and render it (the table read first, as a view does)."""

        def run():
            table = read()
            return _save(lambda: plot(table))

        return run

    def circles():
        table = sm.circle_results(store, ws)
        return _save(lambda: plot_circles(table)) + _save(lambda: plot_ring_counts(table))

    return {
        "plot_progress (step 1 progress)": drawn(a.plot_progress, lambda: a.progress_table(store)),
        "plot_compare (step 2 comparison)": drawn(a.plot_compare, lambda: a.compare_counts(store)),
        "plot_evidence (evidence per tension)": drawn(
            a.plot_evidence, lambda: a.evidence_matrix(store)
        ),
        "plot_poll (opening poll)": drawn(plot_poll, lambda: sm.poll_results(store, "opening", ws)),
        "plot_circles + plot_ring_counts": circles,
        "plot_lineage (framework lineage)": drawn(
            sm.plot_lineage, lambda: sm.lineage_table(store, ws)
        ),
        "plot_spectra (positions on the poles)": drawn(
            lambda table: plot_spectra(table, poles=sm.poles(store.framework())),
            lambda: sm.spectra(store),
        ),
    }


def run(ctx: Context, repeat: int = 3) -> list[Figure]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from coprod_nb.storage import Store

    store = Store(ctx.study_dir, actor="bench")
    lead = next(r for r in store.researchers() if r.lead)
    store.actor = lead.login or lead.name

    def bare():
        _, ax = plt.subplots(figsize=(12, 8))
        ax.imshow(np.arange(30 * 200).reshape(30, 200), aspect="auto")
        return ax

    def floor_plot():
        _save(bare)
        plt.close("all")

    floor, floor_cpu = _times(floor_plot, repeat)
    figures = []
    for name, draw in plots(store).items():

        def once(draw=draw):
            try:
                draw()
            finally:
                plt.close("all")

        try:
            seconds, cpu = _times(once, repeat)
            note = ""
        except Exception as exc:  # a plot the study cannot give is reported, not fatal
            seconds = cpu = float("nan")
            note = f"{type(exc).__name__}: {exc}"[:200]
        figures.extend(
            (
                Figure(
                    "plots",
                    name,
                    seconds,
                    "s",
                    floor,
                    "bare imshow 30x200, rendered the same way",
                    "value",
                    TARGET_S,
                    note=note,
                ),
                Figure(
                    "plots",
                    "  the same in CPU time of the process (info)",
                    cpu,
                    "s",
                    floor_cpu,
                    "the floor's CPU time",
                ),
            )
        )
    profile_to_file(ctx, "plots", lambda: [d() for d in plots(store).values()])
    plt.close("all")
    store.close()
    ctx.add(*figures)
    return figures
