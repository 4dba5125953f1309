"""MyNotesView: a researcher downloads their own step-1 notes (Markdown or CSV).

The file comes from :func:`~coprod_nb.exchange.notes.notes_file`, as for the
``coprod-nb notes`` command: blinding applies (while step 1 is open a researcher gets
only their own notes), real names of the key are replaced, Markdown is escaped and CSV
goes through the one table writer. The file is offered as a download and not written into the study
folder, where colleagues could open it before step 1 closes.
"""

from __future__ import annotations

import re

import ipywidgets as w

from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import download_link, message, researcher_source
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets._stage import researcher_problem

__all__ = ["MyNotesView"]

_ALL = "(all)"


class MyNotesView(w.VBox):
    """Download my notes as Markdown or CSV (blinding applies).

    Choose ``format`` ("md" or "csv"), optionally a ``partnership`` and a ``category``,
    press ``button`` ("Export my notes"); ``download`` then holds the link and ``status``
    how many notes it holds (or why there is none). ``last_bytes`` is the file offered.
    CSS class ``cp-notes-export``; the link ``cp-download``.

    Parameters
    ----------
    store : Store
    researcher : str or ResearcherPicker, optional
        Whose notes (and who is looking); a widget's value is followed. Default: the
        researcher who is working (:meth:`Store.acting_researcher`).
    """

    def __init__(self, store: Store, researcher: str | w.ValueWidget | None = None, **kwargs):
        self.store = store
        if researcher is None:
            me = store.acting_researcher()
            researcher = me.name if me is not None else None
        self._name, self._picker = researcher_source(researcher)
        self.format = w.Dropdown(
            description="Format", options=[("Markdown", "md"), ("CSV", "csv")], value="md"
        )
        self.partnership = w.Dropdown(description="Partnership")
        self.category = w.Dropdown(description="Category")
        self.button = w.Button(description="Export my notes", icon="download")
        self.status = w.HTML()
        self.download = w.HTML()
        self.last_bytes: bytes | None = None
        self.button.on_click(self._on_export_click)
        if self._picker is not None:
            self._picker.observe(lambda _c: self._say_who(), names="value")
        for control in (self.format, self.partnership, self.category):
            control.observe(lambda _c: self._clear(), names="value")
        super().__init__(
            [
                # three menus are wider than a notebook at 1280 px: they wrap
                w.HBox(
                    [self.format, self.partnership, self.category],
                    layout={"flex_flow": "row wrap"},
                ),
                self.button,
                self.status,
                self.download,
            ],
            **kwargs,
        )
        self.add_class("cp-notes-export")
        fit(self)
        self.refresh()

    @property
    def researcher(self) -> str | None:
        """Whose notes are exported (None: nobody of the team is working)."""
        return self._picker.value if self._picker is not None else self._name

    def refresh(self) -> None:
        """Reload the partnerships and categories to choose from."""
        self.partnership.options = [_ALL] + [p.short for p in self.store.partnerships()]
        self.category.options = [_ALL, *self.store.note_categories()]
        self._say_who()

    def _say_who(self) -> None:
        self._clear()
        problem = researcher_problem(self.store, self.researcher, "export notes")
        if problem:
            message(self.status, problem)
        else:
            self.status.value = ""

    def _clear(self) -> None:
        # a link made for other choices (or another researcher) must not stay on screen
        self.download.value = ""
        self.last_bytes = None

    def _on_export_click(self, _button=None) -> None:
        from coprod_nb.exchange.notes import notes_file

        self._clear()
        me = self.researcher
        problem = researcher_problem(self.store, me, "export notes")
        if problem:
            message(self.status, problem, kind="error")
            return
        fmt = self.format.value
        try:
            # The same file as `coprod-nb notes`: blinding, pseudonyms, escaping, quoting.
            made = notes_file(
                self.store,
                fmt,
                researcher=me,
                partnership=None if self.partnership.value == _ALL else self.partnership.value,
                category=None if self.category.value == _ALL else self.category.value,
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        slug = re.sub(r"[^\w-]+", "_", me).strip("_") or "researcher"
        self.last_bytes = made.data
        self.download.value = download_link(made.data, f"notes_{slug}.{fmt}")
        message(self.status, f"{plural(len(made.notes), 'note')} of {me} in the file", kind="ok")
