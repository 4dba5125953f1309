"""Step 2 analysis: compare independent readings, find overlaps and gaps, map evidence.

Everything here needs step 1 closed: before that a researcher may see only their own
notes, and a comparison would silently compare one reading with nothing.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sqlalchemy import select

from coprod_nb.analysis.figures import annotate_counts, count_image, wrap_label
from coprod_nb.errors import CoprodError, Forbidden
from coprod_nb.storage import Store

# Who looks is the person working (Store.actor); a ``viewer`` given to these functions
# must name them (coprod_nb.storage.access.viewer_of). Every read goes through the
# store, which asks the access policy.
from coprod_nb.storage.models import Excerpt, Note, Transcript


def _team_notes(store: Store, viewer: str | None) -> pd.DataFrame:
    if not store.step_closed():
        raise Forbidden("comparing readings needs step 1 closed (notes are blind until then)")
    names = {r.id: r.name for r in store.researchers()}
    shorts = {p.id: p.short for p in store.partnerships()}
    rows = []
    for n in store.notes(viewer):
        rows.append(
            {
                "note": n.id,
                "researcher": names[n.researcher_id],
                "partnership": shorts[n.partnership_id],
                "category": n.category,
                "kind": n.kind,
                "text": n.text,
                "anchors": [(e.transcript_id, e.start, e.end, e.text) for e in n.excerpts],
            }
        )
    return pd.DataFrame(
        rows, columns=["note", "researcher", "partnership", "category", "kind", "text", "anchors"]
    )


def compare_counts(store: Store, viewer: str | None = None) -> pd.DataFrame:
    """Researcher × partnership × category: how many notes each researcher wrote.

    Long format with columns researcher, partnership, category, notes; every
    combination is present (zeros included), so gaps show.
    """
    if not store.step_closed():
        raise Forbidden("comparing readings needs step 1 closed (notes are blind until then)")
    index = pd.MultiIndex.from_product(
        [
            [r.name for r in store.researchers()],
            [p.short for p in store.partnerships()],
            list(store.note_categories()),
        ],
        names=["researcher", "partnership", "category"],
    )
    # Counted by the database: only the numbers are needed, not 20,000 Note objects.
    rows = store.note_counts(viewer)
    counts = pd.Series(
        [n for *_, n in rows],
        index=pd.MultiIndex.from_tuples([k for *k, _ in rows], names=index.names),
        dtype="int64",
    )
    return counts.reindex(index, fill_value=0).rename("notes").reset_index()


#: Above this many cells the heatmap carries no numbers: they would be unreadable, and
#: thousands of Text artists take seconds to lay out and draw (docs/performance.md).
MAX_LABELLED_CELLS = 300
#: The largest heatmap in inches (width, height): a grid of a large study would otherwise
#: ask for a figure of tens of inches, seconds and hundreds of MB to draw.
MAX_FIGSIZE = (16.0, 12.0)
#: Above this many columns (or rows) a heatmap names every k-th one only: more names
#: would overlap on a figure of capped size.
MAX_NAMED_COLUMNS = 60


def every_kth(n: int) -> int:
    """The step between named ticks for ``n`` columns (1 up to MAX_NAMED_COLUMNS)."""
    return -(-n // MAX_NAMED_COLUMNS)


def plot_compare(counts: pd.DataFrame, ax=None, *, annotate: bool | None = None):
    """Heatmap of notes per researcher (rows) and partnership × category (columns).

    Parameters
    ----------
    counts : DataFrame from :func:`compare_counts`
    ax : matplotlib Axes, optional
    annotate : bool, optional
        Write the count in each cell. By default only when the grid has at most
        :data:`MAX_LABELLED_CELLS` cells; the colour bar gives the scale either way.

    Returns
    -------
    matplotlib.axes.Axes
    """
    wide = counts.pivot_table(
        index="researcher", columns=["partnership", "category"], values="notes", aggfunc="sum"
    )
    if ax is None:
        size = (max(6, 0.38 * wide.shape[1] + 2), 1.2 + 0.5 * len(wide))
        _, ax = plt.subplots(figsize=tuple(map(min, size, MAX_FIGSIZE)))
    image = count_image(
        ax, wide.to_numpy(), cmap="Blues", label="notes", quads=wide.size > MAX_LABELLED_CELLS
    )
    ystep, xstep = every_kth(len(wide)), every_kth(wide.shape[1])
    ax.set_yticks(range(0, len(wide), ystep), wide.index[::ystep])
    ax.set_xticks(
        range(0, wide.shape[1], xstep),
        [f"{p} · {c}" for p, c in wide.columns[::xstep]],
        rotation=60,
        ha="right",
        fontsize=8,
    )
    if annotate is None:
        annotate = wide.size <= MAX_LABELLED_CELLS
    if annotate:
        texts = [[str(int(v)) for v in row] for row in wide.to_numpy()]
        annotate_counts(ax, image, texts, fontsize=7)
    ax.set_title("Notes per researcher, partnership and category")
    return ax


def side_by_side(store: Store, viewer: str | None, partnership: str) -> pd.DataFrame:
    """One partnership's notes, one column per researcher ("category: text" per cell)."""
    if not store.step_closed():
        raise Forbidden("comparing readings needs step 1 closed (notes are blind until then)")
    # Only this partnership's notes, as plain rows: loading all of them to keep one in
    # twenty, or Note objects with their excerpts, took seconds in a large study
    # (docs/performance.md).
    notes = store.note_lines(viewer, partnership=store.partnership(partnership).short).rows
    columns = {}
    for r in store.researchers():
        columns[r.name] = [f"[{n.category}] {n.text}" for n in notes if n.researcher == r.name]
    depth = max((len(v) for v in columns.values()), default=0)
    return pd.DataFrame({k: v + [""] * (depth - len(v)) for k, v in columns.items()})


