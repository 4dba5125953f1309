"""Applying a decision log: ``Store.record_decisions`` with 1,000 and 10,000 decisions.

The log is a fixed random mix of every kind (adds, renames, rewords, sub-themes, keeps,
folds, merges, splits, drops) over the demo's frozen framework, each decision valid
where it stands (:func:`decision_log`). It is applied to a fresh copy of the demo study
after its joint meeting, with a workshop recorded. Floor: plain inserts of the same
decision and event rows into the same tables (``sqlite3`` ``executemany``, one
transaction), i.e. the writing without any checking. Target: 1,000 decisions in about
a second, and the time per decision for 10,000 no worse than for 1,000 (linear).
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path

from benchmarks._util import Context, Figure, profile_to_file, timed

SIZES = (1_000, 10_000)
TARGET_SECONDS_1000 = 1.5
#: Seconds per decision at 10,000 over seconds per decision at 1,000: 1 is linear.
TARGET_GROWTH = 1.5


def decision_log(framework, n: int, seed: int = 0, prefix: str = "D") -> list:
    """``n`` decisions of every kind, each valid on the framework the earlier ones leave.

    Parameters
    ----------
    framework : Framework
        Where the log starts (the workshop's base version).
    n : int
        How many decisions.
    seed : int
        For the random choices; the same seed gives the same log.
    prefix : str
        Of the ids (``D1``, ``D2``, ... by default).

    Returns
    -------
    list of Decision
        With ids ``<prefix>1``... and a rationale each.
    """
    from coprod_nb.domain.decisions import Decision, apply
    from coprod_nb.domain.framework import Tension

    rng = random.Random(seed)
    current = framework
    out: list[Decision] = []
    fresh = iter(f"X{i}" for i in range(1, 10 * n + 10))
    while len(out) < n:
        codes = current.codes
        i = len(out) + 1
        common = {"ref": f"{prefix}{i}", "rationale": f"reason {i}", "proposer": "bench"}
        # Keep the framework between about 4 and 30 tensions: removals when it grows.
        weights = {
            "add": 3 if len(codes) < 30 else 0,
            "rename": 3,
            "reword": 2,
            "subthemes": 2,
            "keep": 2,
            "fold": 1 if len(codes) > 4 else 0,
            "merge": 1 if len(codes) > 4 else 0,
            "split": 1 if len(codes) < 30 else 0,
            "drop": 1 if len(codes) > 4 else 0,
        }
        kind = rng.choices(list(weights), weights=list(weights.values()))[0]
        target = rng.choice(codes)
        if kind == "add":
            d = Decision(kind, code=next(fresh), name=f"added {i}", pole_a="a", pole_b="b")
        elif kind == "rename":
            d = Decision(kind, targets=(target,), name=f"name {i}")
        elif kind == "reword":
            d = Decision(kind, targets=(target,), pole_a=f"pole {i}")
        elif kind == "subthemes":
            d = Decision(kind, targets=(target,), subthemes=(f"s{i}", f"t{i}"))
        elif kind in ("keep", "drop"):
            d = Decision(kind, targets=(target,))
        elif kind == "fold":
            into = rng.choice([c for c in codes if c != target])
            d = Decision(kind, targets=(target,), into=into)
        elif kind == "merge":
            targets = tuple(rng.sample(codes, 2))
            d = Decision(kind, targets=targets, code=next(fresh), name=f"merged {i}")
            d = replace(d, pole_a="a", pole_b="b")
        else:
            parts = tuple(Tension(next(fresh), f"part {i}{x}", "a", "b") for x in "ab")
            d = Decision(kind, targets=(target,), parts=parts)
        d = replace(d, **common)
        current = apply(current, d)
        out.append(d)
    return out


def _fresh_workshop(template: Path, dest: Path):
    from coprod_nb.storage import Store

    shutil.copytree(template, dest)
    store = Store(dest, actor="bench")
    store.actor = next(r for r in store.researchers() if r.lead).login
    ws = store.add_workshop(date(2022, 5, 4), base_version=1)
    return store, ws


def _plain_inserts(db: Path, rows: list[tuple], events: list[tuple]) -> float:
    """Seconds to insert the rows without any checking: the floor."""
    con = sqlite3.connect(db, isolation_level=None)
    try:
        seconds, _ = timed(
            lambda: (
                con.execute("BEGIN IMMEDIATE"),
                con.executemany(
                    "INSERT INTO decision (workshop_id, seq, ref, kind, payload, recorded_by,"
                    " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                ),
                con.executemany(
                    "INSERT INTO event (at, actor, action, object_type, object_id, after,"
                    " detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    events,
                ),
                con.execute("COMMIT"),
            )
        )
    finally:
        con.close()
    return seconds


def run(ctx: Context) -> list[Figure]:
    from coprod_nb.seed.demo import build_demo

    template = ctx.workdir / "decisions-template"
    build_demo(template, stage="joint").close()
    figures: list[Figure] = []
    per_decision: dict[int, float] = {}
    for n in SIZES:
        store, ws = _fresh_workshop(template, ctx.workdir / f"decisions-{n}")
        log = decision_log(store.framework(1), n, seed=ctx.seed)
        seconds, _ = timed(lambda s=store, w=ws.id, log=log: s.record_decisions(w, log))
        final = store.current_framework(ws.id).codes
        store.close()
        if n == SIZES[-1]:  # the largest: where growth would show
            again, w = _fresh_workshop(template, ctx.workdir / f"decisions-profile-{n}")
            profile_to_file(
                ctx, "decisions", lambda s=again, w=w.id, log=log: s.record_decisions(w, log)
            )
            again.close()
        # The floor: the same rows written by plain inserts into another fresh copy.
        floor_store, floor_ws = _fresh_workshop(template, ctx.workdir / f"decisions-floor-{n}")
        floor_store.close()
        rows = [
            (floor_ws.id, i, d.ref, d.kind, json.dumps(d.to_dict()), "bench", "2022-05-04")
            for i, d in enumerate(log, 1)
        ]
        events = [
            ("2022-05-04", "bench", "decide", "decision", i, json.dumps(d.to_dict()), "")
            for i, d in enumerate(log, 1)
        ]
        floor = _plain_inserts(ctx.workdir / f"decisions-floor-{n}" / "study.db", rows, events)
        per_decision[n] = seconds / n
        figures.append(
            Figure(
                "decisions",
                f"apply a log of {n:,} decisions",
                seconds,
                "s",
                floor,
                "plain inserts of the same rows",
                "value" if n == SIZES[0] else "",
                TARGET_SECONDS_1000 if n == SIZES[0] else None,
                detail={"tensions_after": len(final)},
            )
        )
    growth = per_decision[SIZES[1]] / per_decision[SIZES[0]]
    figures.append(
        Figure(
            "decisions",
            f"time per decision, {SIZES[1]:,} over {SIZES[0]:,} (1 = linear)",
            growth,
            "x",
            None,
            "",
            "value",
            TARGET_GROWTH,
        )
    )
    ctx.add(*figures)
    return figures
