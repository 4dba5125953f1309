"""Notebook 00 in real JupyterLab and Chromium: widgets render and write to the study."""

from __future__ import annotations

import pytest

from coprod_nb.storage import Store

pytestmark = pytest.mark.browser


def test_setup_notebook_search_and_pseudonym(lab, open_notebook):
    page = open_notebook("tour/00_study_setup.ipynb")
    search = page.locator(".jp-NotebookPanel:visible .cp-search-view").first
    search.wait_for(timeout=120_000)
    box = search.locator("input[type='text']")
    box.fill("tokenism")
    box.press("Enter")
    page.locator(".jp-NotebookPanel:visible .cp-search-view mark.cp-hit").first.wait_for()
    assert page.locator(".jp-NotebookPanel:visible .cp-search-view mark.cp-hit").count() > 0

    editor = page.locator(".jp-NotebookPanel:visible .cp-pseudonym-editor").first
    inputs = editor.locator("input[type='text']")
    inputs.nth(0).fill("Tuesday")
    inputs.nth(1).fill("Weekday")
    editor.get_by_role("button", name="Set pseudonym").click()
    # the scripted cell above already left a message: wait for this one
    editor.locator(".cp-ok", has_text="Pseudonym Weekday set").wait_for()

    with Store(lab["study"]) as study:
        assert study.search("Tuesday") == []
        assert study.search("Weekday")
        assert study.pseudonym_key().pseudonym_for("Tuesday") == "Weekday"
        actors = {e.actor for e in study.history("pseudonym")}
    assert "cedar" in actors
