"""Step 3 analysis over a study: poll and circle results, responses, decisions, lineage.

The arithmetic lives in :mod:`coprod_nb.analysis.workshop`; these functions fetch a
workshop's data from the store, apply its rules (results of an open poll stay hidden,
the consensus threshold is the one fixed with the workshop) and return DataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from coprod_nb.analysis.figures import wrap_label
from coprod_nb.analysis.workshop import circle_summary, compare_polls, poll_tally, spectra_table
from coprod_nb.domain.decisions import Decision, lineage, replay
from coprod_nb.domain.framework import Framework
from coprod_nb.domain.wording import prompt_source
from coprod_nb.errors import InvalidInput
from coprod_nb.storage import Store
from coprod_nb.storage.models import Workshop


def final_labels(framework: Framework, prefix: str = "F") -> dict[str, str]:
    """Display labels of a final framework in order: ``{"T1": "F1", ..., "T8": "F4"}``."""
    return {code: f"{prefix}{i}" for i, code in enumerate(framework.codes, start=1)}


def poll_results(store: Store, name: str = "opening", workshop: int | None = None) -> pd.DataFrame:
    """Tally of a closed poll (hidden while it is open: the store refuses).

    Approval counts and shares; for a ranked poll the rank distribution and Borda
    scores too (see :func:`~coprod_nb.analysis.workshop.poll_tally`).
    """
    poll = store.poll(name, workshop)
    ballots = store.ballots(poll.id)
    tally = poll_tally(ballots, poll.options, ranked=poll.ranked, positions=poll.max_choices)
    tally.attrs["poll"] = name
    return tally


def circle_results(store: Store, workshop: int | None = None) -> pd.DataFrame:
    """Aggregates of the circle placements, with the threshold fixed for the workshop.

    Share inner, mean score (inner 2, outer 1, none 0), group order by Borda with ties,
    consensus ring, and Kendall's W with tie correction in ``attrs``.
    """
    ws = store.workshop(workshop)
    codes = store.framework(ws.base_version).codes
    return circle_summary(store.placements(ws.id), codes, threshold=ws.consensus_threshold)


def responses_table(
    store: Store, workshop: int | None = None, code: str | None = None
) -> pd.DataFrame:
    """Participants' card responses: participant, partnership, code, comment, suggestion,
    circle, reason, source."""
    participants = {p.id: p for p in store.participants()}
    shorts = {p.id: p.short for p in store.partnerships()}
    rows = [
        {
            "participant": participants[r.participant_id].name,
            "partnership": shorts.get(participants[r.participant_id].partnership_id),
            "code": r.code,
            "comment": r.comment,
            "suggestion": r.suggestion,
            "circle": r.circle,
            "reason": r.reason,
            "source": r.source,
        }
        for r in store.responses(workshop)
        if code is None or r.code == code
    ]
    cols = [
        "participant",
        "partnership",
        "code",
        "comment",
        "suggestion",
        "circle",
        "reason",
        "source",
    ]
    return pd.DataFrame(rows, columns=cols)


def decisions_table(store: Store, workshop: int | None = None) -> pd.DataFrame:
    """The decision log: ref, kind, what it did, rationale, proposer, date, prompted by,
    reverted."""
    rows = [
        {
            "ref": d.ref,
            "kind": d.kind,
            "decision": d.summary(),
            "rationale": d.rationale,
            "proposer": d.proposer,
            "date": d.date,
            "prompted_by": "; ".join(prompt_source(p) for p in d.prompted_by),
            "reverted": d.reverted,
        }
        for d in store.decisions(workshop)
    ]
    cols = ["ref", "kind", "decision", "rationale", "proposer", "date", "prompted_by", "reverted"]
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class Trail:
    """One workshop's way from the framework it started from to a framework.

    Attributes
    ----------
    workshop : Workshop
    initial : Framework
        The frozen version the workshop started from.
    decisions : list of Decision
        The decisions that lead to ``final``, in order (reverted ones marked).
    final : Framework
        A frozen version (the one shown), or the current, unfrozen framework.
    """

    workshop: Workshop
    initial: Framework
    decisions: list[Decision]
    final: Framework


def framework_trail(store: Store, workshop: int | None = None, version: int | None = None) -> Trail:
    """The decisions behind a framework, so that every view of it says the same.

    Parameters
    ----------
    workshop : int, optional
        The workshop (the latest by default).
    version : int, optional
        A frozen version: the workshop's starting version (no decision applied), or
        one frozen from its result (its decisions as they stood when it was frozen).
        By default, the current framework: every decision recorded so far.

    Raises
    ------
    InvalidInput
        ``version`` is neither the workshop's starting version nor frozen from it.
    """
    ws = store.workshop(workshop)
    initial = store.framework(ws.base_version)
    if version is None:
        decisions = store.decisions(ws.id)
        return Trail(ws, initial, decisions, replay(initial, decisions))
    final = store.framework(version)  # NotFound for an unknown version
    if version == ws.base_version:
        return Trail(ws, initial, [], initial)
    frozen = store.frozen_workshops().get(ws.id, [])
    if version not in frozen:
        made = f"; its result was frozen as v{frozen[0]}" if frozen else ", still open"
        raise InvalidInput(
            f"framework v{version} did not come from the workshop of {ws.date:%Y-%m-%d}: it "
            f"started from v{ws.base_version}{made}. Choose one of those versions, or the "
            "workshop that framework came from"
        )
    fv = next(v for v in store.framework_versions() if v.version == version)
    return Trail(ws, initial, store.decisions(ws.id, as_of=fv.frozen_at), final)


def lineage_table(
    store: Store, workshop: int | None = None, *, version: int | None = None
) -> pd.DataFrame:
    """From initial to final tensions: one row per (origin, destination).

    Columns: source, source_name, target (None if dropped), target_name, final (F1..),
    path (what happened, in order). By default to the current framework; with
    ``version``, to that frozen version (see :func:`framework_trail`).
    """
    return trail_lineage(framework_trail(store, workshop, version))


def trail_lineage(trail: Trail) -> pd.DataFrame:
    """The lineage table of a :class:`Trail` (see :func:`lineage_table`)."""
    initial, decisions, current = trail.initial, trail.decisions, trail.final
    labels = final_labels(current)
    added = {d.code: d.name for d in decisions if d.kind == "add" and not d.reverted}
    rows = []
    for edge in lineage(initial, decisions):
        src_name = (
            initial.get(edge.source).name if edge.source in initial else added.get(edge.source, "")
        )
        rows.append(
            {
                "source": edge.source,
                "source_name": src_name,
                "target": edge.target,
                "target_name": current.get(edge.target).name if edge.target else "",
                "final": labels.get(edge.target, ""),
                "path": ", ".join(edge.path),
            }
        )
    cols = ["source", "source_name", "target", "target_name", "final", "path"]
    return pd.DataFrame(rows, columns=cols)


def plot_lineage(table: pd.DataFrame, ax=None):
    """A Sankey-style flow from initial (and added) tensions to the final framework.

    Bands are coloured by what happened: kept, merged, folded, added, split, dropped.

    Parameters
    ----------
    table : DataFrame from :func:`lineage_table`
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    sources = list(dict.fromkeys(table.source))
    targets = list(dict.fromkeys(t if t else "(dropped)" for t in table.target))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.6 * max(len(sources), len(targets)) + 1.2))
    colours = {
        "merged": "#dd6b20",
        "folded": "#805ad5",
        "added": "#38a169",
        "split": "#d69e2e",
        "dropped": "#a0aec0",
    }
    height, gap = 0.8, 0.4

    def ys(names):
        total = len(names) * height + (len(names) - 1) * gap
        top = total / 2
        return {n: top - i * (height + gap) - height / 2 for i, n in enumerate(names)}

    left, right = ys(sources), ys(targets)
    x0, x1 = 0.0, 1.0
    for row in table.itertuples():
        target = row.target if row.target else "(dropped)"
        kind = _band_kind(row.path, colours)
        colour = colours.get(kind, "#3182ce")
        ya, yb, h = left[row.source], right[target], height * 0.6
        verts = [
            (x0 + 0.05, ya + h / 2),
            (0.5, ya + h / 2),
            (0.5, yb + h / 2),
            (x1 - 0.05, yb + h / 2),
            (x1 - 0.05, yb - h / 2),
            (0.5, yb - h / 2),
            (0.5, ya - h / 2),
            (x0 + 0.05, ya - h / 2),
            (x0 + 0.05, ya + h / 2),
        ]
        codes = [
            MplPath.MOVETO,
            MplPath.CURVE4,
            MplPath.CURVE4,
            MplPath.CURVE4,
            MplPath.LINETO,
            MplPath.CURVE4,
            MplPath.CURVE4,
            MplPath.CURVE4,
            MplPath.CLOSEPOLY,
        ]
        ax.add_patch(
            PathPatch(
                MplPath(verts, codes), facecolor=colour, alpha=0.45, edgecolor="none", label=kind
            )
        )
    names = dict(zip(table.source, table.source_name, strict=False))
    finals = {
        t: (f, n)
        for t, f, n in zip(table.target, table.final, table.target_name, strict=False)
        if t
    }
    for s, y in left.items():
        ax.add_patch(Rectangle((x0 - 0.02, y - height / 2), 0.07, height, color="#2d3748"))
        label = wrap_label(f"{s}  {names.get(s, '')}".strip(), 32)
        ax.text(x0 - 0.04, y, label, ha="right", va="center", fontsize=8)
    for t, y in right.items():
        ax.add_patch(Rectangle((x1 - 0.05, y - height / 2), 0.07, height, color="#2d3748"))
        final, name = finals.get(t, ("", ""))
        label = wrap_label(f"{final} ({t})  {name}".strip() if final else t, 32)
        ax.text(x1 + 0.04, y, label, ha="left", va="center", fontsize=8)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    ax.legend(
        unique.values(),
        unique.keys(),
        loc="upper center",
        ncols=len(unique),
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, 1.08),
    )
    span = max(len(sources), len(targets)) * (height + gap)
    ax.set_xlim(-0.9, 1.9)
    ax.set_ylim(-span / 2 - 0.2, span / 2 + 0.2)
    ax.axis("off")
    return ax


def _band_kind(path: str, kinds) -> str:
    """What happened to an origin, for its colour: receiving a fold is not being folded."""
    steps = [step for step in path.split(", ") if not step.startswith("received ")]
    return next((k for k in kinds if any(k in step for step in steps)), "kept")


def revote_comparison(store: Store, workshop: int | None = None) -> pd.DataFrame:
    """The re-vote against the opening poll, merged tensions' votes summed onto their heir."""
    before = poll_results(store, "opening", workshop)
    after = poll_results(store, "revote", workshop)
    mapping = {
        row.source: row.target
        for row in lineage_table(store, workshop).itertuples()
        if row.target and row.source != row.target and row.source in set(before.option)
    }
    return compare_polls(before, after, mapping=mapping)


def spectra(store: Store) -> pd.DataFrame:
    """Every partnership's position on each tension, at each time point recorded."""
    return spectra_table(store.positions())


def poles(framework: Framework) -> dict[str, tuple[str, str]]:
    """code -> (pole A, pole B), for spectrum plots."""
    return {t.code: (t.pole_a, t.pole_b) for t in framework.tensions}
