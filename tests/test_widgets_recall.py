"""Step 1 widgets driven headless: set values, click, assert on the store."""

from __future__ import annotations

import asyncio
import threading

import pytest

from coprod_nb.widgets.recall import NoteEditor, ResearcherPicker, TranscriptView
from tests.acting import as_


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


def select(view: TranscriptView, *positions: int) -> list:
    """Select whole turns on the current page (as a mouse selection would); return them."""
    for i in positions:
        view.select_span(view.page_turns[i].id)
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


# TranscriptView: tests/test_widgets_transcript.py


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


def _controls(root):
    stack, out = [root], []
    while stack:
        x = stack.pop()
        out.append(x)
        stack.extend(getattr(x, "children", ()) or ())
    return out


@pytest.mark.parametrize("study", ["demo", "second"])
def test_docked_editor_fits_its_column(demo, second_study, study):
    """Beside the transcript the editor's buttons keep their text, nothing is 100% wide
    plus margins, and the notes are blocks (a seven-column table ran past the edge)."""

    from coprod_nb.widgets.coding import CodingView

    store, me = (as_(demo, "Birch"), "Birch") if study == "demo" else (second_study(), "Rowan")
    view = CodingView(store, me)
    ed = view.editor
    assert ed.anchor.layout.width == "auto" and ed.anchor.layout.max_width == "100%"
    assert not [
        c for c in _controls(view) if getattr(c, "layout", None) and c.layout.width == "100%"
    ]
    mine = store.notes(viewer=me, researcher=me)
    assert mine, "the study's researcher has notes to list"
    assert "<table" not in ed.my_notes.value
    assert ed.my_notes.value.count('class="cp-note-item"') == len(mine)
    assert f"<b>#{mine[0].id}</b>" in ed.my_notes.value
