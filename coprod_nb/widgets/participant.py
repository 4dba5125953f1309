"""The live workshop: the participant app and the facilitator's live view.

:class:`ParticipantApp` is what a participant sees behind their personal link (served
by ``coprod-nb serve-workshop`` with Voilà): the cards of the workshop, their own
responses, the open poll, and the poll's tally once the facilitator has closed it,
never anybody else's responses. :class:`LiveResponses` is the facilitator's side in a
notebook: who has answered, the responses as they arrive, close the poll and reveal.

The rules stay in the store: a link key is checked by
:meth:`~coprod_nb.storage.Store.participant_for_token`, a second submission replaces
the first, and ballots are refused once the poll is closed. Every text that comes from
the store or from a participant is escaped before it becomes HTML.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urlencode

import ipywidgets as w
import pandas as pd

from coprod_nb.analysis.live import live_progress, live_responses
from coprod_nb.analysis.sensemaking import poll_results
from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError, Forbidden
from coprod_nb.storage import Store
from coprod_nb.storage.workshop import LINK_GONE
from coprod_nb.widgets._common import escape, message, table_html
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets._stage import chosen_workshop, finished_note
from coprod_nb.widgets.circle_board import CircleBoard

__all__ = ["LiveResponses", "ParticipantApp", "participant_link"]

#: Labels of the circles on a participant's card (value -> label).
CIRCLE_LABELS = {"inner": "inner circle", "outer": "outer circle", "none": "neither"}
_WIDE = w.Layout(width="auto")
# The full width less a widget's 2 px margins, so that nothing runs past the card's edge.
_FULL = "calc(100% - 4px)"
_CSS_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def participant_link(root: str, token: str) -> str:
    """A participant's personal link: the app's address ``root`` with ``?key=TOKEN``."""
    return f"{root}?{urlencode({'key': token})}"


def _css(code: str) -> str:
    """A tension code reduced to characters that are safe in a CSS class."""
    return _CSS_UNSAFE.sub("_", code)


def _tally_html(store: Store, poll, ws) -> str:
    """The tally of a closed poll as an escaped table, most supported first."""
    table = poll_results(store, poll.name, ws.id)
    names = {t.code: t.name for t in store.framework(ws.base_version).tensions}
    names.update({t.code: t.name for t in store.current_framework(ws.id).tensions})
    shown = table.sort_values("order", kind="stable")
    shown.insert(1, "tension", [names.get(c, "") for c in shown.option])
    shown["share"] = shown["share"].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
    n = table.attrs.get("ballots", 0)
    return (
        f"<p>{n} ballot{'s' if n != 1 else ''}; count: how many nominated each tension. "
        "The numbers start the discussion; the group decides.</p>"
        + table_html(shown, css_class="cp-table cp-poll-tally-table")
    )


class _Card(w.VBox):
    """One tension card: the tension, then the participant's comment and suggestion, and
    the card's save state (``cp-card-state``)."""

    def __init__(self, tension, **kwargs):
        self.code = tension.code
        poles = f"{escape(tension.pole_a)} ⟷ {escape(tension.pole_b)}"
        text = f"<p>{escape(tension.description)}</p>" if tension.description else ""
        self.title = w.HTML(
            f"<h4>{escape(tension.code)}: {escape(tension.name)}</h4><p><i>{poles}</i></p>{text}",
            layout=_WIDE,
        )
        self.title.add_class("cp-card-title")
        self.comment = w.Textarea(
            placeholder="Your comment on this tension",
            layout=w.Layout(width=_FULL, height="5em"),
        )
        self.comment.add_class("cp-card-comment")
        self.suggestion = w.Textarea(
            placeholder="A suggestion: reword, split, merge, add ...",
            layout=w.Layout(width=_FULL, height="3.5em"),
        )
        self.suggestion.add_class("cp-card-suggestion")
        self.state = w.HTML()
        self.state.add_class("cp-card-state")
        super().__init__(
            [
                self.title,
                w.HTML("Comment"),
                self.comment,
                w.HTML("Suggestion"),
                self.suggestion,
                self.state,
            ],
            layout=w.Layout(
                border="1px solid #ccc",
                padding="0.5em",
                margin="0 0 1em 0",
                width="auto",
                max_width="100%",
                overflow="hidden",
            ),
            **kwargs,
        )
        self.add_class("cp-card")
        self.add_class(f"cp-card-{_css(tension.code)}")

    def values(self) -> tuple[str, str]:
        return self.comment.value.strip(), self.suggestion.value.strip()

    def fill(self, comment: str, suggestion: str) -> None:
        self.comment.value, self.suggestion.value = comment or "", suggestion or ""