def overlaps(store: Store, viewer: str | None = None) -> pd.DataFrame:
    """Pairs of notes by different researchers anchored to overlapping passages.

    These are the readings to compare first: the same words, read by two people.
    Columns: transcript_id, passage, note_a, researcher_a, category_a, note_b,
    researcher_b, category_b, same_category.
    """
    if not store.step_closed():
        raise Forbidden("comparing readings needs step 1 closed (notes are blind until then)")
    # (note, researcher, category, transcript, start, end, text), in the order of notes()
    spans = store.note_anchors(viewer)
    # A sweep per transcript instead of every pair of passages (13,000 passages took
    # seconds): sorted by start, each passage meets only those still open at its start.
    # Pairs keep the order of ``spans`` (a before b), so the result is the one every
    # pair gave.
    pairs = []
    by_transcript: dict[int, list[int]] = {}
    for i, span in enumerate(spans):
        by_transcript.setdefault(span[3], []).append(i)
    for indexes in by_transcript.values():
        indexes.sort(key=lambda i: (spans[i][4], spans[i][5]))
        open_: list[int] = []
        for j in indexes:
            start, end = spans[j][4], spans[j][5]
            open_ = [i for i in open_ if spans[i][5] > start]
            for i in open_:
                if spans[i][4] < end:
                    pairs.append((min(i, j), max(i, j)))
            open_.append(j)
    pairs.sort()
    rows = []
    for i, j in pairs:
        a, b = spans[i], spans[j]
        if a[1] == b[1] or a[0] == b[0]:
            continue
        passage = a[6] if len(a[6]) <= len(b[6]) else b[6]
        rows.append(
            {
                "transcript_id": a[3],
                "passage": passage,
                "note_a": a[0],
                "researcher_a": a[1],
                "category_a": a[2],
                "note_b": b[0],
                "researcher_b": b[1],
                "category_b": b[2],
                "same_category": a[2] == b[2],
            }
        )
    cols = [
        "transcript_id",
        "passage",
        "note_a",
        "researcher_a",
        "category_a",
        "note_b",
        "researcher_b",
        "category_b",
        "same_category",
    ]
    return pd.DataFrame(rows, columns=cols).drop_duplicates(["note_a", "note_b"])


