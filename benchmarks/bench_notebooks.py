"""The working notebooks (00 to 06) run on the large study, cell by cell, as a user runs them.

Each notebook runs in a fresh kernel (nbclient) with ``COPROD_STUDY`` set to a copy of
the large study and ``COPROD_USER`` its lead, every code cell timed on its own; inline
figures are rendered by the kernel before a cell's reply arrives, so drawing is in the
cell's time. Kernel start-up is outside every figure (it is the same for any notebook).
After the last cell the kernel reports its own peak resident memory (``VmHWM``).

Floor: the import-only notebook, run the same way on the same study: ``%matplotlib
inline``, pandas, matplotlib.pyplot, ipywidgets and SQLAlchemy imported, the study's
database opened and its turns counted. Targets: each notebook within 2x the floor, no
cell over 1 s, kernel peak memory under 300 MB.

``COPROD_BENCH_NOTEBOOKS`` (comma-separated name prefixes, e.g. ``02`` or ``00,02``)
runs only those notebooks (the floor is always run), to measure one notebook's change.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

from benchmarks._util import Context, Figure

TARGET_RATIO = 2.0
TARGET_CELL_S = 1.0
TARGET_MB = 300.0
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STEPS = ("00_", "01_", "02_", "03_", "04_", "05_", "06_")

FLOOR_CELLS = [
    "%matplotlib inline\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"
    "import ipywidgets\nimport sqlalchemy",
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


def floor_notebook():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in FLOOR_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


def execute(nb, cwd: Path) -> dict:
    """Run ``nb`` cell by cell in a new kernel: seconds per code cell, peak MB, errors."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    cells: list[tuple[int, float]] = []
    errors: list[str] = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            start = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                errors.append(f"cell {index}: {str(exc).strip().splitlines()[-1][:200]}")
            cells.append((index, time.perf_counter() - start))
        probe = nbformat.v4.new_code_cell(_HWM)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        text = "".join(o.get("text", "") for o in probe.outputs)
    peak_mb = int(text.strip()) / 1024 if text.strip().isdigit() else None
    return {"cells": cells, "peak_mb": peak_mb, "errors": errors}


def run(ctx: Context) -> list[Figure]:
    import nbformat

    from coprod_nb.storage import Store

    steps = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if p.name.startswith(_chosen_steps()))
    study = ctx.workdir / "notebook-study"
    shutil.rmtree(study, ignore_errors=True)
    shutil.copytree(ctx.study_dir, study, ignore=shutil.ignore_patterns("backups", "exports"))
    store = Store(study, actor="bench")
    lead = next(r for r in store.researchers() if r.lead)
    store.close()
    saved = {k: os.environ.get(k) for k in ("COPROD_STUDY", "COPROD_USER", "COPROD_DB")}
    os.environ.update(COPROD_STUDY=str(study), COPROD_USER=lead.login or lead.name)
    os.environ.pop("COPROD_DB", None)
    repeat = 1 if ctx.quick else 3
    try:
        execute(floor_notebook(), NOTEBOOKS)  # warm-up: library files in the page cache
        floors = [execute(floor_notebook(), NOTEBOOKS) for _ in range(repeat)]
        runs = {}
        for path in steps:
            runs[path.name] = execute(nbformat.read(path, as_version=4), NOTEBOOKS)
            print(f"  {path.name}: {sum(s for _, s in runs[path.name]['cells']):.1f} s", flush=True)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    floor_s = statistics.median(sum(s for _, s in f["cells"]) for f in floors)
    floor_cell = statistics.median(max(s for _, s in f["cells"]) for f in floors)
    floor_mb = statistics.median(f["peak_mb"] for f in floors if f["peak_mb"] is not None)
    figures = []
    for name, result in runs.items():
        total = sum(s for _, s in result["cells"])
        slowest_index, slowest = max(result["cells"], key=lambda c: c[1])
        detail = {"cells_s": result["cells"], "errors": result["errors"]}
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
                f"  slowest cell (#{slowest_index})",
                slowest,
                "s",
                floor_cell,
                "import-only notebook's slowest cell",
                "value",
                TARGET_CELL_S,
            ),
            Figure(
                "notebooks",
                "  kernel peak memory (VmHWM)",
                result["peak_mb"] or 0.0,
                "MB",
                floor_mb,
                "import-only notebook's kernel",
                "value",
                TARGET_MB,
            ),
        ]
        if result["errors"]:
            figures.append(
                Figure(
                    "notebooks",
                    "  cells that raised",
                    len(result["errors"]),
                    "cells",
                    target_on="value",
                    limit=0,
                    note="; ".join(result["errors"]),
                )
            )
    ctx.notes["notebook_floor"] = {"seconds": floor_s, "peak_mb": floor_mb, "runs": floors}
    ctx.add(*figures)
    return figures
