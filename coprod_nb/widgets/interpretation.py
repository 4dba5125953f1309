"""Step 2 widgets: the joint interpretation meeting with its dissent log, and the tension board.

Rules (blinding of notes, allowed statuses and link kinds, what a frozen framework holds)
live in the store; these views call it and show what it returns, or the message of the
error it raises. Every text that comes from the store is escaped before it becomes HTML.
"""

from __future__ import annotations

from collections import defaultdict

import ipywidgets as w
import pandas as pd

from coprod_nb.domain.framework import LINK_KINDS, TENSION_STATUSES, compare_frameworks
from coprod_nb.domain.wording import plural, version_title
from coprod_nb.errors import CoprodError, InvalidInput
from coprod_nb.storage import Store
from coprod_nb.storage.interpretation import BoardUndo, Listing
from coprod_nb.widgets._common import Quiet, escape, message, researcher_source, short, table_html
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets._stage import STEP1_OPEN, researcher_problem

DEFAULT_MEETING_TITLE = "Joint interpretation meeting"
#: At most this many notes (and excerpts) are listed at the board: a large study has
#: tens of thousands, which no one scrolls through; the filters narrow the list.
LIST_LIMIT = 200
#: Characters of a note's text, and of an excerpt's quote, in the lists' labels: an
#: option of a list box cannot wrap, so its label must fit the list at 1280 px.
NOTE_LABEL_CHARS, EXCERPT_LABEL_CHARS = 60, 50
_WIDE = w.Layout(width="100%")


def parse_positions(text: str) -> list[dict]:
    """Positions typed one per line as ``"Name: position"`` -> ``[{"who", "position"}]``.

    Blank lines are skipped. A line without ``": "`` (or with an empty side) raises
    :class:`~coprod_nb.errors.InvalidInput` naming the line.
    """
    positions = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        who, sep, position = line.partition(": ")
        if not sep or not who.strip() or not position.strip():
            raise InvalidInput(
                f"write each position as 'Name: position' (got {line.strip()!r})",
                place=f"positions, line {n}",
            )
        positions.append({"who": who.strip(), "position": position.strip()})
    return positions


