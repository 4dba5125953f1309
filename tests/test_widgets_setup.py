"""Setup widgets driven headless: set values, click, assert on the store."""

from __future__ import annotations

import base64
import html as html_lib
import re
from datetime import UTC, datetime

import pytest

from coprod_nb.analysis import study_info
from coprod_nb.seed.manifest import load_manifest
from coprod_nb.storage import Store
from coprod_nb.widgets import (
    ImportView,
    MyNotesView,
    PseudonymEditor,
    SearchView,
    SpeakerMapEditor,
    StudySetupEditor,
)
from coprod_nb.widgets._common import download_link, safe_file_name
from tests.test_manifest_write import setup_of

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
    assert view.progress.children == ()  # no stale bar left above the error
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


# -- a whole study set up in widgets, from an empty study (no name shared with the demo) --


HARBOUR_VTT = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nRowan Vey: What did the coalition share?\n\n"
    "00:00:05.000 --> 00:00:09.000\nDorothy Kell: The kitchen, and the say over it.\n"
)


def links(value: str) -> list[tuple[str, str, bytes]]:
    """(file name, mime, bytes) of every download link in an HTML value."""
    found = re.findall(r'<a download="([^"]*)" href="data:([^;"]+);base64,([^"]*)"', value)
    return [(html_lib.unescape(n), m, base64.b64decode(b)) for n, m, b in found]


def _file(name: str, content: bytes) -> dict:
    """One file of a FileUpload value, as ipywidgets 8 gives it."""
    return {
        "name": name,
        "type": "",
        "size": len(content),
        "last_modified": datetime(2024, 5, 1, tzinfo=UTC),
        "content": memoryview(content),
    }


def upload(view, name: str, content: bytes) -> None:
    view.upload.value = (_file(name, content),)


def set_up(editor: StudySetupEditor) -> None:
    """The Harbour study, typed into the editor's forms."""
    editor.study.name.value = "Harbour and hill"
    editor.study.description.value = "Two cases & <one> team"
    editor.study.save_button.click()
    p = editor.partnerships
    p.short.value, p.name.value = "HFC", "Harbour <b>Food</b> Coalition"
    p.attributes.value = 'region = "east coast"\nmembers = 7'
    p.add_button.click()
    p.pick.value = "(new)"
    p.short.value, p.name.value, p.attributes.value = "UPT", "Upland Play Trust", ""
    p.add_button.click()
    r = editor.researchers
    r.pick.value = "(new)"
    r.name.value, r.login.value, r.lead.value = "Rowan Vey", "rowan", True
    r.add_button.click()
    r.pick.value = "(new)"
    r.name.value, r.real_name.value, r.login.value = "Quill", "Imogen Strand", "quill"
    r.lead.value = False
    r.add_button.click()
    q = editor.participants
    q.pick.value = "(new)"
    q.name.value, q.real_name.value = "Pat Ember", "Dorothy Kell"
    q.partnership.value, q.role.value = "HFC", "chair"
    q.consent_record.value = q.consent_quote.value = True
    q.add_button.click()
    v = editor.vocabulary
    v.categories.value = "practice\nbarrier\nfacilitator\nreflection\nsurprise\n"
    v.save_categories.click()
    v.prompts.value = "What surprised you at the harbour?\n\nWho was missing?"
    v.save_prompts.click()


def test_study_setup_editor_sets_up_a_study_from_empty(store):
    editor = StudySetupEditor(store)
    assert "cp-study-setup" in editor._dom_classes
    assert [editor.tabs.get_title(i) for i in range(len(editor.tabs.children))] == [
        "Study",
        "Partnerships",
        "Participants",
        "Researchers",
        "Transcripts",
        "Vocabulary",
    ]
    set_up(editor)
    assert (store.study().name, store.study().description) == (
        "Harbour and hill",
        "Two cases & <one> team",
    )
    assert [(p.short, p.attributes) for p in store.partnerships()] == [
        ("HFC", {"region": "east coast", "members": 7}),
        ("UPT", {}),
    ]
    assert [(r.name, r.login, r.lead) for r in store.researchers()] == [
        ("Quill", "quill", False),
        ("Rowan Vey", "rowan", True),
    ]
    pat = store.participant("Pat Ember")
    assert (pat.partnership_id, pat.role, pat.consent_record, pat.consent_quote) == (
        store.partnership("HFC").id,
        "chair",
        True,
        True,
    )
    assert store.pseudonym_key().mapping == {"Imogen Strand": "Quill", "Dorothy Kell": "Pat Ember"}
    assert store.note_categories()[-1] == "surprise"
    assert store.prompts() == ("What surprised you at the harbour?", "Who was missing?")
    # the key is never shown: real names are cleared and absent from every table
    assert editor.participants.real_name.value == "" and editor.researchers.real_name.value == ""
    shown = editor.participants.table.value + editor.researchers.table.value
    assert "Dorothy" not in shown and "Imogen" not in shown
    assert "Harbour &lt;b&gt;Food&lt;/b&gt; Coalition" in editor.partnerships.table.value
    assert "<b>Food" not in editor.partnerships.table.value
    # every edit went through the event log
    assert {e.action for e in store.history("partnership")} == {"create"}
    assert [e.action for e in store.history("participant")] == ["create"]


