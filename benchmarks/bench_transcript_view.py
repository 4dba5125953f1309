"""The transcript reader: opening a long transcript, and a page change on a 10 MB one.

Two transcripts are added to the large study (once; reused when the study has them): a
20,000-word one imported from a file, and a ~10 MB one (some 40,000 turns) with 2,000
excerpts on it, a tenth of them anchored by notes of the lead. Timed, each the median of
several runs after a warm-up:

- constructing a ``TranscriptView`` and ``show()`` of the 20,000-word transcript's first
  page (target 150 ms; floor: an empty ``ipywidgets.VBox``);
- **a page change on the 10 MB transcript** on the widget's Python side, as in a kernel:
  "Next" (the page's turns and the passages the lead may see, fetched by
  ``storage.pages.turn_page``, and the pane's traits set) plus serialising to JSON the
  traits the page change set, as the widget sends them to the browser (the turns,
  position and buttons; not the unchanged colours of the codes). Target 5 ms (issue
  #18). Floor:
  the same 25 turns read with one plain SQL query on the same engine and dumped as JSON.
  Also given, for information: the same page change in CPU time of the process, which
  leaves out the waits for a core on a loaded machine.
"""

from __future__ import annotations

import json
import statistics
import time

from benchmarks._util import Context, Figure, median_time, profile_to_file

TARGET_MS = 150.0
PAGE_TARGET_MS = 5.0
WORDS = 20_000
TITLE = "Long conversation (20,000 words)"
BIG_TITLE = "Ten-megabyte conversation"
BIG_BYTES = 10 * 1024 * 1024
EXCERPTS = 2_000


def _close(view) -> None:
    for widget in list(view.children):
        widget.close()
    view.pane.close()
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


def big_transcript(store, ctx: Context) -> int:
    """Id of the ~10 MB transcript with its excerpts and anchoring notes, made on first use."""
    from coprod_nb.domain import RawTurn
    from coprod_nb.errors import NotFound

    try:
        return store.transcript(BIG_TITLE).id
    except NotFound:
        pass
    rng = ctx.rng()
    vocabulary = (
        "the a pier tide board funding volunteer meeting agenda plain words trust logo "
        "families chair budget renewal quarter outcomes we they said because then"
    ).split()
    turns, size, ms = [], 0, 0
    while size < BIG_BYTES:
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(15, 60))) + "."
        turns.append(RawTurn("Speaker A" if len(turns) % 2 else "Interviewer", text, ms))
        size += len(text.encode()) + 1
        ms += 4000
    pship = store.partnerships()[0].short
    tr = store.add_transcript(
        turns,
        title=BIG_TITLE,
        source_name="ten-megabytes.vtt",
        source_format="vtt",
        content_hash="bench-ten-megabytes",
        partnership=pship,
    )
    lead = next(r for r in store.researchers() if r.lead)
    before = store.actor
    store.actor = lead.login or lead.name
    try:
        ids = []
        for _ in range(EXCERPTS):
            seq = rng.randrange(len(turns))
            turn = store.turns(tr.id, seq, seq + 1)[0]
            ids.append(store.excerpt_of_turn(turn.id, 0, min(20, len(turn.text))).id)
        for k in range(0, EXCERPTS, 10):
            store.add_note(lead.name, pship, f"bench note {k}", excerpts=ids[k : k + 10])
    finally:
        store.actor = before
    return tr.id


def run(ctx: Context, repeat: int = 5) -> list[Figure]:
    import ipywidgets as w
    from sqlalchemy import text

    from coprod_nb.storage import Store
    from coprod_nb.widgets import TranscriptView

    store = Store(ctx.study_dir, actor="bench")
    tid = long_transcript(store, ctx)
    big = big_transcript(store, ctx)
    lead = next(r for r in store.researchers() if r.lead)
    store.actor = lead.login or lead.name
    turns = store.turn_count(tid)
    big_turns = store.turn_count(big)

    def build_and_show():
        view = TranscriptView(store, lead.name)
        view.show(tid, 0)
        assert view.page_turns and view.page_turns[0].transcript_id == tid
        _close(view)

    def build_only():
        _close(TranscriptView(store, lead.name))

    def floor():
        w.VBox().close()

    seconds = median_time(build_and_show, repeat=repeat)
    construct = median_time(build_only, repeat=repeat)
    t_floor = median_time(floor, repeat=50, warmup=5)

    # A page change on the 10 MB transcript, walking forward through it.
    view = TranscriptView(store, lead.name)
    view.show(big, 0)
    # What a page change sends: the synced traits it changed (hold_sync sends those
    # only; the colours of the codes, unchanged, stay in the browser).
    changed: set[str] = set()
    synced = set(view.pane.keys)
    view.pane.observe(lambda c: changed.add(c.name) if c.name in synced else None)

    def page_change():
        if view.next.disabled:
            view.show(big, 0)
        changed.clear()
        view.next.click()
        state = view.pane.get_state(sorted(changed))
        return len(json.dumps(state))

    page = median_time(page_change, repeat=max(50, repeat * 10), warmup=5)
    # The same in CPU time of this process (SQLite runs in it too): on a shared machine
    # wall time also counts the waits for a core, which this leaves out.
    cpu = []
    for _ in range(max(50, repeat * 10)):
        started = time.process_time()
        page_change()
        cpu.append(time.process_time() - started)
    page_cpu = statistics.median(cpu)
    marks = sum(len(t["marks"]) for t in view.pane.turns)
    sql = text(
        "SELECT id, seq, speaker, start_ms, text FROM turn "
        "WHERE transcript_id = :t AND seq >= :a AND seq < :b ORDER BY seq"
    )
    at = [0]

    def page_floor():
        at[0] = (at[0] + 25) % max(1, big_turns - 25)
        with store.engine.connect() as conn:
            rows = conn.execute(sql, {"t": big, "a": at[0], "b": at[0] + 25}).all()
        return len(json.dumps([list(r) for r in rows]))

    t_page_floor = median_time(page_floor, repeat=max(50, repeat * 10), warmup=5)
    profile_to_file(ctx, "transcript-view", build_and_show)
    profile_to_file(ctx, "transcript-page", lambda: [page_change() for _ in range(50)])
    _close(view)
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
            f"page change on a 10 MB transcript ({big_turns} turns), page serialised",
            page * 1000,
            "ms",
            t_page_floor * 1000,
            "the page's 25 turns by one SQL query, as JSON",
            "value",
            PAGE_TARGET_MS,
            note=f"{marks} highlighted passages on the last page measured",
        ),
        Figure(
            "transcript_view",
            "  the same page change in CPU time of the process (info)",
            page_cpu * 1000,
            "ms",
            t_page_floor * 1000,
            "the page's 25 turns by one SQL query, as JSON",
        ),
    ]
    ctx.add(*figures)
    return figures
