"""RecallClosureView (the lead's Close step 1) and ComparisonView, on the second study."""

from __future__ import annotations

from coprod_nb.widgets import ComparisonView, RecallClosureView, ResearcherPicker


def test_only_the_lead_closes_step_1_and_only_after_confirming(second_study):
    member = second_study("recall", actor="quill")
    view = RecallClosureView(member)
    assert view.close_button.disabled and "Quill is not the lead" in view.status.value
    assert "Step 1 is open" in view.summary.value and "<table" in view.summary.value
    view.close_button.click()  # even if a page enables it
    assert not member.step_closed()

    lead = second_study("recall", actor="rowan")
    view = RecallClosureView(lead)
    assert not view.close_button.disabled
    view.close_button.click()
    assert "Tick the box first" in view.status.value and not lead.step_closed()
    view.confirm.value = True
    view.close_button.click()
    assert lead.step_closed() and lead.step_closure().closed_by == "Rowan"
    assert "closed by Rowan" in view.summary.value
    assert view.close_button.layout.display == "none"


def test_the_comparison_waits_for_step_1_then_shows_the_team_side_by_side(second_study):
    open_ = second_study("recall", actor="quill")
    view = ComparisonView(open_, ResearcherPicker(open_))
    assert "Step 1 is still open" in view.status.value and view.tabs.layout.display == "none"

    closed = second_study("joint", actor="quill")
    view = ComparisonView(closed, ResearcherPicker(closed))
    assert view.status.value == "" and view.tabs.layout.display is None
    for name in ("Rowan", "Quill", "Tamsin"):
        assert name in view.counts.value
    assert view.partnership.value == view.partnership.options[0]  # not left blank
    shown = view.side.value
    assert "<table" in shown and any(n in shown for n in ("Rowan", "Quill", "Tamsin"))
    view.partnership.value = view.partnership.options[-1]
    assert view.side.value != "" and view.figure.children == ()  # heatmap folded
    view.heatmap.selected_index = 0
    assert len(view.figure.children) == 1