def _state(widget: w.HTML, kind: str, text: str) -> None:
    """A save state ("saving…", "saved", "not saved: …") in a card or the poll."""
    message(widget, text, kind={"saving": "info", "saved": "ok", "failed": "error"}[kind])
    for k in ("saving", "saved", "failed"):
        widget.remove_class(f"cp-state-{k}")
    widget.add_class(f"cp-state-{kind}")


class ParticipantApp(w.VBox):
    """What one participant sees behind their personal link.

    An invalid key shows a refusal and nothing of the study. A valid one greets the
    participant by their study name and shows a card per tension of the workshop's
    framework (comment, suggestion), the circle board (:class:`CircleBoard`, the
    participant's own placements only), the poll while it is open and, once the
    facilitator has closed it, its tally ("Check for results"). Each card and the
    nominations save as they change (after ``debounce`` seconds without typing), with
    their state shown beside them: "saving…", "saved", or "not saved: " and the reason.
    Only the participant's own responses are ever shown. CSS classes
    ``cp-participant-app``, ``cp-participant-refused``, ``cp-card``, ``cp-card-state``,
    ``cp-nominate-CODE``, ``cp-poll-state``, ``cp-participant-status``,
    ``cp-check-results``, ``cp-results``, and the board's ``cp-circle-board``.

    Parameters
    ----------
    store : Store
    token : str
        The key of the participant's link.
    workshop : int, optional
        Accept only keys of this workshop (the server sets it).
    debounce : float
        Seconds of quiet after a change before it is saved (0: at once).
    """

    def __init__(
        self,
        store: Store,
        token: str | None,
        workshop: int | None = None,
        *,
        debounce: float = 0.8,
        **kwargs,
    ):
        self.store = store
        self._token = token
        self.debounce = debounce
        self.workshop = None
        self.participant: str | None = None
        self.last_status = ""
        self._gone = False
        self._lock = threading.RLock()
        self._timers: dict[str, threading.Timer] = {}
        self.status = w.HTML()
        self.status.add_class("cp-participant-status")
        super().__init__(layout=w.Layout(width="auto", max_width="100%"), **kwargs)
        self.add_class("cp-participant-app")
        try:
            ws, person = store.participant_for_token(token, workshop)
        except Forbidden as exc:
            self._say(f"Sorry: {exc}.", kind="error")
            self.status.add_class("cp-participant-refused")
            self.children = [w.HTML("<h3>Workshop</h3>"), self.status]
            return
        self.workshop, self.participant = ws, person.name
        framework = store.framework(ws.base_version)
        self.greeting = w.HTML(
            f"<h3>Welcome, {escape(person.name)}</h3>"
            f"<p>Workshop of {ws.date:%d %B %Y}. For each tension, add a comment or a "
            "suggestion if you wish, then place the cards on the circles: the <b>inner "
            "circle</b> (most important or relevant to your partnership now), the <b>outer "
            "circle</b> (less) or neither. While the poll is open, tick the tensions you "
            "find most important. Everything is saved as you go; each card says whether it "
            "is saved.</p>"
            "<p><i>Only you see your answers here. The poll's results are shown to everyone "
            "when the facilitator closes it.</i></p>",
            layout=_WIDE,
        )
        self.cards = {t.code: _Card(t) for t in framework.tensions}
        self.board = CircleBoard(
            store, ws.id, participant=person.name, source="participant app", link=token
        )
        self.poll_header = w.HTML(layout=_WIDE)
        self.picks = w.VBox(layout=w.Layout(width="auto", max_width="100%"))
        self.picks.add_class("cp-poll-picks")
        self.poll_state = w.HTML()
        self.poll_state.add_class("cp-poll-state")
        self.check = w.Button(
            description="Check for results", icon="refresh", layout=w.Layout(width="auto")
        )
        self.check.add_class("cp-check-results")
        self.results = w.HTML(layout=w.Layout(width="auto", max_width="100%", overflow="auto"))
        self.results.add_class("cp-results")
        self.check.on_click(self._on_check_click)
        self._poll = None
        self._poll_key: tuple | None = None
        #: The poll's controls: a checkbox per option, or a dropdown per rank position.
        self.approve: dict[str, w.Checkbox] = {}
        self.rank: list[w.Dropdown] = []
        self.children = [
            self.greeting,
            w.HTML("<h4>The cards</h4>"),
            *self.cards.values(),
            w.HTML("<h4>The circles</h4>"),
            self.board,
            w.HTML("<h4>Poll</h4>"),
            self.poll_header,
            self.picks,
            self.poll_state,
            self.status,
            w.HTML("<h4>Results</h4>"),
            self.check,
            self.results,
        ]
        self._load_own()
        for code, card in self.cards.items():
            for box in (card.comment, card.suggestion):
                box.observe(lambda _c, code=code: self._changed(f"card:{code}"), names="value")
        self.refresh_poll()
        fit(self)

    # -- public -------------------------------------------------------------------------

    def refresh_poll(self) -> None:
        """Reload the poll (it may have been opened or closed since) and its results."""
        poll = self._poll = self.store.current_poll(self.workshop.id)
        if poll is None:
            self.poll_header.value = "<i>No poll is open yet.</i>"
            self.picks.children = []
            self._poll_key = None
            self.results.value = "<i>No poll yet.</i>"
            return
        key = (poll.id, poll.closed_at is None)
        if key != self._poll_key:
            self._poll_key = key
            self._build_picks(poll)
        if poll.closed_at is not None:
            self.results.value = _tally_html(self.store, poll, self.workshop)
        else:
            self.results.value = (
                "<i>Results appear here once the facilitator closes the poll, so that "
                "nobody votes with the crowd. Press “Check for results” then.</i>"
            )

    def flush(self) -> None:
        """Save every change still waiting for its debounce, now."""
        with self._lock:
            pending = list(self._timers)
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        for what in pending:
            self._save(what)

    # -- internals ---------------------------------------------------------------------

    def _say(self, text: str, *, kind: str = "info") -> None:
        self.last_status = text
        message(self.status, text, kind=kind)

    def _names(self) -> dict[str, str]:
        ws = self.workshop
        names = {t.code: t.name for t in self.store.framework(ws.base_version).tensions}
        names.update({t.code: t.name for t in self.store.current_framework(ws.id).tensions})
        return names

    def _load_own(self) -> None:
        for r in self.store.responses(self.workshop.id, self.participant):
            if r.code in self.cards:
                self.cards[r.code].fill(r.comment, r.suggestion)
                if r.comment or r.suggestion:
                    _state(self.cards[r.code].state, "saved", "saved")

    def _state_widget(self, what: str) -> w.HTML:
        return self.poll_state if what == "poll" else self.cards[what[5:]].state

    def _changed(self, what: str) -> None:
        """A card or the nominations changed: save after the debounce."""
        if self._gone:
            return
        _state(self._state_widget(what), "saving", "saving…")
        if self.debounce <= 0:
            self._save(what)
            return
        with self._lock:
            old = self._timers.pop(what, None)
            if old is not None:
                old.cancel()
            timer = self._timers[what] = threading.Timer(self.debounce, self._due, (what,))
            timer.daemon = True
            timer.start()

    def _due(self, what: str) -> None:
        with self._lock:
            if self._timers.pop(what, None) is None:
                return  # flushed meanwhile
        try:
            self._save(what)
        except Exception as exc:  # noqa: BLE001
            # An error in a timer thread would vanish: show it on the card.
            _state(self._state_widget(what), "failed", f"not saved: {exc}")

    def _save(self, what: str) -> None:
        with self._lock:  # a timer and a flush must not save the same change twice
            if self._gone:
                return
            state = self._state_widget(what)
            try:
                text = self._save_poll() if what == "poll" else self._save_card(what[5:])
            except Forbidden as exc:
                if self._link_gone(exc):
                    _state(state, "failed", "not saved: this link is no longer valid")
                    return
                text, ok = f"not saved: {exc}", False
            except CoprodError as exc:
                text, ok = f"not saved: {exc}", False
            else:
                ok = not text.startswith("not saved")
            _state(state, "saved" if ok else "failed", text)
            label = "your nominations" if what == "poll" else what[5:]
            self._say(f"{label}: {text}", kind="ok" if ok else "error")

    def _save_card(self, code: str) -> str:
        comment, suggestion = self.cards[code].values()
        old = next(
            (r for r in self.store.responses(self.workshop.id, self.participant) if r.code == code),
            None,
        )
        if old is None and not (comment or suggestion):
            return "saved"  # an untouched card is not an answer
        if old is not None and (old.comment, old.suggestion) == (comment, suggestion):
            return "saved"
        self.store.set_response(
            self.workshop.id,
            self.participant,
            code,
            comment=comment,
            suggestion=suggestion,
            source="participant app",
            link=self._token,  # re-checked as it writes: revocation ends the page
        )
        return "saved"

    def _save_poll(self) -> str:
        poll = self._poll
        if poll is None:
            return "not saved: no poll is open"
        choices = self._choices()
        if choices is None:
            return "not saved: fill the choices in order, from choice 1"
        mine = self.store.own_ballot_by_link(self._token, poll.id)
        if choices != mine and (choices or mine is not None):
            try:
                self.store.cast_ballot(poll.id, self.participant, choices, link=self._token)
            except Forbidden as exc:
                if self._link_gone(exc):
                    raise
                self.refresh_poll()  # closed meanwhile: show it as closed
                return f"not saved: {exc}"
        return f"saved: {', '.join(choices) if choices else '(none)'}"

    def _build_picks(self, poll) -> None:
        names = self._names()
        labels = [(f"{c}: {names.get(c, '')}", c) for c in poll.options]
        closed = poll.closed_at is not None
        mine = self.store.own_ballot_by_link(self._token, poll.id) or []
        self.approve, self.rank = {}, []
        if poll.ranked:
            k = poll.max_choices or len(poll.options)
            how = f"rank up to {k} tensions, most important first"
            for p in range(1, k + 1):
                d = w.Dropdown(
                    description=f"Choice {p}",
                    options=[("(none)", None), *labels],
                    value=mine[p - 1] if p <= len(mine) else None,
                    disabled=closed,
                    layout=w.Layout(width="auto", max_width="100%"),
                )
                d.add_class(f"cp-rank-{p}")
                d.observe(lambda _c: self._changed("poll"), names="value")
                self.rank.append(d)
            self.picks.children = self.rank
        else:
            most = f"up to {poll.max_choices}" if poll.max_choices else "any number of"
            how = f"tick {most} tensions"
            for label, code in labels:
                box = w.Checkbox(
                    description=label,
                    value=code in mine,
                    disabled=closed,
                    indent=False,
                    layout=w.Layout(width="auto", max_width="100%"),
                )
                box.add_class(f"cp-nominate-{_css(code)}")
                box.observe(lambda _c: self._changed("poll"), names="value")
                self.approve[code] = box
            self.picks.children = list(self.approve.values())
        # One text per state: what to do while the poll is open, where to look once closed.
        if closed:
            mine_text = ", ".join(mine) if mine else "none"
            self.poll_header.value = (
                "<p>The poll is <b>closed</b>: nominations can no longer change (yours: "
                f"{escape(mine_text)}). Its results are under Results below.</p>"
            )
        else:
            self.poll_header.value = (
                "<p>Which tensions are most important or relevant to you? The poll is "
                f"<b>open</b>: {escape(how)}. Your choice is saved as you make it.</p>"
            )

    def _choices(self) -> list[str] | None:
        """The nominations in the form, in rank order; None for a gap in a ranking."""
        if self.rank:
            picked = [d.value for d in self.rank]
            filled = [c for c in picked if c is not None]
            if picked[: len(filled)] != filled:
                return None
            return filled
        return [code for code, box in self.approve.items() if box.value]

    def _link_gone(self, exc: Forbidden) -> bool:
        """Whether ``exc`` says this page's link was revoked; if so the page says so
        and stops offering to save."""
        if str(exc) != LINK_GONE:
            try:  # a refusal for another reason (a closed poll) leaves the link working
                self.store.participant_for_token(self._token, self.workshop.id)
                return False
            except Forbidden:
                pass
        self._gone = True
        self._say(f"Sorry: {LINK_GONE}.", kind="error")
        self.status.add_class("cp-participant-revoked")
        self.check.disabled = True
        for card in self.cards.values():
            card.comment.disabled = card.suggestion.disabled = True
        for control in [*self.approve.values(), *self.rank]:
            control.disabled = True
        self.board.pane.disabled = self.board.undo.disabled = True
        return True

    def _on_check_click(self, _button=None) -> None:
        try:
            self.refresh_poll()
        except CoprodError as exc:
            self._say(str(exc), kind="error")


