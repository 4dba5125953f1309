"""Step 1 widgets driven headless: set values, click, assert on the store."""

from __future__ import annotations

import asyncio
import threading

import pytest

from coprod_nb.errors import NotFound
from coprod_nb.ingest import import_transcripts
from coprod_nb.widgets.recall import NoteEditor, ResearcherPicker, TranscriptView
from tests.acting import all_excerpts, as_

HOSTILE = (
    "Ann Example: We said <script>alert(1)</script> in the minutes.\n"
    "Ann Example: And then <img src=x onerror=alert(1)> appeared on the slide.\n"
)


@pytest.fixture
def demo(recall_demo):
    """These tests play step 1: the demo study with step 1 still open."""
    return recall_demo


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0):
        self.times = [now]

    def __call__(self) -> float:
        return self.times[-1]

    def advance(self, seconds: float) -> None:
        self.times.append(self.times[-1] + seconds)


def notes_since(store, who, before, **kwargs) -> list:
    """Notes of ``who`` that were not there before (the demo ships notes of its own)."""
    return [n for n in as_(store, who).notes(**kwargs) if n.id not in before]


def note_ids(store, who) -> set[int]:
    return {n.id for n in as_(store, who).notes(include_deleted=True)}


def first_transcript(store):
    return store.transcripts()[0]


def page_html(view: TranscriptView) -> str:
    return "".join(row.children[1].value for row in view.turn_rows.children)


def select(view: TranscriptView, *positions: int) -> list:
    """Tick the "select" box of rows on the current page; return their turns."""
    for i in positions:
        view.turn_rows.children[i].children[0].value = True
    return [view.page_turns[i] for i in positions]


# -- ResearcherPicker -----------------------------------------------------------------


def test_picker_is_who_is_working_by_login_or_name(demo, monkeypatch):
    demo.actor = "BIRCH"  # a login, in another case
    picker = ResearcherPicker(demo)
    assert picker.value == "Birch"
    assert "cp-researcher-picker" in picker._dom_classes
    assert picker.dropdown.label == "Birch (login birch)" and picker.dropdown.disabled
    demo.actor = "Cedar"  # a name does too
    assert ResearcherPicker(demo).value == "Cedar"
    demo.actor = "someone-else"  # nobody is guessed: the picker says who is missing
    nobody = ResearcherPicker(demo)
    assert nobody.value is None and nobody.dropdown.options == ()
    assert "You (login someone-else) are not a researcher of this study" in nobody.status.value


# -- TranscriptView ------------------------------------------------------------------


def test_transcript_view_fetches_one_page_at_a_time(demo, monkeypatch):
    tr = first_transcript(demo)
    total = len(demo.turns(tr.id))
    assert total > 50
    view = TranscriptView(as_(demo, "Alder"), "Alder")
    assert "cp-transcript-view" in view._dom_classes
    assert view.transcript.value == tr.id
    calls = []
    real = demo.turns

    def spy(transcript, start=0, stop=None):
        got = real(transcript, start, stop)
        calls.append((start, stop, len(got)))
        return got

    monkeypatch.setattr(demo, "turns", spy)
    view.next.click()
    assert calls == [(25, 50, 25)]  # only the window, never the whole transcript
    assert [t.seq for t in view.page_turns] == list(range(25, 50))
    assert len(view.turn_rows.children) == 25
    assert view.position.value == f"turns #25–#49 of {total}"
    assert view.prev.disabled is False
    view.prev.click()
    assert [t.seq for t in view.page_turns] == list(range(25))
    assert view.prev.disabled is True
    for _ in range(10):
        view.next.click()
    assert view.page_turns[-1].seq == total - 1 and view.next.disabled
    assert max(n for _, _, n in calls) == 25


def test_paging_refills_the_same_rows_and_keeps_the_selection(demo):
    view = TranscriptView(as_(demo, "Alder"), "Alder")
    rows = view.turn_rows.children
    picked = select(view, 1)
    view.next.click()
    # Same row widgets with the next page's turns; refilling a row is not a selection.
    assert view.turn_rows.children == rows
    assert ">#25<" in rows[0].children[1].value and not rows[1].children[0].value
    assert view._selected == {picked[0].id: picked[0]}
    view.prev.click()
    assert rows[1].children[0].value is True and ">#1<" in rows[1].children[1].value
    rows[1].children[0].value = False
    assert view._selected == {}
    for _ in range(10):
        view.next.click()  # the last page is shorter: fewer rows on screen
    assert len(view.turn_rows.children) == len(view.page_turns) < 25


