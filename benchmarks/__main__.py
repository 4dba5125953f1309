"""``python -m benchmarks [--quick] [--only NAME ...] [--study DIR] [--profile]``.

Builds the large synthetic study (200 transcripts of ~8,000 words, 30 researchers,
20,000 notes; ``--quick``: 20 transcripts and 2,000 notes), runs every benchmark, prints
each figure with its floor, its ratio and PASS/MISS against its target, and writes
``benchmarks/results/latest.json``.

``--only scale [--scale-sizes N ...]`` (opt-in, never in the default run: hours at 5,000
transcripts) builds the study on PostgreSQL at growing sizes (``bench_scale``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks._util import FULL, QUICK, RESULTS, Context, Figure, machine, timed

#: In the order they run: the subprocess and I/O ones first, the study-mutating last.
BENCHES = (
    "import",
    "cli",
    "ingest",
    "search",
    "compare",
    "plots",
    "transcript_view",
    "exchange",
    "memory",
    "pseudonyms",
    "notebooks",
    "decisions",
    "scale",
)
#: Run only when named in ``--only`` (hours at its full sizes).
OPT_IN = {"scale"}
NEEDS_STUDY = {
    "compare",
    "transcript_view",
    "exchange",
    "memory",
    "plots",
    "notebooks",
    "cli",
    "pseudonyms",
}


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return ""
    if unit == "x":
        return f"{x:.3g}x" if x < 100 else f"{x:,.0f}x"
    if abs(x) >= 100:
        return f"{x:,.0f} {unit}".strip()
    return f"{x:.3g} {unit}".strip()


def table(figures: list[Figure]) -> str:
    """The figures as an aligned text table."""
    head = ("benchmark", "figure", "value", "floor", "ratio", "target", "result")
    rows = [head]
    for f in figures:
        result = {True: "PASS", False: "MISS", None: ""}[f.passed]
        rows.append(
            (
                f.bench,
                f.name,
                _fmt(f.value, f.unit),
                _fmt(f.floor, f.unit),
                _fmt(f.ratio, "x"),
                f.target,
                result,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {2, 3, 4}
    lines = []
    for n, r in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="20 transcripts and 2,000 notes")
    p.add_argument("--only", nargs="+", choices=BENCHES, help="run only these benchmarks")
    p.add_argument(
        "--study",
        type=Path,
        help="keep the large study in DIR (reused if it is there already, else built there)",
    )
    p.add_argument("--transcripts", type=int, help="override the number of transcripts")
    p.add_argument("--notes", type=int, help="override the number of notes")
    p.add_argument("--researchers", type=int, help="override the size of the team")
    p.add_argument(
        "--search-sizes",
        type=int,
        nargs="+",
        metavar="N",
        help="transcripts at which search is measured (default: 50 200 800)",
    )
    p.add_argument(
        "--scale-sizes",
        type=int,
        nargs="+",
        metavar="N",
        help="transcripts of the studies of --only scale (default: 50 200 800 2000 5000)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--profile",
        action="store_true",
        help="also write cProfile summaries to benchmarks/results/profile-*.txt",
    )
    p.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="results file")
    p.add_argument("--strict", action="store_true", help="exit with 1 when a target is missed")
    return p


def _save(path: Path, ctx: Context, started: str, info: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "started": started,
        "quick": ctx.quick,
        "sizes": ctx.sizes,
        "seed": ctx.seed,
        "machine": info,
        "load_average_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "notes": ctx.notes,
        "figures": [f.as_dict() for f in ctx.figures],
    }
    path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    sizes = dict(QUICK if args.quick else FULL)
    for key in ("transcripts", "notes", "researchers"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    chosen = [b for b in BENCHES if (b in args.only if args.only else b not in OPT_IN)]
    started = datetime.now(UTC).isoformat(timespec="seconds")
    info = machine()
    workdir = Path(tempfile.mkdtemp(prefix="coprod-bench-"))
    ctx = Context(
        sizes=sizes,
        seed=args.seed,
        quick=args.quick,
        workdir=workdir,
        profile=args.profile,
        search_sizes=tuple(args.search_sizes) if args.search_sizes else None,
        scale_sizes=tuple(args.scale_sizes) if args.scale_sizes else None,
    )
    ctx.checkpoint = lambda: _save(args.json, ctx, started, info)
    print(
        f"coprod_nb benchmarks ({'quick' if args.quick else 'full'}): {sizes}, seed {args.seed}\n"
        f"machine: {info['cpus']} CPUs, {info['memory_gb']} GB, Python {info['python']}, "
        f"load average {info['load_average']}",
        flush=True,
    )
    try:
        for name in chosen:
            if name in NEEDS_STUDY and ctx.study_dir is None:
                _study(ctx, args.study)
            module = importlib.import_module(f"benchmarks.bench_{name}")
            print(f"\n== {name}", flush=True)
            start = time.perf_counter()
            figures = module.run(ctx)
            print(table(figures), flush=True)
            print(f"({time.perf_counter() - start:.0f} s)", flush=True)
            _save(args.json, ctx, started, info)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n== summary")
    print(table(ctx.figures))
    missed = [f for f in ctx.figures if f.passed is False]
    met = [f for f in ctx.figures if f.passed]
    print(f"\n{len(met)} target(s) met, {len(missed)} missed; results in {args.json}")
    return 1 if missed and args.strict else 0


def _study(ctx: Context, keep: Path | None) -> None:
    """Build the large study (or reuse the one kept in ``keep``); time the build."""
    from coprod_nb.seed.synth import build_synthetic_study

    target = keep or ctx.workdir / "study"
    if keep is not None and (keep / "study.db").exists():
        print(f"\n== reusing the study in {keep}", flush=True)
        ctx.study_dir = keep
        return
    print(f"\n== building the synthetic study in {target}", flush=True)
    seconds, store = timed(
        lambda: build_synthetic_study(
            target, seed=ctx.seed, progress=sys.stderr.isatty(), **ctx.sizes
        )
    )
    store.close()
    ctx.study_dir = target
    ctx.notes["build_seconds"] = seconds
    print(f"built in {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
