"""Step 3 analysis: the opening poll, the inner/outer circles and the spectra.

The inputs are plain Python data (what a workshop collected), so nothing here needs a
database. The numbers are there to prompt the group's discussion: a tally does not make
a decision, people do, and they record it with their rationale.

- **Poll**: approval voting (how many nominated an option) and, for ranked ballots,
  Borda scores beside the full distribution of rank positions.
- **Circles**: ring placements read as ranks with ties (inner 2, outer 1, none 0),
  Borda points with ties, Kendall's W with the tie correction, and a consensus threshold
  that the team fixes before it sees the results (75% is the common Delphi default).
- **Spectra**: where each partnership sits between the two poles of a tension, and how
  it moved between two points in time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch
from matplotlib.ticker import MaxNLocator

from coprod_nb.analysis.figures import wrap_label

__all__ = [
    "RING_SCORES",
    "circle_summary",
    "compare_polls",
    "kendall_w",
    "plot_circles",
    "plot_poll",
    "plot_ring_counts",
    "plot_spectra",
    "poll_tally",
    "spectra_table",
]

RING_SCORES = {"inner": 2, "outer": 1, "none": 0}
RINGS = tuple(RING_SCORES)
RING_COLOURS = {"inner": "#2b6cb0", "outer": "#90cdf4", "none": "#e2e8f0"}
SPECTRA_KEYS = ("partnership", "tension", "when", "position")
_RANK_COLUMN = re.compile(r"rank_(\d+)$")


def _min_order(keys: Sequence[tuple]) -> list[int]:
    """1 + how many keys are strictly larger: "min" ranking, the largest key first."""
    return [1 + sum(other > key for other in keys) for key in keys]


def _check_options(options: Sequence[str]) -> list[str]:
    options = list(options)
    seen = set()
    for option in options:
        if option in seen:
            raise ValueError(f"option {option!r} is listed twice")
        seen.add(option)
    return options


# ---------------------------------------------------------------------------- poll


def poll_tally(
    ballots: Mapping[str, Sequence[str]],
    options: Sequence[str],
    *,
    ranked: bool = False,
    positions: int | None = None,
) -> pd.DataFrame:
    """Tally a poll: approval counts and, for ranked ballots, rank positions and Borda.

    Parameters
    ----------
    ballots : mapping of participant -> sequence of option codes
        What each participant nominated, in rank order when ``ranked``. An empty
        ballot counts as a ballot (it lowers every share).
    options : sequence of str
        The options on the poll; rows come out in this order.
    ranked : bool, default False
        Whether the order within a ballot is a ranking.
    positions : int, optional
        Positions a ranked ballot may fill (the poll's maximum number of choices).
        Defaults to the longest ballot; a longer ballot raises ValueError.

    Returns
    -------
    DataFrame
        Columns option, count (ballots naming it), share (count / ballots) and, when
        ranked, ``rank_1`` .. ``rank_k`` (ballots naming it at each position), borda (a
        choice at position p scores k - p + 1), then order (1 = most supported: by
        borda then count when ranked, by count otherwise; ties share the lowest
        number). ``attrs["ballots"]`` holds the number of ballots.

    Raises
    ------
    ValueError
        An option not on the poll, or named twice in one ballot (the message names
        the participant and the option).
    """
    options = _check_options(options)
    known = set(options)
    clean: dict[str, list[str]] = {}
    for participant, ballot in ballots.items():
        if isinstance(ballot, str):
            raise ValueError(f"{participant}: a ballot must be a list of options, not {ballot!r}")
        choices = list(ballot)
        seen: set[str] = set()
        for choice in choices:
            if choice not in known:
                raise ValueError(f"{participant}: option {choice!r} is not on the poll")
            if choice in seen:
                raise ValueError(f"{participant}: option {choice!r} is named twice")
            seen.add(choice)
        clean[participant] = choices
    n = len(clean)
    longest = max((len(b) for b in clean.values()), default=0)
    if positions is None:
        k = longest
    elif positions < longest:
        who = next(p for p, b in clean.items() if len(b) == longest)
        raise ValueError(f"{who}: {longest} choices on a poll that allows {positions}")
    else:
        k = positions

    count = {o: sum(o in b for b in clean.values()) for o in options}
    table = pd.DataFrame({"option": options, "count": [count[o] for o in options]})
    table["share"] = table["count"] / n if n else np.nan
    if ranked:
        at = {o: [0] * k for o in options}
        for ballot in clean.values():
            for p, choice in enumerate(ballot):
                at[choice][p] += 1
        for p in range(k):
            table[f"rank_{p + 1}"] = [at[o][p] for o in options]
        table["borda"] = [sum((k - p) * at[o][p] for p in range(k)) for o in options]
        keys = list(zip(table["borda"], table["count"], strict=True))
    else:
        keys = [(c,) for c in table["count"]]
    table["order"] = _min_order(keys)
    table.attrs["ballots"] = n
    return table


def _rank_columns(table: pd.DataFrame) -> list[str]:
    found = [(int(m.group(1)), c) for c in table.columns if (m := _RANK_COLUMN.match(str(c)))]
    return [c for _, c in sorted(found)]


def _ordinal(p: int) -> str:
    suffix = "th" if 10 <= p % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(p % 10, "th")
    return f"{p}{suffix}"


def plot_poll(tally: pd.DataFrame, ax=None, *, title: str = "Opening poll"):
    """Horizontal bars of nominations per option, stacked by rank position when ranked.

    Parameters
    ----------
    tally : DataFrame from :func:`poll_tally`
    ax : matplotlib Axes, optional
    title : str, default "Opening poll"

    Returns
    -------
    matplotlib.axes.Axes
        Each bar is labelled with its share of ballots as a percentage.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 1.0 + 0.45 * len(tally)))
    y = np.arange(len(tally))
    ranks = _rank_columns(tally)
    if ranks:
        colours = plt.get_cmap("Blues")(np.linspace(0.85, 0.35, len(ranks)))
        left = np.zeros(len(tally))
        for column, colour in zip(ranks, colours, strict=True):
            values = tally[column].to_numpy(dtype=float)
            p = int(_RANK_COLUMN.match(column).group(1))
            ax.barh(y, values, left=left, color=colour, label=f"{_ordinal(p)} choice")
            left += values
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    else:
        ax.barh(y, tally["count"], color=RING_COLOURS["inner"])
    top = max(float(tally["count"].max()) if len(tally) else 0.0, 1.0)
    for yi, count, share in zip(y, tally["count"], tally["share"], strict=True):
        label = "–" if pd.isna(share) else f"{share:.0%}"
        ax.text(count + 0.02 * top, yi, label, va="center", fontsize=8)
    ax.set_yticks(y, [wrap_label(o) for o in tally["option"]])
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.15)
    n = tally.attrs.get("ballots")
    ax.set_xlabel("nominations" + (f" (of {n} ballots)" if n is not None else ""))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 nominations
    ax.set_title(title)
    return ax


