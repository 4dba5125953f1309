"""Every public widget on a study at every stage: no exception, and a plain message saying
what is missing and what to do next.

The table ``BUILD`` has one entry per name in ``coprod_nb.widgets.__all__``: a widget added
without an entry fails ``test_every_widget_has_an_entry``. Studies: an empty one, the second
study (tests/second_study) at each stage, with no researchers, with two workshops, and opened
by someone who is not on the team.
"""

from __future__ import annotations

import html
import re
from datetime import date

import ipywidgets as w
import pytest
import traitlets

import coprod_nb.widgets as widgets
from coprod_nb.storage import Store
from coprod_nb.widgets._stage import (
    NO_FRAMEWORK,
    NO_RESEARCHERS,
    NO_TRANSCRIPTS,
    NO_WORKSHOP,
    NOT_A_RESEARCHER,
    STEP1_OPEN,
)
from tests.acting import as_, as_lead


def visible_text(widget) -> str:
    """The text a person sees: the values of HTML and Label widgets, tags removed."""
    out = []

    def walk(x):
        if isinstance(x, (w.HTML, w.HTMLMath, w.Label)):
            out.append(html.unescape(re.sub(r"<[^>]+>", " ", x.value or "")))
        for child in getattr(x, "children", ()) or ():
            walk(child)

    walk(widget)
    return " ".join(" ".join(out).split())


