"""The working notebooks (00 to 06) run on the large study, cell by cell, as a user runs them.

Each notebook runs in a fresh kernel (nbclient) with ``COPROD_STUDY`` set to a copy of
the large study and ``COPROD_USER`` its lead, every code cell timed on its own; inline
figures are rendered by the kernel before a cell's reply arrives, so drawing is in the
cell's time. Kernel start-up is outside every figure (it is the same for any notebook).
After the last cell the kernel reports its own peak resident memory (``VmHWM``).

Floor: the import-only notebook, run the same way on the same study: ``%matplotlib
inline``, pandas, matplotlib.pyplot, ipywidgets and SQLAlchemy (its ORM) imported, the study's
database opened and its turns counted. Targets: each notebook within 2x the floor, no
cell over 1 s, kernel peak memory under 300 MB.

"No cell over 1 s" is judged on every cell but the first as it stands. The first cell
of every notebook imports pandas, matplotlib (``%matplotlib inline``), ipywidgets and
SQLAlchemy, which alone take about 0.7-1.2 s in a fresh kernel here (the floor's own
first cell), so no code of ours could bring it under 1 s. It is judged by what it adds:
its time minus the floor's first cell (median of the floor's runs) under 1 s. Its raw
time is still printed beside the floor's first cell, for information, and the import
line itself has its own target (``bench_import``: within 1.1x its dependencies).

The kernels write and read bytecode as a user's kernel does (``PYTHONDONTWRITEBYTECODE``
is dropped for them, and the package is byte-compiled before the runs): with it set,
every module edited since its ``.pyc`` was written would be compiled again in every
kernel, a cost of the benchmark only (the floor's libraries are never edited).

The floor and every notebook run three times (once with ``--quick``), in rounds: the
floor, then each notebook in turn, so that a burst of load on this shared machine falls on
both sides of a ratio. Each notebook's figures come from its run of median whole time
(its cells add up to it); its peak memory is the highest of its runs. The floor imports
SQLAlchemy's ORM, as ``bench_import``'s floor does: the store is ORM-mapped, and
``import sqlalchemy`` alone would charge SQLAlchemy's own ORM to the package.

``COPROD_BENCH_NOTEBOOKS`` (comma-separated name prefixes, e.g. ``02`` or ``00,02``)
runs only those notebooks (the floor is always run), to measure one notebook's change.
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._util import Context, Figure

TARGET_RATIO = 2.0
TARGET_CELL_S = 1.0
TARGET_MB = 300.0
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STEPS = ("00_", "01_", "02_", "03_", "04_", "05_", "06_")

FLOOR_CELLS = [
    "%matplotlib inline\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"
    "import ipywidgets\nimport sqlalchemy.orm",
    "import os, sqlite3\n"
    "con = sqlite3.connect(os.path.join(os.environ['COPROD_STUDY'], 'study.db'))\n"
    "con.execute('SELECT count(*) FROM turn').fetchone()",
]
_HWM = (
    "with open('/proc/self/status') as _f:\n"
    "    print([l.split()[1] for l in _f if l.startswith('VmHWM:')][0])"
)


def _chosen_steps() -> tuple[str, ...]:
    """The notebook name prefixes to run: ``COPROD_BENCH_NOTEBOOKS``, else every step."""
    wanted = [p.strip() for p in os.environ.get("COPROD_BENCH_NOTEBOOKS", "").split(",")]
    wanted = [p for p in wanted if p]
    if not wanted:
        return STEPS
    unknown = [p for p in wanted if not any(s.startswith(p) or p.startswith(s) for s in STEPS)]
    if unknown:
        raise SystemExit(f"COPROD_BENCH_NOTEBOOKS: no working notebook {', '.join(unknown)}")
    return tuple(wanted)


def floor_notebook(cells: Sequence[str] = FLOOR_CELLS):
    """The import-only notebook (``cells``: its imports, then its database cell)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