class MeetingEditor(Quiet, w.VBox):
    """Record dated joint interpretation meetings and their dissent log.

    Choose a meeting (or "(new meeting)"), edit its date, attendees and minutes, and
    save. Below, the chosen meeting's dissents: log a new one (positions typed one per
    line as ``"Name: position"``) or settle an open one. CSS class ``cp-meeting-editor``.

    Parameters
    ----------
    store : Store
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.notice = w.HTML()
        self.notice.add_class("cp-notice")
        self.meeting = w.Dropdown(description="Meeting", layout=w.Layout(width="420px"))
        self.title = w.Text(description="Title", value=DEFAULT_MEETING_TITLE, layout=_WIDE)
        self.date = w.DatePicker(description="Date")
        self.attendees = w.SelectMultiple(
            description="Attendees", options=[r.name for r in store.researchers()]
        )
        self.minutes = w.Textarea(
            description="Minutes", layout=w.Layout(width="100%", height="8em")
        )
        self.save = w.Button(description="Save meeting", button_style="primary", icon="save")
        self.status = w.HTML()

        self.dissent_log = w.HTML()
        self.dissent_log.add_class("cp-dissent-log")
        self.topic = w.Text(description="Topic", layout=_WIDE)
        self.positions = w.Textarea(
            description="Positions",
            placeholder="one per line, name: position, e.g.\n"
            "Ana: it is a question of language\nBo: it is a question of power",
            layout=w.Layout(width="100%", height="6em"),
        )
        self.resolution = w.Text(description="Resolution", layout=_WIDE)
        self.settled = w.Checkbox(description="settled")
        self.log_dissent = w.Button(description="Log dissent", icon="plus")
        self.open_dissent = w.Dropdown(description="Open dissent", layout=w.Layout(width="520px"))
        self.settlement = w.Text(description="Resolution", layout=_WIDE)
        self.settle = w.Button(description="Settle", icon="check")
        self.dissent_status = w.HTML()

        self.meeting.observe(self._on_meeting_change, names="value")
        self.open_dissent.observe(self._on_open_dissent_change, names="value")
        self.save.on_click(self._on_save_click)
        self.log_dissent.on_click(self._on_log_dissent_click)
        self.settle.on_click(self._on_settle_click)

        super().__init__(
            [
                self.notice,
                w.HTML("<b>Joint interpretation meeting</b>"),
                self.meeting,
                w.HBox([self.date, self.attendees]),
                self.title,
                self.minutes,
                self.save,
                self.status,
                w.HTML("<b>Dissent log</b>"),
                self.dissent_log,
                w.HTML("<i>Log a dissent</i>"),
                self.topic,
                self.positions,
                w.HBox([self.resolution, self.settled]),
                self.log_dissent,
                w.HTML("<i>Settle an open dissent</i>"),
                self.open_dissent,
                self.settlement,
                self.settle,
                self.dissent_status,
            ],
            **kwargs,
        )
        self.add_class("cp-meeting-editor")
        fit(self)
        self.refresh()

    # -- public -------------------------------------------------------------------

    @property
    def meeting_id(self) -> int | None:
        """Id of the chosen meeting (None for a new one)."""
        return self.meeting.value

    def refresh(self, select: int | None = None) -> None:
        """Reload the meetings from the store; choose ``select`` (default: the newest)."""
        _step1_notice(self.notice, self.store)
        meetings = self.store.meetings()
        ids = [m.id for m in meetings]
        if select is None and ids:
            select = self.meeting.value if self.meeting.value in ids else ids[-1]
        with self._filling():
            self.meeting.options = [("(new meeting)", None)] + [
                (f"{m.date:%Y-%m-%d} {m.title}", m.id) for m in meetings
            ]
            _choose(self.meeting, select if select in ids else None)
        self._load(meetings)

    # -- internals ----------------------------------------------------------------

    def _chosen(self, meetings=None):
        if self.meeting.value is None:
            return None
        meetings = self.store.meetings() if meetings is None else meetings
        return next((m for m in meetings if m.id == self.meeting.value), None)

    def _load(self, meetings=None) -> None:
        m = self._chosen(meetings)
        if m is None:
            self.title.value = DEFAULT_MEETING_TITLE
            self.date.value = None
            self.attendees.value = ()
            self.minutes.value = ""
        else:
            self.title.value = m.title
            self.date.value = m.date
            missing = [a for a in m.attendees if a not in self.attendees.options]
            if missing:  # a name the team no longer has: show it rather than drop it
                self.attendees.options = [*self.attendees.options, *missing]
            self.attendees.value = tuple(m.attendees)
            self.minutes.value = m.minutes or ""
        self._show_dissents(m)

    def _show_dissents(self, m) -> None:
        dissents = list(m.dissents) if m is not None else []
        if m is None:
            self.dissent_log.value = "<i>save the meeting to log its dissents</i>"
        elif not dissents:
            self.dissent_log.value = "<i>no dissent logged</i>"
        else:
            rows = [
                {
                    "#": d.id,
                    "topic": d.topic,
                    "positions": "\n".join(
                        f"{p.get('who', '')}: {p.get('position', '')}" for p in d.positions or []
                    ),
                    "resolution": d.resolution,
                    "state": "settled" if d.settled else "open",
                }
                for d in dissents
            ]
            self.dissent_log.value = (
                '<div style="white-space:pre-line">'
                + table_html(pd.DataFrame(rows), css_class="cp-table cp-dissent-table")
                + "</div>"
            )
        open_ones = [d for d in dissents if not d.settled]
        with self._filling():
            self.open_dissent.options = (
                [(f"#{d.id} {short(d.topic, 70)}", d.id) for d in open_ones]
                if open_ones
                else [("(no open dissent)", None)]
            )
            self.open_dissent.index = 0
        self._on_open_dissent_change()

    def _on_meeting_change(self, change) -> None:
        if self._quiet:
            return
        self._load()
        message(self.status, "new meeting" if change.new is None else "")

    def _on_open_dissent_change(self, change=None) -> None:
        if self._quiet:
            return
        m = self._chosen()
        d = next((d for d in (m.dissents if m else []) if d.id == self.open_dissent.value), None)
        self.settlement.value = d.resolution if d is not None else ""

    def _on_save_click(self, _button=None) -> None:
        if self.date.value is None:
            message(self.status, "Choose the meeting's date.", kind="error")
            return
        fields = {
            "title": self.title.value.strip() or DEFAULT_MEETING_TITLE,
            "attendees": list(self.attendees.value),
            "minutes": self.minutes.value,
        }
        try:
            if self.meeting.value is None:
                m = self.store.add_meeting(self.date.value, **fields)
            else:
                m = self.store.update_meeting(self.meeting.value, date=self.date.value, **fields)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self.refresh(select=m.id)
        message(self.status, f"meeting of {m.date:%Y-%m-%d} saved", kind="ok")

    def _on_log_dissent_click(self, _button=None) -> None:
        if self.meeting.value is None:
            message(self.dissent_status, "Save the meeting first.", kind="error")
            return
        try:
            positions = parse_positions(self.positions.value)
            d = self.store.add_dissent(
                self.meeting.value,
                self.topic.value.strip(),
                positions,
                resolution=self.resolution.value.strip(),
                settled=self.settled.value,
            )
        except CoprodError as exc:
            message(self.dissent_status, str(exc), kind="error")
            return
        self.topic.value = self.positions.value = self.resolution.value = ""
        self.settled.value = False
        self._show_dissents(self._chosen())
        message(self.dissent_status, f"dissent #{d.id} logged", kind="ok")

    def _on_settle_click(self, _button=None) -> None:
        if self.open_dissent.value is None:
            message(self.dissent_status, "No open dissent chosen.", kind="error")
            return
        try:
            d = self.store.settle_dissent(self.open_dissent.value, self.settlement.value.strip())
        except CoprodError as exc:
            message(self.dissent_status, str(exc), kind="error")
            return
        self._show_dissents(self._chosen())
        message(self.dissent_status, f"dissent #{d.id} settled", kind="ok")


class TensionBoard(Quiet, w.VBox):
    """Name tensions, attach their evidence, link them, and agree (freeze) the framework.

    Sections: the tension form (choose a tension or "(new tension)", edit, Save); the
    evidence panel (filter the notes the viewer may see and attach them, attach transcript
    excerpts, detach); links between tensions; a map of all tensions; the frozen framework
    versions with a comparison of two versions. CSS class ``cp-tension-board``.

    Parameters
    ----------
    store : Store
    viewer : str or ResearcherPicker, optional
        The researcher at the board (a name, or a value widget whose changes are
        followed); by default the researcher who is working. Notes are listed as the
        store shows them to this researcher, and a framework is frozen in their name.

    list_limit : int, optional
        At most this many notes and excerpts are listed (the first ones, in the store's
        order); a line above each list says how many match, and the filters narrow it.

    While step 1 is open, or without a researcher at the board, the board says so at
    its top (the store refuses what that forbids). "Undo last change" undoes the
    board's edits since it opened, newest first (:class:`BoardUndo`).
    """

    def __init__(
        self,
        store: Store,
        viewer: str | w.ValueWidget | None = None,
        *,
        list_limit: int = LIST_LIMIT,
        **kwargs,
    ):
        self.store = store
        self.list_limit = list_limit
        self.history = BoardUndo(store)
        if viewer is None:
            me = store.acting_researcher()
            viewer = me.name if me is not None else None
        self._name, self._picker = researcher_source(viewer)
        self.notice = w.HTML()
        self.notice.add_class("cp-notice")
        names = [r.name for r in store.researchers()]
        self._rows: dict = {}
        self._excerpt_labels: dict[int, str] = {}

        # the tension form
        self.tension = w.Dropdown(description="Tension", layout=_WIDE)
        self.code = w.Text(description="Code", placeholder="automatic: T1, T2, ...")
        self.name = w.Text(description="Name", layout=_WIDE)
        self.pole_a = w.Text(description="Pole A", layout=_WIDE)
        self.pole_b = w.Text(description="Pole B", layout=_WIDE)
        self.description = w.Textarea(
            description="Description", layout=w.Layout(width="100%", height="6em")
        )
        self.subthemes = w.Textarea(
            description="Sub-themes", placeholder="one per line", layout=_WIDE
        )
        self.proposer = w.Dropdown(
            description="Proposer", options=[("(nobody)", "")] + [(n, n) for n in names]
        )
        self.status = w.Dropdown(description="Status", options=TENSION_STATUSES)
        self.save = w.Button(description="Save tension", button_style="primary", icon="save")
        self.form_status = w.HTML()

        # evidence
        self.filter_partnership = w.Dropdown(
            description="Partnership",
            options=[("(all)", None)] + [(p.short, p.short) for p in store.partnerships()],
        )
        self.filter_category = w.Dropdown(
            description="Category",
            options=[("(all)", None)] + [(c, c) for c in store.note_categories()],
        )
        self.filter_researcher = w.Dropdown(
            description="Researcher", options=[("(all)", None)] + [(n, n) for n in names]
        )
        self.notes_count = w.HTML()
        self.notes_count.add_class("cp-evidence-count")
        self.notes = w.SelectMultiple(description="Notes", rows=8, layout=_WIDE)
        self.notes.add_class("cp-evidence-notes")
        self.attach_notes = w.Button(description="Attach notes", icon="paperclip")
        self.attach_notes.add_class("cp-attach-notes")
        self.excerpts_count = w.HTML()
        self.excerpts_count.add_class("cp-evidence-count")
        self.excerpts = w.SelectMultiple(description="Excerpts", rows=8, layout=_WIDE)
        self.excerpts.add_class("cp-evidence-excerpts")
        self.attach_excerpts = w.Button(description="Attach excerpts", icon="paperclip")
        self.attach_excerpts.add_class("cp-attach-excerpts")
        self.evidence_list = w.HTML()
        self.evidence_list.add_class("cp-evidence-list")
        # the list takes the row's room, the button keeps its own
        self.detach_choice = w.SelectMultiple(
            description="Detach", rows=5, layout=w.Layout(flex="1 1 auto", width="auto")
        )
        self.detach = w.Button(description="Detach", icon="unlink", layout=w.Layout(flex="none"))
        self.evidence_status = w.HTML()

        # links, map
        self.link_target = w.Dropdown(
            description="Link to", layout=w.Layout(flex="1 1 0%", width="auto", min_width="0")
        )
        self.link_kind = w.Dropdown(description="Kind", options=LINK_KINDS)
        self.link = w.Button(description="Link", icon="link", layout=w.Layout(flex="none"))
        self.links = w.HTML()
        self.links.add_class("cp-tension-links")
        self.map = w.HTML()
        self.map.add_class("cp-tension-map")

        # frozen frameworks
        self.freeze_label = w.Text(description="Label", placeholder="e.g. v2: after the meeting")
        self.freeze = w.Button(description="Agree framework", button_style="success", icon="lock")
        self.freeze.add_class("cp-freeze")
        self.versions = w.HTML()
        # one row each: a version's label is a sentence, and a select cuts it silently
        self.compare_old = w.Dropdown(description="Compare", layout=_WIDE)
        self.compare_new = w.Dropdown(description="with", layout=_WIDE)
        self.comparison = w.HTML()
        self.comparison.add_class("cp-framework-compare")
        self.freeze_status = w.HTML()

        # undo
        self.undo = w.Button(description="Undo last change", icon="undo", disabled=True)
        self.undo.add_class("cp-board-undo")
        self.undo_status = w.HTML()

        self.tension.observe(self._on_tension_change, names="value")
        for f in (self.filter_partnership, self.filter_category, self.filter_researcher):
            f.observe(self._on_filter_change, names="value")
        for c in (self.compare_old, self.compare_new):
            c.observe(self._on_compare_change, names="value")
        if self._picker is not None:
            self._picker.observe(self._on_viewer_change, names="value")
        self.save.on_click(self._on_save_click)
        self.attach_notes.on_click(self._on_attach_notes_click)
        self.attach_excerpts.on_click(self._on_attach_excerpts_click)
        self.detach.on_click(self._on_detach_click)
        self.link.on_click(self._on_link_click)
        self.freeze.on_click(self._on_freeze_click)
        self.undo.on_click(self._on_undo_click)

        super().__init__(
            [
                self.notice,
                w.HTML("<b>Tension</b>"),
                self.tension,
                self.code,
                self.name,
                self.pole_a,
                self.pole_b,
                self.description,
                self.subthemes,
                w.HBox([self.proposer, self.status]),
                w.HBox([self.save, self.undo]),
                self.undo_status,
                self.form_status,
                w.HTML("<b>Evidence</b>"),
                self.evidence_list,
                w.HBox([self.detach_choice, self.detach]),
                w.HBox([self.filter_partnership, self.filter_category, self.filter_researcher]),
                self.notes_count,
                self.notes,
                self.attach_notes,
                self.excerpts_count,
                self.excerpts,
                self.attach_excerpts,
                w.HTML("<b>Links</b>"),
                self.links,
                w.HBox([self.link_target, self.link_kind, self.link]),
                self.evidence_status,
                w.HTML("<b>Map of tensions</b>"),
                self.map,
                w.HTML("<b>Agreed framework</b>"),
                w.HBox([self.freeze_label, self.freeze]),
                self.freeze_status,
                self.versions,
                self.compare_old,
                self.compare_new,
                self.comparison,
            ],
            **kwargs,
        )
        self.add_class("cp-tension-board")
        fit(self)
        self.refresh()

    # -- public -------------------------------------------------------------------

    @property
    def viewer(self) -> str | None:
        """The researcher at the board."""
        return self._picker.value if self._picker is not None else self._name

    @property
    def tension_id(self) -> int | None:
        """Id of the chosen tension (None for a new one)."""
        return self.tension.value

    def show(self, ref: int | str | None) -> None:
        """Choose a tension by id, code or name (None: a new tension)."""
        tid = None if ref is None else self.store.tension(ref).id
        self._refresh_tensions(select=tid)

    def refresh(self) -> None:
        """Reload everything from the store (tensions, notes, excerpts, framework versions)."""
        who = researcher_problem(self.store, self.viewer, "work at the board")
        _step1_notice(self.notice, self.store, also=who)
        self._refresh_notes()
        self._refresh_excerpts()
        self._refresh_versions()
        self._refresh_tensions(select=self.tension.value)

    # -- the tension form -------------------------------------------------------------

    def _refresh_tensions(self, select: int | None) -> None:
        rows = self.store.tensions()
        self._rows = {t.id: t for t in rows}
        with self._filling():
            self.tension.options = [("(new tension)", None)] + [
                (f"{t.code}: {t.name}", t.id) for t in rows
            ]
            _choose(self.tension, select if select in self._rows else None)
        self._load()
        self._refresh_map()

    def _current(self):
        return self._rows.get(self.tension.value)

    def _load(self) -> None:
        t = self._current()
        self.code.value = t.code if t else ""
        self.code.disabled = t is not None  # a code names a tension for good
        self.name.value = t.name if t else ""
        self.pole_a.value = t.pole_a if t else ""
        self.pole_b.value = t.pole_b if t else ""
        self.description.value = (t.description or "") if t else ""
        self.subthemes.value = "\n".join(t.subthemes or ()) if t else ""
        proposer = t.proposer if t else ""
        if proposer not in [v for _, v in self.proposer.options]:
            self.proposer.options = [*self.proposer.options, (proposer, proposer)]
        self.proposer.value = proposer
        self.status.value = t.status if t else TENSION_STATUSES[0]
        targets = [(f"{o.code}: {o.name}", o.id) for o in self._rows.values() if o is not t]
        self.link_target.options = targets or [("(no other tension)", None)]
        self.link_target.index = 0
        self._refresh_evidence()
        self._refresh_links()

    def _on_tension_change(self, change) -> None:
        if self._quiet:
            return
        self._load()
        message(self.form_status, "")
        message(self.evidence_status, "")

    def _on_save_click(self, _button=None) -> None:
        fields = {
            "name": self.name.value.strip(),
            "pole_a": self.pole_a.value.strip(),
            "pole_b": self.pole_b.value.strip(),
            "description": self.description.value,
            "subthemes": [s.strip() for s in self.subthemes.value.splitlines() if s.strip()],
            "proposer": self.proposer.value,
            "status": self.status.value,
        }
        try:
            row = self.history.save_tension(
                self.tension.value, code=self.code.value.strip() or None, **fields
            )
        except CoprodError as exc:
            message(self.form_status, str(exc), kind="error")
            return
        self._refresh_tensions(select=row.id)
        self._show_undo()
        message(self.form_status, f"{row.code} saved", kind="ok")

    # -- evidence -------------------------------------------------------------------

    def _note_lines(self, **filters) -> Listing:
        # Nobody at the board sees no notes (the notice at the top says why).
        if self.viewer is None:
            return Listing([], 0)
        return self.store.note_lines(self.viewer, **filters)

    @staticmethod
    def _note_label(n) -> str:
        return f"{n.researcher} · {n.partnership} · {n.category}"

    def _refresh_notes(self) -> None:
        try:
            found = self._note_lines(
                researcher=self.filter_researcher.value,
                partnership=self.filter_partnership.value,
                category=self.filter_category.value,
                limit=self.list_limit,
            )
        except CoprodError as exc:
            message(self.evidence_status, str(exc), kind="error")
            found = Listing([], 0)
        self.notes.options = [
            (f"#{n.id} {self._note_label(n)} · {short(n.text, NOTE_LABEL_CHARS)}", n.id)
            for n in found.rows
        ]
        self.notes_count.value = _count_line(found, "note", "Partnership, Category or Researcher")

    @staticmethod
    def _excerpt_label(e, n: int = EXCERPT_LABEL_CHARS) -> str:
        return f"{e.partnership or '-'}/{e.transcript}: “{short(e.text, n)}”"

    def _refresh_excerpts(self) -> None:
        found = self.store.excerpt_lines(
            viewer=self.viewer, partnership=self.filter_partnership.value, limit=self.list_limit
        )
        self.excerpts.options = [(self._excerpt_label(e), e.id) for e in found.rows]
        self.excerpts_count.value = _count_line(found, "excerpt", "Partnership")

    def _refresh_evidence(self) -> None:
        t = self._current()
        if t is None:
            self.evidence_list.value = "<i>save the tension to attach evidence</i>"
            self.detach_choice.options = []
            return
        items = self.store.evidence(t.id)
        # Only the notes and excerpts this tension holds, never the whole study's.
        note_ids = [e.note_id for e in items if e.note_id]
        excerpt_ids = [e.excerpt_id for e in items if e.excerpt_id]
        try:
            found = self._note_lines(ids=note_ids, include_deleted=True) if note_ids else None
            notes = {n.id: n for n in found.rows} if found else {}
        except CoprodError:
            notes = {}
        excerpts = (
            {e.id: e for e in self.store.excerpt_lines(viewer=self.viewer, ids=excerpt_ids).rows}
            if excerpt_ids
            else {}
        )
        html, choices = [], []
        for e in items:
            if e.note_id:
                n = notes.get(e.note_id)
                if n is None:
                    text = f"note #{e.note_id} (not visible to {self.viewer})"
                else:
                    gone = " (deleted)" if n.deleted else ""
                    text = f"note #{n.id}{gone} {self._note_label(n)}: {short(n.text, 300)}"
                choices.append((f"note #{e.note_id}", ("note", e.note_id)))
            else:
                ex = excerpts.get(e.excerpt_id)
                label = self._excerpt_label(ex, 300) if ex else "?"
                text = f"excerpt #{e.excerpt_id} {label}"
                choices.append(
                    (
                        f"excerpt #{e.excerpt_id} {short(ex.text, 50) if ex else ''}",
                        ("excerpt", e.excerpt_id),
                    )
                )
            html.append(f"<li>{escape(text)}</li>")
        self.evidence_list.value = (
            f'<ul class="cp-evidence">{"".join(html)}</ul>' if html else "<i>no evidence yet</i>"
        )
        self.detach_choice.options = choices

    def _on_filter_change(self, change) -> None:
        message(self.evidence_status, "")
        self._refresh_notes()
        if change is None or change.owner is self.filter_partnership:
            self._refresh_excerpts()

    def _on_viewer_change(self, change) -> None:
        message(self.evidence_status, "")
        who = researcher_problem(self.store, self.viewer, "work at the board")
        _step1_notice(self.notice, self.store, also=who)
        self._refresh_notes()
        self._refresh_excerpts()
        self._refresh_evidence()

    def _attach(self, *, notes=(), excerpts=()) -> None:
        t = self._current()
        what = "note" if notes else "excerpt"
        if t is None:
            message(self.evidence_status, "Choose (or save) a tension first.", kind="error")
            return
        if not notes and not excerpts:
            message(self.evidence_status, f"Select {what}s to attach.", kind="error")
            return
        try:
            added = self.history.attach(t.id, notes=notes, excerpts=excerpts)
        except CoprodError as exc:
            message(self.evidence_status, str(exc), kind="error")
            return
        self.notes.value = ()
        self.excerpts.value = ()
        self._refresh_evidence()
        self._refresh_map()
        self._show_undo()
        again = len(notes) + len(excerpts) - added
        more = f" ({again} already attached)" if again else ""
        message(
            self.evidence_status, f"{plural(added, what)} attached to {t.code}{more}", kind="ok"
        )

    def _on_attach_notes_click(self, _button=None) -> None:
        self._attach(notes=list(self.notes.value))

    def _on_attach_excerpts_click(self, _button=None) -> None:
        self._attach(excerpts=list(self.excerpts.value))

    def _on_detach_click(self, _button=None) -> None:
        t = self._current()
        chosen = list(self.detach_choice.value)
        if t is None or not chosen:
            message(self.evidence_status, "Select evidence to detach.", kind="error")
            return
        try:
            gone = self.history.detach(
                t.id,
                notes=[i for kind, i in chosen if kind == "note"],
                excerpts=[i for kind, i in chosen if kind == "excerpt"],
            )
        except CoprodError as exc:
            message(self.evidence_status, str(exc), kind="error")
            return
        self._refresh_evidence()
        self._refresh_map()
        self._show_undo()
        message(self.evidence_status, f"{plural(gone, 'item')} detached from {t.code}", kind="ok")

    # -- undo -------------------------------------------------------------------------

    def _show_undo(self) -> None:
        self.undo.disabled = not self.history.changes
        message(self.undo_status, "")

    def _on_undo_click(self, _button=None) -> None:
        try:
            what = self.history.undo()
        except CoprodError as exc:
            message(self.undo_status, str(exc), kind="error")
            return
        self._refresh_tensions(select=self.tension.value)
        self._show_undo()
        message(self.undo_status, f"undone: {what}", kind="ok")

    # -- links and map -------------------------------------------------------------------

    def _refresh_links(self) -> None:
        t = self._current()
        mine = [x for x in self.store.tension_links() if t is not None and t.code in (x[0], x[2])]
        self.links.value = (
            '<ul class="cp-links">'
            + "".join(f"<li>{escape(f'{a} {kind} {b}')}</li>" for a, kind, b in mine)
            + "</ul>"
            if mine
            else "<i>no links</i>"
        )

    def _on_link_click(self, _button=None) -> None:
        t = self._current()
        if t is None or self.link_target.value is None:
            message(self.evidence_status, "Choose two saved tensions to link.", kind="error")
            return
        try:
            self.history.link(t.id, self.link_target.value, self.link_kind.value)
        except CoprodError as exc:
            message(self.evidence_status, str(exc), kind="error")
            return
        target = self._rows[self.link_target.value].code
        self._refresh_links()
        self._refresh_map()
        self._show_undo()
        message(self.evidence_status, f"{t.code} {self.link_kind.value} {target}", kind="ok")

    def _refresh_map(self) -> None:
        counts = self.store.evidence_counts()
        out, into = defaultdict(list), defaultdict(list)
        for a, kind, b in self.store.tension_links():
            out[a].append(f"{kind} {b}")
            into[b].append(f"{a} {kind} it")
        rows = [
            {
                "code": t.code,
                "name": t.name,
                "poles": f"{t.pole_a} ⟷ {t.pole_b}",
                "status": t.status,
                "evidence": counts.get(t.id, 0),
                "links": "; ".join(out[t.code] + into[t.code]),
            }
            for t in self._rows.values()
        ]
        self.map.value = (
            table_html(pd.DataFrame(rows), css_class="cp-table cp-map-table")
            if rows
            else "<i>no tension yet</i>"
        )

    # -- frozen frameworks -------------------------------------------------------------

    def _refresh_versions(self) -> None:
        versions = self.store.framework_versions()
        rows = [
            {
                "version": v.version,
                "label": v.label,
                "frozen": f"{v.frozen_at:%Y-%m-%d %H:%M}",
                "by": v.frozen_by,
                "tensions": ", ".join(t["code"] for t in v.tensions if "code" in t),
            }
            for v in versions
        ]
        self.versions.value = (
            table_html(pd.DataFrame(rows), css_class="cp-table cp-versions-table")
            if rows
            else "<i>no framework agreed yet</i>"
        )
        options = [(version_title(v.version, v.label), v.version) for v in versions]
        with self._filling():
            self.compare_old.options = options
            self.compare_new.options = options
            if options:
                self.compare_old.value = options[max(len(options) - 2, 0)][1]
                self.compare_new.value = options[-1][1]
        self._on_compare_change()

    def _on_compare_change(self, change=None) -> None:
        if self._quiet:
            return
        old, new = self.compare_old.value, self.compare_new.value
        if old is None or new is None:
            self.comparison.value = ""
            return
        if old == new:
            self.comparison.value = "<i>choose two different versions</i>"
            return
        try:
            before, after = self.store.framework(old), self.store.framework(new)
        except CoprodError as exc:
            message(self.freeze_status, str(exc), kind="error")
            return
        rows = []
        for r in compare_frameworks(before, after):
            side = before if r["change"] == "removed" else after
            rows.append(
                {
                    "code": r["code"],
                    "name": side.get(r["code"]).name,
                    "change": r["change"],
                    "fields": ", ".join(r["fields"]),
                }
            )
        self.comparison.value = (
            table_html(pd.DataFrame(rows), css_class="cp-table cp-compare-table")
            if rows
            else f"<i>v{old} and v{new} hold the same tensions</i>"
        )

    def _on_freeze_click(self, _button=None) -> None:
        try:
            fv = self.store.freeze_framework(self.freeze_label.value.strip(), by=self.viewer)
        except CoprodError as exc:
            message(self.freeze_status, str(exc), kind="error")
            return
        self.freeze_label.value = ""
        self._refresh_versions()
        n = sum("code" in t for t in fv.tensions)
        message(self.freeze_status, f"framework v{fv.version} agreed ({n} tensions)", kind="ok")


def _choose(dropdown: w.Dropdown, value) -> None:
    """Choose ``value``; None chooses the first option, "(new ...)", by its index: a
    value of None alone would leave the dropdown showing nothing."""
    if value is None:
        dropdown.index = 0
    else:
        dropdown.value = value


def _count_line(found: Listing, what: str, filters: str) -> str:
    """How many ``what`` match, and whether the list holds only the first of them."""
    many = plural(found.total, what).replace(str(found.total), f"{found.total:,}", 1)
    if found.total <= len(found.rows):
        return f'<span class="cp-muted">{many}</span>'
    return (
        f'<span class="cp-muted">{many} match; the first '
        f"{len(found.rows):,} are listed: choose a {escape(filters)} to narrow the list</span>"
    )


def _step1_notice(notice: w.HTML, store: Store, also: str | None = None) -> None:
    """Say at a step-2 view's top that step 1 is still open (and ``also``), else nothing."""
    lines = ([] if store.step_closed() else [STEP1_OPEN]) + ([also] if also else [])
    if lines:
        message(notice, "\n".join(lines), kind="info")
    else:
        notice.value = ""