def compare_polls(
    first: pd.DataFrame,
    second: pd.DataFrame,
    *,
    mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Compare two tallies, e.g. the opening poll and the re-vote on the final framework.

    Parameters
    ----------
    first, second : DataFrames from :func:`poll_tally`
    mapping : mapping of old option -> new option, optional
        How options of the first poll became options of the second (e.g.
        ``{"T4": "T8", "T5": "T8", "T6": "T8"}`` for a merge). Counts and shares of
        options mapped to the same new option are summed, so they count nominations:
        a ballot that named two merged options counts twice.

    Returns
    -------
    DataFrame
        Columns option, count_before, share_before, count_after, share_after, change
        (share_after - share_before). Rows: the second poll's options in order, then
        options only in the first. An option missing from one poll has <NA>/NaN there
        (not offered is not the same as not chosen).

    Raises
    ------
    ValueError
        A mapping key that is not an option of the first poll.
    """
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(first["option"]))
    if unknown:
        raise ValueError(f"mapping names options not in the first poll: {', '.join(unknown)}")
    before = first.assign(option=first["option"].map(lambda o: mapping.get(o, o)))
    before = before.groupby("option", sort=False)[["count", "share"]].sum(min_count=1)
    after = second.set_index("option")[["count", "share"]]
    rows = list(dict.fromkeys([*after.index, *before.index]))
    table = pd.DataFrame({"option": rows})
    table["count_before"] = before["count"].reindex(rows).astype("Int64").array
    table["share_before"] = before["share"].reindex(rows).astype(float).to_numpy()
    table["count_after"] = after["count"].reindex(rows).astype("Int64").array
    table["share_after"] = after["share"].reindex(rows).astype(float).to_numpy()
    table["change"] = table["share_after"] - table["share_before"]
    return table


# ---------------------------------------------------------------------------- circles


def kendall_w(rank_matrix, *, correct_ties: bool = True) -> float:
    """Kendall's coefficient of concordance W for m raters ranking n objects.

    Parameters
    ----------
    rank_matrix : array-like, shape (m, n)
        One row per rater; ties as average ranks (as ``scipy.stats.rankdata`` gives).
    correct_ties : bool, default True
        Use the tie correction: W = 12 S / (m² (n³ - n) - m Σ_j T_j), with
        T_j = Σ (t³ - t) over the groups of t tied ranks of rater j and
        S = Σ_i (R_i - R̄)² over the rank sums R_i of the objects. Without it the
        denominator is m² (n³ - n).

    Returns
    -------
    float
        W in [0, 1]; nan when the denominator is 0 (fewer than two objects, no
        raters, or, corrected, every rater tying everything).

    Raises
    ------
    ValueError
        Not a 2-D array, a missing value, or a row that is not a ranking of 1..n.
    """
    ranks = np.asarray(rank_matrix, dtype=float)
    if ranks.ndim != 2:
        raise ValueError("the rank matrix must be 2-D: raters × objects")
    if np.isnan(ranks).any():
        raise ValueError("the rank matrix has missing values")
    m, n = ranks.shape
    if not np.allclose(ranks.sum(axis=1), n * (n + 1) / 2):
        raise ValueError("each row must rank 1..n, ties as average ranks")
    denominator = m**2 * (n**3 - n)
    if correct_ties:
        ties = 0.0
        for row in ranks:
            _, t = np.unique(row, return_counts=True)
            ties += float(np.sum(t**3 - t))
        denominator -= m * ties
    if denominator <= 0:
        return math.nan
    totals = ranks.sum(axis=0)
    s = float(np.sum((totals - totals.mean()) ** 2))
    return 12 * s / denominator


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n within each row, ties as average ranks.

    The same numbers as ``scipy.stats.rankdata(values, axis=1, method="average")``
    (a test checks it), without importing scipy.stats: that takes longer than the
    rest of a notebook's imports together.
    """
    return pd.DataFrame(values).rank(axis=1, method="average").to_numpy()


def _circle_scores(
    placements: Mapping[str, Mapping[str, str]], options: list[str]
) -> tuple[list[str], np.ndarray, dict[str, dict[str, int]]]:
    known = set(options)
    counts = {o: dict.fromkeys(RINGS, 0) for o in options}
    scores = np.zeros((len(placements), len(options)))
    for i, (participant, rings) in enumerate(placements.items()):
        for option, ring in rings.items():
            if option not in known:
                raise ValueError(f"{participant}: option {option!r} is not on the cards")
            if ring not in RING_SCORES:
                raise ValueError(
                    f"{participant}: {option!r} placed in unknown ring {ring!r}"
                    f" (use {', '.join(RINGS)})"
                )
        for j, option in enumerate(options):
            ring = rings.get(option, "none")
            counts[option][ring] += 1
            scores[i, j] = RING_SCORES[ring]
    return list(placements), scores, counts


def circle_summary(
    placements: Mapping[str, Mapping[str, str]],
    options: Sequence[str],
    *,
    threshold: float = 0.75,
) -> pd.DataFrame:
    """Summarise the inner/outer circles: distributions, scores, ranks and agreement.

    Each participant's placements are read as a ranking with ties: inner scores 2,
    outer 1, unplaced ("none") 0, and a higher score is a better (lower) rank.

    Parameters
    ----------
    placements : mapping of participant -> {option: "inner" | "outer" | "none"}
        An option a participant did not place counts as "none".
    options : sequence of str
        The cards; rows come out in this order.
    threshold : float, default 0.75
        Share of participants that must choose the same ring for a consensus. Fix it
        before seeing the results. Must be above 0.5, so at most one ring reaches it.

    Returns
    -------
    DataFrame
        Columns option; inner, outer, none (counts: the full distribution);
        share_inner; mean_score; borda; order (1 = highest borda, ties share the
        lowest number); consensus (the ring at least ``threshold`` of participants
        chose, "" if none did); mean_rank (average rank, 1 = best).

        Borda points with ties: for each participant, an option scores the number of
        options with a strictly lower score plus 0.5 × the number of other options
        with the same score (equivalently n - its average rank); ``borda`` sums
        these over participants.

        ``attrs``: threshold, participants (m), kendall_w (tie-corrected) and
        kendall_w_uncorrected, both from the participants × options rank matrix.

    Raises
    ------
    ValueError
        An unknown option or ring (the message names the participant), or a
        threshold outside (0.5, 1].
    """
    if not 0.5 < threshold <= 1:
        raise ValueError(f"the consensus threshold must be above 0.5 and at most 1: {threshold}")
    options = _check_options(options)
    _, scores, counts = _circle_scores(placements, options)
    m, n = scores.shape
    ranks = _average_ranks(-scores) if m and n else scores
    table = pd.DataFrame({"option": options})
    for ring in RINGS:
        table[ring] = [counts[o][ring] for o in options]
    with np.errstate(invalid="ignore"):
        table["share_inner"] = table["inner"] / m if m else np.nan
        table["mean_score"] = scores.mean(axis=0) if m else np.nan
        table["borda"] = (n - ranks).sum(axis=0) if m else 0.0
    table["order"] = _min_order([(b,) for b in table["borda"]])

    # threshold > 0.5, so at most one ring reaches it; the tolerance keeps 3/4 >= 0.75
    table["consensus"] = [
        next((r for r in RINGS if m and counts[o][r] / m >= threshold - 1e-12), "") for o in options
    ]
    table["mean_rank"] = ranks.mean(axis=0) if m else np.nan
    table.attrs.update(
        threshold=threshold,
        participants=m,
        kendall_w=kendall_w(ranks) if m else math.nan,
        kendall_w_uncorrected=kendall_w(ranks, correct_ties=False) if m else math.nan,
    )
    return table


_INNER_RADIUS, _OUTER_RADIUS = 1.0, 2.0
_CARD_ARC = 300.0  # degrees used by the cards; the bottom 60° hold the ring labels
_CARD_GAP = 0.5  # least distance between neighbouring cards at the centre (data units)


def _card_radius(score: float, centre: float) -> float:
    """Score 2 -> ``centre``, 1.5 -> inner edge (1), 0.5 -> outer edge (2), 0 -> 2.5.

    A card thus lies in the ring whose score is nearest its mean. ``centre`` grows
    with the number of cards so that cards sharing the top score do not overlap.
    """
    score = float(score)
    if score >= 1.5:
        return _INNER_RADIUS - (score - 1.5) / 0.5 * (_INNER_RADIUS - centre)
    return 2.5 - score


def _card_centre(n: int) -> float:
    step = math.radians(_CARD_ARC / max(n, 1))
    need = _CARD_GAP / (2 * math.sin(step / 2)) if n > 1 else 0.0
    return min(max(0.5, need), 0.9)


def _card_sizes(ax, cards) -> list[tuple[float, float]]:
    """Width and height of each card (text plus its padding) in data units, as drawn."""
    renderer = ax.figure.canvas.get_renderer()
    (x0, y0), (x1, y1) = ax.transData.transform([(0, 0), (1, 1)])
    sx, sy = abs(x1 - x0) or 1.0, abs(y1 - y0) or 1.0
    sizes = []
    for card in cards:
        pad = 0.5 * card.get_fontsize() * ax.figure.dpi / 72
        box = card.get_window_extent(renderer).padded(pad)
        sizes.append((box.width / sx, box.height / sy))
    return sizes


def _spread_cards(ax, cards, radii, angles, *, step: float = 1.5, rounds: int = 400) -> None:
    """Move overlapping cards apart along their own circle (the radius keeps its meaning).

    Card sizes are measured for the Axes' current size; if the cards cannot be
    separated within the arc, the font shrinks (down to 6 pt) and spreading restarts.
    """
    if not hasattr(ax.figure.canvas, "get_renderer") or len(cards) < 2:
        return
    ax.apply_aspect()
    low, high = 270 + (360 - _CARD_ARC) / 2, 270 + (360 + _CARD_ARC) / 2
    start = list(angles)
    n = len(cards)
    # Pairs i < j in row order, as a double loop would list them.
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    while True:
        sizes = _card_sizes(ax, cards)
        # Half the summed widths and heights of each pair: the overlap test of every
        # pair at once (a Python double loop over 40 cards took most of the plot's time).
        dims = np.asarray(sizes, dtype=float)
        half_w = (dims[:, 0][:, None] + dims[:, 0][None, :]) / 2
        half_h = (dims[:, 1][:, None] + dims[:, 1][None, :]) / 2
        angles[:] = start
        for _ in range(rounds):
            xy = [
                (r * math.cos(math.radians(a)), r * math.sin(math.radians(a)))
                for r, a in zip(radii, angles, strict=True)
            ]
            x, y = np.asarray(xy, dtype=float).T
            overlap = (
                upper
                & (np.abs(x[:, None] - x[None, :]) < half_w)
                & (np.abs(y[:, None] - y[None, :]) < half_h)
            )
            pairs = list(zip(*np.nonzero(overlap), strict=True))
            if not pairs:
                break
            for i, j in pairs:
                sign = 1 if angles[i] <= angles[j] else -1
                angles[i] = min(max(angles[i] - sign * step, low), high)
                angles[j] = min(max(angles[j] + sign * step, low), high)
        for card, (x, y) in zip(cards, xy, strict=True):
            card.set_position((x, y))
        size = cards[0].get_fontsize()
        if not pairs or size <= 6:
            return
        for card in cards:
            card.set_fontsize(max(6, size - 1))


def _keep_in_rings(ax, cards) -> None:
    """Pull each card along its ray until no ring border crosses it, where there is room.

    A card whose centre lies near a ring's border would read as in both rings; it moves
    towards the middle of the band its centre is in, unless that would make it cover
    another card (crowded circles keep :func:`_spread_cards`' separation first).
    """
    if not cards or not hasattr(ax.figure.canvas, "get_renderer"):
        return
    bands = ((0.0, _INNER_RADIUS), (_INNER_RADIUS, _OUTER_RADIUS), (_OUTER_RADIUS, 3.0))
    sizes = _card_sizes(ax, cards)
    places = [card.get_position() for card in cards]

    def clear_of_others(k, x, y) -> bool:
        w, h = sizes[k]
        return all(
            abs(x - ox) >= (w + sizes[j][0]) / 2 or abs(y - oy) >= (h + sizes[j][1]) / 2
            for j, (ox, oy) in enumerate(places)
            if j != k
        )

    for k, (w, h) in enumerate(sizes):
        x, y = places[k]
        r = math.hypot(x, y)
        if r == 0:
            continue
        low, high = next(((a, b) for a, b in bands if r < b), bands[-1])
        middle = (low + high) / 2 if low > 0 else 0.0
        for step in range(41):
            t = r + (middle - r) * step / 40
            px, py = t * x / r, t * y / r
            near = math.hypot(max(abs(px) - w / 2, 0.0), max(abs(py) - h / 2, 0.0))
            far = math.hypot(abs(px) + w / 2, abs(py) + h / 2)
            if near >= low and far <= high:
                if clear_of_others(k, px, py):
                    places[k] = (px, py)
                    cards[k].set_position(places[k])
                break


def plot_circles(summary: pd.DataFrame, ax=None):
    """The circles as a picture: each option a card placed by its mean score.

    A card sits nearer the centre the higher its mean score (2 at the centre, 1 in
    the outer ring, 0 outside it). Cards are spread around the circle, leaving the
    bottom free for the ring labels, and moved apart along their circle where they
    would overlap at the Axes' size when drawn (a much smaller figure later can bring
    them together again).

    Parameters
    ----------
    summary : DataFrame from :func:`circle_summary`
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    for radius, colour in ((_OUTER_RADIUS, "#ebf8ff"), (_INNER_RADIUS, "#bee3f8")):
        ax.add_patch(Circle((0, 0), radius, facecolor=colour, edgecolor="#2c5282", lw=1))
    label = {"ha": "center", "va": "bottom", "fontsize": 8, "color": "#2c5282"}
    ax.text(0, -_INNER_RADIUS + 0.06, "inner circle", **label)
    ax.text(0, -_OUTER_RADIUS + 0.06, "outer circle", **label)
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_aspect("equal")
    ax.axis("off")
    # cards spread counter-clockwise over 300° from the lower right, leaving the bottom free
    n = len(summary)
    centre = _card_centre(n)
    cards, radii, angles = [], [], []
    for i, row in enumerate(summary.itertuples()):
        angle = 270 + (360 - _CARD_ARC) / 2 + _CARD_ARC * (i + 0.5) / max(n, 1)
        radius = _card_radius(row.mean_score, centre) if pd.notna(row.mean_score) else 2.5
        a = math.radians(angle)
        card = ax.text(
            radius * math.cos(a),
            radius * math.sin(a),
            f"{wrap_label(row.option, 16)}\n{row.mean_score:.1f}",
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "#4a5568"},
        )
        cards.append(card)
        radii.append(radius)
        angles.append(angle)
    _spread_cards(ax, cards, radii, angles)
    _keep_in_rings(ax, cards)
    w = summary.attrs.get("kendall_w")
    subtitle = "" if w is None or pd.isna(w) else f" (Kendall's W = {w:.2f})"
    ax.set_title(f"Circles by mean score{subtitle}")
    return ax


def plot_ring_counts(summary: pd.DataFrame, ax=None):
    """Stacked horizontal bars: how many participants put each option in each ring.

    Parameters
    ----------
    summary : DataFrame from :func:`circle_summary`
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 1.0 + 0.45 * len(summary)))
    y = np.arange(len(summary))
    left = np.zeros(len(summary))
    for ring in RINGS:
        values = summary[ring].to_numpy(dtype=float)
        ax.barh(y, values, left=left, color=RING_COLOURS[ring], edgecolor="white", label=ring)
        left += values
    ax.set_yticks(y, [wrap_label(o) for o in summary["option"]])
    ax.invert_yaxis()
    ax.set_xlabel("participants")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_title("Circles: placements per card")
    return ax


