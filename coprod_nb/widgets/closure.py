"""Closing step 1: the lead's button, and where the team stands before it."""

from __future__ import annotations

import ipywidgets as w
import pandas as pd

from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import escape, message, table_html


class RecallClosureView(w.VBox):
    """Whether step 1 is open, the team's progress (counts only), and the lead's Close button.

    The button acts as the person working (``store.acting_researcher()``); it is enabled
    only for the study lead while the step is open, and asks for a tick of confirmation,
    since closing cannot be undone: every note becomes visible to the team.
    CSS class ``cp-recall-closure``.
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.summary = w.HTML()
        self.confirm = w.Checkbox(
            description="Everyone has read everything; show the notes to the team",
            indent=False,
            layout=w.Layout(width="auto"),
        )
        self.close_button = w.Button(
            description="Close step 1",
            button_style="warning",
            icon="lock",
            layout=w.Layout(width="auto"),
        )
        self.status = w.HTML()
        self.close_button.on_click(self._on_close_click)
        super().__init__(
            [self.summary, w.HBox([self.confirm, self.close_button]), self.status], **kwargs
        )
        self.add_class("cp-recall-closure")
        self.refresh()

    def refresh(self) -> None:
        """Re-read the closure, the team's progress and who is acting."""
        from coprod_nb.analysis import progress_table

        me = self.store.acting_researcher()
        closure = self.store.step_closure(snapshot=False)
        if closure is not None:
            self.summary.value = (
                f"<p>Step 1 was closed by {escape(closure.closed_by)} on "
                f"{closure.closed_at:%Y-%m-%d}: the team's notes are visible to everyone.</p>"
            )
            self.confirm.layout.display = self.close_button.layout.display = "none"
            return
        progress = progress_table(self.store)
        if len(progress):
            # notes are counted per partnership, so one row per partnership for the sum
            per_partnership = progress.drop_duplicates(["researcher", "partnership"])
            team = pd.DataFrame(
                {
                    "transcripts read": progress.groupby("researcher", sort=False)["read"].sum(),
                    "of": progress.groupby("researcher", sort=False)["read"].size(),
                    "notes": per_partnership.groupby("researcher", sort=False)["notes"].sum(),
                }
            ).reset_index()
            table = table_html(team)
        else:
            table = "<p>No researcher and no transcript yet: nothing to read.</p>"
        self.summary.value = "<p>Step 1 is open: each researcher's notes are blind.</p>" + table
        lead = me is not None and me.lead
        self.close_button.disabled = not lead
        if me is None:
            message(self.status, "Only the study lead closes step 1; you are no researcher here.")
        elif not lead:
            message(self.status, f"Only the study lead closes step 1 ({me.name} is not the lead).")

    def _on_close_click(self, _button=None) -> None:
        me = self.store.acting_researcher()
        if me is None:
            message(self.status, "You are no researcher of this study.", kind="error")
            return
        if not self.confirm.value:
            message(self.status, "Tick the box first: closing cannot be undone.", kind="error")
            return
        try:
            closure = self.store.close_recall()
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self.refresh()
        message(self.status, f"Step 1 closed by {closure.closed_by}.", kind="ok")