def test_partnership_filters_transcripts(demo):
    view = TranscriptView(as_(demo, "Alder"), "Alder")
    view.partnership.value = "TCP"
    tcp = demo.partnership("TCP").id
    assert view.transcript.options
    assert all(demo.transcript(i).partnership_id == tcp for _, i in view.transcript.options)
    assert view.page_turns[0].transcript_id == view.transcript.value
    view.partnership.value = None
    assert len(view.transcript.options) == len(demo.transcripts())


def test_selected_turns_become_excerpts_with_the_turn_text(demo):
    view = TranscriptView(as_(demo, "Alder"), "Alder")
    picked = select(view, 2, 5)
    view.next.click()
    picked += select(view, 0)  # the selection survives paging
    assert "3 turn(s) selected" in view.selection.value
    ids = view.selected_excerpts()
    by_id = {e.id: e for e in all_excerpts(demo)}
    assert [by_id[i].text for i in ids] == [t.text for t in picked]
    assert view.selected_excerpts() == []  # cleared: no duplicates on a second call


def test_quote_anchoring_and_its_error(demo):
    view = TranscriptView(as_(demo, "Alder"), "Alder")
    turn = view.page_turns[3]
    quote = turn.text[:40]
    view.quote.value = quote
    [eid] = view.selected_excerpts()
    assert {e.id: e for e in all_excerpts(demo)}[eid].text == quote
    assert view.quote.value == ""
    before = len(demo.excerpts())
    select(view, 1)
    view.quote.value = "words nobody ever said in this study"
    with pytest.raises(NotFound, match="quote not found"):
        view.selected_excerpts()
    assert "cp-error" in view.status.value and "quote not found" in view.status.value
    assert len(demo.excerpts()) == before  # nothing half-made


def test_mark_as_read_follows_the_store_and_the_picker(demo):
    demo.actor = "alder"
    picker = ResearcherPicker(demo)
    view = TranscriptView(demo, picker)
    tid = view.transcript.value
    assert view.read.value is False
    view.read.value = True
    assert ("Alder", tid) in demo.readings()
    demo.actor = "birch"  # the same notebook, reopened as another login
    picker.refresh()
    assert view.read.value is False  # Birch has not read it
    demo.mark_read("Birch", tid)
    demo.actor = "cedar"
    picker.refresh()
    demo.actor = "birch"
    picker.refresh()
    assert view.read.value is True
    view.read.value = False
    assert ("Birch", tid) not in demo.readings() and ("Alder", tid) in demo.readings()


def test_search_hit_opens_the_transcript_at_that_turn(demo):
    view = TranscriptView(as_(demo, "Alder"), "Alder")
    target = demo.transcripts()[2]
    turn = demo.turns(target.id, 60, 61)[0]
    words = turn.text.split()[:4]
    view.search.query.value = '"' + " ".join(words) + '"'
    hits = view.search.hits
    i = next(k for k, h in enumerate(hits) if (h.transcript_id, h.seq) == (target.id, 60))
    view.search.results.children[i].children[0].click()
    assert view.transcript.value == target.id
    assert [t.seq for t in view.page_turns] == list(range(50, 75))
    current = [r for r in view.turn_rows.children if "cp-turn-current" in r._dom_classes]
    assert len(current) == 1 and "#60" in current[0].children[1].value
    view.next.click()
    view.prev.click()
    assert sum("cp-turn-current" in r._dom_classes for r in view.turn_rows.children) == 1


def test_transcript_text_is_escaped(demo, tmp_path):
    f = tmp_path / "hostile_2021-08-01.txt"
    f.write_text(HOSTILE)
    import_transcripts(demo, [f], progress=False)
    tid = demo.transcript("hostile_2021-08-01").id
    view = TranscriptView(as_(demo, "Alder"), "Alder")
    view.show(tid, 0)
    html = page_html(view)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "&lt;img src=x" in html and "<img" not in html


# -- NoteEditor ------------------------------------------------------------------------


