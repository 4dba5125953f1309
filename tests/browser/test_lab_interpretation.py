"""Notebook 02 in real JupyterLab: a note attached on the TensionBoard is linked in the study."""

from __future__ import annotations

import time

import pytest

from coprod_nb.storage import Store

pytestmark = pytest.mark.browser


def _t5_notes(study_dir) -> set[int]:
    with Store(study_dir) as study:
        return {e.note_id for e in study.evidence("T5") if e.note_id}


def test_attach_a_note_to_a_tension(lab, open_notebook):
    page = open_notebook("tour/02_joint_interpretation.ipynb")
    board = page.locator(".jp-NotebookPanel:visible .cp-tension-board").first
    board.wait_for(timeout=120_000)
    page.locator(".jp-OutputArea-output pre", has_text="resource pack written").wait_for(
        timeout=120_000
    )
    before = _t5_notes(lab["study"])
    with Store(lab["study"]) as study:
        label = f"T5: {study.tension('T5').name}"
    board.locator("select").first.select_option(label=label)
    notes = board.locator(".cp-evidence-notes select")
    notes.wait_for()
    # the notebook left the filters on TCP and Cedar; choose the first note offered
    notes.select_option(index=0)
    board.locator(".cp-attach-notes").click()
    deadline, after = time.time() + 20, before
    while time.time() < deadline and after == before:
        time.sleep(0.3)
        after = _t5_notes(lab["study"])
    added = after - before
    assert len(added) == 1, "the attach click did not reach the study"
    with Store(lab["study"], actor="alder") as study:  # the tour works as the lead here
        note = study.note(added.pop())
        assert study.partnership(note.partnership_id).short == "TCP"
        assert study.researcher(note.researcher_id).name == "Cedar"
        assert study.history("tension", study.tension("T5").id)[-1].actor == "alder"
