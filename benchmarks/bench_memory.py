"""Peak memory of ingest + search + compare on the large study, in a fresh process.

The child process imports the corpus into a fresh study (as ``bench_ingest``), runs every
search query of ``bench_search`` on the large study, then ``compare_counts`` +
``plot_compare``; it reports ``ru_maxrss`` (the peak resident set) after each phase.
Floor, for information: the peak of a process that only imports pandas, ipywidgets,
matplotlib and SQLAlchemy.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._util import Context, Figure

TARGET_MB = 500.0
FLOOR_CODE = (
    "import resource, pandas, ipywidgets, matplotlib, sqlalchemy; "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _hwm_mb() -> float | None:
    """VmHWM, the kernel's own peak RSS of this process (a cross-check; Linux only)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _spawn(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd`` as a grandchild, through a small shell.

    On Linux ``ru_maxrss`` survives ``execve``: a process forked straight from this
    (large) one would report this one's size as its own peak. A shell that forks the
    command (``; exit $?`` stops it from exec-ing it in place) gives it a clean count.
    """
    return subprocess.run(
        ["/bin/sh", "-c", '"$@"; exit $?', "sh", *cmd],
        check=True,
        capture_output=True,
        text=True,
        **kwargs,
    )


def child(study: Path, corpus: Path, sizes: dict, seed: int) -> dict:
    """Run the three phases in this process; the peak RSS after each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks.bench_ingest import fresh_study
    from benchmarks.bench_search import QUERIES
    from coprod_nb.analysis import compare_counts, plot_compare
    from coprod_nb.ingest import import_transcripts
    from coprod_nb.storage import Store

    peaks = {"imports": _peak_mb()}
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Context(sizes=sizes, seed=seed, quick=False, workdir=Path(tmp))
        store, _ = fresh_study(Path(tmp) / "study", ctx, ctx.rng())
        import_transcripts(store, [corpus], progress=False)
        store.close()
        del store
    peaks["ingest"] = _peak_mb()
    store = Store(study, actor="bench")
    for query in QUERIES:
        store.search(query)
    peaks["search"] = _peak_mb()
    lead_row = next(r for r in store.researchers() if r.lead)
    store.actor = lead_row.login or lead_row.name  # the viewer must be the person working
    lead = lead_row.name
    ax = plot_compare(compare_counts(store, lead))
    plt.close(ax.figure)
    peaks["compare"] = _peak_mb()
    peaks["vmhwm"] = _hwm_mb()
    store.close()
    return peaks


def run(ctx: Context) -> list[Figure]:
    from benchmarks.bench_ingest import ensure_corpus

    ensure_corpus(ctx)
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_memory",
        str(ctx.study_dir),
        str(ctx.corpus),
        "--sizes",
        json.dumps(ctx.sizes),
        "--seed",
        str(ctx.seed),
    ]
    root = Path(__file__).resolve().parents[1]
    out = _spawn(cmd, cwd=root)
    peaks = json.loads(out.stdout.strip().splitlines()[-1])
    floor = _spawn([sys.executable, "-c", FLOOR_CODE])
    floor_mb = int(floor.stdout.strip()) / 1024
    figures = [
        Figure(
            "memory",
            "peak RSS, ingest + search + compare",
            peaks["compare"],
            "MB",
            floor_mb,
            "import pandas, ipywidgets, matplotlib, sqlalchemy",
            "value",
            TARGET_MB,
            detail=peaks,
        ),
    ]
    for phase in ("imports", "ingest", "search"):
        figures.append(
            Figure("memory", f"  peak after {phase} (info)", peaks[phase], "MB", floor_mb, "same")
        )
    if peaks.get("vmhwm"):
        figures.append(
            Figure("memory", "  VmHWM cross-check (info)", peaks["vmhwm"], "MB", floor_mb, "same")
        )
    ctx.add(*figures)
    return figures


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("study", type=Path)
    p.add_argument("corpus", type=Path)
    p.add_argument("--sizes", type=json.loads, required=True)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(json.dumps(child(a.study, a.corpus, a.sizes, a.seed)))
