"""Layout of the set-up, report and course views (issue 17): what keeps them uncut at 1280 px.

The browser test (tests/browser/test_layout.py) looks at the drawn page; these check, on the
demo and on the second study early and late, the layout properties the views rely on for
that: rows that wrap, buttons and ticks as wide as their text (and not stretched across a
column), descriptions given the room their text needs, no 100% width that runs past the
margins, tab titles short enough for a tab, menus that show their "(none)" choice.
"""

from __future__ import annotations

import ipywidgets as w
import pytest

from coprod_nb.course import create_course
from coprod_nb.widgets import (
    AuditView,
    ImportView,
    MyNotesView,
    PseudonymEditor,
    ReportView,
    SearchView,
    SpeakerMapEditor,
    StudySetupEditor,
    WorksheetEditor,
)
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets.course import CourseSetup, InstructorDashboard

STUDY_VIEWS = [
    StudySetupEditor,
    ImportView,
    PseudonymEditor,
    SpeakerMapEditor,
    SearchView,
    MyNotesView,
    WorksheetEditor,
    AuditView,
    ReportView,
]


def _walk(root: w.Widget, parent: w.Widget | None = None):
    """``(widget, parent)`` for ``root`` and everything under it."""
    yield root, parent
    for child in getattr(root, "children", ()) or ():
        yield from _walk(child, root)


def assert_fits(view: w.Widget) -> None:
    """The layout properties every view here relies on (see the module docstring)."""
    seen = 0
    for x, parent in _walk(view):
        seen += 1
        where = f"{type(view).__name__}: {type(x).__name__} {getattr(x, 'description', '')!r}"
        assert x.layout.width != "100%", f"{where} runs 4 px past its parent"
        if type(x) is w.HBox:
            assert "wrap" in (x.layout.flex_flow or ""), f"{where}: a row that does not wrap"
        if isinstance(x, w.Button | w.Checkbox):
            assert x.layout.width in ("auto",) or x.layout.width.endswith("px"), where
            if isinstance(parent, w.VBox) and x.layout.width == "auto":
                assert x.layout.align_self == "flex-start", f"{where} stretched across"
        text = getattr(x, "description", "")
        labelled = hasattr(getattr(x, "style", None), "description_width")  # not a button
        if isinstance(text, str) and len(text) > 9 and labelled:
            assert x.style.description_width, f"{where}: a long description in 80 px"
        if isinstance(x, w.Dropdown):
            values = [o[1] if isinstance(o, tuple) else o for o in x.options]
            if None in values:
                assert x.label is not None, f"{where} shows an empty menu"
    assert seen > 5  # the walk saw the view's controls


@pytest.mark.parametrize("view", STUDY_VIEWS, ids=lambda v: v.__name__)
def test_study_views_fit_on_the_demo(demo, view):
    assert_fits(view(demo))


@pytest.mark.parametrize("variant", ["no_researchers", "workshop"])
@pytest.mark.parametrize("view", STUDY_VIEWS, ids=lambda v: v.__name__)
def test_study_views_fit_on_the_second_study_early_and_late(second_study, variant, view):
    assert_fits(view(second_study(variant, actor="rowan")))


def test_course_views_fit(tmp_path):
    assert_fits(CourseSetup(tmp_path / "new"))
    create_course(tmp_path / "course", 4, group_size=2)
    assert_fits(InstructorDashboard(tmp_path / "course"))


def test_setup_tab_titles_fit_a_tab(second_study):
    # ipywidgets gives each tab 144 px (about 15 characters at JupyterLab's font)
    tabs = StudySetupEditor(second_study("workshop")).tabs
    titles = [tabs.get_title(i) for i in range(len(tabs.children))]
    assert len(titles) == 6 and all(len(t) <= 15 for t in titles), titles


def test_setup_labels_stay_one_aligned_column(demo):
    editor = StudySetupEditor(demo)
    widths = {
        x.style.description_width
        for x, _ in _walk(editor.participants)
        if isinstance(x, w.Text | w.Dropdown) and x.description
    }
    assert widths == {"150px"}  # fit keeps the width the view chose


def test_none_choices_show_their_label(second_study):
    study = second_study("workshop")
    assert ImportView(study).partnership.label == "(infer from speakers)"
    editor = StudySetupEditor(study)
    form = editor.participants
    form.pick.value = form.pick.options[1]
    assert form.partnership.label not in (None, "(none)")
    form.pick.value = "(new)"
    assert form.partnership.label == "(none)" and form.partnership.value is None


def test_fit_skips_a_control_named_description_and_keeps_a_chosen_width():
    box = w.VBox([w.Text(description="A long description", style={"description_width": "9em"})])
    box.description = w.Textarea()  # a view's own attribute, not a label
    button = w.Button(description="Save as manifest")
    box.children = (*box.children, button, w.HBox([w.Button(description="x")]))
    fit(box)
    assert box.children[0].style.description_width == "9em"
    assert (button.layout.width, button.layout.align_self) == ("auto", "flex-start")
    row_button = box.children[2].children[0]
    assert (row_button.layout.width, row_button.layout.align_self) == ("auto", None)