def test_study_setup_editor_edits_what_exists(store):
    editor = StudySetupEditor(store)
    set_up(editor)
    p = editor.partnerships
    p.pick.value = "UPT"
    assert p.short.value == "UPT" and p.name.value == "Upland Play Trust"
    p.short.value, p.name.value = "UPS", "Upland Play Society"
    p.attributes.value = 'kind = "charity"'
    p.save_button.click()
    assert "saved" in p.status.value
    assert (store.partnership("UPS").name, store.partnership("UPS").attributes) == (
        "Upland Play Society",
        {"kind": "charity"},
    )
    q = editor.participants
    assert "UPS" in [v for _, v in q.partnership.options]
    q.pick.value = "Pat Ember"
    assert (q.role.value, q.partnership.value) == ("chair", "HFC")
    q.partnership.value, q.consent_quote.value = "UPS", False
    q.save_button.click()
    pat = store.participant("Pat Ember")
    assert (pat.partnership_id, pat.consent_quote) == (store.partnership("UPS").id, False)
    r = editor.researchers
    r.pick.value = "Quill"
    r.lead.value = True
    r.save_button.click()
    r.pick.value = "Rowan Vey"
    r.lead.value = False
    r.save_button.click()
    assert [x.name for x in store.researchers() if x.lead] == ["Quill"]
    r.pick.value = "Rowan Vey"
    r.remove_button.click()
    assert [x.name for x in store.researchers()] == ["Quill"]
    p.pick.value = "HFC"
    p.remove_button.click()
    assert [x.short for x in store.partnerships()] == ["UPS"]


def _events(store) -> int:
    from sqlalchemy import func, select

    from coprod_nb.storage.models import Event

    with store.session(write=False) as s:
        return s.scalar(select(func.count(Event.id)))


def test_study_setup_editor_shows_bad_input_and_changes_nothing(store):
    editor = StudySetupEditor(store)
    set_up(editor)
    before, events = setup_of(store), _events(store)
    p, q, r, v = editor.partnerships, editor.participants, editor.researchers, editor.vocabulary
    attempts = [
        (editor.study, lambda: setattr(editor.study.name, "value", " "), "save_button", "name"),
        (
            p,
            lambda: (setattr(p.pick, "value", "(new)"), setattr(p.short, "value", "")),
            "add_button",
            "short name",
        ),
        (
            p,
            lambda: (setattr(p.short, "value", "HFC"), setattr(p.name, "value", "Again")),
            "add_button",
            "already exists",
        ),
        (
            p,
            lambda: (
                setattr(p.short, "value", "NEW"),
                setattr(p.attributes, "value", "region: east"),
            ),
            "add_button",
            "key = value",
        ),
        (p, lambda: setattr(p.pick, "value", "HFC"), "remove_button", "1 participant"),
        (p, lambda: setattr(p.pick, "value", "(new)"), "save_button", "Choose the partnership"),
        (
            q,
            lambda: (
                setattr(q.name, "value", "Lou Brine"),
                setattr(q.real_name, "value", "lou brine"),
            ),
            "add_button",
            "differ",
        ),
        (
            r,
            lambda: (setattr(r.pick, "value", "Rowan Vey"), setattr(r.lead, "value", False)),
            "save_button",
            "only lead",
        ),
        (r, lambda: setattr(r.pick, "value", "Rowan Vey"), "remove_button", "leads the study"),
        (
            r,
            lambda: (setattr(r.pick, "value", "Quill"), setattr(r.login, "value", "rowan")),
            "save_button",
            "already has",
        ),
        (
            v,
            lambda: setattr(v.categories, "value", "practice\nPractice"),
            "save_categories",
            "twice",
        ),
    ]
    for form, fill, button, words in attempts:
        fill()
        getattr(form, button).click()
        assert "cp-error" in form.status.value and words in form.status.value, form.status.value
        assert "Traceback" not in form.status.value
        assert setup_of(store) == before and _events(store) == events, words