def execute(nb, cwd: Path) -> dict:
    """Run ``nb`` cell by cell in a new kernel: seconds per code cell, peak MB, errors.

    ``cpu`` holds the kernel's CPU seconds (user + system) per code cell: on a loaded
    machine the wall time also counts the waits for a core.
    """
    import nbformat
    import psutil
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    cells: list[tuple[int, float]] = []
    cpu: list[tuple[int, float]] = []
    errors: list[str] = []
    with client.setup_kernel():
        kernel = psutil.Process(client.km.provisioner.pid)

        def used() -> float:
            times = kernel.cpu_times()
            return times.user + times.system

        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            start, start_cpu = time.perf_counter(), used()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                errors.append(f"cell {index}: {str(exc).strip().splitlines()[-1][:200]}")
            cells.append((index, time.perf_counter() - start))
            cpu.append((index, used() - start_cpu))
        probe = nbformat.v4.new_code_cell(_HWM)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        text = "".join(o.get("text", "") for o in probe.outputs)
    peak_mb = int(text.strip()) / 1024 if text.strip().isdigit() else None
    return {"cells": cells, "cpu": cpu, "peak_mb": peak_mb, "errors": errors}


def _median_run(results: list[dict]) -> dict:
    """The run whose whole time is the median of ``results``, with the highest peak memory.

    One whole run is kept (not a median per cell) so that its cells add up to its total;
    the peak memory is the worst of the runs, and every run's errors are reported.
    """
    ordered = sorted(results, key=lambda r: sum(s for _, s in r["cells"]))
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    peaks = [r["peak_mb"] for r in results if r["peak_mb"] is not None]
    chosen["peak_mb"] = max(peaks) if peaks else None
    chosen["errors"] = sorted({e for r in results for e in r["errors"]})
    chosen["totals_s"] = [sum(s for _, s in r["cells"]) for r in results]
    return chosen


def run_rounds(
    paths: Sequence[Path], env: dict[str, str], repeat: int, *, floor=None, echo: bool = False
) -> tuple[dict[str, dict], list[dict]]:
    """Run the floor notebook and every notebook of ``paths`` in ``repeat`` rounds.

    ``env`` is set for the kernels (``COPROD_STUDY``, ``COPROD_USER``, ``COPROD_DB`` when
    a server is used); ``COPROD_DB`` and ``PYTHONDONTWRITEBYTECODE`` are cleared first and
    everything is put back after. Rounds of the floor and every notebook in turn: on a
    shared machine a burst of load then falls on both sides of a ratio instead of on one
    notebook's only run. Returns each notebook's median run (``_median_run``) by name and
    the floor's runs.
    """
    import nbformat

    floor = floor or floor_notebook()
    keys = {"COPROD_STUDY", "COPROD_USER", "COPROD_DB", "PYTHONDONTWRITEBYTECODE", *env}
    saved = {k: os.environ.get(k) for k in keys}
    for k in ("COPROD_DB", "PYTHONDONTWRITEBYTECODE"):
        os.environ.pop(k, None)
    os.environ.update(env)
    floors: list[dict] = []
    all_runs: dict[str, list[dict]] = {path.name: [] for path in paths}
    try:
        execute(floor, NOTEBOOKS)  # warm-up: library files in the page cache
        for _ in range(repeat):
            floors.append(execute(floor, NOTEBOOKS))
            for path in paths:
                result = execute(nbformat.read(path, as_version=4), NOTEBOOKS)
                all_runs[path.name].append(result)
                if echo:
                    print(f"  {path.name}: {sum(s for _, s in result['cells']):.1f} s", flush=True)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {name: _median_run(results) for name, results in all_runs.items()}, floors


def floor_stats(floors: list[dict]) -> dict[str, float]:
    """Medians over the floor's runs: whole time, slowest and first cell, CPU, peak MB."""
    return {
        "seconds": statistics.median(sum(s for _, s in f["cells"]) for f in floors),
        "slowest_cell": statistics.median(max(s for _, s in f["cells"]) for f in floors),
        "first": statistics.median(f["cells"][0][1] for f in floors),
        "cpu": statistics.median(sum(s for _, s in f["cpu"]) for f in floors),
        "first_cpu": statistics.median(f["cpu"][0][1] for f in floors),
        "peak_mb": statistics.median(f["peak_mb"] for f in floors if f["peak_mb"] is not None),
    }


