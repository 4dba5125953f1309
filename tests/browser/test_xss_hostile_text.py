"""Hostile text in every place a study shows text: no script runs in JupyterLab.

Runs after the other browser tests (file order), on the same JupyterLab and study, which
it first seeds with transcript turns, a note, a tension, a dissent and a participant's
comment carrying HTML and script.
"""

from __future__ import annotations

import pytest

from coprod_nb.domain import RawTurn
from coprod_nb.seed.demo import start_live_workshop
from coprod_nb.storage import Store

pytestmark = pytest.mark.browser

PAYLOADS = [
    '<script>window.__xss = "script"</script>',
    "<img src=x onerror=\"window.__xss = 'img'\">",
    "<a href=\"javascript:window.__xss = 'link'\">click</a>",
    "</textarea><svg onload=\"window.__xss = 'svg'\">",
]
HOSTILE = " ".join(PAYLOADS)


def _seed(study_dir) -> None:
    with Store(study_dir, actor="attacker") as study:
        study.add_transcript(
            [RawTurn("Kit Moreland", f"About the red card: {HOSTILE}")],
            title=f"hostile {PAYLOADS[0]}",
            source_name="hostile.txt",
            source_format="txt",
            content_hash="hostile-seed",
            partnership="TCP",
        )
        study.add_note("Cedar", "TCP", f"red card {HOSTILE}", category="reflection")
        study.add_tension(
            f"Hostile {PAYLOADS[1]}",
            PAYLOADS[2],
            PAYLOADS[3],
            description=HOSTILE,
            status="candidate",
        )
        meeting = study.meetings()[0]
        study.add_dissent(meeting.id, f"topic {HOSTILE}", [{"who": "Birch", "position": HOSTILE}])
        # The demo's workshop is frozen (its record no longer changes): the comment goes
        # to a follow-up, open, which notebook 03 then shows.
        ws = start_live_workshop(study).workshop_id
        study.set_response(ws, "Jo Linden", "T1", comment=HOSTILE, suggestion=HOSTILE)


@pytest.mark.parametrize(
    "notebook",
    [
        "00_study_setup.ipynb",
        "01_individual_recall.ipynb",
        "02_joint_interpretation.ipynb",
        "03_workshop_sensemaking.ipynb",
    ],
)
def test_no_script_runs_in_any_notebook(lab, open_notebook, page, notebook):
    if not (lab["study"] / ".hostile-seeded").exists():
        _seed(lab["study"])
        (lab["study"] / ".hostile-seeded").write_text("seeded")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page = open_notebook(notebook)
    # wait for the last code cell's output, then let widgets render
    page.locator(".jp-NotebookPanel:visible .jp-Cell").last.wait_for(timeout=120_000)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session"
        "?.kernel?.status === 'idle'",
        timeout=120_000,
    )
    page.wait_for_timeout(1500)
    # make the hostile text visible where widgets show it, then check nothing ran
    search = page.locator(".jp-NotebookPanel:visible .cp-search-view input[type='text']")
    if search.count():
        search.first.fill("red card")
        search.first.press("Enter")
        page.wait_for_timeout(1500)
    assert page.evaluate("() => window.__xss === undefined"), page.evaluate("window.__xss")
    assert dialogs == []
    shown = page.locator(".jp-NotebookPanel:visible").inner_html()
    assert "<script>window.__xss" not in shown
