"""Notebook 01 in real JupyterLab: a note typed into the NoteEditor reaches the database."""

from __future__ import annotations

import time

import pytest

from coprod_nb.storage import Store

pytestmark = pytest.mark.browser

TYPED = "Typed in the browser: payment delays <b>cost</b> trust"


def test_typing_a_note_autosaves_it(lab, open_notebook):
    page = open_notebook("tour/01_individual_recall.ipynb")
    editor = page.locator(".jp-NotebookPanel:visible .cp-note-editor").first
    editor.wait_for(timeout=120_000)
    # the last cell has run once its output is on the page
    page.locator(".jp-OutputArea-output pre", has_text="now visible to Cedar").wait_for(
        timeout=120_000
    )
    editor.get_by_role("button", name="New note").click()
    box = editor.locator(".cp-note-text textarea")
    box.click()
    box.press_sequentially(TYPED, delay=15)
    deadline = time.time() + 30
    found = []
    while time.time() < deadline and not found:
        time.sleep(0.5)
        with Store(lab["study"], actor="cedar") as study:
            found = [n for n in study.notes("Cedar") if n.text == TYPED]
    assert found, "the typed note never reached the database"
    note = found[0]
    with Store(lab["study"], actor="cedar") as study:
        assert study.partnership(note.partnership_id).short == "TCP"
        assert {e.actor for e in study.history("note", note.id)} == {"cedar"}
    # the note list in the editor shows the text escaped, not as markup
    editor.locator(".cp-my-notes").get_by_text("payment delays <b>cost</b>").first.wait_for()