class LiveResponses(w.VBox):
    """The facilitator's view of the live workshop.

    Who has responded (cards answered, voted or not), the responses as they arrive
    (Refresh, or refresh every few seconds in the background), Close poll & reveal
    (then the tally), and the participants' personal links. Keys are shown only when
    they were issued here or passed in ``links``: the study keeps their hashes only.
    CSS classes ``cp-live-responses``, ``cp-live-refresh``, ``cp-live-auto``,
    ``cp-live-progress``, ``cp-live-table``, ``cp-live-close``, ``cp-live-tally``,
    ``cp-live-links``, ``cp-live-new-links``, ``cp-live-links-list``.

    Parameters
    ----------
    store : Store
    workshop : int, optional
        The workshop's id (the latest by default).
    links : dict, optional
        Participant -> key, as returned by :meth:`Store.issue_links`.
    root : str
        The participant app's address, as participants reach it.
    interval : float
        Seconds between background refreshes.
    """

    def __init__(
        self,
        store: Store,
        workshop: int | None = None,
        *,
        links: dict[str, str] | None = None,
        root: str = "http://127.0.0.1:8866/",
        interval: float = 5.0,
        **kwargs,
    ):
        self.store = store
        self._ref = workshop
        self.links = dict(links or {})
        self.root = root
        self.interval = interval
        self._stop: threading.Event | None = None
        self._lock = threading.Lock()
        self.header = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.add_class("cp-live-refresh")
        self.auto = w.Checkbox(value=False, description=f"refresh every {interval:g} s")
        self.auto.add_class("cp-live-auto")
        self.progress = w.HTML()
        self.progress.add_class("cp-live-progress")
        self.table = w.HTML()
        self.table.add_class("cp-live-table")
        self.close_button = w.Button(
            description="Close poll & reveal", button_style="warning", icon="lock"
        )
        self.close_button.add_class("cp-live-close")
        self.tally = w.HTML()
        self.tally.add_class("cp-live-tally")
        self.links_button = w.Button(description="Links", icon="link")
        self.links_button.add_class("cp-live-links")
        self.new_links_button = w.Button(description="New links for everyone", icon="key")
        self.new_links_button.add_class("cp-live-new-links")
        self.links_list = w.HTML()
        self.links_list.add_class("cp-live-links-list")
        self.status = w.HTML()
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.auto.observe(self._on_auto_change, names="value")
        self.close_button.on_click(self._on_close_click)
        self.links_button.on_click(self._on_links_click)
        self.new_links_button.on_click(self._on_new_links_click)
        super().__init__(
            [
                self.header,
                w.HBox([self.refresh_button, self.auto]),
                self.progress,
                w.HTML("<b>Responses as they arrive</b> (newest first)"),
                self.table,
                w.HTML("<b>Poll</b>"),
                self.close_button,
                self.tally,
                w.HTML("<b>Personal links</b>"),
                w.HBox([self.links_button, self.new_links_button]),
                self.links_list,
                self.status,
            ],
            **kwargs,
        )
        self.add_class("cp-live-responses")
        fit(self)
        self.refresh()

    # -- public -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload who has answered, the responses and the poll's state."""
        with self._lock:  # the background timer and a click may refresh at once
            ws, problem = chosen_workshop(self.store, self._ref)
            if ws is None:
                message(self.header, problem, kind="error" if self._ref is not None else "info")
                for control in (self.close_button, self.links_button, self.new_links_button):
                    control.disabled = True
                return
            for control in (self.links_button, self.new_links_button):
                control.disabled = False
            self._ws = ws
            progress = live_progress(self.store, ws.id)
            poll = self._poll = self.store.current_poll(ws.id)
            if poll is None:
                state = "no poll opened yet"
            elif poll.closed_at is None:
                state = f"poll {poll.name!r} open: {int(progress.voted.sum())} of "
                state += f"{len(progress)} have voted"
            else:
                state = f"poll {poll.name!r} closed"
            done = finished_note(self.store, ws)
            self.header.value = (
                f"<b>Live workshop of {ws.date:%Y-%m-%d}</b> (framework v{ws.base_version}): "
                f"{escape(state)}"
            ) + (f'<div class="cp-message cp-info">{escape(done)}</div>' if done else "")
            shown = progress.assign(voted=progress.voted.map({True: "yes", False: "no"}))
            self.progress.value = table_html(shown, css_class="cp-table cp-live-progress-table")
            answers = live_responses(self.store, ws.id)
            if answers.empty:
                self.table.value = "<i>no response yet</i>"
            else:
                answers["updated_at"] = answers["updated_at"].map(lambda t: f"{t:%H:%M:%S}")
                self.table.value = (
                    '<div style="white-space:pre-line">'
                    + table_html(
                        answers.rename(columns={"updated_at": "at (UTC)"}),
                        css_class="cp-table cp-live-answers",
                    )
                    + "</div>"
                )
            self.close_button.disabled = poll is None or poll.closed_at is not None
            if poll is not None and poll.closed_at is not None:
                self.tally.value = _tally_html(self.store, poll, ws)
            else:
                self.tally.value = "<i>The tally is shown here when you close the poll.</i>"

    def close(self) -> None:
        """Stop the background refresh, then close the widget."""
        self._stop_timer()
        super().close()

    # -- internals ---------------------------------------------------------------------

    def _on_auto_change(self, change) -> None:
        if change["new"]:
            self._stop_timer()
            self._stop = stop = threading.Event()
            threading.Thread(target=self._loop, args=(stop,), daemon=True).start()
        else:
            self._stop_timer()

    def _stop_timer(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001
                # An error in a background thread would vanish: show it, stop refreshing.
                message(self.status, f"background refresh stopped: {exc}", kind="error")
                self.auto.value = False
                return

    def _on_close_click(self, _button=None) -> None:
        poll = self.store.current_poll(self._ref)
        if poll is None or poll.closed_at is not None:
            message(self.status, "There is no open poll to close.", kind="error")
            return
        try:
            self.store.close_poll(poll.id)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self.refresh()
        message(self.status, f"poll {poll.name!r} closed: results revealed", kind="ok")

    def _on_links_click(self, _button=None) -> None:
        if not self.links:
            active = self.store.active_links(self._ref)
            self.links_list.value = ""
            message(
                self.status,
                f"Participants with a working link: {len(active)}. Keys are shown once and "
                "not stored, so they cannot be shown again: “New links for everyone” "
                "replaces them (the old links stop working).",
            )
            return
        rows = [
            {"participant": name, "link": participant_link(self.root, token)}
            for name, token in sorted(self.links.items())
        ]
        self.links_list.value = (
            "<p><i>Send each participant their own link, privately: the link is who they "
            "are.</i></p>" + table_html(pd.DataFrame(rows), css_class="cp-table cp-links-table")
        )
        message(self.status, f"{plural(len(rows), 'link')} shown")

    def _on_new_links_click(self, _button=None) -> None:
        try:
            self.links = self.store.issue_links(self._ref)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self._on_links_click()
        self.refresh()
        message(
            self.status, f"{plural(len(self.links), 'new link')} issued; earlier links stop working"
        )
