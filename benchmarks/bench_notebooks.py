"""Executing the step notebooks (00 to 03) on the demo study, as ``make notebooks`` does.

Each notebook runs with nbclient in a fresh kernel, ``COPROD_STUDY`` unset (so each
opens its temporary demo study), exactly as ``scripts/execute_notebooks.py`` does;
nothing is written back. The demo studies are copied from the user's cache of built
demos (``coprod_nb.seed.demo_cache``), which is filled before timing: a notebook pays the
build only the first time after the package changes. Floor: a notebook that only
imports pandas, ipywidgets and matplotlib, executed the same way (kernel start-up
included in both).
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from benchmarks._util import Context, Figure, timed

TARGET = 2.0
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STEPS = ("00_", "01_", "02_", "03_")


def execute(path: Path) -> float:
    """Seconds to execute a notebook (read fresh, outputs cleared) in a new kernel."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    return timed(client.execute)[0]


def floor_notebook(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import pandas, ipywidgets, matplotlib")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = folder / "floor.ipynb"
    nbformat.write(nb, path)
    return path


def run(ctx: Context, repeat: int | None = None) -> list[Figure]:
    repeat = repeat or (1 if ctx.quick else 3)
    os.environ.pop("COPROD_STUDY", None)
    os.environ.pop("COPROD_DB", None)  # no study named: each notebook opens its demo
    steps = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if p.name.startswith(STEPS))
    folder = ctx.workdir / "floor-notebook"
    folder.mkdir(exist_ok=True)
    floor_path = floor_notebook(folder)
    execute(floor_path)  # warm-up: kernel and library files in the cache
    from coprod_nb.seed.demo import STAGES
    from coprod_nb.seed.demo_cache import demo_template

    for stage in STAGES:  # built once per package version, as a user's first run does
        demo_template(stage)
    times: dict[str, list[float]] = {p.name: [] for p in [floor_path, *steps]}
    for _ in range(repeat):
        for path in [floor_path, *steps]:
            times[path.name].append(execute(path))
    floor = statistics.median(times[floor_path.name])
    figures = [
        Figure(
            "notebooks",
            f"execute {path.name}",
            statistics.median(times[path.name]),
            "s",
            floor,
            "notebook importing pandas, ipywidgets, matplotlib",
            "ratio",
            TARGET,
            detail={"runs": times[path.name], "floor_runs": times[floor_path.name]},
        )
        for path in steps
    ]
    ctx.add(*figures)
    return figures
