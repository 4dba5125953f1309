"""SearchView: study-wide full-text search with highlighted hits."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from coprod_nb.analysis import marked_to_html
from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import escape, message
from coprod_nb.widgets._layout import fit


class SearchView(w.VBox):
    """Search every turn of the study; each hit shows its transcript, turn and snippet.

    ``on_open(callback)`` registers ``callback(transcript_id, seq)`` for the "open"
    buttons, so a TranscriptView can jump to the turn.
    """

    def __init__(self, store: Store, limit: int = 50, **kwargs):
        self.store = store
        self.limit = limit
        self.query = w.Text(
            description="Search", placeholder='words, "a phrase", prefix*', continuous_update=False
        )
        self.button = w.Button(description="Search", icon="search")
        self.status = w.HTML()
        self.results = w.VBox()
        self.hits: list = []
        self._open_callbacks: list[Callable[[int, int], None]] = []
        self.button.on_click(self._on_search_click)
        self.query.observe(self._on_query_change, names="value")
        row = w.HBox([self.query, self.button], layout={"flex_flow": "row wrap"})
        super().__init__([row, self.status, self.results], **kwargs)
        self.add_class("cp-search-view")
        fit(self)

    def on_open(self, callback: Callable[[int, int], None]) -> None:
        """Call ``callback(transcript_id, seq)`` when a hit's "open" button is clicked."""
        self._open_callbacks.append(callback)

    def _on_query_change(self, change) -> None:
        self._on_search_click()

    def _on_search_click(self, _button=None) -> None:
        if not self.query.value.strip():
            self.results.children = ()
            message(self.status, "")
            return
        try:
            self.hits = self.store.search(self.query.value, self.limit)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        # How many matched, and whether only the first turns were ranked (the bound of
        # storage.search): the researcher is told to add a word, not left guessing.
        message(self.status, self.hits.summary())
        rows = []
        for hit in self.hits:
            html = (
                f'<div class="cp-hit-row"><b>{escape(hit.transcript)}</b> '
                f"#{hit.seq} {_speaker_html(hit.speaker)}{marked_to_html(hit.snippet)}</div>"
            )
            if self._open_callbacks:
                button = w.Button(description="open", layout=w.Layout(width="60px"))
                button.on_click(lambda _b, t=hit.transcript_id, s=hit.seq: self._open(t, s))
                # min_width 0: a long snippet wraps beside its button instead of running past
                text = w.HTML(html, layout=w.Layout(flex="1 1 auto", min_width="0"))
                rows.append(w.HBox([button, text], layout={"align_items": "baseline"}))
            else:
                rows.append(w.HTML(html))
        self.results.children = rows

    def _open(self, transcript_id: int, seq: int) -> None:
        for callback in self._open_callbacks:
            callback(transcript_id, seq)


def _speaker_html(speaker: str) -> str:
    """``<i>Name</i>: `` before a hit, nothing for a paragraph of a plain document."""
    return f"<i>{escape(speaker)}</i>: " if speaker else ""