def test_autosave_creates_then_debounces(demo):
    clock = FakeClock()
    before = note_ids(demo, "Birch")
    ed = NoteEditor(as_(demo, "Birch"), "Birch", clock=clock, debounce=1.0)
    assert "cp-note-editor" in ed._dom_classes and "cp-note-text" in ed.text._dom_classes
    assert "cp-prompts" in ed.prompts._dom_classes and "<li>" in ed.prompts.value
    ed.partnership.value = "TCP"
    assert notes_since(demo, "Birch", before) == []  # nothing typed yet
    ed.text.value = "F"  # the first keystroke creates the note
    [note] = notes_since(demo, "Birch", before)
    assert ed.note_id == note.id and note.text == "F"
    assert "saved" in ed.status.value
    clock.advance(0.3)
    ed.text.value = "Fi"
    assert as_(demo, "Birch").note(ed.note_id).text == "F"  # within the debounce: pending
    assert ed.flush() is True
    assert as_(demo, "Birch").note(ed.note_id).text == "Fi"
    assert ed.flush() is False  # nothing pending
    clock.advance(0.5)
    ed.text.value = "Fir"
    assert as_(demo, "Birch").note(ed.note_id).text == "Fi"
    clock.advance(0.6)
    ed.text.value = "First note"  # a second after the last save: saved now
    assert as_(demo, "Birch").note(ed.note_id).text == "First note"
    assert len(notes_since(demo, "Birch", before)) == 1
    assert "First note" in ed.my_notes.value


def test_autosave_timer_flushes_on_a_running_event_loop(demo):
    ed = NoteEditor(as_(demo, "Birch"), "Birch", debounce=0.05)
    ed.partnership.value = "WVC"

    async def typing():
        ed.text.value = "a"
        ed.text.value = "ab"
        ed.text.value = "abc"
        assert as_(demo, "Birch").note(ed.note_id).text == "a"
        await asyncio.sleep(0.2)

    # A thread of its own: another test's sync Playwright may hold this thread's loop.
    errors = []

    def run():
        try:
            asyncio.run(typing())
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert not errors, errors
    assert as_(demo, "Birch").note(ed.note_id).text == "abc"


def test_category_change_saves_at_once(demo):
    clock = FakeClock()
    ed = NoteEditor(as_(demo, "Birch"), "Birch", clock=clock)
    ed.partnership.value = "AVC"
    ed.text.value = "Money"
    ed.text.value = "Money ran out"  # pending (no time passed)
    ed.category.value = "barrier"
    note = as_(demo, "Birch").note(ed.note_id)
    assert (note.category, note.text) == ("barrier", "Money ran out")
    ed.kind.value = "recalled memory"
    ed.partnership.value = "CCPH"
    note = as_(demo, "Birch").note(ed.note_id)
    assert note.kind == "recalled memory" and note.partnership_id == demo.partnership("CCPH").id


def test_soft_delete_then_undo(demo):
    before = note_ids(demo, "Birch")
    ed = NoteEditor(as_(demo, "Birch"), "Birch", clock=FakeClock())
    ed.partnership.value = "LAHRP"
    ed.text.value = "to be deleted"
    nid = ed.note_id
    ed.delete.click()
    [gone] = notes_since(demo, "Birch", before, include_deleted=True)
    assert gone.id == nid and gone.deleted_at is not None
    assert notes_since(demo, "Birch", before) == []
    assert ed.note_id is None and ed.text.value == ""
    assert "to be deleted" not in ed.my_notes.value
    ed.undo.click()
    [back] = notes_since(demo, "Birch", before, include_deleted=True)
    assert back.deleted_at is None
    assert ed.note_id == nid and ed.text.value == "to be deleted"


def test_new_note_and_load(demo):
    clock = FakeClock()
    before = note_ids(demo, "Birch")
    ed = NoteEditor(as_(demo, "Birch"), "Birch", clock=clock)
    ed.partnership.value = "TCP"
    ed.text.value = "one"
    first = ed.note_id
    ed.text.value = "one, edited"  # pending: New note must not lose it
    ed.new.click()
    assert as_(demo, "Birch").note(first).text == "one, edited"
    assert ed.note_id is None
    ed.text.value = "two"
    assert len(notes_since(demo, "Birch", before)) == 2 and ed.note_id != first
    ed.open_note.value = first  # pick from "my notes"
    assert ed.note_id == first and ed.text.value == "one, edited"
    clock.advance(2)
    ed.text.value = "one, edited again"
    assert as_(demo, "Birch").note(first).text == "one, edited again"


