"""The notebooks' import line against importing the libraries it needs anyway.

The line is what notebooks 00-04 and 06 run first (pyplot for ``%matplotlib inline``,
pandas, ``open_study``, the analysis and the widgets); the floor imports its
dependencies, pandas, matplotlib.pyplot, ipywidgets and SQLAlchemy. Each import runs in a
fresh interpreter (``python -c``), timed from outside, with one warm-up run of each (so
the file cache is warm) and the runs interleaved.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from benchmarks._util import Context, Figure, timed

FLOOR = "import pandas, matplotlib.pyplot, ipywidgets, sqlalchemy"
TARGET = 1.1
LINE = (
    "import matplotlib.pyplot, pandas; from coprod_nb import open_study; "
    "import coprod_nb.analysis, coprod_nb.widgets"
)
#: Measured for information.
EXTRA = {
    "import coprod_nb": "import coprod_nb",
    "import coprod_nb.analysis": "import coprod_nb.analysis",
    "import coprod_nb.widgets": "import coprod_nb.widgets",
}


def _python(code: str) -> float:
    return timed(lambda: subprocess.run([sys.executable, "-c", code], check=True))[0]


def run(ctx: Context, repeat: int = 5) -> list[Figure]:
    codes = {"line": LINE, FLOOR: FLOOR, **EXTRA}
    times: dict[str, list[float]] = {k: [] for k in codes}
    for code in codes.values():
        _python(code)  # warm-up
    for _ in range(repeat):
        for name, code in codes.items():
            times[name].append(_python(code))
    med = {k: statistics.median(v) for k, v in times.items()}
    floor = med[FLOOR]
    figures = [
        Figure(
            "import",
            "the notebooks' import line (python -c)",
            med["line"],
            "s",
            floor,
            FLOOR,
            "ratio",
            TARGET,
            detail={"runs": times},
        )
    ]
    for name in EXTRA:
        figures.append(Figure("import", f"python -c '{name}' (info)", med[name], "s", floor, FLOOR))
    ctx.add(*figures)
    return figures
