"""A researcher's own study, from nothing, in the working notebooks in JupyterLab and Chromium.

JupyterLab is started on a study folder that does not exist yet, as the researcher ``quinn``.
Notebook 00 creates the study; its widgets set up the study, a partnership, two researchers
(one the lead) and a participant; "Save as manifest" downloads the manifest; a transcript is
uploaded through the browser's own file chooser. Then notebook 01, as the second researcher,
types a note (autosaved) and downloads the notes export from the widget. Every assertion is
on the database or on the downloaded bytes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from coprod_nb.seed.manifest import manifest_toml
from coprod_nb.storage import Store
from tests.browser.conftest import run_all, running_lab

pytestmark = pytest.mark.browser

# The participant's real name is in the text; the study shows only the pseudonym.
VTT = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nRowan Vey: What did the coalition share first?\n\n"
    "00:00:05.000 --> 00:00:09.000\nDorothy Kell: The kitchen, and then the say over it.\n\n"
    "00:00:10.000 --> 00:00:14.000\nRowan Vey: Who decided what went on the menu?\n\n"
    "00:00:15.000 --> 00:00:20.000\nDorothy Kell: The tenants did, once Dorothy Kell stopped "
    "chairing.\n"
)
TYPED = "Typed in the browser: the kitchen was shared <i>before</i> the say was"


@pytest.fixture(scope="module")
def own_lab(tmp_path_factory):
    """JupyterLab over a copy of the notebooks, on a study folder that holds nothing yet."""
    base = tmp_path_factory.mktemp("own-lab")
    with running_lab(base, base / "study", "quinn") as lab:
        yield lab


def _add(form, shown: str) -> None:
    """Press Add and wait until the form's table lists ``shown``."""
    form.get_by_role("button", name="Add").click()
    form.locator("td", has_text=shown).first.wait_for()


def test_a_study_set_up_in_notebook_00_and_a_note_downloaded_from_notebook_01(
    own_lab, page, tmp_path
):
    run_all(page, own_lab, "00_study_setup.ipynb")
    editor = page.locator(".jp-NotebookPanel:visible .cp-study-setup").first
    editor.wait_for(timeout=120_000)
    assert (own_lab["study"] / "study.db").is_file()  # notebook 00 created the study

    form = editor.locator(".cp-setup-study")
    form.locator("input[type='text']").first.fill("Harbour food study")
    form.get_by_role("button", name="Save").click()
    form.locator(".cp-ok").wait_for()

    editor.locator(".lm-TabBar-tab", has_text="Partnerships").click()
    form = editor.locator(".cp-setup-partnerships")
    texts = form.locator("input[type='text']")
    texts.nth(0).fill("HFC")
    texts.nth(1).fill("Harbour Food Coalition")
    form.locator("textarea").fill('region = "east coast"')
    _add(form, "Harbour Food Coalition")

    editor.locator(".lm-TabBar-tab", has_text="Researchers").click()
    form = editor.locator(".cp-setup-researchers")
    # Quinn, the person working, leads (only the lead writes the real names out)
    for name, login, lead in (("Rowan Vey", "rowan", False), ("Quinn Adair", "quinn", True)):
        form.get_by_placeholder("the pseudonym").fill(name)
        form.locator("input[type='text']").nth(2).fill(login)
        form.get_by_role("checkbox").set_checked(lead)
        _add(form, name)

    editor.locator(".lm-TabBar-tab", has_text="Participants").click()
    form = editor.locator(".cp-setup-participants")
    form.get_by_placeholder("the pseudonym").fill("Pat Ember")
    form.get_by_placeholder("into the name key; never shown").fill("Dorothy Kell")
    form.locator("select").nth(1).select_option("HFC")
    form.get_by_role("checkbox").nth(0).check()
    form.get_by_role("checkbox").nth(1).check()
    _add(form, "Pat Ember")

    with Store(own_lab["study"]) as st:
        assert st.study().name == "Harbour food study"
        assert st.partnership("HFC").attributes == {"region": "east coast"}
        team = {r.login: r.lead for r in st.researchers()}
        assert team == {"rowan": False, "quinn": True}
        [pat] = st.participants()
        assert (pat.name, pat.consent_record, pat.consent_quote) == ("Pat Ember", True, True)
        assert {e.actor for e in st.history("partnership", st.partnership("HFC").id)} == {"quinn"}
        expected = manifest_toml(st).encode("utf-8")

    editor.get_by_role("button", name="Save as manifest").click()
    link = editor.locator(".cp-download a")
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    assert Path(info.value.path()).read_bytes() == expected

    file = tmp_path / "hfc_2024-05-01.vtt"
    file.write_text(VTT)
    importer = page.locator(".jp-NotebookPanel:visible .cp-import-view").first
    with page.expect_file_chooser() as chooser:
        importer.locator(".cp-import-upload").click()
    chooser.value.set_files(str(file))
    importer.locator(".cp-ok").wait_for()
    with Store(own_lab["study"]) as st:
        [tr] = st.transcripts()
        assert st.partnership(tr.partnership_id).short == "HFC"
        text = " ".join(t.text for t in st.turns(tr.id))
        assert "Dorothy" not in text and "Pat Ember" in text
    assert [k.read_text() for k in (own_lab["study"] / "uploads").rglob("*.vtt")] == [VTT]

    # Notebook 01, as the second researcher added (the one working: COPROD_USER=quinn).
    run_all(page, own_lab, "01_individual_recall.ipynb")
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".cp-recall-closure").first.wait_for(timeout=120_000)
    picker = panel.locator(".cp-researcher-picker select").first
    picker.locator("option").first.wait_for(state="attached")
    options = [" ".join(o.split()) for o in picker.locator("option").all_text_contents()]
    assert options == ["Quinn Adair (login quinn), lead"]  # who is working, not a choice
    note_editor = panel.locator(".cp-note-editor").first
    note_editor.get_by_role("button", name="New note").click()
    box = note_editor.locator(".cp-note-text textarea")
    box.click()
    box.press_sequentially(TYPED, delay=10)
    deadline, found = time.time() + 30, []
    while time.time() < deadline and not found:
        time.sleep(0.5)
        with Store(own_lab["study"], actor="quinn") as st:
            found = [n for n in st.notes() if n.text == TYPED]
    assert found, "the typed note never reached the database"
    with Store(own_lab["study"], actor="quinn") as st:
        history = st.history("note", found[0].id)
        assert {e.actor for e in history} == {"quinn"}

    export = panel.locator(".cp-notes-export").first
    export.get_by_role("button", name="Export my notes").click()
    link = export.locator(".cp-download a")
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    downloaded = Path(info.value.path()).read_text(encoding="utf-8")
    assert "the kitchen was shared" in downloaded and "Quinn Adair" in downloaded
