"""CodingView: the transcript and the note editor in one view, for select-to-code."""

from __future__ import annotations

import ipywidgets as w

from coprod_nb.errors import CoprodError, Forbidden
from coprod_nb.storage import Store
from coprod_nb.widgets._common import escape, message
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets.recall import NoteEditor
from coprod_nb.widgets.transcript import TranscriptView

__all__ = ["CodingView"]


class CodingView(w.Box):
    """A :class:`TranscriptView` with a :class:`NoteEditor` docked beside it
    (CSS class ``cp-coding-view``; side by side, the editor below on a narrow screen).

    Anchor in the transcript anchors the note being edited to the selected spans (a
    note with text but not saved yet is saved first); with no note yet the spans become
    excerpts of their own, highlighted, to anchor later. Clicking a highlight opens its
    note: one's own in the editor, a colleague's (visible once step 1 is closed) read-only
    below it.

    Parameters
    ----------
    store : Store
    researcher : str or ResearcherPicker, optional
        As for :class:`TranscriptView` and :class:`NoteEditor`.
    page_size : int
        Turns per page.
    """

    def __init__(
        self,
        store: Store,
        researcher: str | w.ValueWidget | None = None,
        page_size: int = 25,
        **kwargs,
    ):
        self.store = store
        # Beside each other from about 820 px (a notebook at 1280 px with the file
        # browser open), the editor below the transcript when narrower.
        self.reader = TranscriptView(
            store, researcher, page_size, layout=w.Layout(flex="3 1 460px", min_width="0")
        )
        self.editor = NoteEditor(store, researcher, self.reader)
        _fit_narrow(self.reader)
        _fit_narrow(self.editor)
        #: a colleague's note opened from a highlight (read-only)
        self.other_note = w.HTML()
        self.other_note.add_class("cp-other-note")
        self.reader.on_anchor(self._on_anchor)
        self.reader.on_open_note(self._on_open)
        side = w.VBox(
            [self.editor, self.other_note], layout=w.Layout(flex="2 1 360px", min_width="0")
        )
        layout = kwargs.pop(
            "layout",
            w.Layout(display="flex", flex_flow="row wrap", align_items="flex-start", width="100%"),
        )
        super().__init__([self.reader, side], layout=layout, **kwargs)
        self.add_class("cp-coding-view")
        # after _fit_narrow, which gives the docked parts widths of 100%
        fit(self)

    def _on_anchor(self) -> None:
        editor = self.editor
        if editor.note_id is None and not editor.text.value.strip():
            # No note to anchor to yet: keep the passage as an excerpt of its own.
            try:
                ids = self.reader.selected_excerpts()
            except CoprodError:
                return  # the reader's status says why
            if ids:
                message(
                    editor.status,
                    "Passage kept as an excerpt (highlighted); write a note and select it "
                    "again to anchor the note to it.",
                )
            else:
                message(self.reader.status, "Select a passage of a turn first.", kind="error")
            return
        editor.anchor.click()  # the editor saves the note first, then anchors it
        self.reader.redraw()  # the note's category now colours the new passages

    def _on_open(self, excerpt_id: int, notes: tuple[int, ...]) -> None:
        self.other_note.value = ""
        for note_id in notes:  # own notes come first
            try:
                self.editor.load(note_id)
                return
            except Forbidden:
                break  # a colleague's note: shown below, not edited
            except CoprodError as exc:
                message(self.editor.status, str(exc), kind="error")
                return
        if not notes:
            return
        try:
            note = self.store.note(notes[0])
            author = self.store.researcher(note.researcher_id).name
        except CoprodError as exc:
            message(self.editor.status, str(exc), kind="error")
            return
        self.other_note.value = (
            f'<div class="cp-other-note-body"><b>{escape(author)}</b>, '
            f"{escape(note.category)}, note #{note.id} (excerpt #{excerpt_id}):"
            f'<div style="white-space:pre-wrap">{escape(note.text)}</div></div>'
        )


def _fit_narrow(widget: w.Widget) -> None:
    """Let the rows of a docked view wrap, and an editor's prompts go below its text.

    The reader and the editor are laid out for a whole cell's width; side by side each
    has part of it, where rows of fixed widths would be cut or scroll sideways.
    """
    for child in getattr(widget, "children", ()):
        if isinstance(child, w.DOMWidget) and not child.layout.width:
            child.layout.max_width = "100%"
        elif isinstance(child, w.DOMWidget) and child.layout.width.endswith("px"):
            child.layout.width, child.layout.max_width = "auto", child.layout.width
        if isinstance(child, w.HBox):
            child.layout.flex_flow = "row wrap"
            if any(kid is getattr(widget, "prompts", None) for kid in child.children):
                for kid in child.children:
                    kid.layout.width = "100%"
        _fit_narrow(child)
