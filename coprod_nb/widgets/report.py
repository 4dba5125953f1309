"""After the workshop: the reflective questions worksheet, the audit view and the report.

Rules (topic numbers, blinding of notes in the audit, what the report holds) live in
the store, :mod:`coprod_nb.analysis.audit` and :mod:`coprod_nb.exchange.report`; these
views call them and show what they return, or the message of the error they raise.
Every text from the store is escaped before it becomes HTML.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w
import pandas as pd

from coprod_nb.analysis.audit import (
    OBJECT_KINDS,
    audit_objects,
    describe_change,
    object_history,
    step1_visibility,
)
from coprod_nb.domain.reflection import REFLECTIVE_TOPICS
from coprod_nb.domain.wording import plural, version_title
from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import (
    choose,
    download_link,
    escape,
    message,
    short,
    study_relative,
    table_html,
    zip_bytes,
)
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets._stage import NO_PARTNERSHIPS, NO_WORKSHOP

# coprod_nb.exchange.report (python-docx, Jinja2) is imported where it is used, so that
# importing coprod_nb.widgets does not wait for it.

__all__ = ["AuditView", "ReportView", "WorksheetEditor"]

_WIDE = w.Layout(width="100%")
#: Controls side by side, wrapping onto a new line when the view is narrow.
_ROW = {"flex_flow": "row wrap", "align_items": "center"}


class WorksheetEditor(w.VBox):
    """Write a partnership's answers to the six reflective questions.

    Choose the partnership, write one answer per topic (the question is shown above
    its box) and press "Save answers". Below, every partnership's answers side by
    side. CSS class ``cp-worksheet``.

    Parameters
    ----------
    store : Store
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.partnership = w.Dropdown(
            description="Partnership",
            options=[(f"{p.short}: {p.name}", p.short) for p in store.partnerships()],
            layout=w.Layout(width="520px", max_width="100%"),
        )
        self.questions = [
            w.HTML(f"<b>{n}. {escape(title)}</b><br>{escape(question)}")
            for n, (title, question) in enumerate(REFLECTIVE_TOPICS, start=1)
        ]
        self.answers = [
            w.Textarea(layout=w.Layout(width="100%", height="5em"), placeholder="not answered yet")
            for _ in REFLECTIVE_TOPICS
        ]
        self.save = w.Button(description="Save answers", button_style="primary", icon="save")
        self.status = w.HTML()
        self.table = w.HTML()
        self.table.add_class("cp-worksheet-table")
        self.partnership.observe(self._on_partnership_change, names="value")
        self.save.on_click(self._on_save_click)
        boxes = [x for pair in zip(self.questions, self.answers, strict=True) for x in pair]
        super().__init__(
            [
                w.HTML("<b>Reflective questions worksheet</b>"),
                self.partnership,
                *boxes,
                self.save,
                self.status,
                w.HTML("<b>All partnerships</b>"),
                self.table,
            ],
            **kwargs,
        )
        self.add_class("cp-worksheet")
        fit(self)
        self.refresh()
        if not store.partnerships():
            message(self.status, NO_PARTNERSHIPS, kind="info")
        elif not store.workshops():
            message(self.status, f"{NO_WORKSHOP} The questions usually follow the workshop.")

    def refresh(self) -> None:
        """Reload the chosen partnership's answers and the side-by-side table."""
        stored = {a.topic: a.answer for a in self._stored()}
        for number, box in enumerate(self.answers, start=1):
            box.value = stored.get(number, "")
        from coprod_nb.exchange.report import worksheet_table

        table = worksheet_table(self.store).drop(columns=["question"])
        self.table.value = table_html(table)

    def _stored(self):
        if self.partnership.value is None:
            return []
        return self.store.answers(self.partnership.value)

    def _on_partnership_change(self, _change=None) -> None:
        self.status.value = ""
        self.refresh()

    def _on_save_click(self, _button=None) -> None:
        if self.partnership.value is None:
            message(self.status, "The study has no partnership yet.", kind="error")
            return
        before = {a.topic: a.answer for a in self._stored()}
        try:
            for number, box in enumerate(self.answers, start=1):
                self.store.set_answer(self.partnership.value, number, box.value)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        after = {a.topic: a.answer for a in self._stored()}
        changed = sum(before.get(n, "") != after.get(n, "") for n in range(1, 7))
        self.refresh()
        message(
            self.status, f"{self.partnership.value}: {plural(changed, 'answer')} saved", kind="ok"
        )


def _history_view(table: pd.DataFrame) -> pd.DataFrame:
    """The history with a readable "change" column instead of the raw before/after."""
    return pd.DataFrame(
        {
            "at": [str(a)[:19] for a in table["at"]],
            "actor": table["actor"],
            "action": table["action"],
            "detail": table["detail"],
            "change": [
                describe_change(b, a) if b and a else ""
                for b, a in zip(table["before"], table["after"], strict=True)
            ],
        }
    )