def gaps(store: Store, viewer: str | None = None) -> pd.DataFrame:
    """Partnership × category cells that only one researcher wrote about.

    Prompts for discussion, not errors: did the others not see it, or not think it mattered?
    Columns: partnership, category, researcher, notes.
    """
    counts = compare_counts(store, viewer)
    written = counts[counts.notes > 0]
    lonely = written.groupby(["partnership", "category"]).filter(lambda g: len(g) == 1)
    return lonely.reset_index(drop=True)[["partnership", "category", "researcher", "notes"]]


def category_alpha(store: Store, viewer: str | None = None) -> float:
    """Krippendorff's alpha (nominal) of the categories researchers gave to the same turns.

    Optional, for teams that want an agreement figure: reflexive approaches compare
    readings rather than score them, so nothing here calls it by default. Units are the
    turns that notes are anchored to; needs the ``krippendorff`` package
    (``pip install coprod_nb[agreement]``).
    """
    try:
        import krippendorff
    except ImportError as exc:
        raise CoprodError("Krippendorff's alpha needs: pip install 'coprod_nb[agreement]'") from exc
    notes = _team_notes(store, viewer)
    researchers = [r.name for r in store.researchers()]
    categories = list(store.note_categories())
    units: dict[tuple[int, int], dict[str, str]] = {}
    turn_of = {}
    for tr in store.transcripts():
        turn_of[tr.id] = [(t.char_start, t.char_end, t.seq) for t in store.turns(tr.id)]
    for row in notes.itertuples():
        for tid, start, _end, _text in row.anchors:
            seq = next((q for a, b, q in turn_of[tid] if a <= start < b + 1), None)
            if seq is not None:
                units.setdefault((tid, seq), {}).setdefault(row.researcher, row.category)
    pairable = {k: v for k, v in units.items() if len(v) >= 2}
    if not pairable:
        raise CoprodError("no passage was anchored by two researchers; alpha is undefined")
    data = np.full((len(researchers), len(pairable)), np.nan)
    for j, cats in enumerate(pairable.values()):
        for who, cat in cats.items():
            data[researchers.index(who), j] = categories.index(cat)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def evidence_matrix(store: Store) -> pd.DataFrame:
    """Tension × partnership: how many notes and quotes support each tension.

    Long format: tension, partnership, notes, quotes, total (zeros included).
    """
    shorts = {p.id: p.short for p in store.partnerships()}
    with store.session(write=False) as s:
        note_pship = {n: shorts[p] for n, p in s.execute(select(Note.id, Note.partnership_id))}
        ex_pship = dict(
            s.execute(
                select(Excerpt.id, Transcript.partnership_id).join(
                    Transcript, Excerpt.transcript_id == Transcript.id
                )
            ).all()
        )
    ex_pship = {e: shorts.get(p) for e, p in ex_pship.items()}
    codes = {t.id: t.code for t in store.tensions()}
    rows = []
    for e in store.evidence():
        if e.tension_id not in codes:
            continue
        if e.note_id:
            rows.append((codes[e.tension_id], note_pship[e.note_id], 1, 0))
        else:
            rows.append((codes[e.tension_id], ex_pship[e.excerpt_id], 0, 1))
    df = pd.DataFrame(rows, columns=["tension", "partnership", "notes", "quotes"])
    index = pd.MultiIndex.from_product(
        [list(codes.values()), list(shorts.values())], names=["tension", "partnership"]
    )
    out = (
        df.groupby(["tension", "partnership"])[["notes", "quotes"]]
        .sum()
        .reindex(index, fill_value=0)
        .reset_index()
    )
    out["total"] = out.notes + out.quotes
    return out