def test_anchor_note_to_selected_turns_and_quote(demo):
    view = TranscriptView(as_(demo, "Birch"), "Birch")
    ed = NoteEditor(as_(demo, "Birch"), "Birch", view, clock=FakeClock())
    assert ed.partnership.value == view.current_partnership is not None
    ed.text.value = "About the ladder"
    picked = select(view, 1, 4)
    view.quote.value = view.page_turns[7].text[:30]
    ed.anchor.click()
    note = as_(demo, "Birch").note(ed.note_id)
    texts = sorted(e.text for e in note.excerpts)
    assert texts == sorted([t.text for t in picked] + [view.page_turns[7].text[:30]])
    select(view, 10)
    ed.anchor.click()  # adds to the existing anchors
    assert len(as_(demo, "Birch").note(ed.note_id).excerpts) == 4
    view.quote.value = "not said by anyone here"
    ed.anchor.click()
    assert "cp-error" in ed.status.value and "quote not found" in ed.status.value
    assert len(as_(demo, "Birch").note(ed.note_id).excerpts) == 4


def test_new_note_follows_the_transcript_being_read(demo):
    view = TranscriptView(as_(demo, "Birch"), "Birch")
    ed = NoteEditor(as_(demo, "Birch"), "Birch", view)
    view.partnership.value = "WVC"
    assert ed.partnership.value == "WVC"


def test_blinding_birch_sees_only_her_notes(demo):
    demo.add_note("Alder", "LAHRP", "Alder's private recollection of the boardroom")
    alders = {n.id for n in as_(demo, "Alder").notes()}
    ed = NoteEditor(as_(demo, "Birch"), "Birch", clock=FakeClock())
    ed.partnership.value = "LAHRP"
    ed.text.value = "Birch reads it otherwise"
    assert "Birch reads it otherwise" in ed.my_notes.value
    assert "boardroom" not in ed.my_notes.value
    listed = {i for _, i in ed.open_note.options} - {None}
    assert listed == {n.id for n in as_(demo, "Birch").notes()} and not listed & alders


def test_picker_change_keeps_authors_apart(demo):
    birch, cedar = note_ids(demo, "Birch"), note_ids(demo, "Cedar")
    demo.actor = "birch"
    picker = ResearcherPicker(demo)
    ed = NoteEditor(demo, picker, clock=FakeClock())
    ed.partnership.value = "TCP"
    ed.text.value = "B"
    ed.text.value = "Birch typed this"
    ed.flush()  # saved by Birch: once the actor is Cedar, no note is written in Birch's name
    demo.actor = "cedar"
    picker.refresh()
    assert [n.text for n in notes_since(demo, "Birch", birch)] == ["Birch typed this"]
    assert ed.note_id is None and "Birch typed" not in ed.my_notes.value
    ed.partnership.value = "TCP"
    ed.text.value = "Cedar's note"
    assert [n.text for n in notes_since(demo, "Cedar", cedar)] == ["Cedar's note"]


def test_typing_without_a_partnership_shows_an_error_not_an_exception(demo):
    before = note_ids(demo, "Cedar")
    ed = NoteEditor(as_(demo, "Cedar"), "Cedar", clock=FakeClock())
    assert ed.partnership.value is None
    ed.text.value = "an idea before choosing the case"
    assert "cp-error" in ed.status.value and "partnership" in ed.status.value
    assert notes_since(demo, "Cedar", before) == [] and ed.note_id is None
    ed.partnership.value = "TCP"  # choosing one saves what was typed
    [note] = notes_since(demo, "Cedar", before)
    assert note.text == "an idea before choosing the case"


def test_store_rules_come_back_as_messages(demo):
    ed = NoteEditor(as_(demo, "Cedar"), "Cedar", clock=FakeClock())
    ed.partnership.value = "TCP"
    ed.text.value = "x"
    # The study narrows its categories after the editor was built: the store refuses.
    demo.update_study(settings={"categories": ["practice"]})
    ed.category.value = "barrier"
    assert "cp-error" in ed.status.value and "category must be one of" in ed.status.value
    assert as_(demo, "Cedar").note(ed.note_id).category != "barrier"
    ed.delete.click()
    ed.delete.click()
    assert "No saved note to delete" in ed.status.value
