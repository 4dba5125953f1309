"""CodebookView: the codebook brought from other QDA tools and the excerpts it codes."""

from __future__ import annotations

import ipywidgets as w

from coprod_nb.analysis.codebook import codebook, coded_excerpts
from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import escape, message, table_html
from coprod_nb.widgets._layout import fit

EMPTY = (
    "No codebook imported from another tool yet. Importing a REFI-QDA project "
    "(coprod-nb import STUDY PROJECT.qdpx) brings its codes and codings here."
)
ALL = "(all coders)"
SHOWN = 200  # excerpts listed at most; the count says how many there are


class CodebookView(w.VBox):
    """The codes as a tree with their number of codings; the chosen code's coded
    excerpts (its sub-codes' too), filtered by coder and words, escaped.

    Parameters
    ----------
    store : Store
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.status = w.HTML()
        self.codes = w.Select(description="Code", rows=10, layout=w.Layout(width="100%"))
        self.coder = w.Dropdown(description="Coder", options=[ALL])
        self.query = w.Text(description="Words", placeholder="words in the excerpt")
        self.excerpts = w.HTML()
        self.table = w.HTML()
        self.codes.observe(self._changed, names="value")
        self.coder.observe(self._changed, names="value")
        self.query.observe(self._changed, names="value")
        filters = w.HBox([self.coder, self.query], layout={"flex_flow": "row wrap"})
        super().__init__([self.status, self.codes, filters, self.excerpts], **kwargs)
        self.add_class("cp-codebook-view")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Read the codebook again."""
        book = codebook(self.store)
        self.book = book
        if book.empty:
            message(self.status, EMPTY)
            self.codes.options, self.coder.options = [], [ALL]
            self.codes.layout.display = "none"
            self.excerpts.value = ""
            return
        self.codes.layout.display = None
        total = int(book["codings"].sum())
        message(
            self.status,
            f"{plural(len(book), 'code')}, {plural(total, 'coding')} imported from other tools",
        )
        options = []
        for row in book.itertuples():
            depth = row.path.count(" / ")
            # non-breaking spaces: a Select trims leading blanks
            options.append((f"{chr(160) * 4 * depth}{row.code} ({row.codings})", row.guid))
        self.codes.options = options
        coders = sorted({c for cs in book["coders"] for c in cs.split(", ") if c})
        self.coder.options = [ALL, *coders]
        self.codes.value = options[0][1]

    def _changed(self, _change=None) -> None:
        if not self.codes.value:
            self.excerpts.value = ""
            return
        try:
            found = coded_excerpts(
                self.store,
                code=self.codes.value,
                coder=None if self.coder.value in (None, ALL) else self.coder.value,
                query=self.query.value or None,
                subcodes=True,
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        code = self.book.loc[self.book["guid"] == self.codes.value, "path"].iloc[0]
        head = f"<b>{escape(code)}</b>: {escape(plural(len(found), 'coded excerpt'))}"
        if len(found) > SHOWN:
            head += escape(f" (the first {SHOWN} shown)")
        shown = found.head(SHOWN)[["transcript", "partnership", "text", "code", "coder"]]
        self.excerpts.value = f"<div>{head}</div>" + (table_html(shown) if len(found) else "")
