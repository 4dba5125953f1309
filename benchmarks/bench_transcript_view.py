"""Opening a long transcript: building a ``TranscriptView`` and showing its first page.

A 20,000-word transcript is imported into the large study first (once; reused when the
study already has it). Timed: constructing the view (it opens the study's first
transcript, as in a notebook) and ``show()`` of the long transcript's first page;
median of 5 after a warm-up, each view closed after. Floor: building an empty
``ipywidgets.VBox``.
"""

from __future__ import annotations

from benchmarks._util import Context, Figure, median_time, profile_to_file

TARGET_MS = 150.0
WORDS = 20_000
TITLE = "Long conversation (20,000 words)"


def _close(view) -> None:
    for widget in list(view.turn_rows.children) + list(view.children):
        widget.close()
    view.close()


def long_transcript(store, ctx: Context) -> int:
    """Id of the 20,000-word transcript, imported on first use."""
    from coprod_nb.errors import NotFound
    from coprod_nb.ingest import import_transcripts
    from coprod_nb.seed.synth import write_transcript

    try:
        return store.transcript(TITLE).id
    except NotFound:
        pass
    lead = next(r.name for r in store.researchers() if r.lead)
    leader = store.participants()[0].name
    path = ctx.workdir / "long_2022-01-10.txt"
    write_transcript(path, words=WORDS, interviewer=lead, leader=leader, seed=ctx.seed + 20_000)
    report = import_transcripts(store, [path], title=TITLE, progress=False)
    return report.imported[0].transcript_id


def run(ctx: Context, repeat: int = 5) -> list[Figure]:
    import ipywidgets as w

    from coprod_nb.storage import Store
    from coprod_nb.widgets import TranscriptView

    store = Store(ctx.study_dir, actor="bench")
    tid = long_transcript(store, ctx)
    lead = next(r.name for r in store.researchers() if r.lead)
    turns = store.turn_count(tid)

    def build_and_show():
        view = TranscriptView(store, lead)
        view.show(tid, 0)
        assert view.page_turns and view.page_turns[0].transcript_id == tid
        _close(view)

    def build_only():
        _close(TranscriptView(store, lead))

    def show_only():
        view.show(tid, 0)

    def floor():
        w.VBox().close()

    seconds = median_time(build_and_show, repeat=repeat)
    construct = median_time(build_only, repeat=repeat)
    view = TranscriptView(store, lead)
    # show() of a transcript already open re-renders the page: the cost of paging.
    show = median_time(show_only, repeat=repeat)
    _close(view)
    t_floor = median_time(floor, repeat=50, warmup=5)
    profile_to_file(ctx, "transcript-view", build_and_show)
    store.close()
    figures = [
        Figure(
            "transcript_view",
            f"TranscriptView + first page ({WORDS} words, {turns} turns)",
            seconds * 1000,
            "ms",
            t_floor * 1000,
            "empty ipywidgets.VBox",
            "value",
            TARGET_MS,
        ),
        Figure(
            "transcript_view",
            "  constructing the view alone (info)",
            construct * 1000,
            "ms",
            t_floor * 1000,
            "empty ipywidgets.VBox",
        ),
        Figure(
            "transcript_view",
            "  show() of one page, view built (info)",
            show * 1000,
            "ms",
            t_floor * 1000,
            "empty ipywidgets.VBox",
        ),
    ]
    ctx.add(*figures)
    return figures