# ---------------------------------------------------------------------------- spectra


def spectra_table(positions: Iterable[Mapping]) -> pd.DataFrame:
    """Positions of partnerships on the spectra of tensions, as a table.

    Parameters
    ----------
    positions : iterable of mappings
        Each with partnership, tension, when (a point in time, e.g. "2018") and
        position (0 = pole A .. 100 = pole B).

    Returns
    -------
    DataFrame
        Columns partnership, tension, when, position, in input order.

    Raises
    ------
    ValueError
        A missing key, a position that is not a number in 0..100, or the same
        partnership, tension and time twice.
    """
    rows = []
    seen = set()
    for i, item in enumerate(positions, start=1):
        missing = [k for k in SPECTRA_KEYS if k not in item]
        if missing:
            raise ValueError(f"position {i}: missing {', '.join(missing)}")
        where = f"{item['partnership']} on {item['tension']} at {item['when']}"
        value = item["position"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: position must be a number, not {value!r}")
        if not 0 <= value <= 100:
            raise ValueError(f"{where}: position {value} is outside 0..100")
        key = (item["partnership"], item["tension"], item["when"])
        if key in seen:
            raise ValueError(f"{where}: given twice")
        seen.add(key)
        rows.append({k: item[k] for k in SPECTRA_KEYS})
    return pd.DataFrame(rows, columns=list(SPECTRA_KEYS))


def _time_order(values) -> list:
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique)
    except TypeError:
        return unique


