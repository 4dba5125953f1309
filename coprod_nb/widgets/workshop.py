"""Step 3 widgets: the workshop, card responses, polls, circles, decisions and spectra.

Rules live in the store and the analysis functions: the store refuses the ballots of an
open poll (results stay hidden until the facilitator closes it), the consensus threshold
is the one fixed when the workshop was recorded, and a decision is checked against the
current framework before it is written. These views call them and show what they
return, or the message of the error they raise. Numbers prompt the discussion; decisions
are made by people and recorded with their rationale. Every text that comes from the
store or from a participant is escaped before it becomes HTML.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import ipywidgets as w
import pandas as pd
from ipywidgets.widgets.widget_string import HTMLStyle, TextStyle

from coprod_nb.analysis.sensemaking import (
    circle_results,
    decisions_table,
    lineage_table,
    plot_lineage,
    poles,
    poll_results,
    responses_table,
    spectra,
)
from coprod_nb.analysis.workshop import plot_circles, plot_poll, plot_ring_counts, plot_spectra
from coprod_nb.domain.decisions import DECISION_KINDS, Decision, decision_fields
from coprod_nb.domain.framework import Tension
from coprod_nb.domain.wording import plural, version_title
from coprod_nb.errors import CoprodError, InvalidInput, NotFound
from coprod_nb.storage import Store
from coprod_nb.storage.workshop import CIRCLES
from coprod_nb.widgets._common import (
    FigureBox,
    Quiet,
    escape,
    folded,
    message,
    short,
    table_html,
)
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets._stage import (
    NO_FRAMEWORK,
    NO_WORKSHOP,
    chosen_workshop,
    finished_note,
    framework_problem,
    say_no_workshop,
)
from coprod_nb.widgets.circle_board import CircleBoard, read_only_note

__all__ = [
    "CircleSortView",
    "DecisionLog",
    "PollView",
    "ResponsesView",
    "SpectrumEditor",
    "WorkshopEditor",
]

#: Subfolder of the study folder that keeps uploaded resource packs.
IMPORT_FOLDER = "imports"
WORKSHOP_MODES: tuple[str, ...] = ("online", "in person", "hybrid")

_WIDE = w.Layout(width="100%")
_NO_WORKSHOP = NO_WORKSHOP


#: A row of controls that wraps instead of running past the edge.
def _wrap() -> w.Layout:
    return w.Layout(flex_flow="row wrap")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


# -- small helpers ---------------------------------------------------------------------


def _workshop_or_none(store: Store, ref: int | None):
    """The chosen workshop, else the store's default one (the open one, else the newest)."""
    return chosen_workshop(store, ref)[0]


def _finished_html(store: Store, ws) -> str:
    """A line saying that a workshop is finished (its result frozen), else ''."""
    note = finished_note(store, ws)
    if note is None:
        return ""
    return f'<div class="cp-message cp-info cp-workshop-finished">{escape(note)}</div>'


def _offer_editing(line: w.HTML, note: str | None, *editing: w.Widget) -> None:
    """Show the editing widgets on an open workshop; on a frozen one, ``note`` instead.

    Hidden, not disabled: a finished workshop's record is read, and a button that can
    only be refused would be a dead one.
    """
    for widget in editing:
        widget.layout.display = "none" if note else None
    if note:
        message(line, note, kind="info")
    else:
        line.value = ""


def _roster(store: Store, ws) -> list[tuple[str, str]]:
    """``(name, partnership)`` of the workshop's participants (everyone if it lists none)."""
    shorts = {p.id: p.short for p in store.partnerships()}
    everyone = {p.name: p for p in store.participants()}
    names = list(ws.participants) if ws is not None and ws.participants else list(everyone)
    return [
        (name, shorts.get(everyone[name].partnership_id, "") if name in everyone else "")
        for name in names
    ]


def _people(store: Store, ws) -> list[tuple[str, str]]:
    """``(label, name)`` for a dropdown, labelled ``"name (partnership)"``."""
    return [(f"{name} ({pship})" if pship else name, name) for name, pship in _roster(store, ws)]


def _tension_label(t: Tension, n: int = 60) -> str:
    return f"{t.code}: {short(t.name, n)}"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _pct(value) -> str:
    return "" if pd.isna(value) else f"{value:.0%}"


def _keep(dropdown: w.Dropdown, options: list, default=None) -> None:
    """Set a dropdown's options, keeping its value when it is still offered."""
    before = dropdown.value
    dropdown.options = options
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    if before in values:
        dropdown.value = before
    elif default in values:
        dropdown.value = default
    elif values:
        dropdown.value = values[0]


