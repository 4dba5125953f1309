"""CircleBoard: the workshop's cards placed on an inner and an outer circle by dragging.

The board is drawn by a small custom widget (:class:`~coprod_nb.widgets._panes.CirclePane`,
an anywidget, loaded when a board is built; its front end is ``static/circle_board.js``):
concentric circles with the cards on them and a tray for the cards not placed. A card is
dragged with the mouse or a finger (pointer events), or focused and moved with keys. The
front end only reports what was done; the placement is stored here through the same store
function as the form (:meth:`~coprod_nb.storage.Store.set_response`), for the participant
the board was built for and nobody else.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store, events
from coprod_nb.storage.workshop import CIRCLES
from coprod_nb.widgets._common import Quiet, message
from coprod_nb.widgets._stage import chosen_workshop

__all__ = ["CircleBoard", "CirclePane"]  # noqa: F822 (CirclePane: module __getattr__)

#: Rings from the outside in: a key that moves a card inward goes one step right.
_ORDER = ("none", "outer", "inner")
#: Keys of the keyboard alternative (sent by the front end) -> a ring, or a step in/out.
KEYS: dict[str, str | int] = {
    "i": "inner",
    "o": "outer",
    "n": "none",
    "0": "none",
    "ArrowUp": +1,
    "ArrowRight": +1,
    "+": +1,
    "ArrowDown": -1,
    "ArrowLeft": -1,
    "-": -1,
}
RING_LABELS = {"inner": "the inner circle", "outer": "the outer circle", "none": "no circle"}
#: The one line a view shows instead of its editing controls on a finished workshop.
READ_ONLY = (
    "Read only: this workshop's result is frozen as framework v{version}, so its record "
    "no longer changes; to collect more, record a new workshop."
)


def read_only_note(store: Store, ws) -> str | None:
    """:data:`READ_ONLY` for a workshop whose result is frozen, else None (it is open).

    The store refuses every write to a frozen workshop's record; the views ask this to
    offer their editing controls on an open workshop only.
    """
    version = store.workshop_frozen_as(ws.id)
    return None if version is None else READ_ONLY.format(version=version)


def __getattr__(name: str):
    # ``CirclePane`` is still reachable here, loaded (with anywidget) on first use.
    if name == "CirclePane":
        from coprod_nb.widgets._panes import CirclePane

        return CirclePane
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CircleBoard(Quiet, w.VBox):
    """Place a participant's cards on the inner circle, the outer one or neither.

    Drag a card onto a circle (mouse or touch), or focus it with Tab and press ``i``
    (inner), ``o`` (outer), ``n`` (neither) or the arrow keys (up: one circle in, down:
    one out). Each placement is saved at once; "Undo last change" reverses the last change
    made by the person working to this participant's cards since the board opened
    (:meth:`Store.undo_response`; a comment changed meanwhile in the app counts too). On a
    workshop whose result is frozen the board shows the placements read only (no drag, no
    undo button) with a one-line reason (:data:`READ_ONLY`). CSS classes
    ``cp-circle-board``, ``cp-circle-pane``, ``cp-circle-undo``, ``cp-circle-status``.

    Parameters
    ----------
    store : Store
    workshop : int, optional
        The workshop's id (the store's default workshop otherwise).
    participant : str or ipywidgets.Dropdown, optional
        Whose cards: a fixed name (the participant app), or a dropdown whose value is
        followed (the facilitator's view). By default a dropdown of the workshop's
        participants.
    source : str
        Recorded with each placement ("widget", "participant app").
    link : str, optional
        The key of the participant's personal link (the participant app): checked with
        each placement as it is written, and before an undo.
    """

    def __init__(
        self,
        store: Store,
        workshop: int | None = None,
        participant: str | w.Dropdown | None = None,
        *,
        source: str = "widget",
        link: str | None = None,
        **kwargs,
    ):
        self.store = store
        self._link = link
        # Undo reaches the changes made since this board opened, not older work.
        self._opened = events.utcnow()
        self._ref = workshop
        self.source = source
        self._callbacks: list[Callable[[], None]] = []
        self._ws = None
        self._read_only: str | None = None
        # Imported here: anywidget loads when a view is built, not on import.
        from coprod_nb.widgets._panes import CirclePane

        self.pane = CirclePane()
        self.pane.add_class("cp-circle-pane")
        self.undo = w.Button(
            description="Undo last change", icon="undo", layout=w.Layout(width="auto")
        )
        self.undo.add_class("cp-circle-undo")
        self.status = w.HTML()
        self.status.add_class("cp-circle-status")
        own_picker = participant is None
        if own_picker:
            participant = w.Dropdown(
                description="Participant", layout=w.Layout(width="auto", min_width="16em")
            )
        self._fixed = participant if isinstance(participant, str) else None
        self.picker = None if self._fixed is not None else participant
        self.pane.on_msg(self._on_msg)
        self.undo.on_click(self._on_undo_click)
        if self.picker is not None:
            self.picker.observe(self._on_participant_change, names="value")
        children = [self.picker] if own_picker else []
        super().__init__([*children, self.pane, self.undo, self.status], **kwargs)
        self.add_class("cp-circle-board")
        self.refresh(own_picker=own_picker)

    # -- public -------------------------------------------------------------------------

    @property
    def participant(self) -> str | None:
        """The participant whose cards are on the board (None if none is chosen)."""
        return self._fixed if self._fixed is not None else (self.picker.value or None)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after each placement or undo that was saved."""
        self._callbacks.append(callback)

    def refresh(self, *, own_picker: bool = False) -> None:
        """Reload the workshop's cards and the participant's placements."""
        ws = self._ws = chosen_workshop(self.store, self._ref)[0]
        if ws is None:
            self.pane.cards, self.pane.placements, self.pane.disabled = [], {}, True
            return
        self._read_only = read_only_note(self.store, ws)
        # No dead button: on a finished workshop there is nothing to undo.
        self.undo.layout.display = "none" if self._read_only else None
        if self._read_only:
            message(self.status, self._read_only, kind="info")
        if own_picker:
            from coprod_nb.widgets.workshop import _keep, _people  # noqa: PLC0415 (a cycle)

            with self._filling():
                _keep(self.picker, _people(self.store, ws))
        self.pane.cards = [
            {
                "code": t.code,
                "label": f"{t.code}: {t.name}",
                "detail": f"{t.pole_a} ⟷ {t.pole_b}",
            }
            for t in self.store.framework(ws.base_version).tensions
        ]
        self._load()

    def place(self, code: str, circle: str) -> bool:
        """Store ``code`` on ``circle`` for the board's participant; False (and the reason
        shown) when it was refused."""
        who = self.participant
        if self._read_only:  # the store refuses it too; say why without asking it
            message(self.status, self._read_only, kind="info")
            self._load()
            return False
        if self._ws is None or who is None:
            message(self.status, "Choose a participant first.", kind="error")
            self._load()
            return False
        if code not in {c["code"] for c in self.pane.cards}:
            message(self.status, f"{code!r} is not a card on this board.", kind="error")
            return False
        try:
            self.store.set_response(
                self._ws.id, who, code, circle=circle, source=self.source, link=self._link
            )
        except CoprodError as exc:
            message(self.status, f"not saved: {exc}", kind="error")
            self._load()  # put the card back where the store has it
            return False
        self._load()
        message(self.status, f"saved: {code} in {RING_LABELS[circle]}", kind="ok")
        self._changed()
        return True

    # -- internals ---------------------------------------------------------------------

    def _load(self) -> None:
        mine: dict[str, str] = {}
        who = self.participant
        if self._ws is not None and who:
            try:
                mine = {r.code: r.circle for r in self.store.responses(self._ws.id, who)}
            except CoprodError as exc:
                message(self.status, str(exc), kind="error")
        self.pane.placements = {c["code"]: mine.get(c["code"], "none") for c in self.pane.cards}
        self.pane.disabled = not who or self._read_only is not None

    def _changed(self) -> None:
        for callback in self._callbacks:
            callback()

    def _on_msg(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict):
            return
        code, kind = str(content.get("code", "")), content.get("kind")
        if kind == "place":
            circle = content.get("circle")
            if circle not in CIRCLES:
                message(self.status, f"{circle!r} is not a circle.", kind="error")
                return
            self.place(code, circle)
        elif kind == "key":
            move = KEYS.get(str(content.get("key", "")))
            if move is None:
                return
            if isinstance(move, int):
                now = _ORDER.index(self.pane.placements.get(code, "none"))
                move = _ORDER[max(0, min(len(_ORDER) - 1, now + move))]
            if move != self.pane.placements.get(code):
                self.place(code, move)

    def _on_undo_click(self, _button=None) -> None:
        who = self.participant
        if self._ws is None or who is None:
            message(self.status, "Choose a participant first.", kind="error")
            return
        try:
            if self._link is not None:  # a revoked link undoes nothing either
                self.store.participant_for_token(self._link, self._ws.id)
            row = self.store.undo_response(self._ws.id, who, since=self._opened)
        except CoprodError as exc:
            message(self.status, f"not undone: {exc}", kind="error")
            return
        if row is None:
            message(self.status, "Nothing to undo.", kind="info")
            return
        self._load()
        message(
            self.status,
            f"undone: the last change to {row.code} ({row.code} is in {RING_LABELS[row.circle]})",
            kind="ok",
        )
        self._changed()

    def _on_participant_change(self, _change=None) -> None:
        if not self._quiet:
            self.status.value = ""
            if self._read_only:
                message(self.status, self._read_only, kind="info")
            self._load()
