"""Step 1 analysis: reading progress, one's own notes, exports."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from coprod_nb.analysis.figures import annotate_counts, count_image
from coprod_nb.analysis.interpretation import (
    MAX_FIGSIZE,
    MAX_LABELLED_CELLS,
    every_kth,
)
from coprod_nb.domain.markdown import md_line, md_text
from coprod_nb.storage import Store, access

NOTE_COLUMNS = [
    "id",
    "partnership",
    "category",
    "kind",
    "text",
    "anchors",
    "version",
    "created_at",
    "updated_at",
]


def progress_table(store: Store) -> pd.DataFrame:
    """Researcher × transcript: whether it was marked read and how many notes were written.

    ``notes`` counts the researcher's notes on the transcript's partnership (counts
    only: the notes themselves stay blind until step 1 closes). One row per pair, with
    columns researcher, transcript, partnership, read, notes.
    """
    researchers = [r.name for r in store.researchers()]
    transcripts = store.transcripts(text=False)  # titles only: no megabytes of text
    shorts = {p.id: p.short for p in store.partnerships()}
    read = set(store.readings())
    with store.session(write=False) as s:
        found = access.note_counts(
            s, on_server=bool(getattr(store, "connected_as", None)), per_partnership=True
        )
        counts = {(name, pid): n for name, pid, n in found}
    rows = [
        {
            "researcher": r,
            "transcript": tr.title,
            "partnership": shorts.get(tr.partnership_id),
            "read": (r, tr.id) in read,
            "notes": counts.get((r, tr.partnership_id), 0),
        }
        for r in researchers
        for tr in transcripts
    ]
    return pd.DataFrame(rows, columns=["researcher", "transcript", "partnership", "read", "notes"])


def plot_progress(progress: pd.DataFrame, ax=None, *, annotate: bool | None = None):
    """Heatmap of notes per researcher and transcript; ✓ (or a dot) marks transcripts read.

    Parameters
    ----------
    progress : DataFrame from :func:`progress_table`
    ax : matplotlib Axes, optional
    annotate : bool, optional
        Write the count (and ✓) in each cell. By default only when the grid has at most
        ``MAX_LABELLED_CELLS`` cells (as :func:`~coprod_nb.analysis.interpretation.plot_compare`);
        otherwise read cells carry a dot and the colour bar gives the scale.

    Returns
    -------
    matplotlib.axes.Axes
    """
    notes = progress.pivot(index="researcher", columns="transcript", values="notes")
    read = progress.pivot(index="researcher", columns="transcript", values="read")
    rows, cols = notes.shape
    if ax is None:
        _, ax = plt.subplots(
            figsize=(
                min(MAX_FIGSIZE[0], 1.4 + 1.1 * cols),
                min(MAX_FIGSIZE[1], 1.2 + 0.5 * rows),
            )
        )
    image = count_image(
        ax, notes.to_numpy(), cmap="Blues", label="notes", quads=notes.size > MAX_LABELLED_CELLS
    )
    step = every_kth(cols)  # a 200-transcript study names every 4th transcript
    ax.set_xticks(
        range(0, cols, step),
        notes.columns[::step],
        rotation=30 if step == 1 else 90,
        ha="right" if step == 1 else "center",
        fontsize=None if step == 1 else 6,
    )
    ystep = every_kth(rows)
    ax.set_yticks(range(0, rows, ystep), notes.index[::ystep])
    if annotate is None:
        annotate = notes.size <= MAX_LABELLED_CELLS
    if annotate:
        texts = [
            [f"{int(notes.iat[i, j])}{' ✓' if read.iat[i, j] else ''}" for j in range(cols)]
            for i in range(rows)
        ]
        annotate_counts(ax, image, texts)
    else:
        # One artist for every read cell, however many there are.
        ri, ci = np.nonzero(read.to_numpy(dtype=bool))
        ax.scatter(ci, ri, s=4, c="black", marker=".", linewidths=0)
    ax.set_title("Step 1: notes per transcript's partnership (✓ read)")
    return ax


def notes_table(
    store: Store,
    viewer: str | None = None,
    *,
    researcher: str | None = None,
    partnership: str | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """Notes the person working may see (blinding applies) as a DataFrame, oldest first.

    Defaults to their own notes ("my notes"); ``anchors`` holds the quoted excerpts,
    joined with " | ". ``viewer``, if given, must name the person working.
    """
    if researcher is None:
        me = store.acting_researcher()
        researcher = viewer if viewer is not None else (me.name if me is not None else None)
    notes = store.notes(viewer, researcher=researcher, partnership=partnership, category=category)
    shorts = {p.id: p.short for p in store.partnerships()}
    rows = [
        {
            "id": n.id,
            "partnership": shorts[n.partnership_id],
            "category": n.category,
            "kind": n.kind,
            "text": n.text,
            "anchors": " | ".join(e.text for e in n.excerpts),
            "version": n.version,
            "created_at": n.created_at,
            "updated_at": n.updated_at,
        }
        for n in notes
    ]
    return pd.DataFrame(rows, columns=NOTE_COLUMNS)


def notes_markdown(notes: pd.DataFrame, title: str = "Notes") -> str:
    """A notes table as Markdown: one section per partnership, quotes as block quotes.

    Typed and quoted text is escaped (:mod:`coprod_nb.domain.markdown`): it shows as
    itself, never as a link, an image, HTML or a heading.
    """
    lines = [f"# {md_line(title)}", ""]
    for short, group in notes.groupby("partnership", sort=True):
        lines += [f"## {md_line(short)}", ""]
        for row in group.itertuples():
            lines.append(f"### Note {row.id} · {md_line(row.category)} · {md_line(row.kind)}")
            lines.append("")
            for quote in filter(None, row.anchors.split(" | ")):
                lines += ["> " + q for q in md_text(quote).split("\n")]
                lines.append("")
            lines += [md_text(row.text), ""]
    return "\n".join(lines)