def plot_evidence(matrix: pd.DataFrame, ax=None, *, annotate: bool | None = None):
    """Heatmap of evidence items per tension (rows) and partnership (columns).

    Parameters
    ----------
    matrix : DataFrame from :func:`evidence_matrix`
    ax : matplotlib Axes, optional
    annotate : bool, optional
        Write the count in each cell; by default only up to :data:`MAX_LABELLED_CELLS`
        cells (as :func:`plot_compare`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    wide = matrix.pivot(index="tension", columns="partnership", values="total")
    wide = wide.loc[list(dict.fromkeys(matrix.tension))]
    if ax is None:
        size = (1.5 + 1.0 * wide.shape[1], 1.0 + 0.45 * len(wide))
        _, ax = plt.subplots(figsize=tuple(map(min, size, MAX_FIGSIZE)))
    image = count_image(
        ax, wide.to_numpy(), cmap="Greens", label="items", quads=wide.size > MAX_LABELLED_CELLS
    )
    ystep, xstep = every_kth(len(wide)), every_kth(wide.shape[1])
    ax.set_xticks(range(0, wide.shape[1], xstep), wide.columns[::xstep])
    ax.set_yticks(range(0, len(wide), ystep), [wrap_label(t) for t in wide.index[::ystep]])
    if annotate is None:
        annotate = wide.size <= MAX_LABELLED_CELLS
    if annotate:
        annotate_counts(ax, image, [[str(int(v)) for v in row] for row in wide.to_numpy()])
    ax.set_title("Evidence per tension and partnership (notes + quotes)")
    return ax


def tension_evidence(store: Store, viewer: str | None, tension: str) -> pd.DataFrame:
    """The evidence of one tension: notes (by whom) and pseudonymised quotes.

    Columns: kind (note / quote), partnership, researcher, category, text.
    """
    row = store.tension(tension)
    shorts = {p.id: p.short for p in store.partnerships()}
    names = {r.id: r.name for r in store.researchers()}
    excerpts = {e.id: e for e in store.excerpts()}
    transcripts = {t.id: t for t in store.transcripts(text=False)}
    out = []
    for e in store.evidence(row.id):
        if e.note_id:
            n = store.note(e.note_id, viewer)
            out.append(
                ("note", shorts[n.partnership_id], names[n.researcher_id], n.category, n.text)
            )
        else:
            ex = excerpts[e.excerpt_id]
            tr = transcripts[ex.transcript_id]
            out.append(("quote", shorts.get(tr.partnership_id), "", "", ex.text))
    return pd.DataFrame(out, columns=["kind", "partnership", "researcher", "category", "text"])


def tensions_table(store: Store) -> pd.DataFrame:
    """The working set of tensions: code, name, poles, status, sub-themes, evidence, links."""
    evidence: dict[int, int] = {}
    for e in store.evidence():
        evidence[e.tension_id] = evidence.get(e.tension_id, 0) + 1
    links: dict[str, list[str]] = {}
    for source, kind, target in store.tension_links():
        links.setdefault(source, []).append(f"{kind} {target}")
    rows = [
        {
            "code": t.code,
            "name": t.name,
            "poles": f"{t.pole_a} ⟷ {t.pole_b}",
            "status": t.status,
            "subthemes": "; ".join(t.subthemes or []),
            "evidence": evidence.get(t.id, 0),
            "links": "; ".join(links.get(t.code, [])),
        }
        for t in store.tensions()
    ]
    cols = ["code", "name", "poles", "status", "subthemes", "evidence", "links"]
    return pd.DataFrame(rows, columns=cols)


def dissent_table(store: Store) -> pd.DataFrame:
    """Every logged disagreement: meeting date, topic, positions, settled, resolution."""
    rows = [
        {
            "meeting": m.date,
            "topic": d.topic,
            "positions": " | ".join(f"{p['who']}: {p['position']}" for p in d.positions),
            "settled": d.settled,
            "resolution": d.resolution,
        }
        for m in store.meetings()
        for d in m.dissents
    ]
    cols = ["meeting", "topic", "positions", "settled", "resolution"]
    return pd.DataFrame(rows, columns=cols)
