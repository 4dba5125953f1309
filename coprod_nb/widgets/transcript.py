"""TranscriptView: read a transcript a page at a time and code passages in place.

The turns are drawn by a small custom widget
(:class:`~coprod_nb.widgets._panes.TranscriptPane`, an anywidget, loaded when a view is
built; its front end is ``static/transcript.js``): the Python side sends one page of turns with the
passages to highlight, the front end sends back what the researcher selected or
clicked. Which passages are highlighted is the library's rule
(:func:`coprod_nb.storage.pages.turn_page`, which asks the access policy): one's own
during step 1, everyone's after.

Recordings. A transcript's audio or video file (in ``STUDY/media/``) is sent to the
browser as bytes over the widget's connection and played from a Blob URL, capped at
:data:`~coprod_nb.storage.media.MAX_MEDIA_BYTES`. A ``/files/`` URL would be lighter, but
it only reaches files under the Jupyter server's root, and a study folder is often
elsewhere; bytes work wherever the kernel can read the study, and the recording never
leaves the kernel's machine except to the researcher's own browser.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import ipywidgets as w

from coprod_nb.domain.transcript import format_time
from coprod_nb.errors import CoprodError, InvalidInput
from coprod_nb.storage import Store
from coprod_nb.storage.media import MAX_MEDIA_BYTES, media_file, media_type
from coprod_nb.storage.pages import query_spans, turn_page
from coprod_nb.widgets._common import message, researcher_source
from coprod_nb.widgets._stage import NO_TRANSCRIPTS, researcher_problem
from coprod_nb.widgets.search import SearchView

# Okabe-Ito colours: told apart with the common colour-vision deficiencies.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")


def _acting(store: Store, researcher: str | w.ValueWidget | None) -> str | w.ValueWidget | None:
    """``researcher`` as given, else the name of the researcher who is working (or None)."""
    if researcher is not None:
        return researcher
    me = store.acting_researcher()
    return me.name if me is not None else None


def __getattr__(name: str):
    # ``TranscriptPane`` is still reachable here, loaded (with anywidget) on first use.
    if name == "TranscriptPane":
        from coprod_nb.widgets._panes import TranscriptPane

        return TranscriptPane
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class TranscriptView(w.VBox):
    """Read a transcript a page at a time, select passages to code, mark it as read.

    Only the page on screen is fetched from the store, so a long transcript opens and
    pages fast. Select a span of a turn with the mouse (or Shift+arrows on a focused
    turn) and press Anchor (or ``a``): it becomes an excerpt of exactly that span.
    Anchored passages are highlighted with a margin of coding stripes (note categories
    and tensions); clicking one calls the :meth:`on_open_note` callbacks. An embedded
    :class:`SearchView` searches the whole study; its "open" buttons jump here via
    :meth:`show`, and the words searched for are highlighted in the turns. Keyboard on
    the pane: ``j``/``k`` or arrows next/previous turn, PageDown/PageUp (``n``/``p``) the
    next/previous page, Escape clears the selection. A turn's time plays the
    transcript's recording from there, when it has one.

    Parameters
    ----------
    store : Store
    researcher : str or ResearcherPicker, optional
        Whose reading this is (a name, or a picker whose changes are followed); by
        default the researcher who is working (:meth:`Store.acting_researcher`).
    page_size : int
        Turns per page.

    Without transcripts, or without a researcher to read as, the view says so (what is
    missing and where to add it) instead of failing.
    """

    def __init__(
        self,
        store: Store,
        researcher: str | w.ValueWidget | None = None,
        page_size: int = 25,
        **kwargs,
    ):
        self.store = store
        self.page_size = page_size
        self._name, self._picker = researcher_source(_acting(store, researcher))
        self.notice = w.HTML()
        self.notice.add_class("cp-notice")
        self.partnership = w.Dropdown(description="Partnership")
        self.transcript = w.Dropdown(description="Transcript", layout=w.Layout(width="420px"))
        self.read = w.ToggleButton(description="Mark as read", icon="check")
        self.prev = w.Button(description="Prev", icon="chevron-left")
        self.next = w.Button(description="Next", icon="chevron-right")
        self.position = w.Label()
        # Imported here: anywidget loads when a view is built, not on import.
        from coprod_nb.widgets._panes import TranscriptPane

        self.pane = TranscriptPane()
        self.pane.add_class("cp-transcript-pane")
        self.quote = w.Text(
            description="Quote",
            placeholder="words copied from this transcript, to anchor a span",
            layout=w.Layout(width="100%"),
        )
        self.selection = w.HTML()
        self.status = w.HTML()
        self.search = SearchView(store)
        self.search.on_open(self.show)
        #: turns on the current page (rows with id, seq, speaker, start_ms, text, ...)
        self.page_turns: list = []
        #: anchored passages on the current page (storage.pages.Mark)
        self.page_marks: list = []
        self.start = 0
        self.total = 0
        self.current_seq: int | None = None
        #: selected spans: turn id -> (turn, start, end), offsets in the turn's text
        self._selected: dict[int, tuple] = {}
        self._counts: dict[int, int] = {}
        self._anchor_callbacks: list[Callable[[], None]] = []
        self._open_callbacks: list[Callable[[int, tuple[int, ...]], None]] = []
        self._media_for: int | None = None
        self._quiet = False
        self._syncing_read = False
        self.refresh()
        self.partnership.observe(self._on_partnership_change, names="value")
        self.transcript.observe(self._on_transcript_change, names="value")
        self.read.observe(self._on_read_change, names="value")
        self.prev.on_click(lambda _b: self._go(self.start - self.page_size))
        self.next.on_click(lambda _b: self._go(self.start + self.page_size))
        self.search.query.observe(lambda _c: self._render(), names="value")
        self.pane.on_msg(self._on_pane_msg)
        if self._picker is not None:
            self._picker.observe(lambda _c: self._on_reader_change(), names="value")
        super().__init__(
            [
                self.notice,
                self.search,
                w.HBox([self.partnership, self.transcript, self.read]),
                w.HBox([self.prev, self.position, self.next]),
                self.pane,
                self.quote,
                self.selection,
                self.status,
            ],
            **kwargs,
        )
        self.add_class("cp-transcript-view")

    # -- public -------------------------------------------------------------------

    @property
    def researcher(self) -> str | None:
        """The name of the researcher reading."""
        return self._picker.value if self._picker is not None else self._name

    @property
    def transcript_id(self) -> int | None:
        """The open transcript's id (None when there is none)."""
        return self.transcript.value

    @property
    def current_partnership(self) -> str | None:
        """Short name of the open transcript's partnership, else of the filter."""
        tr = self._transcripts.get(self.transcript.value)
        if tr is not None and tr.partnership_id in self._shorts:
            return self._shorts[tr.partnership_id]
        return self.partnership.value

    def refresh(self) -> None:
        """Reload partnerships and transcripts (e.g. after an import)."""
        pships = self.store.partnerships()
        self._shorts = {p.id: p.short for p in pships}
        # Titles only: the canonical texts of a large study are megabytes.
        self._transcripts = {t.id: t for t in self.store.transcripts(text=False)}
        self._codes = self._code_colours()
        with self._hold():
            keep = self.partnership.value
            self.partnership.options = [("(all partnerships)", None)] + [
                (f"{p.short}: {p.name}", p.short) for p in pships
            ]
            self.partnership.value = keep if keep in self._shorts.values() else None
            self._fill_transcripts()
        self._show_notice()
        self._media_for = None
        self._open(self.transcript.value, self.start)

    def show(self, transcript_id: int, seq: int = 0) -> None:
        """Open a transcript at the page holding turn ``seq`` and highlight that turn."""
        tr = self._transcripts.get(transcript_id)
        if tr is None:
            self.refresh()  # imported since the view was built
            tr = self._transcripts.get(transcript_id)
        if tr is None:
            message(self.status, f"no transcript {transcript_id}", kind="error")
            return
        with self._hold():
            if tr.id not in [i for _, i in self._transcript_options()]:
                self.partnership.value = self._shorts.get(tr.partnership_id)
                self._fill_transcripts()
            self.transcript.value = tr.id
        self.current_seq = seq
        self._open(tr.id, (seq // self.page_size) * self.page_size)

    def select_span(self, turn_id: int, start: int = 0, end: int | None = None) -> None:
        """Select ``[start, end)`` of a turn on the page (code points of its text).

        What the front end does when the researcher selects with the mouse or keyboard;
        the whole turn by default. One span per turn; selections survive paging.
        """
        turn = next((t for t in self.page_turns if t.id == turn_id), None)
        if turn is None:
            raise InvalidInput(f"turn {turn_id} is not on the page")
        length = len(turn.text)
        end = length if end is None else end
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length):
            raise InvalidInput(f"span {start}-{end} is outside turn #{turn.seq} (0-{length})")
        self._selected[turn.id] = (turn, start, end)
        self._show_selection()

    def clear_selection(self) -> None:
        """Forget the selected spans."""
        self._selected.clear()
        self._show_selection()

    def selected_excerpts(self) -> list[int]:
        """Create excerpts for the selected spans and the quote; return their ids.

        The selection and the quote are cleared afterwards, so a second call does not
        duplicate them, and the page is drawn again with the new highlights. A quote
        that is not in the open transcript raises the store's
        :class:`~coprod_nb.errors.NotFound` (also shown in the view's status).
        """
        ids: list[int] = []
        quote = self.quote.value.strip()
        try:
            # The quote first: it is the part that can fail on user input, and failing
            # before any span's excerpt is written leaves nothing half-made.
            quote_id = None
            if quote:
                if self.transcript.value is None:
                    raise InvalidInput("open a transcript to anchor a quote")
                quote_id = self.store.excerpt_of_quote(self.transcript.value, quote).id
            spans = sorted(self._selected.values(), key=lambda x: (x[0].transcript_id, x[0].seq))
            for turn, start, end in spans:
                ids.append(self.store.excerpt_of_turn(turn.id, start, end).id)
            if quote_id is not None:
                ids.append(quote_id)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            raise
        self._selected.clear()
        self.quote.value = ""
        self._open(self.transcript.value, self.start)
        n = len(ids)
        message(self.status, f"{n} excerpt{'' if n == 1 else 's'} created", kind="ok")
        return ids

    def redraw(self) -> None:
        """Fetch and draw the page again (after notes or excerpts changed elsewhere)."""
        self._open(self.transcript.value, self.start)

    def on_anchor(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when Anchor is pressed in the pane (instead of making
        excerpts here: a docked note editor anchors its note to them)."""
        self._anchor_callbacks.append(callback)

    def on_open_note(self, callback: Callable[[int, tuple[int, ...]], None]) -> None:
        """Call ``callback(excerpt_id, note_ids)`` when a highlight is clicked."""
        self._open_callbacks.append(callback)

    # -- internals ----------------------------------------------------------------

    def _code_colours(self) -> dict[str, dict]:
        codes = [("category:" + c, c) for c in self.store.note_categories()]
        try:
            codes += [("tension:" + t.code, f"{t.code} {t.name}") for t in self.store.tensions()]
        except CoprodError:
            pass  # tensions not readable here: category stripes only
        return {
            key: {"label": label, "color": PALETTE[i % len(PALETTE)]}
            for i, (key, label) in enumerate(codes)
        }

    def _show_notice(self) -> None:
        problems = [NO_TRANSCRIPTS] if not self._transcripts else []
        who = researcher_problem(self.store, self.researcher, "mark transcripts as read")
        problems += [who] if who else []
        if problems:
            message(self.notice, "\n".join(problems))
        else:
            self.notice.value = ""

    def _on_reader_change(self) -> None:
        self._show_notice()
        self._sync_read()

    @contextmanager
    def _hold(self):
        # Batch changes of the dropdowns without opening a page for each step.
        self._quiet, before = True, self._quiet
        try:
            yield
        finally:
            self._quiet = before

    def _transcript_options(self) -> list[tuple[str, int]]:
        pid = next((i for i, s in self._shorts.items() if s == self.partnership.value), None)
        return [
            (t.title, t.id)
            for t in self._transcripts.values()
            if self.partnership.value is None or t.partnership_id == pid
        ]

    def _fill_transcripts(self) -> None:
        keep = self.transcript.value
        options = self._transcript_options()
        self.transcript.options = options
        ids = [i for _, i in options]
        self.transcript.value = keep if keep in ids else (ids[0] if ids else None)

    def _on_partnership_change(self, change) -> None:
        if self._quiet:
            return
        with self._hold():
            self._fill_transcripts()
        self.current_seq = None
        self._open(self.transcript.value, 0)

    def _on_transcript_change(self, change) -> None:
        if self._quiet:
            return
        self.current_seq = None
        self._open(change.new, 0)

    def _go(self, start: int) -> None:
        self._open(self.transcript.value, start)

    def _turn_count(self, tid: int) -> int:
        if tid not in self._counts:
            self._counts[tid] = self.store.turn_count(tid)
        return self._counts[tid]

    def _open(self, tid: int | None, start: int) -> None:
        if tid is None:
            self.page_turns, self.page_marks, self.start, self.total = [], [], 0, 0
        else:
            try:
                self.total = self._turn_count(tid)
                last_page = max(0, (self.total - 1) // self.page_size * self.page_size)
                self.start = min(max(0, start), last_page)
                page = turn_page(self.store, tid, self.start, self.start + self.page_size)
            except CoprodError as exc:
                message(self.status, str(exc), kind="error")
                return
            self.page_turns, self.page_marks = page.turns, page.marks
        if tid != self._media_for:
            self._codes = self._code_colours()  # tensions named since the last transcript
            self._load_media(tid)
            self._sync_read()
        self._render()

    def _load_media(self, tid: int | None) -> None:
        # Once per transcript opened, not per page: the bytes cross the wire once.
        self._media_for = tid
        data, kind, name = b"", "", ""
        if tid is not None:
            try:
                path = media_file(self.store, tid)
                if path is not None:
                    size = path.stat().st_size
                    if size > MAX_MEDIA_BYTES:
                        raise InvalidInput(
                            f"the recording is {size / 2**20:.0f} MB; the reader plays "
                            f"recordings up to {MAX_MEDIA_BYTES / 2**20:.0f} MB (make a "
                            "smaller copy, e.g. audio only, and attach that)",
                            file=path.name,
                        )
                    data, kind, name = path.read_bytes(), media_type(path), path.name
            except (CoprodError, OSError) as exc:
                text = str(exc) if isinstance(exc, CoprodError) else f"cannot read it: {exc}"
                message(self.status, f"recording: {text}", kind="error")
        self.pane.media = data
        self.pane.media_type = kind
        self.pane.media_name = name
        self.pane.media_version += 1

    def _page_payload(self) -> list[dict]:
        query = self.search.query.value.strip()
        out = []
        for turn in self.page_turns:
            base, end = turn.char_start, turn.char_end
            marks = []
            for m in self.page_marks:
                if m.start < end and m.end > base:
                    codes = [f"category:{c}" for c in m.categories]
                    codes += [f"tension:{c}" for c in m.tensions]
                    marks.append(
                        {
                            "start": max(m.start, base) - base,
                            "end": min(m.end, end) - base,
                            "excerpt": m.excerpt_id,
                            "mine": m.mine,
                            "notes": list(m.notes),
                            "codes": [c for c in codes if c in self._codes],
                        }
                    )
            picked = self._selected.get(turn.id)
            out.append(
                {
                    "id": turn.id,
                    "seq": turn.seq,
                    "speaker": turn.speaker,
                    "time": format_time(turn.start_ms),
                    "start": None if turn.start_ms is None else turn.start_ms / 1000,
                    "text": turn.text,
                    "marks": marks,
                    "hits": [list(h) for h in query_spans(query, turn.text)] if query else [],
                    "selected": list(picked[1:]) if picked else None,
                }
            )
        return out

    def _render(self) -> None:
        pane = self.pane
        with pane.hold_sync():
            pane.turns = self._page_payload()
            pane.codes = self._codes
            pane.current = -1 if self.current_seq is None else self.current_seq
            if self.page_turns:
                first, last = self.page_turns[0].seq, self.page_turns[-1].seq
                self.position.value = f"turns #{first}–#{last} of {self.total}"
            else:
                self.position.value = "no turns" if self.transcript.value is not None else ""
            pane.position = self.position.value
            pane.can_prev = self.start > 0
            pane.can_next = self.start + self.page_size < self.total
            self.prev.disabled, self.next.disabled = not pane.can_prev, not pane.can_next
        self._show_selection()

    def _show_selection(self) -> None:
        n = len(self._selected)
        self.selection.value = f"<i>{n} passage{'' if n == 1 else 's'} selected</i>" if n else ""
        self.pane.selection = [
            {"turn": t.id, "start": s, "end": e} for t, s, e in self._selected.values()
        ]

    def _on_pane_msg(self, _widget, content, _buffers) -> None:
        # Messages come from the browser: anything malformed is shown, never raised.
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        try:
            if kind in ("select", "anchor"):
                self._take_spans(content.get("spans") or [])
            if kind == "anchor":
                if self._anchor_callbacks:
                    for callback in self._anchor_callbacks:
                        callback()
                elif self._selected or self.quote.value.strip():
                    self.selected_excerpts()
                else:
                    message(self.status, "Select a passage of a turn first.", kind="error")
            elif kind == "open":
                self._open_excerpt(int(content.get("excerpt")))
            elif kind == "page":
                step = 1 if int(content.get("step", 1)) > 0 else -1
                self._go(self.start + step * self.page_size)
            elif kind == "clear":
                self.clear_selection()
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
        except (TypeError, ValueError):
            message(self.status, "the browser sent a message the reader cannot read", kind="error")

    def _take_spans(self, spans: list) -> None:
        page = {t.id for t in self.page_turns}
        for turn_id in [t for t in self._selected if t in page]:
            del self._selected[turn_id]  # the browser's selection on this page replaces it
        for span in spans:
            self.select_span(int(span["turn"]), int(span["start"]), int(span["end"]))
        self._show_selection()

    def _open_excerpt(self, excerpt_id: int) -> None:
        mark = next((m for m in self.page_marks if m.excerpt_id == excerpt_id), None)
        if mark is None:
            raise InvalidInput(f"excerpt #{excerpt_id} is not on this page")
        if not mark.notes:
            message(self.status, f"excerpt #{excerpt_id} is not anchored to a note yet")
        for callback in self._open_callbacks:
            callback(excerpt_id, mark.notes)

    def _sync_read(self) -> None:
        tid, me = self.transcript.value, self.researcher
        self._syncing_read = True
        try:
            self.read.disabled = tid is None or me is None
            self.read.value = (me, tid) in self.store.readings()
        finally:
            self._syncing_read = False

    def _on_read_change(self, change) -> None:
        if self._syncing_read or self.transcript.value is None:
            return
        try:
            self.store.mark_read(self.researcher, self.transcript.value, read=change.new)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            self._sync_read()
            return
        title = self._transcripts[self.transcript.value].title
        message(self.status, f"{title}: {'read' if change.new else 'not read'}", kind="ok")
