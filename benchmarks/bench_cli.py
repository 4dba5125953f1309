"""Wall time of the command line, as a user waits for it: ``coprod-nb search`` and ``info``.

Each command runs in a fresh process on the large study (median of 5 after a warm-up).
Floor: a fresh interpreter that imports SQLAlchemy (which the package needs), opens the
study's database with ``sqlite3`` and asks FTS5 the same query. ``search`` opens the
study by the store's rule (``storage/opening.py``) and queries with SQLAlchemy core, so
the floor is what it cannot do without; ``info`` loads the store and its models.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks._util import Context, Figure, timed

TARGET_SEARCH_S = 0.3
QUERY = "fund*"


def _wall(cmd: list[str], repeat: int) -> float:
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up
    return statistics.median(
        timed(lambda: subprocess.run(cmd, check=True, capture_output=True))[0]
        for _ in range(repeat)
    )


def run(ctx: Context, repeat: int = 5) -> list[Figure]:
    exe = str(Path(sys.executable).parent / "coprod-nb")
    study = str(ctx.study_dir)
    db = str(Path(study) / "study.db")
    floor_code = (
        f"import sqlalchemy, sqlite3; con = sqlite3.connect({db!r}); "
        'con.execute("SELECT rowid FROM turn_fts WHERE turn_fts MATCH \'\\"fund\\"*\' '
        'ORDER BY rank LIMIT 50").fetchall()'
    )
    floor = _wall([sys.executable, "-c", floor_code], repeat)
    search = _wall([exe, "search", study, QUERY, "-q"], repeat)
    info = _wall([exe, "info", study, "-q"], repeat)
    figures = [
        Figure(
            "cli",
            f"coprod-nb search {QUERY} (wall)",
            search,
            "s",
            floor,
            "python -c: import sqlalchemy, the FTS5 query",
            "value",
            TARGET_SEARCH_S,
        ),
        Figure(
            "cli",
            "coprod-nb info (wall, info)",
            info,
            "s",
            floor,
            "python -c: import sqlalchemy, the FTS5 query",
        ),
    ]
    ctx.add(*figures)
    return figures