def kernel_figures(bench: str, result: dict, floor_mb: float) -> list[Figure]:
    """A run's kernel peak memory against the floor's (target 300 MB), and its errors."""
    figures = [
        Figure(
            bench,
            "  kernel peak memory (VmHWM)",
            result["peak_mb"] or 0.0,
            "MB",
            floor_mb,
            "import-only notebook's kernel",
            "value",
            TARGET_MB,
        )
    ]
    if result["errors"]:
        figures.append(
            Figure(
                bench,
                "  cells that raised",
                len(result["errors"]),
                "cells",
                target_on="value",
                limit=0,
                note="; ".join(result["errors"]),
            )
        )
    return figures


def run(ctx: Context) -> list[Figure]:

    import coprod_nb
    from coprod_nb.storage import Store

    steps = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if p.name.startswith(_chosen_steps()))
    study = ctx.workdir / "notebook-study"
    shutil.rmtree(study, ignore_errors=True)
    shutil.copytree(ctx.study_dir, study, ignore=shutil.ignore_patterns("backups", "exports"))
    store = Store(study, actor="bench")
    lead = next(r for r in store.researchers() if r.lead)
    store.close()
    # The package's .pyc files up to date, as after a user's first import.
    compileall.compile_dir(Path(coprod_nb.__file__).parent, quiet=1)
    env = {"COPROD_STUDY": str(study), "COPROD_USER": lead.login or lead.name}
    runs, floors = run_rounds(steps, env, 1 if ctx.quick else 3, echo=True)
    floor = floor_stats(floors)
    floor_s, floor_cell, floor_mb = floor["seconds"], floor["slowest_cell"], floor["peak_mb"]
    floor_first, floor_cpu, floor_first_cpu = floor["first"], floor["cpu"], floor["first_cpu"]
    figures = []
    for name, result in runs.items():
        total = sum(s for _, s in result["cells"])
        (first_index, first), *others = result["cells"]
        # a one-cell notebook (05) has no other cell: 0 s, named as such
        slowest_index, slowest = max(others or [("none", 0.0)], key=lambda c: c[1])
        total_cpu = sum(s for _, s in result["cpu"])
        first_cpu = result["cpu"][0][1]
        detail = {
            "cells_s": result["cells"],
            "cpu_s": result["cpu"],
            "errors": result["errors"],
            "runs_s": result["totals_s"],
        }
        figures += [
            Figure(
                "notebooks",
                f"{name}, every cell",
                total,
                "s",
                floor_s,
                "import-only notebook on the same study",
                "ratio",
                TARGET_RATIO,
                note="; ".join(result["errors"]),
                detail=detail,
            ),
            Figure(
                "notebooks",
                "  every cell, kernel CPU time (info)",
                total_cpu,
                "s",
                floor_cpu,
                "the import-only notebook's kernel CPU time",
            ),
            Figure(
                "notebooks",
                f"  first cell (#{first_index}), over the floor's first cell",
                first - floor_first,
                "s",
                target_on="value",
                limit=TARGET_CELL_S,
                note=f"first cell {first:.2f} s, the floor's {floor_first:.2f} s",
            ),
            Figure(
                "notebooks",
                f"  first cell (#{first_index}) as it stands (info)",
                first,
                "s",
                floor_first,
                "import-only notebook's first cell",
            ),
            Figure(
                "notebooks",
                "  first cell, kernel CPU time (info)",
                first_cpu,
                "s",
                floor_first_cpu,
                "the floor's first cell, kernel CPU time",
            ),
            Figure(
                "notebooks",
                f"  slowest other cell ({'#' if others else ''}{slowest_index})",
                slowest,
                "s",
                floor_cell,
                "import-only notebook's slowest cell",
                "value",
                TARGET_CELL_S,
            ),
            *kernel_figures("notebooks", result, floor_mb),
        ]
    ctx.notes["notebook_floor"] = {"seconds": floor_s, "peak_mb": floor_mb, "runs": floors}
    ctx.add(*figures)
    return figures
