"""The notebooks' import lines against importing the libraries they need anyway.

A line is a notebook's first cell as it is stored (00-04 and 06: ``%matplotlib inline``,
pandas, ``open_study``, the analysis functions and the views the notebook names), read
from ``notebooks/*.ipynb`` so it cannot drift from them; the magic is timed as importing
pyplot. The floor imports the same dependencies: pandas, matplotlib.pyplot, ipywidgets and
SQLAlchemy with its ORM (the store is ORM-mapped; a bare ``import sqlalchemy`` leaves the
ORM out, so counting it against the package would charge SQLAlchemy's own import to
us; the older, ORM-less floor is still reported for information). Each import runs in a
fresh interpreter (``python -c``), timed from outside, with one warm-up run of each (so
the file cache is warm and the bytecode written, as in a user's kernel: the subprocesses
drop ``PYTHONDONTWRITEBYTECODE``) and the runs interleaved. Target: every line within
1.1x the floor. Also given, for information: each line's ratio in CPU time of the child
(user + system, from ``getrusage``), which leaves out the waits for a core on a loaded
machine.

In a bare ``python -c`` the line sets off one more full (generation 2) garbage
collection than the floor (0.05-0.09 s of its excess): the heap is small, so the
objects our models add pass the collector's 25% threshold. In a kernel, where the line
really runs, the heap is larger and notebook 03's first cell runs the floor's two full
collections and no more (``bench_notebooks`` judges that cell); the figure here is the
stricter one and is kept as it is.
"""

from __future__ import annotations

import ast
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks._util import Context, Figure, timed

FLOOR = "import pandas, matplotlib.pyplot, ipywidgets, sqlalchemy.orm"
#: The floor of earlier runs (no ORM), for information.
OLD_FLOOR = "import pandas, matplotlib.pyplot, ipywidgets, sqlalchemy"
TARGET = 1.1
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Measured for information.
EXTRA = {
    "import coprod_nb": "import coprod_nb",
    "import coprod_nb.storage": "import coprod_nb.storage",
    "import coprod_nb.analysis": "import coprod_nb.analysis",
    "import coprod_nb.widgets": "import coprod_nb.widgets",
}


def notebook_line(notebook: Path) -> str | None:
    """The import statements of a notebook's first code cell (pyplot for the magic).

    None for a notebook whose first cell does not draw (no ``%matplotlib``).
    """
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    source = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    if "%matplotlib" not in source:
        return None
    body = ast.parse("\n".join(ln for ln in source.splitlines() if not ln.startswith("%")))
    imports = [ast.unparse(n) for n in body.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return "; ".join(["import matplotlib.pyplot", *imports])


def notebook_lines() -> dict[str, str]:
    """notebook stem -> its import line, for the notebooks that draw."""
    lines = {nb.stem: notebook_line(nb) for nb in sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))}
    return {k: v for k, v in lines.items() if v}


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _python(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of ``python -c code`` in a fresh interpreter."""
    # Bytecode is written (and so read back on the next run) as in a user's kernel; a
    # stale .pyc would otherwise be recompiled on every run.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = _cpu_of_children()
    wall = timed(lambda: subprocess.run([sys.executable, "-c", code], check=True, env=env))[0]
    return wall, _cpu_of_children() - before


def run(ctx: Context, repeat: int = 5) -> list[Figure]:
    lines = notebook_lines()
    codes = {
        **{f"line {k}": v for k, v in lines.items()},
        FLOOR: FLOOR,
        OLD_FLOOR: OLD_FLOOR,
        **EXTRA,
    }
    times: dict[str, list[float]] = {k: [] for k in codes}
    cpu: dict[str, list[float]] = {k: [] for k in codes}
    for code in codes.values():
        _python(code)  # warm-up
    for _ in range(repeat):
        for name, code in codes.items():
            wall, used = _python(code)
            times[name].append(wall)
            cpu[name].append(used)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    floor = med[FLOOR]
    figures = []
    for stem in lines:
        key = f"line {stem}"
        figures += [
            Figure(
                "import",
                f"notebook {stem}'s import line (python -c)",
                med[key],
                "s",
                floor,
                FLOOR,
                "ratio",
                TARGET,
                detail={"code": lines[stem], "runs": times[key], "cpu": cpu[key]},
            ),
            Figure(
                "import",
                "  the same in CPU time of the child (info)",
                med_cpu[key],
                "s",
                med_cpu[FLOOR],
                "the floor's CPU time",
            ),
        ]
    figures.append(
        Figure(
            "import",
            f"the floor of earlier runs, {OLD_FLOOR!r} (info)",
            med[OLD_FLOOR],
            "s",
            floor,
            FLOOR,
        )
    )
    for name in EXTRA:
        figures.append(Figure("import", f"python -c '{name}' (info)", med[name], "s", floor, FLOOR))
    ctx.add(*figures)
    return figures