def test_save_as_manifest_offers_a_download_that_round_trips(store, tmp_path):
    editor = StudySetupEditor(store)
    set_up(editor)
    editor.manifest_button.click()
    assert "REAL NAMES" in editor.manifest_status.value
    [(name, mime, data)] = links(editor.download.value)
    assert name == "Harbour_and_hill_manifest_REAL_NAMES.toml" and mime == "application/toml"
    assert data == editor.manifest_text.encode("utf-8")
    assert not list(store.study_dir.rglob("*.toml"))  # nothing written on the server
    path = tmp_path / "private" / name
    path.parent.mkdir()
    path.write_bytes(data)
    fresh = Store(tmp_path / "fresh", actor="tester")
    try:
        load_manifest(fresh, path, progress=False)
        assert setup_of(fresh) == setup_of(store)
    finally:
        fresh.close()
    # a participant without a real name cannot go into a manifest: said, no link
    editor.participants.pick.value = "(new)"
    editor.participants.name.value = "Wren Ash"
    editor.participants.add_button.click()
    assert editor.download.value == ""
    editor.manifest_button.click()
    assert "Wren Ash" in editor.manifest_status.value and editor.download.value == ""


def test_import_view_upload_stays_inside_the_study_folder(store, tmp_path):
    store.add_researcher("Rowan Vey", "rowan", True)
    store.add_participant("Pat Ember", real_name="Dorothy Kell")
    view = ImportView(store)
    assert view.upload.multiple and ".vtt" in view.upload.accept
    upload(view, "../../hfc_2024-05-01.vtt", HARBOUR_VTT.encode())
    assert "imported 1 transcript" in view.status.value, view.status.value
    assert view.upload.value == ()
    [tr] = store.transcripts()
    assert tr.source_name == "hfc_2024-05-01.vtt" and str(tr.date) == "2024-05-01"
    [kept] = list((store.study_dir / "uploads").rglob("*.vtt"))
    assert kept.name == "hfc_2024-05-01.vtt" and kept.read_text() == HARBOUR_VTT
    assert kept.resolve().is_relative_to(store.study_dir.resolve())
    for folder in (store.study_dir, store.study_dir.parent, store.study_dir / "uploads"):
        assert not list(folder.glob("*.vtt"))
    assert "Dorothy" not in tr.text and "Pat Ember" in tr.text


def test_import_view_bad_upload_adds_nothing_and_keeps_no_file(store):
    view = ImportView(store)
    upload(view, "hfc.vtt", b"this is not WEBVTT")
    assert "cp-error" in view.status.value and "hfc.vtt" in view.status.value
    assert "nothing was added" in view.status.value
    assert store.transcripts() == []
    assert not [f for f in (store.study_dir / "uploads").rglob("*") if f.is_file()]
    upload(view, "notes.exe", b"MZ")
    assert "cp-error" in view.status.value and store.transcripts() == []


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../x.vtt", "x.vtt"),
        ("..", "upload"),
        ("a\\b/..\\c.srt", "c.srt"),
        (".hidden.txt", "hidden.txt"),
        ("Zoë Kell <2024>.docx", "Zoë Kell _2024_.docx"),
    ],
)
def test_safe_file_name(given, safe):
    assert safe_file_name(given) == safe


def test_download_link_carries_the_file(tmp_path):
    f = tmp_path / "notes.csv"
    f.write_bytes(b'a,b\n1,"<x>"\n')
    value = download_link(f, detail="exports/<notes>.csv")
    assert links(value) == [("notes.csv", "text/csv", f.read_bytes())]
    assert "&lt;notes&gt;" in value and 'class="cp-download"' in value


