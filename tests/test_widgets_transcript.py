"""TranscriptView (the custom transcript widget), CodingView and recordings, driven headless.

The front end's messages are sent to the pane as the browser sends them
(``pane._handle_custom_msg``); the browser itself is in tests/browser/test_lab_transcript.py.
"""

from __future__ import annotations

import wave
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, update

from coprod_nb.domain import RawTurn
from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.storage import Store, head_revision
from coprod_nb.storage.database import _alembic_config, current_revision
from coprod_nb.storage.media import attach_media, media_file
from coprod_nb.storage.models import Transcript
from coprod_nb.storage.pages import query_spans
from coprod_nb.widgets import CodingView, TranscriptView
from coprod_nb.widgets import transcript as transcript_module
from tests.acting import all_excerpts, as_
from tests.badinput import assert_refused, run_cli

EMOJI_TEXT = "Party 🎉🎉 then the pier 🙂 was ours, we said."
SPAN = "the pier"


def write_wav(path: Path, seconds: float = 3.0, rate: int = 8000) -> Path:
    """A short silent recording (mono, 16 bit)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return path


def send(view: TranscriptView, **content) -> None:
    """A message from the front end, as the browser sends it."""
    view.pane._handle_custom_msg(content, [])


def add_emoji_transcript(store: Store, partnership: str) -> int:
    turns = [
        RawTurn("Interviewer", "Hello, can you hear me?", 0, 1500),
        RawTurn("Speaker B", EMOJI_TEXT, 1500, 4000),
    ]
    tr = store.add_transcript(
        turns,
        title="emoji talk",
        source_name="emoji.vtt",
        source_format="vtt",
        content_hash="emoji-talk",
        partnership=partnership,
    )
    return tr.id


# -- paging -----------------------------------------------------------------------------


def test_a_page_is_fetched_alone_and_never_the_transcript_text(recall_demo, monkeypatch):
    view = TranscriptView(as_(recall_demo, "Alder"), "Alder")
    assert "cp-transcript-view" in view._dom_classes
    assert "cp-transcript-pane" in view.pane._dom_classes
    total = view.total
    assert total > 50 and len(view.pane.turns) == 25
    pages, texts = [], []
    real_page = transcript_module.turn_page

    def spy(store, tid, start, stop):
        got = real_page(store, tid, start, stop)
        pages.append((start, stop, len(got.turns)))
        return got

    monkeypatch.setattr(transcript_module, "turn_page", spy)
    monkeypatch.setattr(recall_demo, "transcript", lambda *a, **k: texts.append(a))
    view.next.click()
    send(view, kind="page", step=1)  # PageDown in the pane
    assert pages == [(25, 50, 25), (50, 75, 25)] and texts == []
    assert [t["seq"] for t in view.pane.turns] == list(range(50, 75))
    assert view.pane.position == view.position.value == f"turns #50–#74 of {total}"
    send(view, kind="page", step=-1)
    assert view.pane.turns[0]["seq"] == 25 and view.pane.can_prev and view.pane.can_next


def test_partnership_filters_transcripts(recall_demo):
    view = TranscriptView(as_(recall_demo, "Alder"), "Alder")
    view.partnership.value = "TCP"
    tcp = recall_demo.partnership("TCP").id
    assert view.transcript.options
    assert all(recall_demo.transcript(i).partnership_id == tcp for _, i in view.transcript.options)
    assert view.page_turns[0].transcript_id == view.transcript.value


# -- select to code ---------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["recall", "joint"])
def test_a_selected_span_becomes_an_excerpt_of_exactly_it(second_study, variant):
    st = second_study(variant, "quill")
    tid = add_emoji_transcript(st, "PIER")
    view = TranscriptView(st)
    view.show(tid, 1)
    turn = next(t for t in view.page_turns if t.seq == 1)
    start = turn.text.index(SPAN)  # code points, as Python counts: the emoji count once
    assert start == EMOJI_TEXT.index(SPAN) and len(EMOJI_TEXT.encode("utf-16-le")) // 2 > len(
        EMOJI_TEXT
    )
    send(view, kind="select", spans=[{"turn": turn.id, "start": start, "end": start + 8}])
    assert "1 passage selected" in view.selection.value
    assert view.pane.selection == [{"turn": turn.id, "start": start, "end": start + 8}]
    send(view, kind="anchor", spans=[{"turn": turn.id, "start": start, "end": start + 8}])
    [ex] = [e for e in all_excerpts(st) if e.transcript_id == tid]
    assert ex.text == SPAN and ex.created_by == "quill"
    assert (ex.start, ex.end) == (turn.char_start + start, turn.char_start + start + 8)
    [row] = [t for t in view.pane.turns if t["id"] == turn.id]
    [mark] = row["marks"]  # drawn highlighted, at the offsets of the turn's text
    assert (mark["start"], mark["end"], mark["excerpt"], mark["mine"]) == (
        start,
        start + 8,
        ex.id,
        True,
    )
    assert view.pane.selection == [] and "1 excerpt created" in view.status.value


def test_bad_spans_from_the_browser_are_refused_with_a_message(second_study):
    st = second_study("recall", "quill")
    view = TranscriptView(st)
    turn = view.page_turns[0]
    before = len(all_excerpts(st))
    send(view, kind="anchor", spans=[{"turn": turn.id, "start": 5, "end": 10_000}])
    assert "cp-error" in view.status.value and "outside turn" in view.status.value
    send(view, kind="anchor", spans=[{"turn": "x", "start": 0, "end": 1}])
    assert "cannot read" in view.status.value
    send(view, kind="anchor", spans=[])
    assert "Select a passage" in view.status.value
    assert len(all_excerpts(st)) == before


def test_selection_survives_paging_and_escape_clears_it(recall_demo):
    view = TranscriptView(as_(recall_demo, "Alder"), "Alder")
    turn = view.page_turns[3]
    view.select_span(turn.id, 2, 9)
    view.next.click()
    view.prev.click()
    assert view.pane.turns[3]["selected"] == [2, 9]
    send(view, kind="clear")
    assert view.pane.selection == [] and view.selection.value == ""


# -- highlights: whose, by stage --------------------------------------------------------


def _gull(st: Store) -> int:
    return next(t.id for t in st.transcripts() if "logo on everything" in t.text)


def _marked_texts(view: TranscriptView) -> set[str]:
    return {t["text"][m["start"] : m["end"]] for t in view.pane.turns for m in t["marks"]}


def test_during_step_1_only_ones_own_passages_are_drawn(second_study):
    st = second_study("recall", "quill")
    view = TranscriptView(st)
    tid = _gull(st)
    seq = next(t.seq for t in st.turns(tid) if "logo on everything" in t.text)
    view.show(tid, seq)
    marked = _marked_texts(view)
    assert "the trust board wants a logo on everything" in marked  # Quill's
    assert "The fishermen's wives started it, not us." not in marked  # Rowan's, hidden
    [mark] = [m for t in view.pane.turns for m in t["marks"]]
    assert mark["codes"] == ["category:obstacle"] and mark["mine"]
    assert view.pane.codes["category:obstacle"]["label"] == "obstacle"


def test_after_step_1_everyones_passages_with_tension_stripes(second_study):
    st = second_study("joint", "quill")
    view = TranscriptView(st)
    view.show(_gull(st), 0)
    marks = {}
    for _ in range(3):  # the passages lie on the first pages
        marks.update(
            {t["text"][m["start"] : m["end"]]: m for t in view.pane.turns for m in t["marks"]}
        )
        view.next.click()
    rowan = marks["The fishermen's wives started it, not us."]
    assert "tension:H1" in rowan["codes"] and rowan["mine"] is False
    assert "tension:H2" in marks["the trust board wants a logo on everything"]["codes"]
    assert view.pane.codes["tension:H1"]["label"].startswith("H1 ")


def test_clicking_a_highlight_opens_its_note(second_study):
    st = second_study("joint", "quill")
    coding = CodingView(st)
    assert "cp-coding-view" in coding._dom_classes
    reader = coding.reader
    reader.show(_gull(st), 0)
    by_text = {t["text"][m["start"] : m["end"]]: m for t in reader.pane.turns for m in t["marks"]}
    own = by_text["the trust board wants a logo on everything"]
    send(reader, kind="open", excerpt=own["excerpt"])
    assert coding.editor.note_id == own["notes"][0]
    assert "logo" in coding.editor.text.value or coding.editor.text.value
    rowan = by_text["The fishermen's wives started it, not us."]
    send(reader, kind="open", excerpt=rowan["excerpt"])  # a colleague's: read-only
    assert "Rowan" in coding.other_note.value and "tea mornings" in coding.other_note.value
    assert coding.editor.note_id == own["notes"][0]


def test_anchor_in_the_pane_anchors_the_docked_note(second_study):
    st = second_study("recall", "quill")
    coding = CodingView(st)
    reader, editor = coding.reader, coding.editor
    tid = add_emoji_transcript(st, "PIER")
    reader.show(tid, 1)
    turn = reader.page_turns[1]
    span = {"turn": turn.id, "start": turn.text.index(SPAN), "end": turn.text.index(SPAN) + 8}
    send(reader, kind="anchor", spans=[span])  # no note yet: an excerpt of its own
    assert [e.text for e in all_excerpts(st) if e.transcript_id == tid] == [SPAN]
    editor.text.value = "The pier belongs to them"
    send(reader, kind="anchor", spans=[{**span, "start": 0, "end": 5}])
    note = st.note(editor.note_id)
    assert [e.text for e in note.excerpts] == ["Party"]
    [row] = [t for t in reader.pane.turns if t["id"] == turn.id]
    party = next(m for m in row["marks"] if m["start"] == 0)
    assert party["notes"] == [note.id] and party["codes"] == [f"category:{note.category}"]


# -- search hits ------------------------------------------------------------------------


def test_search_hits_are_marked_in_place(second_study):
    st = second_study("transcripts", "rowan")
    view = TranscriptView(st)
    view.search.query.value = '"logo on" board*'
    hit = view.search.hits[0]
    view.search.results.children[0].children[0].click()
    [row] = [t for t in view.pane.turns if t["seq"] == hit.seq]
    found = {row["text"][s:e].lower() for s, e in row["hits"]}
    assert "logo on" in found and "board" in found
    assert view.pane.current == hit.seq
    assert query_spans("pier*", "The Pier, piers; pie") == [(4, 8), (10, 15)]
    assert query_spans("", "x") == [] and query_spans("🙂", "🙂") == []


def test_transcript_text_goes_to_the_browser_as_text_only(second_study):
    st = second_study("transcripts", "rowan")
    hostile = '<img src=x onerror="window.__xss=1"> <script>alert(1)</script>'
    tr = st.add_transcript(
        [RawTurn("Speaker", hostile)],
        title="hostile",
        source_name="h.txt",
        source_format="txt",
        content_hash="hostile",
    )
    view = TranscriptView(st)
    view.show(tr.id, 0)
    assert view.pane.turns[0]["text"] == hostile  # the front end sets it as textContent
    js = (Path(transcript_module.__file__).parent / "static" / "transcript.js").read_text()
    assert "innerHTML" not in js.replace("never innerHTML", "")


# -- recordings -------------------------------------------------------------------------


def test_a_recording_is_copied_into_the_study_and_sent_to_the_pane(second_study, tmp_path):
    st = second_study("recall", "quill")
    tid = add_emoji_transcript(st, "PIER")
    wav = write_wav(tmp_path / "talk.wav")
    where = attach_media(st, tid, wav)
    assert where == "media/talk.wav" and (st.study_dir / where).read_bytes() == wav.read_bytes()
    assert attach_media(st, tid, wav) == where  # the same file again: no second copy
    (tmp_path / "other").mkdir()
    other = write_wav(tmp_path / "other" / "talk.wav", seconds=1)
    assert attach_media(st, tid, other) == "media/talk-2.wav"
    attach_media(st, tid, wav)
    view = TranscriptView(st)
    view.show(tid, 0)
    assert view.pane.media == wav.read_bytes() and view.pane.media_type == "audio/wav"
    assert [t["start"] for t in view.pane.turns] == [0.0, 1.5]
    assert [t["time"] for t in view.pane.turns] == ["0:00", "0:01"]
    version = view.pane.media_version
    view.next.click()  # paging does not send the recording again
    assert view.pane.media_version == version
    assert [e.after for e in st.history("transcript", tid)][-1] == {"media_path": where}


def test_recordings_must_stay_inside_the_study(second_study, tmp_path):
    st = second_study("transcripts", "rowan")
    tid = st.transcripts()[0].id
    outside = write_wav(tmp_path / "outside.wav")
    (st.study_dir / "media").mkdir()
    (st.study_dir / "media" / "link.wav").symlink_to(outside)
    for bad, problem in [
        ("../outside.wav", "inside the study folder"),
        (str(outside), "inside the study folder"),
        ("media/link.wav", "outside the study folder"),
    ]:
        with st.session() as s:
            s.execute(update(Transcript).where(Transcript.id == tid).values(media_path=bad))
        with pytest.raises(InvalidInput, match=problem):
            media_file(st, tid)
        view = TranscriptView(st)
        assert view.pane.media == b"" and "recording" in view.status.value
    with st.session() as s:
        s.execute(update(Transcript).where(Transcript.id == tid).values(media_path="media/x.wav"))
    with pytest.raises(NotFound, match="missing"):
        media_file(st, tid)
    with pytest.raises(InvalidInput, match="not an audio or video"):
        attach_media(st, tid, tmp_path / "notes.txt")


def test_a_recording_over_the_cap_is_not_sent(second_study, tmp_path, monkeypatch):
    st = second_study("transcripts", "rowan")
    tid = st.transcripts()[0].id
    attach_media(st, tid, write_wav(tmp_path / "long.wav"))
    monkeypatch.setattr(transcript_module, "MAX_MEDIA_BYTES", 1000)
    view = TranscriptView(st)
    view.show(tid, 0)
    assert view.pane.media == b""
    assert "long.wav" in view.status.value and "up to 0 MB" in view.status.value


def test_import_with_media_and_its_refusals(second_study, tmp_path, capsys):
    st = second_study("transcripts", "rowan")
    study = st.study_dir
    st.close()
    vtt = tmp_path / "pier_2022-04-02.vtt"
    vtt.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Ash Penhale>The tide is out.\n")
    wav = write_wav(tmp_path / "pier.wav")
    notes = tmp_path / "pier.txt"
    notes.write_text("not a recording")
    assert_refused(
        ["import", str(study), str(vtt), "--media", str(notes), "-q"],
        study,
        capsys,
        names=("pier.txt", "not an audio or video file"),
    )
    assert_refused(
        ["import", str(study), str(vtt), "--media", str(tmp_path / "gone.wav"), "-q"],
        study,
        capsys,
        names=("gone.wav", "no such recording"),
    )
    status, out, err, _written = run_cli(
        ["import", str(study), str(vtt), "--media", str(wav), "--partnership", "PIER", "-q"],
        capsys,
    )
    assert status == 0, err
    assert "recording: media/pier.wav" in out
    with Store(study, actor="rowan") as again:
        tr = again.transcript("pier_2022-04-02")
        assert tr.media_path == "media/pier.wav"
        assert media_file(again, tr.id).read_bytes() == wav.read_bytes()


def test_no_export_carries_the_recording(second_study, tmp_path):
    from coprod_nb.exchange.refi_qda import export_qdpx

    st = second_study("joint", "rowan")
    tid = _gull(st)
    wav = write_wav(tmp_path / "gull-recording.wav", seconds=0.5)
    attach_media(st, tid, wav)
    path = export_qdpx(st, tmp_path / "out.qdpx")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        blobs = b"".join(z.read(n) for n in names)
    assert not any(n.endswith(".wav") for n in names)
    assert b"gull-recording" not in blobs and wav.read_bytes()[:44] not in blobs


def test_migration_0010_downgrades_and_upgrades_again(second_study, tmp_path):
    st = second_study("recall", "rowan")
    tid = st.transcripts()[0].id
    attach_media(st, tid, write_wav(tmp_path / "a.wav", seconds=0.2))
    cfg = _alembic_config()

    def columns() -> tuple[set, set]:
        insp = inspect(st.engine)
        return (
            {c["name"] for c in insp.get_columns("transcript")},
            {i["name"] for i in insp.get_indexes("note_excerpt")},
        )

    with st.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    cols, indexes = columns()
    assert "media_path" not in cols and "ix_note_excerpt_excerpt_id" not in indexes
    with st.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert current_revision(st.engine) == head_revision()
    cols, indexes = columns()
    assert "media_path" in cols and "ix_note_excerpt_excerpt_id" in indexes
    assert media_file(st, tid) is None  # the column came back empty
    view = TranscriptView(st)
    assert view.page_turns and [m for m in view.page_marks if m.notes]


def test_attach_a_recording_in_the_set_up(second_study, tmp_path):
    from coprod_nb.widgets import StudySetupEditor

    st = second_study("transcripts", "rowan")
    form = StudySetupEditor(st).transcripts
    tid = form.pick.value
    raw = write_wav(tmp_path / "up.wav", seconds=0.3).read_bytes()

    def upload(name: str, data: bytes) -> None:
        form.recording.value = (
            {
                "name": name,
                "type": "",
                "size": len(data),
                "content": memoryview(data),
                "last_modified": datetime(2022, 4, 2, tzinfo=UTC),
            },
        )

    upload("../evil name.txt", b"not audio")
    form.attach_button.click()
    assert "not an audio or video file" in form.status.value
    assert not (st.study_dir / "media").exists() and media_file(st, tid) is None
    upload("../Quay talk.wav", raw)
    form.attach_button.click()
    assert "recording saved as media/" in form.status.value
    path = media_file(st, tid)
    assert path.read_bytes() == raw and path.name == "Quay talk.wav"
    assert path.is_relative_to((st.study_dir / "media").resolve())
    assert "Quay talk.wav" in form.table.value


def test_a_page_and_its_recording_on_both_databases(tmp_path, db_url):
    from coprod_nb.storage.pages import turn_page
    from tests.second_study import build_second_study

    st = build_second_study(tmp_path / "second", "joint", db_url)
    try:
        tid = _gull(st)
        total = st.turn_count(tid)
        page = turn_page(st, tid, 0, total)
        assert [t.seq for t in page.turns] == list(range(total))
        texts = {st.transcript(tid).text[m.start : m.end] for m in page.marks}
        assert "the trust board wants a logo on everything" in texts
        h2 = next(m for m in page.marks if "logo" in st.transcript(tid).text[m.start : m.end])
        assert h2.notes and "H2" in h2.tensions and page.tension_names["H2"]
        where = attach_media(st, tid, write_wav(tmp_path / "g.wav", seconds=0.2))
        assert media_file(st, tid) == (st.study_dir / where).resolve()
    finally:
        st.close()
