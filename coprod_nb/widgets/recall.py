"""Step 1 widgets: pick who you are, read transcripts, write blind notes that autosave.

Rules (blinding, allowed categories, who may change a note) live in the store; these
views only call it and show what it returns or the message of the error it raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime

import ipywidgets as w
import traitlets
from sqlalchemy.exc import SQLAlchemyError

from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError, Forbidden, InvalidInput, NotFound
from coprod_nb.storage import Store
from coprod_nb.widgets._common import escape, message, researcher_source, short
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets._stage import (
    NO_PARTNERSHIPS,
    identity_problem,
    researcher_problem,
)

# TranscriptView lives in widgets/transcript.py (a custom widget); it stays importable here.
from coprod_nb.widgets.transcript import TranscriptView, _acting


class ResearcherPicker(w.VBox, w.ValueWidget):
    """Who is working: the researcher the study knows you as (CSS class cp-researcher-picker).

    Not a choice: the researcher is the one whose login (else name), ignoring case, is
    the store's ``actor`` (``$COPROD_USER``, else ``$JUPYTERHUB_USER``, else the OS login;
    see :meth:`Store.acting_researcher`). It is shown in a disabled dropdown; when the
    actor is nobody of the team, the picker says so and what to do, and ``.value`` is None.

    Parameters
    ----------
    store : Store

    Notes
    -----
    ``.value`` is the researcher's name (None if nobody) and
    ``observe(handler, names="value")`` follows it; it changes only through
    :meth:`refresh` (after the team or ``store.actor`` changed), never by choice:
    setting another name raises ``TraitError``.
    """

    value = traitlets.Unicode(None, allow_none=True, help="The working researcher's name.")

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self._allowed: str | None = None
        self.dropdown = w.Dropdown(
            description=kwargs.pop("description", "Researcher"),
            disabled=True,
            style={"description_width": "initial"},
        )
        self.status = w.HTML()
        super().__init__([self.dropdown, self.status], **kwargs)
        self.add_class("cp-researcher-picker")
        self.refresh()

    @property
    def researcher(self):
        """The working researcher (a Researcher), or None."""
        return self.store.acting_researcher()

    def refresh(self) -> None:
        """Look again for who is working (e.g. after adding yourself to the team)."""
        me = self.store.acting_researcher()
        self._allowed = me.name if me is not None else None
        label = None
        if me is not None:
            label = me.name + (f" (login {me.login})" if me.login else "")
            label += ", lead" if me.lead else ""
        self.dropdown.options = [(label, me.name)] if me is not None else []
        self.dropdown.value = self._allowed
        self.value = self._allowed
        problem = identity_problem(self.store)
        message(self.status, problem or "", kind="info")
        if not problem:
            self.status.value = ""

    @traitlets.validate("value")
    def _valid_value(self, proposal):
        if proposal.value != self._allowed:
            raise traitlets.TraitError(
                f"the researcher is who is working ({self._allowed or 'nobody'}), not a "
                "choice: open the study as another login (COPROD_USER) to act as them"
            )
        return proposal.value


class NoteEditor(w.VBox):
    """Write step-1 notes that save themselves (no Save button).

    The note is created at the first non-empty change once a partnership is chosen;
    later changes are saved at most every ``debounce`` seconds, and a pending change is
    flushed by a timer on the kernel's event loop, so a crash loses about ``debounce``
    seconds of typing. Changing partnership, category or kind saves at once.

    Parameters
    ----------
    store : Store
    researcher : str or ResearcherPicker, optional
        The author (a name, or a picker whose changes are followed); by default the
        researcher who is working (:meth:`Store.acting_researcher`). Without one, the
        editor says why nobody can write here and stays disabled.
    transcript_view : TranscriptView, optional
        Where "Anchor to selection" takes its excerpts from; a new note's partnership
        follows the open transcript's.
    clock : callable
        Seconds, monotonic (injected so tests control time).
    debounce : float
        Minimum seconds between two saves while typing.
    retry : float
        Seconds between two attempts after a failed save (the database down, locked,
        its disk full): the status says "not saved" and why, the text stays, and the
        save is retried by a timer and at the next change until it succeeds.
    """

    def __init__(
        self,
        store: Store,
        researcher: str | w.ValueWidget | None = None,
        transcript_view: TranscriptView | None = None,
        clock: Callable[[], float] = time.monotonic,
        debounce: float = 1.0,
        retry: float = 5.0,
        **kwargs,
    ):
        self.store = store
        self.transcript_view = transcript_view
        self.clock = clock
        self.debounce = debounce
        name, self._picker = researcher_source(_acting(store, researcher))
        self._me = self._picker.value if self._picker is not None else name
        self.notice = w.HTML()
        self.notice.add_class("cp-notice")
        #: id of the note being edited (None until the first save)
        self.note_id: int | None = None
        self._pending = False
        self._last_save: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.retry = retry
        self._failed_at: float | None = None  # when the last save failed (None: it did not)
        self._deleted_id: int | None = None
        self._loading = False

        # a whole row: a partnership's name is long, and a cut one reads as another
        self.partnership = w.Dropdown(description="Partnership", layout=w.Layout(width="100%"))
        self.category = w.Dropdown(description="Category", options=store.note_categories())
        self.kind = w.Dropdown(description="Kind", options=store.data_kinds())
        self.open_note = w.Dropdown(description="Edit note", layout=w.Layout(width="420px"))
        self.text = w.Textarea(
            continuous_update=True,
            placeholder="Your recall and reflection on this partnership (saved as you type)",
            layout=w.Layout(width="100%", height="12em"),
        )
        self.text.add_class("cp-note-text")
        self.anchor = w.Button(description="Anchor to selection", icon="anchor")
        self.new = w.Button(description="New note", icon="plus")
        self.delete = w.Button(description="Delete", icon="trash")
        self.undo = w.Button(description="Undo delete", icon="undo", disabled=True)
        self.status = w.HTML()
        self.prompts = w.HTML(
            "<b>Prompts</b><ul>"
            + "".join(f"<li>{escape(p)}</li>" for p in store.prompts())
            + "</ul>",
            layout=w.Layout(width="35%"),
        )
        self.prompts.add_class("cp-prompts")
        self.my_notes = w.HTML()
        self.my_notes.add_class("cp-my-notes")

        self._pships = {p.id: p.short for p in store.partnerships()}
        self.partnership.options = [("(choose a partnership)", None)] + [
            (f"{p.short}: {p.name}", p.short) for p in store.partnerships()
        ]
        if transcript_view is not None:
            self.partnership.value = transcript_view.current_partnership
            for control in (transcript_view.partnership, transcript_view.transcript):
                control.observe(self._on_view_change, names="value")
        self.text.observe(self._on_text_change, names="value")
        for control in (self.partnership, self.category, self.kind):
            control.observe(self._on_field_change, names="value")
        self.open_note.observe(self._on_open_note_change, names="value")
        self.anchor.on_click(self._on_anchor_click)
        self.new.on_click(self._on_new_click)
        self.delete.on_click(self._on_delete_click)
        self.undo.on_click(self._on_undo_click)
        if self._picker is not None:
            self._picker.observe(self._on_researcher_change, names="value")
        self.anchor.disabled = transcript_view is None

        editor = w.VBox(
            [
                w.HBox([self.partnership, self.category, self.kind]),
                self.open_note,
                self.text,
                w.HBox([self.anchor, self.new, self.delete, self.undo]),
                self.status,
            ],
            layout=w.Layout(width="65%"),
        )
        super().__init__(
            [
                self.notice,
                w.HBox([editor, self.prompts]),
                w.HTML("<b>My notes</b>"),
                self.my_notes,
            ],
            **kwargs,
        )
        self.add_class("cp-note-editor")
        fit(self)
        self._show_notice()
        self._refresh_notes()

    # -- public -------------------------------------------------------------------

    @property
    def researcher(self) -> str | None:
        """The author's name."""
        return self._me

    def flush(self) -> bool:
        """Save a pending change now; return whether something was saved.

        Errors (no partnership, a category the study does not allow, ...) are shown
        in the status and the change stays pending.
        """
        self._cancel_timer()
        if not self._pending:
            return False
        if self.note_id is None and not self.text.value.strip():
            self._pending = False  # nothing worth creating a note for yet
            return False
        if self.partnership.value is None:
            message(self.status, "Choose a partnership: the note is not saved yet.", kind="error")
            return False
        fields = {
            "category": self.category.value,
            "kind": self.kind.value,
        }
        try:
            if self.note_id is None:
                note = self.store.add_note(
                    self._me, self.partnership.value, self.text.value, **fields
                )
                self.note_id = note.id
            else:
                self.store.update_note(
                    self.note_id,
                    self._me,
                    text=self.text.value,
                    partnership=self.partnership.value,
                    **fields,
                )
        except (InvalidInput, Forbidden, NotFound) as exc:
            # A refusal, not a fault: retrying the same change would not help.
            message(self.status, f"not saved: {exc}", kind="error")
            return False
        except CoprodError as exc:
            self._save_failed(str(exc))
            return False
        except (SQLAlchemyError, OSError) as exc:
            # The database is down, locked or its disk full: keep the text, say why, retry.
            self._save_failed(_fault_reason(exc))
            return False
        self._pending = False
        self._failed_at = None
        self._last_save = self.clock()
        self.status.remove_class("cp-not-saved")
        message(self.status, f"saved {datetime.now():%H:%M:%S}", kind="ok")
        try:
            self._refresh_notes()
        except (SQLAlchemyError, OSError) as exc:  # saved; only the list is stale
            message(self.status, f"saved; the list of notes is not up to date: {exc}")
        return True

    def load(self, note_id: int) -> None:
        """Edit an existing note of one's own (the current one is saved first).

        Raises the store's NotFound for a note the researcher may not see, and
        Forbidden for a colleague's note (visible once step 1 is closed).
        """
        if self._unsaved():
            raise CoprodError("the note being written is not saved yet: it stays open")
        note = self.store.note(note_id, self._me)
        if note.researcher_id != self.store.researcher(self._me).id:
            raise Forbidden("only the author can edit a note")
        with self._loading_fields():
            self.note_id = note.id
            self.partnership.value = self._pships.get(note.partnership_id)
            _choose(self.category, note.category)
            _choose(self.kind, note.kind)
            self.text.value = note.text
            if note.id in [i for _, i in self.open_note.options]:
                self.open_note.value = note.id
        self._pending = False
        message(self.status, f"editing note #{note.id}")

    # -- internals ----------------------------------------------------------------

    @contextmanager
    def _loading_fields(self):
        # Filling the controls from a note must not look like the user editing it.
        self._loading, before = True, self._loading
        try:
            yield
        finally:
            self._loading = before

    def _unsaved(self) -> bool:
        """Save what is pending; True when that failed (the text must then stay)."""
        self.flush()
        return self._pending and self._failed_at is not None

    def _save_failed(self, reason: str) -> None:
        # The text stays in the box and the change stays pending; no stale "saved".
        self._failed_at = self.clock()
        message(
            self.status,
            f"not saved: {reason}. Your text is kept here; retrying every "
            f"{self.retry:g} s and at your next change.",
            kind="error",
        )
        self.status.add_class("cp-not-saved")
        self._schedule(self.retry)

    def _on_text_change(self, change) -> None:
        if self._loading:
            return
        self._pending = True
        now = self.clock()
        if self._failed_at is not None and now - self._failed_at < self.retry:
            self._schedule(self.retry)  # the store just failed: do not hammer it per key
            return
        due = self._last_save is None or now - self._last_save >= self.debounce
        if self.note_id is None or due:
            self.flush()
        else:
            self._schedule()

    def _on_field_change(self, change) -> None:
        if self._loading:
            return
        self._pending = True
        self.flush()

    def _schedule(self, delay: float | None = None) -> None:
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (plain Python, tests): flush() or the next change saves
        self._timer = loop.call_later(self.debounce if delay is None else delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _reset(self) -> None:
        with self._loading_fields():
            self.note_id = None
            self.text.value = ""
            self.open_note.value = None
            if self.transcript_view is not None:
                self.partnership.value = self.transcript_view.current_partnership
        self._pending = False
        self._last_save = None

    def _on_view_change(self, change) -> None:
        # A new note follows the transcript being read; an existing note keeps its own.
        short = self.transcript_view.current_partnership
        if self.note_id is None and short in self._pships.values():
            self.partnership.value = short

    def _on_new_click(self, _button=None) -> None:
        if self._unsaved():
            return  # the status says why; the text must not be cleared
        self._reset()
        message(self.status, "new note: start typing, it saves itself")

    def _on_delete_click(self, _button=None) -> None:
        self.flush()
        if self.note_id is None:
            message(self.status, "No saved note to delete.", kind="error")
            return
        try:
            self.store.delete_note(self.note_id, self._me)
        except (CoprodError, SQLAlchemyError, OSError) as exc:  # the database may be down
            message(self.status, _fault_reason(exc), kind="error")
            return
        self._deleted_id = self.note_id
        self.undo.disabled = False
        self._reset()
        self._refresh_notes()
        message(self.status, f"note #{self._deleted_id} deleted (Undo delete restores it)")

    def _on_undo_click(self, _button=None) -> None:
        if self._deleted_id is None:
            message(self.status, "Nothing to undo.", kind="error")
            return
        try:
            self.store.restore_note(self._deleted_id, self._me)
            self._refresh_notes()
            self.load(self._deleted_id)
        except (CoprodError, SQLAlchemyError, OSError) as exc:  # the database may be down
            message(self.status, _fault_reason(exc), kind="error")
            return
        message(self.status, f"note #{self._deleted_id} restored", kind="ok")
        self._deleted_id = None
        self.undo.disabled = True

    def _on_anchor_click(self, _button=None) -> None:
        if self.transcript_view is None:
            message(self.status, "No transcript view to take a selection from.", kind="error")
            return
        self.flush()
        if self.note_id is None:
            message(self.status, "Write the note first, then anchor it.", kind="error")
            return
        try:
            new = self.transcript_view.selected_excerpts()
            if not new:
                message(self.status, "Select a passage or give a quote first.", kind="error")
                return
            existing = [e.id for e in self.store.note(self.note_id, self._me).excerpts]
            self.store.update_note(self.note_id, self._me, excerpts=existing + new)
        except (CoprodError, SQLAlchemyError, OSError) as exc:  # the database may be down
            message(self.status, _fault_reason(exc), kind="error")
            return
        self._refresh_notes()
        message(self.status, f"anchored to {plural(len(new), 'more excerpt')}", kind="ok")

    def _on_open_note_change(self, change) -> None:
        if self._loading or change.new is None or change.new == self.note_id:
            return
        try:
            self.load(change.new)
        except (CoprodError, SQLAlchemyError, OSError) as exc:  # the database may be down
            message(self.status, _fault_reason(exc), kind="error")

    def _on_researcher_change(self, change) -> None:
        self.flush()  # saved as the author who typed it
        self._me = change.new
        self._deleted_id = None
        self.undo.disabled = True
        self._reset()
        self._show_notice()
        self._refresh_notes()

    def _show_notice(self) -> None:
        # Nobody to write as: say why, and leave nothing to type into.
        problem = researcher_problem(self.store, self._me, "write notes")
        if problem is None and not self._pships:
            problem = NO_PARTNERSHIPS
        for control in (self.text, self.partnership, self.new, self.delete, self.open_note):
            control.disabled = problem is not None
        if problem:
            message(self.notice, problem, kind="info")
        else:
            self.notice.value = ""

    def _note_html(self, n) -> str:
        anchors = plural(len(n.excerpts), "anchor")
        head = " · ".join(
            escape(x)
            for x in (
                self._pships.get(n.partnership_id, ""),
                n.category,
                n.kind,
                anchors,
                f"{n.updated_at:%Y-%m-%d %H:%M}",
            )
            if x
        )
        return (
            f'<div class="cp-note-item" style="overflow-wrap:anywhere;margin:0 0 .5em">'
            f"<b>#{n.id}</b> {head}<br>{escape(short(n.text, 120))}</div>"
        )

    def _refresh_notes(self) -> None:
        if self._me is None:
            self.my_notes.value = "<i>no notes</i>"
            self.open_note.options = [("(a new note)", None)]
            return
        try:
            notes = self.store.notes(viewer=self._me, researcher=self._me)
        except (CoprodError, SQLAlchemyError, OSError) as exc:  # the database may be down
            message(self.status, _fault_reason(exc), kind="error")
            notes = []
        # One block per note rather than a table: the editor is often docked beside the
        # transcript, where seven columns would run past its edge.
        self.my_notes.value = (
            '<div class="cp-note-list">' + "".join(self._note_html(n) for n in notes) + "</div>"
            if notes
            else "<i>no notes yet</i>"
        )
        with self._loading_fields():
            self.open_note.options = [("(a new note)", None)] + [
                (
                    f"#{n.id} {self._pships.get(n.partnership_id, '')} {n.category}: "
                    f"{short(n.text, 40)}",
                    n.id,
                )
                for n in notes
            ]
            self.open_note.value = (
                self.note_id if any(n.id == self.note_id for n in notes) else None
            )


def _fault_reason(exc: BaseException) -> str:
    """What went wrong, on one line: the store's message, or the database's or the
    system's own words for a fault (the database down or locked, a full disk)."""
    if isinstance(exc, CoprodError):
        return str(exc)
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return text[0] if text else type(inner).__name__


def _choose(dropdown: w.Dropdown, value: str) -> None:
    # A note may carry a choice the study has since removed; show it rather than fail.
    if value not in dropdown.options:
        dropdown.options = [*dropdown.options, value]
    dropdown.value = value
