"""``import coprod_nb`` against importing the libraries a notebook needs anyway.

Each import runs in a fresh interpreter (``python -c``), timed from outside, with one
warm-up run of each (so the file cache is warm) and the runs interleaved.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from benchmarks._util import Context, Figure, timed

FLOOR = "import pandas, ipywidgets, matplotlib"
TARGET = 1.1
#: Measured for information: what the notebooks import first.
EXTRA = {
    "import coprod_nb.analysis": "import coprod_nb.analysis",
    "import coprod_nb.widgets": "import coprod_nb.widgets",
}


def _python(code: str) -> float:
    return timed(lambda: subprocess.run([sys.executable, "-c", code], check=True))[0]


def run(ctx: Context, repeat: int = 5) -> list[Figure]:
    codes = {"import coprod_nb": "import coprod_nb", FLOOR: FLOOR, **EXTRA}
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
            "python -c 'import coprod_nb'",
            med["import coprod_nb"],
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