def _save_upload(store: Store, name: str, content) -> Path:
    """Write an uploaded pack into the study folder's ``imports/``, under a new name.

    Only the base name of the upload is used, reduced to safe characters; the file gets
    a unique suffix so that nothing is overwritten.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot or ext.lower() != "docx":
        raise InvalidInput("only Word resource packs (.docx) can be imported")
    stem = _UNSAFE.sub("_", stem).strip("._-")[:60] or "pack"
    root = store.study_dir.resolve()
    folder = root / IMPORT_FOLDER
    folder.mkdir(exist_ok=True)
    if not folder.resolve().is_relative_to(root):
        raise InvalidInput(f"{IMPORT_FOLDER}/ must be a folder inside the study folder")
    fd, path = tempfile.mkstemp(prefix=f"{stem}-", suffix=".docx", dir=folder)
    with os.fdopen(fd, "wb") as fh:
        fh.write(bytes(content))
    return Path(path)


def _parse_part(line: str, n: int) -> Tension:
    """``"CODE | name | pole A | pole B [| description]"`` -> a split part."""
    cells = [c.strip() for c in line.split("|")]
    if len(cells) not in (4, 5):
        raise InvalidInput(
            "write each part as 'CODE | name | pole A | pole B' (optionally '| description')",
            place=f"parts, line {n}",
        )
    return Tension(*cells[:4], description=cells[4] if len(cells) == 5 else "")


# -- the workshop ----------------------------------------------------------------------


class WorkshopEditor(w.VBox):
    """Record the workshop: date, mode, facilitators, participants, base framework and
    the consensus threshold, which is fixed now, before any result is seen.

    Below the form, the workshops already recorded. CSS class ``cp-workshop-editor``.

    Parameters
    ----------
    store : Store
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.date = w.DatePicker(description="Date")
        self.mode = w.Dropdown(description="Mode", options=WORKSHOP_MODES)
        self.facilitators = w.SelectMultiple(description="Facilitators", rows=4)
        self.participants = w.SelectMultiple(
            description="Participants", rows=6, layout=w.Layout(width="420px")
        )
        self.base_version = w.Dropdown(description="Framework", layout=w.Layout(width="520px"))
        self.threshold = w.FloatSlider(
            value=0.75,
            min=0.55,
            max=1.0,
            step=0.05,
            description="Consensus",
            readout_format=".0%",
        )
        self.threshold_note = w.HTML(
            "<i>Share of participants who must put a card in the same ring for a consensus "
            "(75% is the common Delphi default). It is fixed now, before any result is "
            "seen, and reported with every result.</i>"
        )
        self.record = w.Button(description="Record workshop", button_style="primary", icon="save")
        self.record.add_class("cp-record-workshop")
        self.status = w.HTML()
        self.existing = w.HTML()
        self.existing.add_class("cp-workshop-list")
        self.record.on_click(self._on_record_click)
        super().__init__(
            [
                w.HTML("<b>Workshop</b>"),
                w.HBox([self.date, self.mode]),
                w.HBox([self.facilitators, self.participants]),
                self.base_version,
                self.threshold,
                self.threshold_note,
                self.record,
                self.status,
                w.HTML("<b>Recorded workshops</b>"),
                self.existing,
            ],
            **kwargs,
        )
        self.add_class("cp-workshop-editor")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Reload researchers, participants, frozen versions and the recorded workshops."""
        self.facilitators.options = [r.name for r in self.store.researchers()]
        self.participants.options = _people(self.store, None)
        versions = self.store.framework_versions()
        _keep(
            self.base_version,
            [(short(version_title(v.version, v.label), 74), v.version) for v in reversed(versions)],
            default=versions[-1].version if versions else None,
        )
        self.record.disabled = not versions
        if not versions:
            message(self.status, NO_FRAMEWORK, kind="info")
        workshops = self.store.workshops()
        if not workshops:
            self.existing.value = "<i>none yet</i>"
            return
        rows = [
            {
                "workshop": ws.id,
                "date": f"{ws.date:%Y-%m-%d}",
                "mode": ws.mode,
                "facilitators": ", ".join(ws.facilitators),
                "participants": ", ".join(ws.participants),
                "framework": f"v{ws.base_version}",
                "consensus threshold": f"{ws.consensus_threshold:.0%}",
                "fixed at (UTC)": f"{ws.threshold_fixed_at:%Y-%m-%d %H:%M}",
            }
            for ws in workshops
        ]
        self.existing.value = (
            table_html(pd.DataFrame(rows), css_class="cp-table cp-workshop-table")
            + "<i>The other step-3 views work on the open workshop (else the newest) unless "
            "given another: <code>ResponsesView(study, workshop=ID)</code>.</i>"
        )

    def _on_record_click(self, _button=None) -> None:
        if self.date.value is None:
            message(self.status, "Choose the workshop's date.", kind="error")
            return
        if self.base_version.value is None:
            message(self.status, NO_FRAMEWORK, kind="error")
            return
        try:
            ws = self.store.add_workshop(
                self.date.value,
                facilitators=list(self.facilitators.value),
                participants=list(self.participants.value),
                mode=self.mode.value,
                base_version=self.base_version.value,
                consensus_threshold=round(self.threshold.value, 2),
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self.refresh()
        message(
            self.status,
            f"workshop of {ws.date:%Y-%m-%d} recorded on framework v{ws.base_version}; "
            f"consensus threshold {ws.consensus_threshold:.0%} fixed",
            kind="ok",
        )


# -- card responses ----------------------------------------------------------------------


class ResponsesView(Quiet, w.VBox):
    """Participants' responses to the resource-pack cards, entered or imported.

    Choose a tension to read every participant's response to its card. Enter a response
    with the form, or import participants' filled-in Word packs: an upload is saved in
    the study folder's ``imports/`` and read from there; a file already on disk is read
    where it is. On a workshop whose result is frozen the responses are shown read only:
    the form and the import give way to a one-line reason (the store refuses the writes
    too). CSS classes ``cp-responses-view``, ``cp-read-only``.

    Parameters
    ----------
    store : Store
    workshop : int, optional
        The workshop's id (the latest by default).
    """

    def __init__(self, store: Store, workshop: int | None = None, **kwargs):
        self.store = store
        self._ref = workshop
        self.header = w.HTML()
        self.tension = w.Dropdown(description="Tension", layout=w.Layout(width="600px"))
        self.card = w.HTML()
        self.table = w.HTML()
        self.table.add_class("cp-responses-table")

        self.participant = w.Dropdown(description="Participant", layout=w.Layout(width="420px"))
        self.entry_tension = w.Dropdown(description="Card", layout=w.Layout(width="600px"))
        self.comment = w.Textarea(
            description="Comment", layout=w.Layout(width="100%", height="5em")
        )
        self.suggestion = w.Textarea(
            description="Suggestion", layout=w.Layout(width="100%", height="4em")
        )
        self.circle = w.ToggleButtons(description="Circle", options=CIRCLES, value="none")
        self.reason = w.Text(description="Reason", layout=_WIDE)
        self.save = w.Button(description="Save response", button_style="primary", icon="save")
        self.save.add_class("cp-save-response")
        self.status = w.HTML()

        self.upload = w.FileUpload(accept=".docx", multiple=True, description="Upload packs")
        self.upload.add_class("cp-pack-upload")
        # The path takes the row's room left by the button, which keeps its text.
        self.path = w.Text(
            description="File",
            placeholder="path of a filled-in .docx pack",
            layout=w.Layout(flex="1 1 auto", width="auto"),
        )
        self.import_path = w.Button(
            description="Import", icon="upload", layout=w.Layout(flex="0 0 auto")
        )
        self.import_path.add_class("cp-import-pack")
        self.import_status = w.HTML()
        self.read_only = w.HTML()
        self.read_only.add_class("cp-read-only")
        # The editing parts, shown on an open workshop only.
        self.entry_box = w.VBox(
            [
                w.HTML("<b>Enter a response</b>"),
                w.HBox([self.participant, self.entry_tension]),
                self.comment,
                self.suggestion,
                self.circle,
                self.reason,
                self.save,
                self.status,
            ]
        )
        self.import_box = w.VBox(
            [
                w.HTML("<b>Import filled-in Word packs</b>"),
                self.upload,
                w.HBox([self.path, self.import_path]),
                self.import_status,
            ]
        )

        self.tension.observe(self._on_tension_change, names="value")
        self.participant.observe(self._on_entry_change, names="value")
        self.entry_tension.observe(self._on_entry_change, names="value")
        self.save.on_click(self._on_save_click)
        self.upload.observe(self._on_upload_change, names="value")
        self.import_path.on_click(self._on_import_click)
        super().__init__(
            [
                self.header,
                self.tension,
                self.card,
                self.table,
                self.read_only,
                self.entry_box,
                self.import_box,
            ],
            **kwargs,
        )
        self.add_class("cp-responses-view")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Reload the workshop, its cards, participants and responses."""
        ws = _workshop_or_none(self.store, self._ref)
        self._ws = ws
        if ws is None:
            say_no_workshop(self.header, self.store, self._ref)
            self._framework = None
            with self._filling():
                self.tension.options = self.entry_tension.options = []
                self.participant.options = []
            self.card.value = self.table.value = ""
            return
        self._framework = self.store.framework(ws.base_version)
        self.header.value = (
            f"<b>Card responses</b>: workshop of {ws.date:%Y-%m-%d}, framework v{ws.base_version}"
        ) + _finished_html(self.store, ws)
        note = read_only_note(self.store, ws)
        _offer_editing(self.read_only, note, self.entry_box, self.import_box)
        options = [(_tension_label(t), t.code) for t in self._framework.tensions]
        with self._filling():
            _keep(self.tension, options)
            _keep(self.entry_tension, options)
            _keep(self.participant, _people(self.store, ws))
        self._show_table()
        self._load_entry()

    def _show_table(self) -> None:
        code = self.tension.value
        if self._ws is None or code is None:
            self.card.value = self.table.value = ""
            return
        t = self._framework.get(code)
        self.card.value = (
            f"<b>{escape(t.code)}: {escape(t.name)}</b><br>{escape(t.pole_a)} ⟷ {escape(t.pole_b)}"
        )
        found = responses_table(self.store, self._ws.id, code).set_index("participant")
        rows = []
        for name, partnership in _roster(self.store, self._ws):
            if name in found.index:
                r = found.loc[name]
                rows.append(
                    {
                        "participant": name,
                        "partnership": partnership,
                        "circle": r.circle,
                        "comment": r.comment,
                        "suggestion": r.suggestion,
                        "reason": r.reason,
                    }
                )
            else:
                rows.append(
                    {
                        "participant": name,
                        "partnership": partnership,
                        "circle": "",
                        "comment": "(no response yet)",
                        "suggestion": "",
                        "reason": "",
                    }
                )
        self.table.value = (
            '<div style="white-space:pre-line">'
            + table_html(pd.DataFrame(rows), css_class="cp-table cp-responses")
            + "</div>"
        )

    def _load_entry(self) -> None:
        """Fill the form with the chosen participant's response to the chosen card."""
        values = {"comment": "", "suggestion": "", "circle": "none", "reason": ""}
        if self._ws is not None and self.participant.value and self.entry_tension.value:
            found = responses_table(self.store, self._ws.id, self.entry_tension.value)
            mine = found[found.participant == self.participant.value]
            if len(mine):
                values = {k: mine.iloc[0][k] or values[k] for k in values}
        self.comment.value = values["comment"]
        self.suggestion.value = values["suggestion"]
        self.circle.value = values["circle"]
        self.reason.value = values["reason"]

    def _on_tension_change(self, _change=None) -> None:
        if not self._quiet:
            self._show_table()

    def _on_entry_change(self, _change=None) -> None:
        if not self._quiet:
            self._load_entry()

    def _on_save_click(self, _button=None) -> None:
        if self._ws is None:
            message(self.status, _NO_WORKSHOP, kind="error")
            return
        if not self.participant.value or not self.entry_tension.value:
            message(self.status, "Choose a participant and a card.", kind="error")
            return
        code = self.entry_tension.value
        try:
            self.store.set_response(
                self._ws.id,
                self.participant.value,
                code,
                comment=self.comment.value,
                suggestion=self.suggestion.value,
                circle=self.circle.value,
                reason=self.reason.value,
                source="widget",
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        if self.tension.value == code:
            self._show_table()
        else:
            self.tension.value = code
        message(self.status, f"response of {self.participant.value} to {code} saved", kind="ok")

    def _import(self, path: Path, label: str) -> tuple[list[str], bool]:
        """Import one pack; returns the report lines and whether it was imported."""
        # Imported on use: python-docx takes a while to import, and few sessions read packs.
        from coprod_nb.exchange.pack_builder import import_pack_response

        try:
            warnings = import_pack_response(self.store, self._ws.id, path)
        except (CoprodError, OSError) as exc:
            return [f"{label}: not imported: {exc}"], False
        return [f"{label}: imported", *(f"  warning: {x}" for x in warnings)], True

    def _report(self, lines: list[str], failed: bool, warned: bool) -> None:
        self.refresh()
        kind = "error" if failed else "info" if warned else "ok"
        message(self.import_status, "\n".join(lines), kind=kind)

    def _on_upload_change(self, change) -> None:
        files = change.new
        if not files:
            return
        if self._ws is None:
            message(self.import_status, _NO_WORKSHOP, kind="error")
            return
        lines, failed, warned = [], False, False
        for item in files:
            label = re.split(r"[\\/]", str(item["name"]))[-1]
            try:
                path = _save_upload(self.store, item["name"], item["content"])
            except (CoprodError, OSError) as exc:
                lines.append(f"{label}: not imported: {exc}")
                failed = True
                continue
            where = path.relative_to(self.store.study_dir.resolve()).as_posix()
            report, ok = self._import(path, label)
            if ok:
                report[0] += f" (kept in the study folder as {where})"
            else:
                path.unlink(missing_ok=True)  # an unreadable pack is not kept
            lines += report
            failed |= not ok
            warned |= len(report) > 1
        self.upload.value = ()  # so that the same file can be uploaded again
        self._report(lines, failed, warned)

    def _on_import_click(self, _button=None) -> None:
        if self._ws is None:
            message(self.import_status, _NO_WORKSHOP, kind="error")
            return
        text = self.path.value.strip()
        if not text:
            message(self.import_status, "Give the path of a filled-in .docx pack.", kind="error")
            return
        path = Path(text).expanduser()
        lines, ok = self._import(path, path.name)
        self._report(lines, not ok, len(lines) > 1)


# -- polls -------------------------------------------------------------------------------


class PollView(Quiet, w.VBox):
    """Open a poll, collect ballots, close it, then show its results.

    While the poll is open only the number of ballots is shown: the store refuses the
    results until the facilitator closes it (no bandwagon effects). A second ballot of
    a participant replaces the first. Once closed: the tally (approval counts and
    shares; for a ranked poll the distribution of rank positions and Borda scores) and
    a bar chart. On a workshop whose result is frozen no poll is opened and no ballot cast
    (the store refuses both): the view shows the poll read only with a one-line reason; a
    poll left open at the freeze can still be closed, to show what was cast before. CSS
    classes ``cp-poll-view``, ``cp-cast-ballot``, ``cp-close-poll``, ``cp-poll-tally``,
    ``cp-read-only``.

    Parameters
    ----------
    store : Store
    poll_name : str, default "opening"
        "opening" offers the base framework's tensions; "revote" the current framework's.
    workshop : int, optional
        The workshop's id (the latest by default).
    """

    def __init__(
        self, store: Store, poll_name: str = "opening", workshop: int | None = None, **kwargs
    ):
        self.store = store
        self.poll_name = poll_name
        self._ref = workshop
        self._poll = None
        self._ballot_for: tuple | None = None
        self.header = w.HTML()

        self.poll_options = w.SelectMultiple(
            description="Options", rows=8, layout=w.Layout(width="600px")
        )
        self.max_choices = w.IntText(value=3, description="Max choices")
        self.ranked = w.Checkbox(value=False, description="ranked (Borda scores)")
        self.open_button = w.Button(description="Open poll", button_style="primary", icon="play")
        self.open_button.add_class("cp-open-poll")
        self.open_status = w.HTML()
        self.open_box = w.VBox(
            [
                w.HTML("<b>Open the poll</b>"),
                self.poll_options,
                w.HBox([self.max_choices, w.HTML("<i>&nbsp;0 = any number</i>"), self.ranked]),
                self.open_button,
                self.open_status,
            ]
        )

        self.participant = w.Dropdown(description="Participant", layout=w.Layout(width="420px"))
        self.picks = w.VBox()
        self.cast_button = w.Button(description="Cast ballot", button_style="primary", icon="check")
        self.cast_button.add_class("cp-cast-ballot")
        self.count = w.HTML()
        self.count.add_class("cp-poll-count")
        self.close_button = w.Button(description="Close poll", button_style="warning", icon="lock")
        self.close_button.add_class("cp-close-poll")
        self.vote_status = w.HTML()
        self.read_only = w.HTML()
        self.read_only.add_class("cp-read-only")
        # What a participant fills in: shown while the workshop is open only.
        self.ballot_box = w.VBox([w.HTML("<b>Vote</b>"), self.participant, self.picks])
        self.vote_box = w.VBox(
            [
                self.ballot_box,
                self.cast_button,
                self.read_only,
                self.vote_status,
                self.count,
                self.close_button,
            ]
        )

        self.tally = w.HTML()
        self.tally.add_class("cp-poll-tally")
        self.plot = FigureBox()
        # The tally carries the results; the chart is drawn when its section is opened.
        self.results_box = w.VBox(
            [w.HTML("<b>Results</b>"), self.tally, folded(self.plot, "Chart of the results")]
        )

        self.open_button.on_click(self._on_open_click)
        self.cast_button.on_click(self._on_cast_click)
        self.close_button.on_click(self._on_close_click)
        super().__init__([self.header], **kwargs)
        self.add_class("cp-poll-view")
        fit(self)
        self.refresh()

    # -- public -------------------------------------------------------------------------

    @property
    def poll(self):
        """The poll shown (None before it is opened)."""
        return self._poll

    def refresh(self) -> None:
        """Reload the poll's state from the store and show the matching sections."""
        ws = self._ws = _workshop_or_none(self.store, self._ref)
        if ws is None:
            say_no_workshop(self.header, self.store, self._ref)
            self.children = [self.header]
            return
        try:
            self._poll = self.store.poll(self.poll_name, ws.id)
        except NotFound:
            self._poll = None
        names = self._tension_names()
        if self._poll is None:
            self.header.value = (
                f"<b>Poll {escape(self.poll_name)}</b>: not opened yet "
                f"(workshop of {ws.date:%Y-%m-%d})"
            ) + _finished_html(self.store, ws)
            # The opening poll is on the cards participants received; any later poll
            # (a re-vote, a closing round) is on the framework as the decisions left it.
            framework = (
                self.store.framework(ws.base_version)
                if self.poll_name == "opening"
                else self.store.current_framework(ws.id)
            )
            self.poll_options.options = [
                (f"{c}: {short(names.get(c, ''), 60)}", c) for c in framework.codes
            ]
            self.poll_options.value = tuple(framework.codes)
            note = read_only_note(self.store, ws)
            if note:
                message(self.read_only, note, kind="info")
                self.children = [self.header, self.read_only]
            else:
                self.children = [self.header, self.open_box]
            return
        poll = self._poll
        kind = "ranked" if poll.ranked else "approval"
        most = f"at most {poll.max_choices}" if poll.max_choices else "any number of"
        state = (
            f"closed {poll.closed_at:%Y-%m-%d %H:%M} UTC"
            if poll.closed_at
            else "open: results are hidden until the facilitator closes it"
        )
        self.header.value = (
            f"<b>Poll {escape(poll.name)}</b> ({kind}, {most} choices): {escape(state)}"
            f" (workshop of {ws.date:%Y-%m-%d})"
        ) + _finished_html(self.store, ws)
        with self._filling():
            _keep(self.participant, _people(self.store, ws))
        self._build_picks(names)
        self.cast_button.disabled = self.close_button.disabled = poll.closed_at is not None
        note = read_only_note(self.store, ws)
        _offer_editing(self.read_only, note, self.ballot_box, self.cast_button)
        # A poll left open at the freeze can still be closed; a closed one has nothing left.
        self.close_button.layout.display = "none" if note and poll.closed_at else None
        self._show_count()
        self._show_results()
        self.children = [self.header, self.vote_box, self.results_box]

    # -- internals ---------------------------------------------------------------------

    def _tension_names(self) -> dict[str, str]:
        ws = self._ws
        names = {t.code: t.name for t in self.store.framework(ws.base_version).tensions}
        names.update({t.code: t.name for t in self.store.current_framework(ws.id).tensions})
        return names

    def _build_picks(self, names: dict[str, str]) -> None:
        poll = self._poll
        key = (poll.id, tuple(poll.options), poll.ranked, poll.max_choices)
        if key == self._ballot_for:
            return
        self._ballot_for = key
        labels = [(f"{c}: {short(names.get(c, ''), 60)}", c) for c in poll.options]
        if poll.ranked:
            k = poll.max_choices or len(poll.options)
            self._rank_picks = [
                w.Dropdown(
                    description=f"Choice {p}",
                    options=[("(none)", None), *labels],
                    value=None,
                    layout=w.Layout(width="600px"),
                )
                for p in range(1, k + 1)
            ]
            self._approve = {}
            self.picks.children = self._rank_picks
        else:
            self._rank_picks = []
            self._approve = {
                code: w.Checkbox(description=label, value=False, layout=w.Layout(width="600px"))
                for label, code in labels
            }
            self.picks.children = list(self._approve.values())

    def _choices(self) -> list[str]:
        if self._rank_picks:
            return [d.value for d in self._rank_picks if d.value is not None]
        return [code for code, box in self._approve.items() if box.value]

    def _clear_picks(self) -> None:
        for d in self._rank_picks:
            d.value = None
        for box in self._approve.values():
            box.value = False

    def _show_count(self) -> None:
        n = self.store.ballot_count(self._poll.id)
        m = len(_people(self.store, self._ws))
        verb = "voted" if self._poll.closed_at else "have voted"
        self.count.value = f"<b>{n} of {m} participants {verb}</b>"

    def _show_results(self) -> None:
        poll = self._poll
        if poll.closed_at is None:
            self.tally.value = (
                "<i>Results are hidden until the facilitator closes the poll, "
                "so that nobody votes with the crowd.</i>"
            )
            self.plot.clear()
            return
        try:
            table = poll_results(self.store, poll.name, self._ws.id)
        except CoprodError as exc:
            message(self.tally, str(exc), kind="error")
            return
        names = self._tension_names()
        shown = table.sort_values("order", kind="stable")
        shown.insert(1, "tension", [names.get(c, "") for c in shown.option])
        shown["share"] = shown["share"].map(_pct)
        n = table.attrs.get("ballots", 0)
        how = (
            "count: ballots naming it; rank_p: ballots naming it in position p; "
            "borda: a choice in position p of k scores k − p + 1"
            if poll.ranked
            else "count: ballots naming it (approval voting)"
        )
        self.tally.value = (
            f"<p>{n} ballots. {escape(how)}. The numbers prompt the discussion; "
            "the group decides.</p>" + table_html(shown, css_class="cp-table cp-poll-tally-table")
        )
        title = "Opening poll" if poll.name == "opening" else f"Poll: {poll.name}"
        problem = self.plot.draw(lambda: plot_poll(table, title=title), data=(table, title))
        if problem:
            message(self.vote_status, problem, kind="error")

    def _on_open_click(self, _button=None) -> None:
        if self._ws is None:
            message(self.open_status, _NO_WORKSHOP, kind="error")
            return
        n = self.max_choices.value
        try:
            self.store.open_poll(
                self._ws.id,
                self.poll_name,
                list(self.poll_options.value),
                max_choices=None if n == 0 else n,
                ranked=self.ranked.value,
            )
        except CoprodError as exc:
            message(self.open_status, str(exc), kind="error")
            return
        self.refresh()
        message(self.vote_status, f"poll {self.poll_name!r} opened", kind="ok")

    def _on_cast_click(self, _button=None) -> None:
        if self._poll is None:
            message(self.vote_status, "Open the poll first.", kind="error")
            return
        who = self.participant.value
        if not who:
            message(self.vote_status, "Choose the participant who votes.", kind="error")
            return
        choices = self._choices()
        try:
            self.store.cast_ballot(self._poll.id, who, choices)
        except CoprodError as exc:
            message(self.vote_status, str(exc), kind="error")
            return
        self._clear_picks()
        self._show_count()
        what = "an empty ballot" if not choices else "ballot"
        message(
            self.vote_status,
            f"{what} of {who} recorded (a new ballot of {who} replaces it)",
            kind="ok",
        )

    def _on_close_click(self, _button=None) -> None:
        if self._poll is None:
            return
        try:
            self.store.close_poll(self._poll.id)
        except CoprodError as exc:
            message(self.vote_status, str(exc), kind="error")
            return
        self.refresh()
        message(self.vote_status, f"poll {self.poll_name!r} closed", kind="ok")


# -- circles -----------------------------------------------------------------------------


class CircleSortView(Quiet, w.VBox):
    """Each participant places the cards in the inner circle, the outer one or neither.

    Below, the results with the consensus threshold fixed when the workshop was
    recorded: the full distribution per card, share inner, mean score (inner 2, outer
    1, none 0), Borda points with ties, group order, consensus ring and Kendall's W with
    the tie correction, and two charts. On a workshop whose result is frozen the board,
    the rings and the reasons are shown read only (the save button gives way to a
    one-line reason; the store refuses the writes too). CSS classes ``cp-circle-sort``,
    ``cp-read-only``.

    Parameters
    ----------
    store : Store
    workshop : int, optional
        The workshop's id (the latest by default).
    """

    def __init__(self, store: Store, workshop: int | None = None, **kwargs):
        self.store = store
        self._ref = workshop
        self.header = w.HTML()
        self.participant = w.Dropdown(
            description="Participant", layout=w.Layout(width="auto", min_width="16em")
        )
        # The board stores each placement as it is dropped; the form below sets the
        # reasons (and the rings too), both through Store.set_response.
        self.board = CircleBoard(store, workshop, participant=self.participant)
        self.board.on_change(self._on_board_change)
        self.rows_box = w.VBox()
        self.rings: dict[str, w.ToggleButtons] = {}
        self.reasons: dict[str, w.Text] = {}
        self.save = w.Button(description="Save placements", button_style="primary", icon="save")
        self.save.add_class("cp-save-placements")
        self.status = w.HTML()
        self.read_only = w.HTML()
        self.read_only.add_class("cp-read-only")
        self.threshold = w.HTML()
        self.threshold.add_class("cp-circle-threshold")
        self.results = w.HTML()
        self.results.add_class("cp-circle-results")
        self.agreement = w.HTML()
        self.plot = FigureBox()
        self.participant.observe(self._on_participant_change, names="value")
        self.save.on_click(self._on_save_click)
        super().__init__(
            [
                self.header,
                self.participant,
                self.board,
                w.HTML("<b>Reasons</b> (and the circles as a form)"),
                self.rows_box,
                self.read_only,
                self.save,
                self.status,
                w.HTML("<b>Results</b>"),
                self.threshold,
                self.results,
                self.agreement,
                # The table carries the results; the figures are drawn when opened.
                folded(self.plot, "Figures: the circles and the ring counts"),
            ],
            **kwargs,
        )
        self.add_class("cp-circle-sort")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Reload the workshop, its cards and placements, and redraw the results."""
        ws = self._ws = _workshop_or_none(self.store, self._ref)
        if ws is None:
            say_no_workshop(self.header, self.store, self._ref)
            with self._filling():
                self.participant.options = []
            self.rows_box.children = []
            self.rings, self.reasons = {}, {}
            self.threshold.value = self.results.value = self.agreement.value = ""
            return
        self.header.value = (
            f"<b>Inner and outer circles</b>: workshop of {ws.date:%Y-%m-%d}, "
            f"framework v{ws.base_version}"
        ) + _finished_html(self.store, ws)
        framework = self.store.framework(ws.base_version)
        if list(self.rings) != framework.codes:
            self._build_rows(framework.tensions)
        note = read_only_note(self.store, ws)
        _offer_editing(self.read_only, note, self.save)
        # Still shown (they hold the record's reasons), but not to be changed.
        for control in [*self.rings.values(), *self.reasons.values()]:
            control.disabled = note is not None
        with self._filling():
            _keep(self.participant, _people(self.store, ws))
        self.board.refresh()
        self._load()
        self._show_results()

    def _build_rows(self, tensions: list[Tension]) -> None:
        """One row per card: its name, its ring and the reason.

        Every row shares one Layout and one style per kind of control (ipywidgets lets
        many views use one model): each control would otherwise bring its own two, and a
        framework of 33 cards meant about 360 widget models built and sent to the
        browser when the view opens, most of its time in notebook 03.
        """
        ring_layout = w.Layout(width="auto", flex="0 0 auto")
        ring_style = w.ToggleButtonsStyle(button_width="auto")
        reason_layout = w.Layout(width="auto", flex="1 1 14em", min_width="10em")
        reason_style = TextStyle()
        name_layout = w.Layout(flex="1 1 16em", min_width="12em")
        name_style = HTMLStyle()
        # A row wraps instead of running past the edge; the name wraps, never cut.
        row_layout = w.Layout(flex_flow="row wrap", align_items="center")
        self.rings = {
            t.code: w.ToggleButtons(
                options=CIRCLES, value="none", style=ring_style, layout=ring_layout
            )
            for t in tensions
        }
        self.reasons = {
            # a Textarea wraps a long reason; a Text would hide its end
            t.code: w.Textarea(
                placeholder="why here?", rows=2, style=reason_style, layout=reason_layout
            )
            for t in tensions
        }
        self.rows_box.children = [
            w.HBox(
                [
                    w.HTML(
                        f"{escape(t.code)}: {escape(t.name)}",
                        style=name_style,
                        layout=name_layout,
                    ),
                    self.rings[t.code],
                    self.reasons[t.code],
                ],
                layout=row_layout,
            )
            for t in tensions
        ]

    def _on_board_change(self) -> None:
        self._load()
        self._show_results()

    def _load(self) -> None:
        mine = {}
        if self._ws is not None and self.participant.value:
            found = responses_table(self.store, self._ws.id)
            mine = {
                r.code: (r.circle, r.reason)
                for r in found[found.participant == self.participant.value].itertuples()
            }
        for code, ring in self.rings.items():
            ring.value, self.reasons[code].value = mine.get(code, ("none", ""))

    def _show_results(self) -> None:
        ws = self._ws
        self.threshold.value = (
            f"Consensus threshold: <b>{ws.consensus_threshold:.0%}</b> of participants in "
            f"the same ring, fixed when the workshop was recorded "
            f"({ws.threshold_fixed_at:%Y-%m-%d %H:%M} UTC), before any result was seen."
        )
        try:
            table = circle_results(self.store, ws.id)
        except (CoprodError, ValueError) as exc:
            message(self.results, str(exc), kind="error")
            return
        m = table.attrs.get("participants", 0)
        if not m:
            self.results.value = "<i>no placements yet</i>"
            self.agreement.value = ""
            self.plot.clear()
            return
        shown = table.assign(
            share_inner=table.share_inner.map(_pct),
            mean_score=table.mean_score.round(2),
            borda=table.borda.round(1),
            mean_rank=table.mean_rank.round(2),
        )
        self.results.value = table_html(shown, css_class="cp-table cp-circle-table")
        w_corr, w_raw = table.attrs["kendall_w"], table.attrs["kendall_w_uncorrected"]
        if pd.isna(w_corr):
            self.agreement.value = "Kendall's W: not defined for these placements."
        else:
            self.agreement.value = (
                f"Kendall's W (tie-corrected) = <b>{w_corr:.2f}</b> over {m} participants "
                f"(uncorrected {w_raw:.2f}). The numbers prompt the discussion; "
                "the group decides."
            )
        self.plot.draw(lambda: plot_circles(table), lambda: plot_ring_counts(table), data=table)

    def _on_participant_change(self, _change=None) -> None:
        if not self._quiet:
            self._load()

    def _on_save_click(self, _button=None) -> None:
        if self._ws is None:
            message(self.status, _NO_WORKSHOP, kind="error")
            return
        who = self.participant.value
        if not who:
            message(self.status, "Choose a participant.", kind="error")
            return
        try:
            for code, ring in self.rings.items():
                self.store.set_response(
                    self._ws.id, who, code, circle=ring.value, reason=self.reasons[code].value
                )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self.board.refresh()
        self._show_results()
        message(self.status, f"placements of {who} saved", kind="ok")


# -- decisions ---------------------------------------------------------------------------


class DecisionLog(Quiet, w.VBox):
    """The workshop's decisions, the framework they produce, and its lineage.

    Record a decision (every decision needs a rationale; one that cannot apply to the
    current framework is refused with the reason), revert one, and freeze the result as
    the next framework version (study lead only). The lineage traces each initial and
    added tension to the current framework. CSS class ``cp-decision-log``.

    Parameters
    ----------
    store : Store
    workshop : int, optional
        The workshop's id (the latest by default).
    """

    def __init__(self, store: Store, workshop: int | None = None, **kwargs):
        self.store = store
        self._ref = workshop
        self.header = w.HTML()
        self.log_table = w.HTML()
        self.log_table.add_class("cp-decision-table")
        self.framework_table = w.HTML()
        self.framework_table.add_class("cp-current-framework")

        def wide() -> w.Layout:  # one each: hiding a field must not hide its neighbours
            return w.Layout(width="100%")

        self.kind = w.Dropdown(description="Kind", options=DECISION_KINDS)
        self.targets = w.SelectMultiple(description="Targets", rows=5)
        self.code = w.Text(description="Code", placeholder="new code (add, merge)")
        self.name = w.Text(description="Name", layout=wide())
        self.pole_a = w.Text(description="Pole A", layout=wide())
        self.pole_b = w.Text(description="Pole B", layout=wide())
        self.desc = w.Textarea(description="Description", layout=w.Layout(width="100%"))
        self.subthemes = w.Textarea(description="Sub-themes", placeholder="one per line")
        self.into = w.Dropdown(description="Into")
        self.subtheme = w.Text(description="Sub-theme", placeholder="fold: label (optional)")
        self.parts = w.Textarea(
            description="Parts",
            placeholder="split: one per line, CODE | name | pole A | pole B",
            layout=wide(),
        )
        self.rationale = w.Textarea(
            description="Rationale",
            placeholder="why the group decided this (required)",
            layout=w.Layout(width="100%", height="5em"),
        )
        self.proposer = w.Dropdown(description="Proposer")
        self.date = w.DatePicker(description="Date")
        self.prompted_by = w.Textarea(
            description="Prompted by",
            placeholder="one per line, e.g. poll, circles, response:PARTICIPANT:CODE",
            layout=wide(),
        )
        self.record = w.Button(description="Record decision", button_style="primary", icon="save")
        self.record.add_class("cp-record-decision")
        # Takes back the decision this panel recorded last; the store decides whether
        # it still may (the newest decision, the workshop open, the lead working).
        self.undo_last = w.Button(description="Undo last decision", icon="undo", disabled=True)
        self.undo_last.add_class("cp-undo-decision")
        self._last_ref: str | None = None
        self.status = w.HTML()
        self.status.add_class("cp-decision-status")

        self.revert_choice = w.Dropdown(description="Decision", layout=w.Layout(width="600px"))
        self.revert_reason = w.Text(description="Reason", layout=wide())
        # A revert changes the framework for everyone: it needs a tick to confirm.
        self.revert_confirm = w.Checkbox(
            description="Yes, revert this decision", value=False, indent=False
        )
        self.revert_confirm.add_class("cp-revert-confirm")
        self.revert = w.Button(description="Revert", icon="undo")
        self.revert.add_class("cp-revert-decision")
        self.revert_status = w.HTML()

        self.freeze_label = w.Text(description="Label", placeholder="v3: after the workshop")
        self.freeze = w.Button(description="Freeze framework", icon="lock")
        self.freeze.add_class("cp-freeze-workshop-framework")
        self.freeze_status = w.HTML()

        self.lineage = w.HTML()
        self.lineage.add_class("cp-lineage")
        self.plot = FigureBox()

        self.record.on_click(self._on_record_click)
        self.undo_last.on_click(self._on_undo_click)
        self.revert.on_click(self._on_revert_click)
        self.freeze.on_click(self._on_freeze_click)
        super().__init__(
            [
                self.header,
                w.HTML("<b>Decision log</b>"),
                self.log_table,
                w.HTML("<b>Current framework</b>"),
                self.framework_table,
                w.HTML("<b>Record a decision</b>"),
                w.HBox([self.kind, self.targets], layout=_wrap()),
                w.HBox([self.code, self.into, self.subtheme], layout=_wrap()),
                self.name,
                self.pole_a,
                self.pole_b,
                self.desc,
                self.subthemes,
                self.parts,
                self.rationale,
                w.HBox([self.proposer, self.date]),
                self.prompted_by,
                w.HBox([self.record, self.undo_last], layout=_wrap()),
                self.status,
                w.HTML("<b>Revert a decision</b>"),
                self.revert_choice,
                self.revert_reason,
                self.revert_confirm,
                self.revert,
                self.revert_status,
                w.HTML("<b>Freeze the framework</b>"),
                w.HBox([self.freeze_label, self.freeze]),
                self.freeze_status,
                w.HTML("<b>Lineage</b>"),
                self.lineage,
                # The table carries the lineage; the figure is drawn when opened.
                folded(self.plot, "Figure of the lineage"),
            ],
            **kwargs,
        )
        self.add_class("cp-decision-log")
        fit(self)
        self.kind.observe(lambda _c: self._show_fields(), names="value")
        self._show_fields()
        self.refresh()

    def _fields(self) -> dict[str, w.Widget]:
        return {
            "code": self.code,
            "name": self.name,
            "pole_a": self.pole_a,
            "pole_b": self.pole_b,
            "description": self.desc,
            "subthemes": self.subthemes,
            "into": self.into,
            "subtheme": self.subtheme,
            "parts": self.parts,
        }

    def _show_fields(self) -> None:
        """Show only the fields the chosen kind uses (the rule is the domain's)."""
        used = set(decision_fields(self.kind.value))
        for key, widget in self._fields().items():
            widget.layout.display = None if key in used else "none"
        self.targets.layout.display = "none" if self.kind.value == "add" else None

    def refresh(self) -> None:
        """Reload the decisions, the current framework, the choices and the lineage."""
        ws = self._ws = _workshop_or_none(self.store, self._ref)
        if ws is None:
            say_no_workshop(self.header, self.store, self._ref)
            for html in (self.log_table, self.framework_table, self.lineage):
                html.value = ""
            return
        if self.date.value is None:
            self.date.value = ws.date
        try:
            current = self.store.current_framework(ws.id)
        except CoprodError as exc:  # a stored log that no longer replays
            message(self.header, str(exc), kind="error")
            return
        decisions = self.store.decisions(ws.id)
        active = [d for d in decisions if not d.reverted]
        self.header.value = (
            f"Workshop of {ws.date:%Y-%m-%d}: framework v{ws.base_version} with "
            f"{plural(len(active), 'active decision')} applied ({plural(len(current), 'tension')})"
        ) + _finished_html(self.store, ws)
        # A finished workshop's decisions can no longer change (the store refuses).
        finished = self.store.workshop_frozen_as(ws.id) is not None
        self.record.disabled = self.revert.disabled = self.freeze.disabled = finished
        self.undo_last.disabled = finished or self._last_ref is None
        log = decisions_table(self.store, ws.id)
        log["reverted"] = log["reverted"].map({True: "reverted", False: ""})
        self.log_table.value = (
            '<div style="white-space:pre-line">'
            + table_html(log, css_class="cp-table cp-decisions")
            + "</div>"
            if len(log)
            else "<i>no decision yet</i>"
        )
        rows = [
            {
                "code": t.code,
                "name": t.name,
                "pole A": t.pole_a,
                "pole B": t.pole_b,
                "sub-themes": "; ".join(t.subthemes),
                "from": ", ".join(t.origin),
            }
            for t in current.tensions
        ]
        self.framework_table.value = table_html(
            pd.DataFrame(rows, columns=["code", "name", "pole A", "pole B", "sub-themes", "from"]),
            css_class="cp-table cp-framework",
        )
        codes = [(_tension_label(t), t.code) for t in current.tensions]
        people = [name for _, name in _people(self.store, None)]
        team = self.store.researchers()
        with self._filling():
            self.targets.options = codes
            _keep(self.into, [("(none)", None), *codes], default=None)
            _keep(
                self.proposer,
                [("(nobody)", ""), *[(n, n) for n in people + [r.name for r in team]]],
            )
            _keep(
                self.revert_choice,
                [(f"{d.ref}: {short(d.summary(), 80)}", d.ref) for d in active]
                or [("(no active decision)", None)],
            )
        self._show_lineage()

    def _show_lineage(self) -> None:
        try:
            table = lineage_table(self.store, self._ws.id)
        except CoprodError as exc:
            message(self.lineage, str(exc), kind="error")
            return
        self.lineage.value = table_html(table, css_class="cp-table cp-lineage-table")
        self.plot.draw(lambda: plot_lineage(table), data=table)

    def _decision(self) -> Decision:
        used = set(decision_fields(self.kind.value))

        def text(widget: w.ValueWidget) -> str | None:
            # A hidden field of another kind is not part of this decision.
            hidden = widget.layout.display == "none"
            return None if hidden else (widget.value.strip() or None)

        parts = tuple(
            _parse_part(line, n)
            for n, line in enumerate(_lines(self.parts.value if "parts" in used else ""), 1)
        )
        return Decision(
            kind=self.kind.value,
            targets=tuple(self.targets.value),
            code=text(self.code),
            name=text(self.name),
            pole_a=text(self.pole_a),
            pole_b=text(self.pole_b),
            description=text(self.desc),
            subthemes=(_lines(self.subthemes.value) if "subthemes" in used else []) or None,
            into=self.into.value if "into" in used else None,
            subtheme=text(self.subtheme),
            parts=parts,
            rationale=self.rationale.value.strip(),
            proposer=self.proposer.value or "",
            date=self.date.value,
            prompted_by=tuple(_lines(self.prompted_by.value)),
        )

    def _clear_form(self) -> None:
        for widget in (
            self.code,
            self.name,
            self.pole_a,
            self.pole_b,
            self.desc,
            self.subthemes,
            self.subtheme,
            self.parts,
            self.rationale,
            self.prompted_by,
        ):
            widget.value = ""
        self.targets.value = ()
        self.into.value = None

    def _on_record_click(self, _button=None) -> None:
        if self._ws is None:
            message(self.status, _NO_WORKSHOP, kind="error")
            return
        if not self.rationale.value.strip():
            message(
                self.status,
                "Give the rationale: why the group decided this. Every decision needs one.",
                kind="error",
            )
            return
        try:
            row = self.store.record_decision(self._ws.id, self._decision())
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self._last_ref = row.ref
        self._clear_form()
        self.refresh()
        summary = Decision.from_dict(row.payload).summary()
        message(
            self.status,
            f"{row.ref} recorded: {summary} (Undo last decision takes it back)",
            kind="ok",
        )

    def _on_undo_click(self, _button=None) -> None:
        ref = self._last_ref
        if self._ws is None or ref is None:
            message(self.status, "No decision recorded here to undo.", kind="error")
            return
        try:
            self.store.undo_decision(self._ws.id, ref)
        except CoprodError as exc:
            # Refused (a later decision, the result frozen, not the lead): asking again
            # would be refused again, so the button is done with this decision.
            message(self.status, str(exc), kind="error")
            self._last_ref = None
            self.undo_last.disabled = True
            return
        self._last_ref = None
        self.refresh()
        message(
            self.status,
            f"{ref} undone: the framework is as it was before it (the log keeps {ref}, "
            "marked reverted)",
            kind="ok",
        )

    def _on_revert_click(self, _button=None) -> None:
        ref = self.revert_choice.value
        if self._ws is None or ref is None:
            message(self.revert_status, "No active decision to revert.", kind="error")
            return
        reason = self.revert_reason.value.strip()
        if not reason:
            message(self.revert_status, "Give the reason for reverting it.", kind="error")
            return
        if not self.revert_confirm.value:
            message(
                self.revert_status,
                f"Tick “Yes, revert this decision” to confirm reverting {ref}.",
                kind="error",
            )
            return
        self.revert_confirm.value = False
        try:
            self.store.revert_decision(self._ws.id, ref, rationale=reason)
        except CoprodError as exc:
            message(self.revert_status, str(exc), kind="error")
            return
        self.revert_reason.value = ""
        self.refresh()
        message(self.revert_status, f"{ref} reverted", kind="ok")

    def _on_freeze_click(self, _button=None) -> None:
        if self._ws is None:
            message(self.freeze_status, _NO_WORKSHOP, kind="error")
            return
        try:
            # As the person working, who must be the lead (storage/access.py decides).
            fv = self.store.freeze_workshop_framework(self._ws.id, self.freeze_label.value.strip())
        except CoprodError as exc:
            message(self.freeze_status, str(exc), kind="error")
            return
        self.freeze_label.value = ""
        self.refresh()
        message(
            self.freeze_status,
            f"framework v{fv.version} frozen ({len(fv.tensions)} tensions): {fv.label}",
            kind="ok",
        )


# -- spectra -----------------------------------------------------------------------------


class SpectrumEditor(Quiet, w.VBox):
    """Where each partnership sits between the two poles of a tension, at a time point.

    Tensions are those of a frozen framework (the newest unless ``version`` is given);
    0 is pole A, 100 pole B. The chart shows every position recorded, with arrows
    between time points. CSS class ``cp-spectrum-editor``.

    Parameters
    ----------
    store : Store
    version : int, optional
        The frozen framework version whose tensions are placed (default: the newest).
    """

    def __init__(self, store: Store, version: int | None = None, **kwargs):
        self.store = store
        self.version = version
        self.partnership = w.Dropdown(description="Partnership", layout=w.Layout(width="420px"))
        self.tension = w.Dropdown(description="Tension", layout=w.Layout(width="600px"))
        self.when = w.Text(description="Time point", value="2021", placeholder="e.g. 2021")
        self.pole_a = w.Label(layout=w.Layout(width="220px"))
        self.pole_b = w.Label(layout=w.Layout(width="220px"))
        self.position = w.IntSlider(value=50, min=0, max=100, description="Position")
        self.save = w.Button(description="Save position", button_style="primary", icon="save")
        self.save.add_class("cp-save-position")
        self.status = w.HTML()
        self.plot = FigureBox()
        for control in (self.partnership, self.tension, self.when):
            control.observe(self._on_choice_change, names="value")
        self.save.on_click(self._on_save_click)
        super().__init__(
            [
                w.HTML("<b>Spectra</b>: 0 = pole A, 100 = pole B"),
                w.HBox([self.partnership, self.when]),
                self.tension,
                w.HBox([self.pole_a, self.position, self.pole_b]),
                self.save,
                self.status,
                self.plot,
            ],
            **kwargs,
        )
        self.add_class("cp-spectrum-editor")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Reload partnerships, the chosen (else newest) frozen framework and the positions."""
        problem = framework_problem(self.store)
        if problem is None:
            try:
                self._framework = self.store.framework(self.version)
            except NotFound as exc:
                problem = f"{exc}."
        if problem:
            self._framework = None
            message(self.status, problem, kind="info" if problem == NO_FRAMEWORK else "error")
        elif not self.store.workshops():
            message(
                self.status,
                f"{NO_WORKSHOP} Positions on the spectra usually follow the workshop.",
            )
        self.save.disabled = problem is not None
        tensions = self._framework.tensions if self._framework is not None else ()
        with self._filling():
            _keep(
                self.partnership,
                [(f"{p.short}: {short(p.name, 50)}", p.short) for p in self.store.partnerships()],
            )
            _keep(self.tension, [(_tension_label(t), t.code) for t in tensions])
        self._load()
        self._show_plot()

    def _load(self) -> None:
        code = self.tension.value
        if self._framework is None or code is None:
            self.pole_a.value = self.pole_b.value = ""
            return
        t = self._framework.get(code)
        self.pole_a.value, self.pole_b.value = f"{t.pole_a} (0)", f"(100) {t.pole_b}"
        found = next(
            (
                p["position"]
                for p in self.store.positions()
                if (p["partnership"], p["tension"], p["when"])
                == (self.partnership.value, code, self.when.value.strip())
            ),
            None,
        )
        if found is not None:
            self.position.value = round(found)

    def _show_plot(self) -> None:
        table = spectra(self.store)
        if table.empty:
            self.plot.clear()
            return
        labels = poles(self._framework) if self._framework is not None else {}
        problem = self.plot.draw(lambda: plot_spectra(table, poles=labels), data=(table, labels))
        if problem:
            message(self.status, problem, kind="error")

    def _on_choice_change(self, _change=None) -> None:
        if not self._quiet:
            self._load()

    def _on_save_click(self, _button=None) -> None:
        if not self.partnership.value or not self.tension.value:
            message(self.status, "Choose a partnership and a tension.", kind="error")
            return
        when = self.when.value.strip()
        if not when:
            message(self.status, "Give the time point, e.g. 2021.", kind="error")
            return
        try:
            self.store.set_position(
                self.partnership.value, self.tension.value, when, self.position.value
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self._show_plot()
        message(
            self.status,
            f"{self.partnership.value} on {self.tension.value} at {when}: {self.position.value}",
            kind="ok",
        )
