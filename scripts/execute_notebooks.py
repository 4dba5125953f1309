"""Re-execute the notebooks in place on a fresh demo study and store their outputs.

Strict nbval compares against these stored outputs, so run this after changing a
notebook or what it prints: ``make notebooks`` (or ``python scripts/execute_notebooks.py
[NOTEBOOK ...]``). Widget state is dropped: nbval does not compare it and it only bloats
the files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    os.environ.pop("COPROD_STUDY", None)  # each notebook builds its own temporary demo
    os.environ.pop("COPROD_DB", None)  # a database named there would be "a study named"
    for var in ("COPROD_USER", "JUPYTERHUB_USER", "COPROD_COURSE"):  # as the tests run them
        os.environ.pop(var, None)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    print(f"executed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    notebooks = ROOT / "notebooks"
    found = sorted(notebooks.glob("*.ipynb")) + sorted((notebooks / "tour").glob("*.ipynb"))
    targets = [Path(p) for p in sys.argv[1:]] or found
    for target in targets:
        execute(target.resolve())