def test_my_notes_view_downloads_my_notes_only(store):
    store.add_partnership("HFC", "Harbour Food Coalition")
    store.add_researcher("Rowan Vey", "rowan", True)
    store.add_researcher("Sorrel Dane", "sorrel")
    store.add_note("Rowan Vey", "HFC", "Rowan's <own> reading", category="practice")
    store.add_note("Sorrel Dane", "HFC", "Sorrel's secret reading", category="barrier")
    store.actor = "rowan"  # the person working
    view = MyNotesView(store, "Rowan Vey")
    assert "cp-notes-export" in view._dom_classes
    view.button.click()
    [(name, mime, data)] = links(view.download.value)
    assert (name, mime) == ("notes_Rowan_Vey.md", "text/markdown")
    # typed text shows as itself: HTML is escaped (coprod_nb/domain/markdown.py)
    assert b"Rowan's &lt;own&gt; reading" in data and b"Sorrel" not in data
    assert data == view.last_bytes and "1 note of" in view.status.value
    view.format.value = "csv"
    assert view.download.value == ""  # a link for other choices does not stay
    view.button.click()
    [(name, _, data)] = links(view.download.value)
    assert name == "notes_Rowan_Vey.csv" and b"secret" not in data
    assert data.decode().splitlines()[0].startswith('"id","partnership","category"')
    assert not (store.study_dir / "exports").exists()  # nothing colleagues could open
    store.actor = "tester"
    nobody = MyNotesView(store)  # the actor "tester" is not on the team
    # said plainly when it opens (a stage of the set-up, not an error) ...
    assert "cp-info" in nobody.status.value and "not a researcher" in nobody.status.value
    nobody.button.click()
    # ... and refused as an error when the export is asked for anyway
    assert "cp-error" in nobody.status.value and nobody.download.value == ""


def test_study_setup_editor_takes_hostile_text_as_text(store):
    editor = StudySetupEditor(store)
    p = editor.partnerships
    p.short.value, p.name.value = "{0}<b>", "Harbour {result} <script>x</script>"
    p.add_button.click()
    assert "cp-ok" in p.status.value and "{0}&lt;b&gt;" in p.status.value
    assert store.partnership("{0}<b>").name == "Harbour {result} <script>x</script>"
    assert "<script>" not in p.table.value and "&lt;script&gt;" in p.table.value
    editor.vocabulary.categories.value = "practice\n{0}"
    editor.vocabulary.save_categories.click()
    assert store.note_categories() == ("practice", "{0}")


def test_import_view_uploads_a_qdpx_project_on_its_own(store, tmp_path):
    from coprod_nb.exchange.refi_qda import export_qdpx
    from coprod_nb.ingest import import_transcripts

    source = Store(tmp_path / "source", actor="tester")
    try:
        source.add_researcher("Rowan Vey", "rowan", True)
        f = tmp_path / "hfc_2024-05-01.txt"
        f.write_text("Rowan Vey: What did the coalition share?\nPat: The kitchen.\n")
        import_transcripts(source, [f], progress=False)
        project = export_qdpx(source, tmp_path / "harbour.qdpx").read_bytes()
    finally:
        source.close()
    view = ImportView(store)
    assert ".qdpx" in view.upload.accept
    upload(view, "harbour.qdpx", project)
    assert "cp-ok" in view.status.value, view.status.value
    assert [t.title for t in store.transcripts()] == ["hfc_2024-05-01"]
    upload(view, "broken.qdpx", b"not a zip")
    assert "cp-error" in view.status.value and "broken.qdpx: not imported" in view.status.value
    view.upload.value = (
        _file("a.qdpx", project),
        _file("b.vtt", HARBOUR_VTT.encode()),
    )
    assert "on its own" in view.status.value
    assert len(store.transcripts()) == 1
    kept = [p.name for p in (store.study_dir / "uploads").rglob("*") if p.is_file()]
    assert kept == ["harbour.qdpx"]


def test_a_transcript_imported_before_its_partnership_gets_one_and_a_date(second_study):
    import datetime as dt

    study = second_study("no_researchers", actor="rowan")
    first = study.transcripts(text=False)[0]
    study.update_transcript(first.id, partnership=None, date=None)  # as if imported early
    editor = StudySetupEditor(study)
    form = editor.transcripts
    assert "cp-setup-transcripts" in form._dom_classes
    form.pick.value = first.id
    assert form.partnership.value is None and form.date.value is None
    form.partnership.value = "PIER"
    form.date.value = dt.date(2022, 5, 2)
    form.save_button.click()
    tr = study.transcript(first.id)
    assert study.partnership(tr.partnership_id).short == "PIER" and tr.date == dt.date(2022, 5, 2)
    assert "saved" in form.status.value and "PIER" in form.table.value
    assert [e.action for e in study.history("transcript", first.id)][-1] == "update"
    from coprod_nb.errors import NotFound

    with pytest.raises(NotFound):
        study.update_transcript(first.id, partnership="NOPE")
    assert study.transcript(first.id).partnership_id == tr.partnership_id  # unchanged