class AuditView(w.VBox):
    """The history of one note, tension or decision, and who saw what when step 1 closed.

    CSS class ``cp-audit-view``.

    Parameters
    ----------
    store : Store
    viewer : str, optional
        Who is looking: while step 1 is open, only their own notes are listed.
    """

    def __init__(self, store: Store, viewer: str | None = None, **kwargs):
        self.store = store
        self.viewer = viewer
        self.kind = w.Dropdown(description="Object", options=list(OBJECT_KINDS), value="tension")
        self.object = w.Dropdown(
            description="Which", layout=w.Layout(width="560px", max_width="100%")
        )
        self.history = w.HTML()
        self.history.add_class("cp-audit-history")
        self.status = w.HTML()
        self.visibility = w.HTML()
        self.visibility.add_class("cp-step1-visibility")
        self.kind.observe(self._on_kind_change, names="value")
        self.object.observe(self._on_object_change, names="value")
        super().__init__(
            [
                w.HTML("<b>History of an object</b>"),
                w.HBox([self.kind, self.object], layout=_ROW),
                self.status,
                self.history,
                w.HTML("<b>Who saw what when step 1 closed</b>"),
                self.visibility,
            ],
            **kwargs,
        )
        self.add_class("cp-audit-view")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Reload the objects of the chosen kind and the step-1 table."""
        self._on_kind_change()
        table = step1_visibility(self.store)
        if table.empty:
            self.visibility.value = (
                "<i>step 1 is still open: each researcher sees their own notes</i>"
            )
        else:
            head = (
                f"<p>Closed {escape(str(table.attrs['closed_at'])[:16])} by "
                f"{escape(table.attrs['closed_by'])}; {table.attrs['notes']} notes shown.</p>"
            )
            self.visibility.value = head + table_html(
                table[["researcher", "own", "others", "from"]]
            )

    def show(self, kind: str, ref) -> None:
        """Show the history of one object (e.g. ``show("decision", "D2")``)."""
        self.kind.value = kind
        self.object.value = ref

    def _on_kind_change(self, _change=None) -> None:
        try:
            options = audit_objects(self.store, self.kind.value, viewer=self.viewer)
        except CoprodError as exc:
            options = []
            message(self.status, str(exc), kind="error")
        self.object.options = options
        self.object.value = options[0][1] if options else None
        if not options:
            self.history.value = "<i>nothing to show</i>"

    def _on_object_change(self, _change=None) -> None:
        if self.object.value is None:
            return
        try:
            table = object_history(
                self.store, self.kind.value, self.object.value, viewer=self.viewer
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            self.history.value = ""
            return
        self.status.value = ""
        self.history.value = table_html(_history_view(table))


class ReportView(w.VBox):
    """Write the final report (HTML, Word or Markdown) and offer it as a download.

    The file is written into the study folder's ``exports/`` (shown beside the link);
    ``download`` holds the link (for Markdown, also a .zip with its figures). Always
    pseudonymous: real names need the library's explicit ``real_names=True``.
    CSS class ``cp-report-view``; the links ``cp-download``.
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        from coprod_nb.exchange.report import FORMATS

        labels = {"html": "HTML", "docx": "Word", "md": "Markdown"}
        self.format = w.Dropdown(description="Format", options=[(labels[f], f) for f in FORMATS])
        # Which frozen framework and which workshop the report shows; "(default)" is the
        # report's own rule (the newest version; the open workshop, else the newest).
        versions = store.framework_versions()
        self.version = w.Dropdown(
            description="Framework",
            options=[("(newest)", None)]
            + [
                (short(version_title(v.version, v.label), 44), v.version)
                for v in reversed(versions)
            ],
        )
        self.workshop = w.Dropdown(
            description="Workshop",
            options=[("(default)", None)]
            + [(f"{ws.date:%Y-%m-%d} (on v{ws.base_version})", ws.id) for ws in store.workshops()],
        )
        for menu in (self.version, self.workshop):
            choose(menu, None)  # "(newest)", "(default)" shown, not an empty menu
        self.button = w.Button(description="Write report", icon="file")
        self.status = w.HTML()
        self.download = w.HTML()
        self.last_path: Path | None = None
        self.button.on_click(self._on_write_click)
        super().__init__(
            [
                w.HBox([self.format, self.version, self.workshop], layout=_ROW),
                w.HBox([self.button, self.status], layout=_ROW),
                self.download,
            ],
            **kwargs,
        )
        self.add_class("cp-report-view")
        fit(self)
        if not store.workshops():
            message(self.status, f"{NO_WORKSHOP} Until then the report covers steps 1 and 2.")

    def _on_write_click(self, _button=None) -> None:
        from coprod_nb.exchange.report import write_report

        message(self.status, "writing…")
        self.download.value = ""
        try:
            self.last_path = path = write_report(
                self.store,
                self.format.value,
                version=self.version.value,
                workshop=self.workshop.value,
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        where = f"in the study folder: {study_relative(path, self.store.study_dir)}"
        links = download_link(path, detail=where)
        figures = path.with_name(f"{path.stem}_figures")
        if path.suffix == ".md" and figures.is_dir():
            files = {path.name: path.read_bytes()}
            files |= {f"{figures.name}/{f.name}": f.read_bytes() for f in sorted(figures.iterdir())}
            links = (
                download_link(
                    zip_bytes(files), f"{path.stem}.zip", label=f"Download {path.name} with figures"
                )
                + links
            )
        self.download.value = links
        message(self.status, "report written", kind="ok")