def plain(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    from coprod_nb.course import create_course

    d = tmp_path_factory.mktemp("stages-course") / "course"
    create_course(d, 3, name="Stages seminar")
    return d


# How each public widget is built, as a working notebook builds it. ``ctx`` holds the
# store and what a notebook would have made before (``me``: the ResearcherPicker).
BUILD = {
    "AuditView": lambda st, ctx: widgets.AuditView(st),
    "ReportView": lambda st, ctx: widgets.ReportView(st),
    "WorksheetEditor": lambda st, ctx: widgets.WorksheetEditor(st),
    "CircleSortView": lambda st, ctx: widgets.CircleSortView(st, ctx.get("workshop")),
    "CodingView": lambda st, ctx: widgets.CodingView(st, ctx["me"]),
    "CodebookView": lambda st, ctx: widgets.CodebookView(st),
    "CourseSetup": lambda st, ctx: widgets.CourseSetup(ctx["tmp"] / "new-course"),
    "InstructorDashboard": lambda st, ctx: widgets.InstructorDashboard(ctx["course"]),
    "DecisionLog": lambda st, ctx: widgets.DecisionLog(st, ctx.get("workshop")),
    "PollView": lambda st, ctx: widgets.PollView(st, workshop=ctx.get("workshop")),
    "ResponsesView": lambda st, ctx: widgets.ResponsesView(st, ctx.get("workshop")),
    "SpectrumEditor": lambda st, ctx: widgets.SpectrumEditor(st),
    "WorkshopEditor": lambda st, ctx: widgets.WorkshopEditor(st),
    "ImportView": lambda st, ctx: widgets.ImportView(st),
    "LiveResponses": lambda st, ctx: widgets.LiveResponses(st, ctx.get("workshop")),
    "ParticipantApp": lambda st, ctx: widgets.ParticipantApp(st, None),
    "MeetingEditor": lambda st, ctx: widgets.MeetingEditor(st),
    "NoteEditor": lambda st, ctx: widgets.NoteEditor(st, ctx["me"], transcript_view=ctx["reader"]),
    "PseudonymEditor": lambda st, ctx: widgets.PseudonymEditor(st),
    "ResearcherPicker": lambda st, ctx: widgets.ResearcherPicker(st),
    "ResourcePackView": lambda st, ctx: widgets.ResourcePackView(st),
    "SearchView": lambda st, ctx: widgets.SearchView(st),
    "SpeakerMapEditor": lambda st, ctx: widgets.SpeakerMapEditor(st),
    "TensionBoard": lambda st, ctx: widgets.TensionBoard(st, ctx["me"]),
    "TranscriptView": lambda st, ctx: widgets.TranscriptView(st, ctx["me"]),
    "RecallClosureView": lambda st, ctx: widgets.RecallClosureView(st),
    "ComparisonView": lambda st, ctx: widgets.ComparisonView(st, ctx["me"]),
    "MyNotesView": lambda st, ctx: widgets.MyNotesView(st, ctx["me"]),
    "StudySetupEditor": lambda st, ctx: widgets.StudySetupEditor(st),
}

STEP3_VIEWS = ("ResponsesView", "PollView", "CircleSortView", "DecisionLog", "LiveResponses")

# The plain message each widget shows in each case (substring of its visible text).
NOBODY = "no researchers yet"
NO_CODEBOOK = "No codebook imported from another tool yet"
STRANGER = NOT_A_RESEARCHER.format(actor="stranger")
_NO_WS = dict.fromkeys(STEP3_VIEWS, NO_WORKSHOP)
EXPECTED: dict[str, dict[str, str]] = {
    "empty": {
        "CodebookView": NO_CODEBOOK,
        "TranscriptView": NO_TRANSCRIPTS,
        "CodingView": NO_TRANSCRIPTS,
        "NoteEditor": NOBODY,
        "ResearcherPicker": NOBODY,
        "TensionBoard": STEP1_OPEN,
        "MeetingEditor": STEP1_OPEN,
        "WorkshopEditor": NO_FRAMEWORK,
        "ResourcePackView": NO_FRAMEWORK,
        "SpectrumEditor": NO_FRAMEWORK,
        "ReportView": NO_WORKSHOP,
        **_NO_WS,
    },
    "no_researchers": {
        "TranscriptView": NOBODY,
        "CodingView": NOBODY,
        "NoteEditor": NOBODY,
        "ResearcherPicker": NOBODY,
        "TensionBoard": STEP1_OPEN,
        "WorkshopEditor": NO_FRAMEWORK,
        **_NO_WS,
    },
    "stranger": {
        "TranscriptView": STRANGER,
        "CodingView": STRANGER,
        "NoteEditor": STRANGER,
        "ResearcherPicker": STRANGER,
        "TensionBoard": STEP1_OPEN,
    },
    "transcripts": {
        "TensionBoard": STEP1_OPEN,
        "MeetingEditor": STEP1_OPEN,
        "WorkshopEditor": NO_FRAMEWORK,
        "ResourcePackView": NO_FRAMEWORK,
        **_NO_WS,
    },
    "recall": {
        "TensionBoard": STEP1_OPEN,
        "MeetingEditor": STEP1_OPEN,
        "WorkshopEditor": NO_FRAMEWORK,
        "ResourcePackView": NO_FRAMEWORK,
        "SpectrumEditor": NO_FRAMEWORK,
        **_NO_WS,
    },
    "joint": {
        **_NO_WS,
        "SpectrumEditor": NO_WORKSHOP,
        "ReportView": NO_WORKSHOP,
        "CodebookView": NO_CODEBOOK,
    },
    "workshop": {
        **dict.fromkeys(STEP3_VIEWS, "This workshop is finished"),
        "CodebookView": NO_CODEBOOK,
    },
    "two_workshops": {},
}
# What must NOT be said once the thing is there.
ABSENT = {
    "workshop": [NO_WORKSHOP, NO_FRAMEWORK, STEP1_OPEN, NO_TRANSCRIPTS, NOBODY],
    "two_workshops": [NO_WORKSHOP, "This workshop is finished"],
    "joint": [STEP1_OPEN, NO_FRAMEWORK, NOBODY, NO_TRANSCRIPTS],
    "recall": [NO_TRANSCRIPTS, NOBODY],
}
CASES = list(EXPECTED)


@pytest.fixture
def study(request, tmp_path, second_study):
    case = request.param
    if case == "empty":
        st = Store(tmp_path / "empty", actor="rowan")
        yield st
        st.close()
        return
    if case == "stranger":
        yield second_study("recall", actor="stranger")
        return
    yield second_study(case)


def build_all(store, tmp_path, course, **extra):
    ctx = {"tmp": tmp_path, "course": course, **extra}
    ctx["me"] = widgets.ResearcherPicker(store)
    ctx["reader"] = widgets.TranscriptView(store, ctx["me"])
    built = {}
    for name in widgets.__all__:
        built[name] = BUILD[name](store, ctx)
    return built


def test_every_widget_has_an_entry():
    missing = sorted(set(widgets.__all__) - set(BUILD))
    assert not missing, f"add a constructor for {missing} to BUILD (and its stage messages)"


@pytest.mark.parametrize("study", CASES, indirect=True)
def test_every_widget_builds_and_says_what_is_missing(study, request, tmp_path, course_dir):
    case = request.node.callspec.params["study"]
    built = build_all(study, tmp_path, course_dir)
    problems = []
    for name, widget in built.items():
        text = visible_text(widget)
        assert "Traceback" not in text, name
        want = EXPECTED[case].get(name)
        if want and plain(want) not in text:
            problems.append(f"{name}: missing {want!r} in {text[:300]!r}")
        for unwanted in ABSENT.get(case, []):
            if plain(unwanted) in text and name not in EXPECTED[case]:
                problems.append(f"{name}: says {unwanted!r} although it is there")
    assert not problems, "\n".join(problems)


# -- two workshops: one default rule, a chosen workshop, a finished one read-only --------


def test_default_workshop_is_the_open_one_else_the_newest(second_study):
    st = second_study("two_workshops")
    first, second = st.workshops()
    assert st.default_workshop().id == second.id == st.workshop().id
    assert st.workshop_frozen_as(first.id) == 2 and st.workshop_frozen_as(second.id) is None
    as_(st, "Rowan").freeze_workshop_framework(second.id, "v3")
    assert st.default_workshop().id == second.id  # both finished: the newest
    # an open workshop older than a finished one is still the one meant
    st2 = second_study("workshop")
    done = st2.workshops()[0]
    older = as_lead(st2).add_workshop(date(2022, 1, 5), participants=["Ash Penhale"])
    assert [ws.id for ws in st2.workshops()] == [older.id, done.id]
    assert st2.default_workshop().id == older.id
    assert Store(st2.study_dir, actor="rowan").default_workshop().id == older.id
    empty = second_study("joint")
    assert empty.default_workshop() is None


@pytest.mark.parametrize("name", STEP3_VIEWS)
def test_step3_views_default_to_the_open_workshop_and_take_a_chosen_one(second_study, name):
    st = second_study("two_workshops")
    first, second = st.workshops()
    ctx = {}
    view = BUILD[name](st, ctx)
    text = visible_text(view)
    assert "2023-06-20" in text and "This workshop is finished" not in text
    older = BUILD[name](st, {"workshop": first.id})
    text = visible_text(older)
    assert "2022-06-21" in text and "This workshop is finished" in text
    assert "frozen as framework v2" in text


def test_a_finished_workshop_shows_its_decisions_read_only(second_study):
    st = second_study("two_workshops")
    first, second = st.workshops()
    done = widgets.DecisionLog(st, first.id)
    assert "D1" in done.log_table.value and "D2" in done.log_table.value
    assert done.record.disabled and done.revert.disabled and done.freeze.disabled
    live = widgets.DecisionLog(st, second.id)
    assert not live.record.disabled and "no decision yet" in live.log_table.value
    poll = widgets.PollView(st)  # the open workshop's open poll: voting goes on
    assert not poll.cast_button.disabled and "open" in poll.header.value
    closed = widgets.PollView(st, workshop=first.id)  # the finished one's tally
    assert closed.cast_button.disabled and "ballots" in visible_text(closed)


def test_an_unknown_workshop_is_said_plainly(second_study):
    st = second_study("two_workshops")
    for name in STEP3_VIEWS:
        text = visible_text(BUILD[name](st, {"workshop": 99}))
        assert "no workshop 99" in text, name


# -- who is working ----------------------------------------------------------------------


def test_picker_follows_coprod_user_and_the_actor_argument(second_study, monkeypatch):
    st = second_study("recall")
    monkeypatch.setenv("COPROD_USER", "Quill")  # case does not matter
    monkeypatch.setenv("JUPYTERHUB_USER", "tamsin")  # COPROD_USER comes first
    env = Store(st.study_dir)
    assert env.actor == "Quill" and widgets.ResearcherPicker(env).value == "Quill"
    monkeypatch.delenv("COPROD_USER")
    assert widgets.ResearcherPicker(Store(st.study_dir)).value == "Tamsin"
    picker = widgets.ResearcherPicker(Store(st.study_dir, actor="rowan"))
    assert picker.value == "Rowan" and picker.dropdown.disabled
    assert "Rowan (login rowan), lead" == picker.dropdown.label
    assert st.acting_researcher().name == "Rowan"


def test_picker_is_no_choice_and_nobody_is_said_plainly(second_study):
    st = second_study("recall", actor="quill")
    picker = widgets.ResearcherPicker(st)
    with pytest.raises(traitlets.TraitError, match="not a choice"):
        picker.value = "Rowan"
    assert picker.value == "Quill"
    stranger = second_study("recall", actor="x-visitor")
    nobody = widgets.ResearcherPicker(stranger)
    assert nobody.value is None and stranger.acting_researcher() is None
    assert plain(NOT_A_RESEARCHER.format(actor="x-visitor")) in visible_text(nobody)
    with pytest.raises(traitlets.TraitError):
        nobody.value = "Quill"
    # adding yourself to the team, then refresh(): the picker follows, and so do the views
    editor = widgets.NoteEditor(stranger, nobody)
    assert editor.text.disabled and editor.researcher is None
    stranger.add_researcher("Visitor", "x-visitor")
    nobody.refresh()
    assert nobody.value == "Visitor" and nobody.dropdown.label == "Visitor (login x-visitor)"
    assert "not a researcher" not in visible_text(nobody)
    assert not editor.text.disabled and editor.researcher == "Visitor"
    editor.partnership.value = "GULL"
    editor.text.value = "A visitor's note"
    assert [n.text for n in as_(stranger, "Visitor").notes()] == ["A visitor's note"]


def test_no_researchers_yet_reading_works_writing_says_why(second_study):
    st = second_study("no_researchers")
    me = widgets.ResearcherPicker(st)
    reader = widgets.TranscriptView(st, me)
    assert me.value is None and reader.page_turns  # the transcripts can be read
    assert reader.read.disabled
    assert plain(NO_RESEARCHERS) in visible_text(me)
    editor = widgets.NoteEditor(st, me, transcript_view=reader)
    assert editor.text.disabled and "Until then you cannot write notes." in visible_text(editor)


def test_views_default_to_the_researcher_who_is_working(second_study):
    st = second_study("recall", actor="tamsin")
    assert widgets.TranscriptView(st).researcher == "Tamsin"
    assert widgets.NoteEditor(st).researcher == "Tamsin"
    assert widgets.TensionBoard(st).viewer == "Tamsin"


def test_spectrum_editor_takes_a_chosen_framework_version(second_study):
    st = second_study("workshop")
    newest = widgets.SpectrumEditor(st)
    assert [c for _, c in newest.tension.options] == ["H1", "H2", "H3", "H4"]
    v1 = widgets.SpectrumEditor(st, version=1)
    assert [c for _, c in v1.tension.options] == ["H1", "H2", "H3"]
    gone = widgets.SpectrumEditor(st, version=7)
    assert "no framework version 7" in visible_text(gone) and gone.save.disabled


# -- the second study itself ---------------------------------------------------------------


def test_second_study_shares_no_name_with_the_demo():
    import tomllib
    from pathlib import Path

    from coprod_nb.seed.demo import demo_data_dir

    names = set()
    for f in demo_data_dir().glob("*.toml"):
        data = tomllib.loads(f.read_text(encoding="utf-8"))
        for section in ("partnerships", "researchers", "participants", "people"):
            for entry in data.get(section, []):
                for key in ("short", "name", "pseudonym", "login"):
                    if entry.get(key):
                        names.add(str(entry[key]))
    words = {part for n in names for part in n.split() if len(part) > 3 and part[0].isupper()}
    words |= {n for n in names if n.isupper() or n.islower()}  # short names and logins
    here = Path(__file__).parent / "second_study"
    text = " ".join(
        p.read_text(encoding="utf-8")
        for p in sorted(here.rglob("*"))
        if p.suffix != ".pyc"
        if p.is_file()
    )
    found = sorted(wd for wd in words if re.search(rf"\b{re.escape(wd)}\b", text))
    # generic words that happen to be capitalised parts of demo names are allowed
    assert not [wd for wd in found if wd not in {"Health", "Research", "Partnership", "City"}]


def test_second_study_builds_on_each_database(tmp_path, db_url):
    from tests.second_study import CATEGORIES, LEAD, PARTICIPANTS, build_second_study

    st = build_second_study(tmp_path / "s", "workshop", db_url, second_workshop=True)
    try:
        assert st.note_categories() == CATEGORIES and st.acting_researcher().name == LEAD
        assert [p.name for p in st.participants()] == list(PARTICIPANTS)
        assert [t.source_format for t in st.transcripts()] == ["vtt", "txt", "srt"]
        assert st.step_closed() and [v.version for v in st.framework_versions()] == [1, 2]
        assert len(st.workshops()) == 2 and st.default_workshop().id == st.workshops()[1].id
        assert st.unmatched_speakers() == {}
    finally:
        st.close()


def test_step2_views_say_step1_is_open_until_the_lead_closes_it(second_study):
    st = second_study("recall", actor="rowan")
    me = widgets.ResearcherPicker(st)
    board, meeting = widgets.TensionBoard(st, me), widgets.MeetingEditor(st)
    assert plain(STEP1_OPEN) in visible_text(board) and plain(STEP1_OPEN) in visible_text(meeting)
    as_(st, "Rowan").close_recall()
    board.refresh()
    meeting.refresh()
    assert STEP1_OPEN not in visible_text(board) and STEP1_OPEN not in visible_text(meeting)
    st.actor = "nobody-here"
    me.refresh()  # the board follows the picker: nobody at the board is said plainly
    assert "Until then you cannot work at the board." in visible_text(board)
