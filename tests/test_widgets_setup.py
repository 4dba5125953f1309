"""Setup widgets driven headless: set values, click, assert on the store."""

from __future__ import annotations

from coprod_nb.analysis import study_info
from coprod_nb.widgets import ImportView, PseudonymEditor, SearchView, SpeakerMapEditor

VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nAri Quell: Meet at the cafe.\n"
# Plain text keeps angle brackets (WebVTT would read them as cue markup).
HOSTILE = "Ari Quell: The <script>alert(1)</script> cafe <img src=x onerror=alert(2)>.\n"


def test_import_view_imports_and_reports(demo, tmp_path):
    f = tmp_path / "extra_2021-07-01.vtt"
    f.write_text(VTT)
    view = ImportView(demo)
    assert "cp-import-view" in view._dom_classes
    view.paths.value = str(f)
    view.partnership.value = "TCP"
    view.button.click()
    tr = demo.transcript("extra_2021-07-01")
    assert tr.partnership_id == demo.partnership("TCP").id
    assert "imported 1 transcript" in view.status.value
    assert "Ari Quell" in view.status.value  # listed as a speaker to map


def test_import_view_shows_errors_and_adds_nothing(demo, tmp_path):
    before = study_info(demo)["transcripts"]
    bad = tmp_path / "bad.vtt"
    bad.write_text("this is not WEBVTT")
    view = ImportView(demo)
    view.paths.value = str(bad)
    view.button.click()
    assert "bad.vtt" in view.status.value and "cp-error" in view.status.value
    assert study_info(demo)["transcripts"] == before
    view.paths.value = ""
    view.button.click()
    assert "at least one file" in view.status.value


def test_speaker_map_editor_links_a_speaker(demo, tmp_path):
    f = tmp_path / "extra.vtt"
    f.write_text(VTT)
    ImportView(demo).paths.value = str(f)
    view = ImportView(demo)
    view.paths.value = str(f)
    view.button.click()
    editor = SpeakerMapEditor(demo)
    assert editor.speaker.options == ("Ari Quell",)
    editor.speaker.value = "Ari Quell"
    editor.person.value = "Kit Moreland"
    editor.button.click()
    assert demo.unmatched_speakers() == {}
    turn = demo.turns("extra")[0]
    assert turn.participant_id == demo.participant("Kit Moreland").id
    assert "linked" in editor.status.value


def test_pseudonym_editor_replaces_everywhere_and_clears_the_real_name(demo):
    assert demo.search("quilt")  # a word of the demo that we now treat as identifying
    editor = PseudonymEditor(demo)
    editor.real_name.value = "quilt"
    editor.pseudonym.value = "[artwork]"
    editor.button.click()
    assert demo.search("quilt") == []
    assert editor.real_name.value == ""
    assert "quilt" not in editor.status.value
    editor.real_name.value = "x"
    editor.pseudonym.value = ""
    editor.button.click()
    assert "cp-error" in editor.status.value


def test_search_view_highlights_escapes_and_opens(demo, tmp_path):
    f = tmp_path / "hostile.txt"
    f.write_text(HOSTILE)
    importer = ImportView(demo)
    importer.paths.value = str(f)
    importer.button.click()
    view = SearchView(demo)
    opened = []
    view.on_open(lambda tid, seq: opened.append((tid, seq)))
    view.query.value = "cafe"
    assert len(view.hits) >= 1
    html = "".join(row.children[1].value for row in view.results.children)
    assert '<mark class="cp-hit">' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img src=x" in html
    view.results.children[0].children[0].click()
    assert opened == [(view.hits[0].transcript_id, view.hits[0].seq)]
    view.query.value = '"'
    assert "nothing to search for" in view.status.value
