"""Comparing the team's independent readings (step 2), as one view."""

from __future__ import annotations

import ipywidgets as w

from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import FigureBox, folded, message, researcher_source, table_html


class ComparisonView(w.VBox):
    """Counts, side by side, overlaps and gaps of the team's notes, for the meeting.

    Zeros are as telling as counts; overlaps (one passage, two readers) and gaps (a
    partnership and category only one researcher wrote about) are prompts for the
    discussion, not scores. Needs step 1 closed; until then it says so.
    The Counts tab opens on the table of notes per researcher and category (exact
    numbers, read at a glance by a team of any size); the heatmap by partnership and
    category is in a closed section under it, drawn when first opened: drawing it took
    most of a second on a large study, longer than all the rest of the view. The
    Overlaps and Gaps tabs are worked out when first shown (on a large study the
    overlaps table alone took a fifth of a second). CSS class ``cp-comparison``.

    Parameters
    ----------
    store : Store
    viewer : str or ResearcherPicker
        Who is looking (what they may see is decided by the store).
    """

    def __init__(self, store: Store, viewer, **kwargs):
        self.store = store
        self._viewer, self._picker = researcher_source(viewer)
        self.partnership = w.Dropdown(description="Partnership")
        self.tabs = w.Tab()
        self.counts, self.side, self.overlap, self.gap = (w.HTML() for _ in range(4))
        self.figure = FigureBox()
        self.heatmap = folded(self.figure, "Heatmap: notes per researcher, partnership, category")
        self.tabs.children = [
            w.VBox([self.counts, self.heatmap]),
            w.VBox([self.partnership, self.side]),
            self.overlap,
            self.gap,
        ]
        for i, title in enumerate(["Counts", "Side by side", "Overlaps", "Gaps"]):
            self.tabs.set_title(i, title)
        self.status = w.HTML()
        self._pending: set[int] = set()  # tabs to fill when they are shown
        self.partnership.observe(self._on_partnership_change, names="value")
        self.tabs.observe(self._on_tab_change, names="selected_index")
        super().__init__([self.status, self.tabs], **kwargs)
        self.add_class("cp-comparison")
        self.refresh()

    @property
    def viewer(self) -> str | None:
        return self._picker.value if self._picker is not None else self._viewer

    def refresh(self) -> None:
        """Re-read the notes and redraw every tab."""
        from coprod_nb.analysis import compare_counts, plot_compare

        self.status.value = ""
        self._pending = set()
        if not self.store.step_closed():
            self.tabs.layout.display = "none"
            message(
                self.status,
                "Step 1 is still open, so the notes are blind: the lead closes it in "
                "notebook 01 (Close step 1), and the comparison appears here.",
            )
            return
        if self.viewer is None:
            self.tabs.layout.display = "none"
            message(self.status, "You are no researcher of this study (see notebook 00).")
            return
        self.tabs.layout.display = None
        try:
            counts = compare_counts(self.store, self.viewer)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        if counts.notes.sum() == 0:
            self.figure.clear()
            self.heatmap.layout.display = "none"  # nothing to draw
            self.counts.value = "<p>No notes were written in step 1.</p>"
        else:
            self.heatmap.layout.display = None
            self.figure.draw(lambda: plot_compare(counts), data=counts)
            self.counts.value = table_html(
                counts.pivot_table(
                    index="researcher", columns="category", values="notes", aggfunc="sum"
                ).reset_index()
            )
        self.overlap.value = self.gap.value = ""
        self._pending = {2, 3}
        self._on_tab_change()
        shorts = [p.short for p in self.store.partnerships()]
        self.partnership.options = shorts
        if shorts and self.partnership.value is None:
            self.partnership.value = shorts[0]  # observed: fills the side by side
        else:
            self._on_partnership_change()

    def show_tab(self, title: str) -> None:
        """Select the tab called ``title`` (filling it if it is shown for the first time)."""
        titles = [self.tabs.get_title(i) for i in range(len(self.tabs.children))]
        self.tabs.selected_index = titles.index(title)

    def _on_tab_change(self, _change=None) -> None:
        from coprod_nb.analysis import gaps, overlaps

        index = self.tabs.selected_index
        if index not in self._pending:
            return
        self._pending.discard(index)
        try:
            if index == 2:
                pairs = overlaps(self.store, self.viewer)
                columns = ["researcher_a", "category_a", "researcher_b", "category_b", "passage"]
                self.overlap.value = (
                    table_html(pairs[columns])
                    if len(pairs)
                    else "<p>No passage was anchored by two researchers.</p>"
                )
            else:
                alone = gaps(self.store, self.viewer)
                self.gap.value = (
                    table_html(alone)
                    if len(alone)
                    else "<p>No partnership and category has one reader only.</p>"
                )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")

    def _on_partnership_change(self, _change=None) -> None:
        from coprod_nb.analysis import side_by_side

        if not self.partnership.value:
            self.side.value = "<p>No partnership yet.</p>"
            return
        try:
            table = side_by_side(self.store, self.viewer, self.partnership.value)
        except CoprodError as exc:
            message(self.side, str(exc), kind="error")
            return
        self.side.value = table_html(table) if len(table) else "<p>No notes on it.</p>"
