"""The notebooks' first cell: what it imports and builds, and that it still works.

``coprod_nb.analysis`` resolves its names on first use: naming ``study_status`` loads
the overview module, not the plot modules (and so not matplotlib). Checked in fresh
interpreters, on the demo and the second study, early and late. The circle form of
notebook 03 shares its layouts and styles across rows. No timings here: those are in
``benchmarks/bench_import.py`` and ``benchmarks/bench_notebooks.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import coprod_nb.analysis
from coprod_nb.analysis import study_status
from coprod_nb.widgets.workshop import CircleSortView
from tests.acting import as_lead


def run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(params=["demo early", "demo late", "second early", "second late"])
def study(request, recall_demo, workshop_open, second_study):
    which = request.param
    if which == "demo early":
        return recall_demo
    if which == "demo late":
        return workshop_open
    return second_study("recall" if which.endswith("early") else "workshop", "rowan")


def test_naming_study_status_loads_neither_the_plots_nor_matplotlib(study):
    found = run(
        textwrap.dedent(
            f"""
            import json, sys
            from coprod_nb.analysis import study_status
            from coprod_nb.storage import Store
            loaded = sorted(m for m in sys.modules if m.startswith("coprod_nb.analysis."))
            plots = "matplotlib" in sys.modules
            st = Store({str(study.study_dir)!r}, actor={study.actor!r}, create=False)
            table = study_status(st).to_dict("records")
            print(json.dumps({{"loaded": loaded, "matplotlib": plots, "table": table}}))
            """
        )
    )
    assert found["loaded"] == ["coprod_nb.analysis.overview"]
    assert found["matplotlib"] is False
    # the same table as through the package loaded in full
    assert found["table"] == study_status(study).to_dict("records")


def test_every_analysis_name_resolves_lazily_and_is_listed():
    found = run(
        textwrap.dedent(
            """
            import json, sys
            import coprod_nb.analysis as analysis
            before = "coprod_nb.analysis.workshop" in sys.modules
            ns = {}
            exec("from coprod_nb.analysis import *", ns)
            names = sorted(n for n in ns if not n.startswith("__"))
            where = {n: callable(getattr(analysis, n)) for n in names}
            print(json.dumps({"before": before, "names": names, "where": where,
                              "dir": sorted(set(analysis.__all__) - set(dir(analysis)))}))
            """
        )
    )
    assert found["before"] is False
    assert found["names"] == sorted(coprod_nb.analysis.__all__)
    assert all(found["where"].values()), found["where"]
    assert found["dir"] == []
    with pytest.raises(AttributeError, match="no attribute 'plot_everything'"):
        coprod_nb.analysis.plot_everything  # noqa: B018


@pytest.mark.parametrize("which", ["demo", "second"])
def test_circle_rows_share_their_layouts_and_styles(which, workshop_open, second_study):
    """One Layout and one style per kind of control for all rows, not two per control."""
    st = workshop_open if which == "demo" else second_study("workshop", "rowan")
    view = CircleSortView(as_lead(st))
    rows = view.rows_box.children
    assert len(rows) == len(view.rings) == len(view.reasons) > 1
    names = [row.children[0] for row in rows]
    for part in ("layout", "style"):
        for controls in (names, list(view.rings.values()), list(view.reasons.values())):
            assert len({id(getattr(c, part)) for c in controls}) == 1, part
    assert len({id(row.layout) for row in rows}) == 1
    assert view.rings[next(iter(view.rings))].style.button_width == "auto"
    # a shared layout shares no value: each ring and reason keeps its own
    first, second = list(view.rings)[:2]
    view.rings[first].value, view.rings[second].value = "inner", "none"
    view.reasons[first].value = "why here"
    assert view.rings[first].value == "inner" and view.rings[second].value == "none"
    assert view.reasons[second].value != "why here"
