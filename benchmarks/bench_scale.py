"""Beyond one laptop: the synthetic study at growing sizes on PostgreSQL (opt-in, long).

``python -m benchmarks --only scale --scale-sizes 50 200 800 2000 5000``. Not part of the
default run: at 5,000 transcripts (about 40 million words) it takes hours on a small
machine.

On a private PostgreSQL server (``benchmarks._pg``) a fresh database is built at each
size with ``build_synthetic_study`` (``seed.synth``, ~8,000 words a transcript, the
run's seed). What grows with the study, and what does not:

- notes: 100 a transcript (the 200-transcript study's 20,000), at most the run's
  ``--notes`` (default 20,000): the builder writes notes one by one through the public
  API (about 20 ms each on PostgreSQL here), so 500,000 notes at 5,000 transcripts would
  take hours more than everything else together; the note-heavy views are measured at
  200 transcripts by ``bench_notebooks``;
- the team: 30 researchers for 200 transcripts, between 3 and :data:`MAX_TEAM`;
- participants, partnerships and tensions stay those of the large study (30, 20, 40):
  a co-production study grows by its transcripts, not by its partnerships.

At each size: the import of the transcripts into the empty study (``timings`` of the
builder, the folder import in one transaction); search, with ``bench_search``'s query mix
and timing (median of the per-query medians; 95th percentile over every call); then the
team's roles are made (``storage.team.apply_team_roles``) and the working notebooks 01 to
04 run as a team member runs them on a server: ``COPROD_STUDY`` the study folder,
``COPROD_DB`` the database URL with the lead's own login role (row-level security
applies), ``COPROD_USER`` the lead. Each notebook runs in a fresh kernel with
``bench_notebooks.execute`` (cell by cell, figures rendered, kernel peak memory); floor:
the import-only notebook, opening the same database as the same role and counting its
turns. The database is dropped after its size is measured (disk).

Targets (issue 18): search median 20 ms; each notebook within 2x its floor, kernel peak
under 300 MB. Everything else is information.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from benchmarks._util import Context, Figure

SIZES = (50, 200, 800, 2000, 5000)
QUICK_SIZES = (20, 50)
NOTES_PER_TRANSCRIPT = 100
MAX_TEAM = 60
STEPS = ("01_", "02_", "03_", "04_")
TARGET_PG_MEDIAN_MS = 20.0

#: The floor's second cell on a server: the same database, opened as the same role.
PG_FLOOR_CELL = (
    "import os, psycopg\n"
    "con = psycopg.connect(os.environ['COPROD_DB'].replace('postgresql+psycopg://', "
    "'postgresql://'))\n"
    "con.execute('SELECT count(*) FROM turn').fetchone()"
)


def study_sizes(n: int, base: dict) -> dict:
    """The builder's counts at ``n`` transcripts (see the module's docstring)."""
    return {
        **base,
        "transcripts": n,
        "notes": min(n * NOTES_PER_TRANSCRIPT, base["notes"]),
        "researchers": max(3, min(MAX_TEAM, round(n * 30 / 200))),
    }


def _as_role(url: str, login: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=login).render_as_string(hide_password=False)


def _counts(store) -> tuple[int, int]:
    """(turns, words) of the study, counted by the database (words: runs of spaces + 1)."""
    from sqlalchemy import text

    sql = (
        "SELECT count(*), coalesce(sum(length(text) - length(replace(text, ' ', '')) + 1), 0) "
        "FROM turn WHERE text <> ''"
    )
    with store.session(write=False) as s:
        turns, words = s.execute(text(sql)).one()
    return int(turns), int(words)


def _run_notebooks(folder: Path, url: str, login: str, steps, repeat: int) -> tuple[dict, list]:
    """``bench_notebooks``' rounds on the server's study, as the lead's own role."""
    from benchmarks.bench_notebooks import FLOOR_CELLS, NOTEBOOKS, floor_notebook, run_rounds

    paths = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if p.name.startswith(tuple(steps)))
    env = {"COPROD_STUDY": str(folder), "COPROD_DB": _as_role(url, login), "COPROD_USER": login}
    # the floor's database cell opens the same database, as the same role
    floor = floor_notebook((FLOOR_CELLS[0], PG_FLOOR_CELL))
    return run_rounds(paths, env, repeat, floor=floor)