def plot_spectra(
    table: pd.DataFrame,
    ax=None,
    *,
    tension: str | None = None,
    poles: Mapping[str, tuple[str, str]] | None = None,
):
    """Partnerships as dots on the 0..100 line between the poles of each tension.

    One row per tension (or only ``tension``). Each partnership has its own colour
    and a small vertical offset; the earlier time is a hollow dot, the latest a
    filled one, and an arrow runs from each time point to the next.

    Parameters
    ----------
    table : DataFrame from :func:`spectra_table`
    ax : matplotlib Axes, optional
    tension : str, optional
        Draw only this tension.
    poles : mapping of tension -> (pole_a, pole_b), optional
        Labels for the two ends of each line (pole A at 0, pole B at 100).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``tension`` has no positions in the table.
    """
    poles = dict(poles or {})
    if tension is not None:
        table = table[table["tension"] == tension]
        if table.empty:
            raise ValueError(f"no positions for tension {tension!r}")
    tensions = list(dict.fromkeys(table["tension"]))
    partnerships = list(dict.fromkeys(table["partnership"]))
    times = _time_order(table["when"])
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.8 + 1.1 * max(len(tensions), 1)))
    colours = dict(zip(partnerships, plt.get_cmap("tab10").colors * 10, strict=False))
    spread = 0.5
    offsets = {
        p: (spread * (j / (len(partnerships) - 1) - 0.5) if len(partnerships) > 1 else 0.0)
        for j, p in enumerate(partnerships)
    }
    for row, code in enumerate(tensions):
        ax.plot([0, 100], [row, row], color="#a0aec0", lw=1, zorder=1)
        if code in poles:
            pole_a, pole_b = poles[code]
            above = row - spread / 2 - 0.12
            pole = {"va": "bottom", "fontsize": 8, "color": "#4a5568"}
            ax.text(0, above, wrap_label(pole_a, 40), ha="left", **pole)
            ax.text(100, above, wrap_label(pole_b, 40), ha="right", **pole)
        here = table[table["tension"] == code]
        for partnership, group in here.groupby("partnership", sort=False):
            y = row + offsets[partnership]
            colour = colours[partnership]
            points = sorted(
                zip(group["when"], group["position"], strict=True),
                key=lambda item: times.index(item[0]),
            )
            for k, (_, x) in enumerate(points):
                latest = k == len(points) - 1
                ax.plot(
                    x,
                    y,
                    "o",
                    ms=7,
                    color=colour,
                    markerfacecolor=colour if latest else "white",
                    zorder=3,
                )
            for (_, x0), (_, x1) in zip(points, points[1:], strict=False):
                ax.add_patch(
                    FancyArrowPatch(
                        (x0, y),
                        (x1, y),
                        arrowstyle="-|>",
                        mutation_scale=10,
                        color=colour,
                        shrinkA=4,
                        shrinkB=4,
                        zorder=2,
                    )
                )
    ax.set_xlim(-2, 102)
    ax.set_ylim(len(tensions) - 0.5, -0.5 - spread / 2 - 0.2)
    ax.set_yticks(range(len(tensions)), [wrap_label(t, 20) for t in tensions])
    ax.set_xlabel("position (0 = pole A, 100 = pole B)")
    handles = [Line2D([], [], ls="", marker="o", color=colours[p], label=p) for p in partnerships]
    if len(times) > 1:
        handles += [
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                color="#4a5568",
                markerfacecolor="white",
                label=f"{times[0]}",
            ),
            Line2D([], [], ls="", marker="o", color="#4a5568", label=f"{times[-1]}"),
        ]
    if handles:
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False
        )
    ax.set_title(
        "Spectra: where each partnership sits" if tension is None else f"Spectrum {tension}"
    )
    return ax
