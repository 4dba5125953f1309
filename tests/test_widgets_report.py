"""Worksheet, audit and report widgets, headless: set values, click, assert on the study."""

from __future__ import annotations

import base64
import io
import re
import zipfile

import ipywidgets as w

from coprod_nb.widgets.packs import ResourcePackView
from coprod_nb.widgets.report import AuditView, ReportView, WorksheetEditor
from tests.acting import as_


def download_links(value: str) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every download link in an HTML value."""
    found = re.findall(r'<a download="([^"]*)" href="data:[^;"]+;base64,([^"]*)"', value)
    return [(name, base64.b64decode(data)) for name, data in found]


def test_worksheet_editor_saves_answers_and_shows_them_escaped(demo):
    view = WorksheetEditor(demo)
    assert "cp-worksheet" in view._dom_classes
    assert len(view.answers) == 6 and all(isinstance(a, w.Textarea) for a in view.answers)
    assert "3. Sharing power" in view.questions[2].value
    view.partnership.value = "TCP"
    view.answers[2].value = "Budget <b>shared</b> & agreed"
    view.answers[5].value = "Every spring, with the council."
    view.save.click()
    assert "2 answers saved" in view.status.value
    stored = {a.topic: a.answer for a in demo.answers("TCP")}
    assert stored == {3: "Budget <b>shared</b> & agreed", 6: "Every spring, with the council."}
    assert [e.actor for e in demo.history("reflective_answer")] == ["tester", "tester"]
    assert "Budget &lt;b&gt;shared&lt;/b&gt; &amp; agreed" in view.table.value
    assert "<b>shared</b>" not in view.table.value
    assert view.table.value.count("not answered yet") == 6 * 5 - 2
    view.save.click()  # nothing changed: nothing logged
    assert "0 answers saved" in view.status.value and len(demo.history("reflective_answer")) == 2
    view.partnership.value = "AVC"
    assert [a.value for a in view.answers] == [""] * 6
    view.partnership.value = "TCP"
    assert view.answers[2].value == "Budget <b>shared</b> & agreed"


def test_audit_view_lists_a_tensions_history_and_step1_visibility(demo):
    view = AuditView(demo)
    assert "cp-audit-view" in view._dom_classes
    assert [ref for _, ref in view.object.options][-2:] == ["T7", "T8"]
    view.show("tension", "T3")
    history = view.history.value
    assert history.count("<tr>") == 7  # seven events (the header row has a style)
    assert (
        "attach" in history and "notes 27, 28, 31, 20, 32, 33, 12; excerpts 40, 41, 42" in history
    )
    assert "in framework v2" in history
    view.show("decision", "D2")
    assert "merge T4, T5, T6 → T8" in view.history.value
    assert view.visibility.value.count("<td>26</td>") == 3
    assert "by Alder; 39 notes shown" in view.visibility.value


def test_audit_view_keeps_colleagues_notes_blind_while_step1_is_open(recall_demo):
    view = AuditView(as_(recall_demo, "Cedar"), viewer="Cedar")
    view.kind.value = "note"
    assert len(view.object.options) == 13
    assert all(" Cedar · " in label for label, _ in view.object.options)
    assert "still open" in view.visibility.value


def test_report_view_writes_under_the_study_folder(demo, demo_dir):
    view = ReportView(demo)
    assert "cp-report-view" in view._dom_classes
    assert [v for _, v in view.format.options] == ["html", "docx", "md"]
    view.format.value = "md"
    view.button.click()
    assert view.last_path == demo_dir.resolve() / "exports" / "report.md"
    assert view.last_path.is_file() and (demo_dir / "exports" / "report_figures").is_dir()
    assert "report written" in view.status.value
    assert "in the study folder: exports/report.md" in view.download.value
    found = download_links(view.download.value)
    assert [name for name, _ in found] == ["report.zip", "report.md"]
    assert found[1][1] == view.last_path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(found[0][1])) as archive:
        names = archive.namelist()
        assert archive.read("report.md") == view.last_path.read_bytes()
    figures = sorted(f.name for f in (demo_dir / "exports" / "report_figures").iterdir())
    assert sorted(n.split("/")[-1] for n in names if n.startswith("report_figures/")) == figures
    view.format.value = "html"
    view.button.click()
    [(name, data)] = download_links(view.download.value)
    assert name == "report.html" and data == (demo_dir / "exports" / "report.html").read_bytes()


def test_resource_pack_view_offers_the_pack_it_wrote(joint_demo):
    view = ResourcePackView(joint_demo)
    view.format.value = "docx"
    view.button.click()
    [(name, data)] = download_links(view.download.value)
    assert view.last_path.parent == joint_demo.study_dir / "exports"
    assert name == view.last_path.name and data == view.last_path.read_bytes()
    assert f"in the study folder: exports/{name}" in view.download.value
    assert "resource pack written" in view.status.value


def test_report_view_writes_the_chosen_framework_version_and_says_it_is_not_the_current(
    second_study,
):
    study = second_study("two_workshops", actor="rowan")
    view = ReportView(study)
    assert [v for _, v in view.version.options] == [None, 2, 1]
    assert len(view.workshop.options) == 1 + len(study.workshops())
    view.format.value = "md"
    view.version.value = 1
    view.button.click()
    assert "report written" in view.status.value
    text = view.last_path.read_text(encoding="utf-8")
    assert "This report shows framework v1" in text[:1500]  # at its top
    view.version.value = None  # the newest frozen version: no banner
    view.button.click()
    assert "This report shows framework v" not in view.last_path.read_text(encoding="utf-8")[:800]