def measure_size(ctx: Context, server: str, n: int, steps=STEPS) -> tuple[list[Figure], dict]:
    """Build the study of ``n`` transcripts on ``server``, measure it; (figures, summary)."""
    from benchmarks._pg import new_database
    from benchmarks.bench_notebooks import TARGET_RATIO, floor_stats, kernel_figures
    from benchmarks.bench_search import QUERIES, _summary, _time_queries
    from coprod_nb.seed.synth import build_synthetic_study
    from coprod_nb.storage.team import apply_team_roles

    sizes = study_sizes(n, ctx.sizes)
    url = new_database(server)
    folder = ctx.workdir / f"scale-{n}"
    phases: dict = {}
    start, cpu = time.perf_counter(), time.process_time()
    store = build_synthetic_study(
        folder, url=url, seed=ctx.seed, progress=False, timings=phases, **sizes
    )
    phases.update(build_s=time.perf_counter() - start, build_cpu_s=time.process_time() - cpu)
    try:
        turns, words = _counts(store)
        per_query = _time_queries(store)
        med, p95 = _summary(per_query)
        apply_team_roles(store)
        lead = next(r for r in store.researchers() if r.lead)
    finally:
        store.close()
    print(
        f"  {n} transcripts ({turns:,} turns, {words / 1e6:.1f} M words): built in "
        f"{phases['build_s']:.0f} s (import {phases['import_s']:.1f} s, "
        f"{phases['import_cpu_s']:.1f} s CPU here); search median "
        f"{med:.1f} ms, p95 {p95:.1f} ms",
        flush=True,
    )
    runs, floors = _run_notebooks(folder, url, lead.login, steps, 1 if ctx.quick else 3)
    _drop(server, url)
    floor = floor_stats(floors)
    floor_s, floor_cell, floor_mb = floor["seconds"], floor["slowest_cell"], floor["peak_mb"]
    label = f"{n:,} transcripts"
    summary = {
        "transcripts": n,
        "turns": turns,
        "words": words,
        "sizes": sizes,
        "phases_s": phases,
        "search_median_ms": med,
        "search_p95_ms": p95,
        "floor_s": floor_s,
        "floor_mb": floor_mb,
        "notebooks": {},
    }
    figures = [
        Figure(
            "scale",
            f"{label}: import ({turns:,} turns, {words / 1e6:.1f} M words) (info)",
            phases["import_s"],
            "s",
            detail={"transcripts": n, "phases_s": phases, "sizes": sizes},
        ),
        Figure(
            "scale",
            f"{label}: search median of {len(QUERIES)} queries",
            med,
            "ms",
            target_on="value",
            limit=TARGET_PG_MEDIAN_MS,
            detail={"transcripts": n, "queries": per_query},
        ),
        Figure("scale", f"{label}: search 95th percentile (info)", p95, "ms"),
    ]
    for name, result in runs.items():
        total = sum(s for _, s in result["cells"])
        slowest_index, slowest = max(result["cells"], key=lambda c: c[1])
        summary["notebooks"][name] = {
            "seconds": total,
            "ratio": total / floor_s if floor_s else None,
            "slowest_cell": [slowest_index, slowest],
            "peak_mb": result["peak_mb"],
            "errors": result["errors"],
        }
        figures += [
            Figure(
                "scale",
                f"{label}: {name}, every cell",
                total,
                "s",
                floor_s,
                "import-only notebook on the same database",
                "ratio",
                TARGET_RATIO,
                note="; ".join(result["errors"]),
                detail={"transcripts": n, "cells_s": result["cells"], "errors": result["errors"]},
            ),
            Figure(
                "scale",
                f"  slowest cell (#{slowest_index}) (info)",
                slowest,
                "s",
                floor_cell,
                "import-only notebook's slowest cell",
            ),
            *kernel_figures("scale", result, floor_mb),
        ]
        print(
            f"    {name}: {total:.1f} s ({total / floor_s:.2f}x the floor's {floor_s:.1f} s), "
            f"slowest cell #{slowest_index} {slowest:.1f} s, peak {result['peak_mb'] or 0:.0f} MB"
            + (f", errors: {'; '.join(result['errors'])}" if result["errors"] else ""),
            flush=True,
        )
    return figures, summary


def _drop(server: str, url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    conninfo = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(ctx: Context) -> list[Figure]:
    from benchmarks._pg import private_postgres

    sizes = tuple(ctx.scale_sizes or (QUICK_SIZES if ctx.quick else SIZES))
    figures: list[Figure] = []
    with private_postgres() as server:
        if server is None:
            ctx.notes["scale"] = "PostgreSQL server binaries not found: not measured"
            return figures
        for n in sizes:
            found, summary = measure_size(ctx, server, n)
            figures += found
            ctx.add(*found)
            ctx.notes.setdefault("scale", {})[str(n)] = summary
            ctx.notes["scale_load_average"] = list(os.getloadavg())
            if ctx.checkpoint is not None:  # a long run keeps what it has measured
                ctx.checkpoint()
    return figures
