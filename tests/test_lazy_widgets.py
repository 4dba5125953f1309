"""The notebooks' import line loads only what it names; anywidget waits for a pane.

Each notebook's first cell (its imports, with pyplot for ``%matplotlib inline``) is run
in a fresh interpreter: it must not import ``anywidget`` or ``psygnal`` (0.1-0.4 s of the
line), nor the view modules it does not name. Building a ``TranscriptView`` (or a
circle board) then loads them, and the view works as before. No timings here: those
are in ``benchmarks/bench_import.py``.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
HEAVY = ("anywidget", "psygnal")


def import_line(notebook: Path) -> str:
    """The import statements of a notebook's first code cell, pyplot for the magic."""
    cell = next(c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code")
    source = "".join(cell["source"])
    lines = ["import matplotlib", "matplotlib.use('Agg')"]
    if "%matplotlib" in source:
        lines.append("import matplotlib.pyplot")
    tree = ast.parse("\n".join(ln for ln in source.splitlines() if not ln.startswith("%")))
    lines += [
        ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    return "\n".join(lines)


def run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


LOADED = "sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})"


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("0*.ipynb")), ids=lambda p: p.stem)
def test_a_notebooks_import_line_does_not_import_anywidget(notebook):
    line = import_line(notebook)
    assert "coprod_nb.widgets" in line  # the line really names views
    named = {
        alias.name
        for node in ast.parse(line).body
        if isinstance(node, ast.ImportFrom) and node.module == "coprod_nb.widgets"
        for alias in node.names
    }
    code = line + textwrap.dedent(
        f"""
        import json, sys
        import coprod_nb.widgets as w
        views = sorted(m for m in sys.modules if m.startswith("coprod_nb.widgets."))
        print(json.dumps({{"heavy": {LOADED.format(heavy=HEAVY)},
                          "views": views,
                          "named": {{n: getattr(w, n).__name__
                                    for n in {sorted(named)!r}}}}}))
        """
    )
    got = run(code)
    assert got["heavy"] == []
    # the names still resolve to the classes, from their own modules only
    assert got["named"] == {n: n for n in named}
    assert "coprod_nb.widgets._panes" not in got["views"]


def _build_transcript_view(study_dir: Path, actor: str) -> str:
    return textwrap.dedent(
        f"""
        import json, sys
        from coprod_nb.storage import Store
        from coprod_nb.widgets import TranscriptView

        before = {LOADED.format(heavy=HEAVY)}
        store = Store({str(study_dir)!r}, actor={actor!r})
        tid = store.transcripts()[0].id
        view = TranscriptView(store)
        view.show(tid, 0)
        import anywidget
        print(json.dumps({{
            "before": before,
            "after": {LOADED.format(heavy=HEAVY)},
            "pane": isinstance(view.pane, anywidget.AnyWidget),
            "pane_class": type(view.pane).__name__,
            "turns": [t["id"] for t in view.pane.turns],
            "expected": [t.id for t in store.turns(tid, 0, view.page_size)],
        }}))
        """
    )


@pytest.mark.parametrize(
    ("variant", "actor"), [("recall", "rowan"), ("workshop", "quill"), ("demo", "cedar")]
)
def test_anywidget_loads_when_a_transcript_view_is_built(
    variant, actor, second_templates, recall_template, tmp_path
):
    study_dir = tmp_path / "study"
    shutil.copytree(recall_template if variant == "demo" else second_templates(variant), study_dir)
    got = run(_build_transcript_view(study_dir, actor))
    assert got["before"] == []
    assert "anywidget" in got["after"] and "psygnal" in got["after"]
    assert got["pane"] and got["pane_class"] == "TranscriptPane"
    assert got["turns"] and got["turns"] == got["expected"]


def test_panes_stay_reachable_from_their_views_modules():
    code = textwrap.dedent(
        """
        import json, sys
        import coprod_nb.widgets.circle_board as cb
        import coprod_nb.widgets.transcript as tr
        before = sorted(m for m in sys.modules if m.split('.')[0] == "anywidget")
        from coprod_nb.widgets._panes import CirclePane, TranscriptPane
        print(json.dumps({"before": before,
                          "same": [cb.CirclePane is CirclePane,
                                   tr.TranscriptPane is TranscriptPane],
                          "missing": hasattr(tr, "NoSuchPane")}))
        """
    )
    got = run(code)
    assert got == {"before": [], "same": [True, True], "missing": False}


def test_the_package_lists_and_resolves_every_view():
    import coprod_nb.widgets as w

    assert set(w.__all__) == set(w._LAZY)
    assert set(w.__all__) <= set(dir(w))
    for name in w.__all__:
        assert getattr(w, name).__name__ == name
    with pytest.raises(AttributeError, match="NoSuchView"):
        w.NoSuchView  # noqa: B018
