"""What a person reads is words: no widget lists, dicts, markup, ids, snake_case or "1 turns"."""

from __future__ import annotations

import re
from datetime import date

import ipywidgets as w
import pytest

from coprod_nb.analysis.overview import study_status
from coprod_nb.analysis.sensemaking import decisions_table
from coprod_nb.domain.wording import column_heading, plural, prompt_source, version_title
from coprod_nb.seed.demo import build_demo
from coprod_nb.widgets import (
    AuditView,
    DecisionLog,
    MeetingEditor,
    ReportView,
    TensionBoard,
    WorkshopEditor,
)
from coprod_nb.widgets._common import table_html

BAD = {
    "widget list": re.compile(r"\[\('"),
    "dict": re.compile(r"\{'"),
    "markup": re.compile(r"\*\*\w"),
    "internal id": re.compile(r"\bresponse:"),
    "literal \\n": re.compile(r"\\n"),
    "doubled version": re.compile(r"\bv(\d+): v\1:"),
    "wrong plural": re.compile(r"(?<![\d.,])\b1 (?!of\b)[a-z]+s\b"),
    "(s)": re.compile(r"\w\(s\)"),
    "snake_case heading": re.compile(r"<th>[^<]*\w_\w[^<]*</th>"),
    "Python boolean": re.compile(r"<td>(True|False)</td>"),
}


def shown_text(widget) -> str:
    """Everything a widget tree shows: HTML and labels, descriptions, option labels."""
    parts = []
    stack = [widget]
    while stack:
        node = stack.pop()
        if isinstance(node, w.HTML | w.Label | w.HTMLMath):
            parts.append(node.value)
        if isinstance(node, w.DOMWidget) and isinstance(getattr(node, "description", None), str):
            parts.append(node.description)
        if isinstance(node, w.Dropdown | w.Select | w.SelectMultiple | w.ToggleButtons):
            parts.extend(str(label) for label in node._options_labels)
        stack.extend(getattr(node, "children", ()))
    return "\n".join(parts)


def problems(text: str) -> list[str]:
    return [f"{name}: {m.group(0)!r}" for name, rx in BAD.items() for m in rx.finditer(text)]


@pytest.fixture(params=["demo", "second"])
def study(request, demo, second_study):
    st = demo if request.param == "demo" else second_study("workshop", "rowan")
    st.actor = {"demo": "alder", "second": "rowan"}[request.param]
    return st


def test_the_helpers():
    assert (plural(1, "turn"), plural(2, "turn"), plural(0, "match")) == (
        "1 turn",
        "2 turns",
        "0 matches",
    )
    assert version_title(1, "v1: agreed") == "v1: agreed"
    assert version_title(2, "after the workshop") == "v2: after the workshop"
    assert prompt_source("response:Kit Moreland:T3") == "Kit Moreland's response on T3"
    assert prompt_source("circles") == "circles"
    assert column_heading("share_inner") == "share inner"
    assert column_heading("step1_closed") == "step 1 closed"


def test_widgets_show_words_only(study):
    views = [
        WorkshopEditor(study),
        ReportView(study),
        TensionBoard(study, study.actor),
        MeetingEditor(study),
        DecisionLog(study),
        AuditView(study),
    ]
    for view in views:
        text = shown_text(view)
        assert text, type(view).__name__
        assert not problems(text), (type(view).__name__, problems(text)[:5])


def test_tables_show_words_only(study):
    for table in (study_status(study), decisions_table(study)):
        html = table_html(table)
        assert not problems(html), problems(html)[:5]


def test_dissent_positions_break_lines_not_backslashes(joint_demo):
    joint_demo.actor = "alder"
    html = shown_text(MeetingEditor(joint_demo))
    assert "<br>" in html and "\\n" not in html


def test_the_demo_happens_on_its_own_dates(tmp_path):
    store = build_demo(tmp_path / "demo")
    try:
        kinds = ("study", "transcript", "note", "step", "tension", "framework", "poll", "decision")
        stamps = {e.at.date() for kind in kinds for e in store.history(kind)}
        assert stamps and all(date(2021, 1, 1) <= d <= date(2021, 12, 31) for d in stamps)
        status = table_html(study_status(store))
        assert "closed by Alder on 2021-09-13" in status
    finally:
        store.close()


def test_true_false_columns_read_yes_and_no(tmp_path):
    import pandas as pd

    from coprod_nb.course import create_course
    from coprod_nb.widgets.course import InstructorDashboard

    html = table_html(pd.DataFrame({"step1_closed": [True, False], "n": [1, 2]}))
    assert "<td>yes</td>" in html and "<td>no</td>" in html and "True" not in html
    create_course(tmp_path / "course", 4, name="Seminar on method")
    text = shown_text(InstructorDashboard(tmp_path / "course"))
    assert "<th>step 1 closed</th>" in text and "step1" not in text
    assert not problems(text), problems(text)[:5]
