"""Course mode: roster and groups, progress counts, the role-play workshop, the dashboard."""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib

import pandas as pd
import pytest

from coprod_nb import course as course_mod
from coprod_nb.cli import main
from coprod_nb.course import (
    course_cast,
    course_progress,
    create_course,
    form_groups,
    load_course,
    move_student,
    plot_course_progress,
    read_roster,
    roleplay_workshop,
)
from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.widgets.course import CourseSetup, InstructorDashboard
from tests.acting import as_

HOSTILE = "<img src=x onerror=alert(1)>"
WHEN = dt.date(2025, 3, 14)


@pytest.fixture(scope="session")
def course_template(tmp_path_factory):
    """Six students, group size 4: two groups of three, built once per session."""
    d = tmp_path_factory.mktemp("course-template") / "course"
    create_course(d, 6, name="Methods seminar")
    return d


@pytest.fixture
def course_dir(tmp_path, course_template):
    dest = tmp_path / "course"
    shutil.copytree(course_template, dest)
    return dest


def _row(progress: pd.DataFrame, student: str) -> dict:
    return progress.set_index("student").loc[student].to_dict()


def _freeze_v1(course, group: int) -> None:
    with course.open_group(group) as store:
        store.add_tension("plain talk vs jargon", "plain talk", "jargon", status="agreed")
        if not store.step_closed():
            store.close_recall()  # v1 is frozen after step 1, by the lead (the instructor)
        store.freeze_framework("v1")


# -- creation ----------------------------------------------------------------------------


def test_create_course_layout_roster_and_team(course_dir, tmp_path):
    course = load_course(course_dir)
    assert sorted(p.name for p in course_dir.iterdir()) == ["course.toml", "groups"]
    assert sorted(p.name for p in (course_dir / "groups").iterdir()) == ["group-1", "group-2"]
    assert [(s.name, s.login, s.group) for s in course.students] == [
        ("Student 01", "student01", 1),
        ("Student 02", "student02", 1),
        ("Student 03", "student03", 1),
        ("Student 04", "student04", 2),
        ("Student 05", "student05", 2),
        ("Student 06", "student06", 2),
    ]
    assert (course.name, course.instructor, course.instructor_login) == (
        "Methods seminar",
        "Instructor",
        "instructor",
    )
    raw = tomllib.loads((course_dir / "course.toml").read_text(encoding="utf-8"))
    assert raw["students"][3] == {"name": "Student 04", "login": "student04", "group": 2}

    from coprod_nb.seed.demo import build_demo

    with build_demo(tmp_path / "demo", stage="transcripts") as demo:
        demo_texts = [t.text for t in demo.transcripts()]
    for g, members in ((1, ["Student 01", "Student 02", "Student 03"]), (2, ["Student 04"])):
        with course.open_group(g) as store:
            team = {r.name: (r.login, r.lead) for r in store.researchers()}
            assert team["Instructor"] == ("instructor", True)
            for name in members:
                assert team[name] == (name.replace(" ", "").lower(), False)
            assert not {"Alder", "Birch", "Cedar"} & set(team)  # no demo researchers
            assert store.study().name == f"Methods seminar: group {g}"
            assert len(store.partnerships()) == 5 and len(store.participants()) == 5
            # the same transcripts as the demo, pseudonymised the same way
            assert [t.text for t in store.transcripts()] == demo_texts
            assert not as_(store, "instructor").notes() and not store.tensions()
            assert store.step_closure() is None


def test_students_are_picked_by_their_hub_login(course_dir, monkeypatch):
    from coprod_nb.storage.store import default_actor
    from coprod_nb.widgets import ResearcherPicker

    monkeypatch.delenv("COPROD_USER", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "student05")
    with load_course(course_dir).open_group(2, actor=default_actor()) as store:
        assert ResearcherPicker(store).value == "Student 05"
    with load_course(course_dir).open_group(2, actor="STUDENT05") as store:
        assert ResearcherPicker(store).value == "Student 05"


@pytest.mark.parametrize(
    ("count", "size", "expected"),
    [
        (6, 4, [1, 1, 1, 2, 2, 2]),
        (10, 4, [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]),
        (4, 4, [1, 1, 1, 1]),
        (5, 2, [1, 1, 1, 2, 2]),  # nobody is left alone
        (1, 4, [1]),
    ],
)
def test_groups_are_balanced_and_deterministic(count, size, expected):
    assert form_groups(count, size) == expected == form_groups(count, size)


@pytest.mark.parametrize("count", range(2, 41))
@pytest.mark.parametrize("size", [3, 4, 5, 6])
def test_group_sizes_differ_by_at_most_one(count, size):
    sizes = pd.Series(form_groups(count, size)).value_counts()
    assert sizes.max() - sizes.min() <= 1
    assert sizes.max() <= size and sizes.min() >= 2


def test_roster_csv(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "\ufeffName,login,email\n"
        "Ada Fenwick,afenwick,ignored@example.org\n"
        ",,\n"
        "Zoë Quill,,\n"
        "Rui Tanaka,rtanaka\n",
        encoding="utf-8",
    )
    assert read_roster(roster) == [
        ("Ada Fenwick", "afenwick"),
        ("Zoë Quill", "zoequill"),
        ("Rui Tanaka", "rtanaka"),
    ]
    course = create_course(tmp_path / "c", roster, group_size=3)
    assert [(s.name, s.login, s.group) for s in course.students] == [
        ("Ada Fenwick", "afenwick", 1),
        ("Zoë Quill", "zoequill", 1),
        ("Rui Tanaka", "rtanaka", 1),
    ]
    with course.open_group(1) as store:
        assert store.researcher("zoequill").name == "Zoë Quill"


def test_names_survive_the_course_file(tmp_path):
    names = ['Zoë "Zed" O\'Neill', "Back\\slash Bo", "Émile 🦊 Fox", HOSTILE]
    course = create_course(tmp_path / "c", names, group_size=2, instructor="Dr Mira Holt")
    again = load_course(tmp_path / "c")
    assert [s.name for s in again.students] == names
    assert [s.login for s in again.students] == [
        "zoezedoneill",
        "backslashbo",
        "emilefox",
        "imgsrcxonerroralert1",
    ]
    assert again == course and again.instructor_login == "drmiraholt"


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        ("student,login\nAda,ada\n", "row 1", "no 'name' column"),
        ("name,login\nAda,ada\n,bo\n", "row 3", "needs a name"),
        ("name,login\nAda,ada\nBo,ADA\n", "row 3", "login 'ADA' is already used by row 2"),
        ("name\nAda Fenwick\nada  fenwick\n", "row 3", "name 'ada fenwick' is already used"),
        ("name,login\nAda,has space\n", "row 2", "is not a user name"),
        ("name,login\nAda,4711\n", "row 2", "only digits"),
        ("name\n李雷\n", "row 2", "cannot make a login"),
        ("name\nInstructor\n", "row 2", "used by the instructor"),
        ("name,login\n", None, "names no student"),
        ("", None, "the file is empty"),
    ],
)
def test_bad_roster_names_file_row_and_problem_and_writes_nothing(
    tmp_path, content, where, problem
):
    roster = tmp_path / "class-list.csv"
    roster.write_text(content, encoding="utf-8")
    target = tmp_path / "course"
    with pytest.raises(InvalidInput) as err:
        create_course(target, roster)
    assert err.value.file == "class-list.csv"
    assert err.value.place == where
    assert problem in str(err.value)
    assert not target.exists()


def test_roster_that_is_not_utf8_or_missing(tmp_path):
    bad = tmp_path / "latin.csv"
    bad.write_bytes("name\nZo\xeb\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match=r"latin.csv: not UTF-8 text \(byte 7\)"):
        read_roster(bad)
    with pytest.raises(InvalidInput, match="no such file"):
        read_roster(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("students", "group_size", "match"),
    [
        (0, 4, "number of students is 1 to 500"),
        (True, 4, "number of students or their names"),
        (6, 1, "at least 2 students"),
        (["Ada", "", "Bo"], 4, "student 2: a student needs a name"),
    ],
)
def test_bad_arguments_write_nothing(tmp_path, students, group_size, match):
    with pytest.raises(InvalidInput, match=match):
        create_course(tmp_path / "c", students, group_size=group_size)
    assert not (tmp_path / "c").exists()


def test_non_empty_folder_is_refused_and_left_alone(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "thesis.md").write_text("mine")
    with pytest.raises(InvalidInput, match="not empty"):
        create_course(target, 4)
    assert [p.name for p in target.iterdir()] == ["thesis.md"]


def test_a_failure_half_way_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    built = []

    def failing(course, group, manifest):
        if group == 2:
            raise InvalidInput("disk full (simulated)")
        built.append(group)
        real(course, group, manifest)

    real = course_mod._build_group
    monkeypatch.setattr(course_mod, "_build_group", failing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInput, match="disk full"):
        create_course(empty, 6)
    assert built == [1] and list(empty.iterdir()) == []
    with pytest.raises(InvalidInput):
        create_course(tmp_path / "new", 6)
    assert not (tmp_path / "new").exists()


def test_nothing_is_written_outside_the_course_folder(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    # a team's PostgreSQL must not receive the class studies (nothing listens on port 9)
    monkeypatch.setenv("COPROD_DB", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    create_course(tmp_path / "course", 2)
    course_progress(tmp_path / "course")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course", "cwd"]
    assert list(cwd.iterdir()) == []


def test_load_course_errors(tmp_path):
    with pytest.raises(NotFound, match="no course in"):
        load_course(tmp_path)
    (tmp_path / "course.toml").write_text("[course]\nname = 'x'\n")
    with pytest.raises(InvalidInput, match="not a course file"):
        load_course(tmp_path)


# -- moving a student --------------------------------------------------------------------


def test_move_student_before_any_note(course_dir):
    course = load_course(course_dir)
    with course.open_group(1, actor="student03") as store:
        store.mark_read("student03", store.transcripts()[0].title)
    moved = move_student(course_dir, "student03", 2)
    assert moved.student("Student 03").group == 2
    assert load_course(course_dir).student("student03").group == 2
    with course.open_group(1) as g1, course.open_group(2) as g2:
        with pytest.raises(NotFound):
            g1.researcher("Student 03")
        assert g2.researcher("student03").name == "Student 03"
        assert [who for who, _ in g2.readings()] == ["Student 03"]  # the mark moved along
        assert g1.readings() == []
    progress = course_progress(course_dir)
    assert _row(progress, "Student 03")["group"] == 2
    assert _row(progress, "Student 03")["transcripts_read"] == 1


def test_move_student_refused_once_they_wrote_a_note(course_dir):
    course = load_course(course_dir)
    with course.open_group(2, actor="student04") as store:
        note = store.add_note("student04", "TCP", "The red card is a promise.")
        store.delete_note(note.id, "student04")  # even a deleted note counts
    with pytest.raises(Forbidden, match="Student 04 has written notes in group 2"):
        move_student(course_dir, "Student 04", 1)
    with course.open_group(2) as store:
        with pytest.raises(Forbidden, match="has written notes"):
            store.remove_researcher("student04")  # the store keeps the rule too
        with pytest.raises(Forbidden, match="leads the study"):
            store.remove_researcher("instructor")
    assert load_course(course_dir).student("student04").group == 2
    with course.open_group(1) as g1, course.open_group(2) as g2:
        assert g2.researcher("student04")
        with pytest.raises(NotFound):
            g1.researcher("student04")


@pytest.mark.parametrize(
    ("student", "group", "error", "match"),
    [
        ("student01", 1, InvalidInput, "already in group 1"),
        ("student01", 3, InvalidInput, "groups 1 to 2"),
        ("student01", 0, InvalidInput, "a group is a number"),
        ("nobody", 2, NotFound, "no student 'nobody'"),
    ],
)
def test_move_student_bad_requests(course_dir, student, group, error, match):
    before = (course_dir / "course.toml").read_text()
    with pytest.raises(error, match=match):
        move_student(course_dir, student, group)
    assert (course_dir / "course.toml").read_text() == before


# -- progress ----------------------------------------------------------------------------


def test_progress_counts_follow_reading_writing_and_closing(course_dir):
    course = load_course(course_dir)
    progress = course_progress(course_dir)
    assert list(progress.columns) == course_mod.PROGRESS_COLUMNS
    assert list(progress["student"]) == [f"Student 0{i}" for i in range(1, 7)]
    assert progress["transcripts"].tolist() == [5] * 6
    assert (
        progress[["transcripts_read", "notes", "group_tensions", "roleplay_responses"]].sum().sum()
        == 0
    )
    assert not progress["step1_closed"].any()

    with course.open_group(1, actor="student01") as store:
        titles = [t.title for t in store.transcripts()]
        store.mark_read("student01", titles[0])
        store.mark_read("student01", titles[1])
        store.add_note("student01", "LAHRP", "SECRET-TEXT-1 about the steering group")
        gone = store.add_note("student01", "WVC", "SECRET-TEXT-2")
        store.add_note("student01", "WVC", "SECRET-TEXT-3")
        store.delete_note(gone.id, "student01")
    with course.open_group(2, actor="student06") as store:
        store.mark_read("student06", titles[4])
        store.add_note("student06", "CCPH", "SECRET-TEXT-4")
        store.add_tension("speed vs depth", "speed", "depth")

    progress = course_progress(course_dir)
    assert _row(progress, "Student 01") == {
        "login": "student01",
        "group": 1,
        "transcripts_read": 2,
        "transcripts": 5,
        "notes": 2,
        "step1_closed": False,
        "group_tensions": 0,
        "roleplay_responses": 0,
    }
    assert _row(progress, "Student 02")["notes"] == 0
    assert (
        _row(progress, "Student 06")["transcripts_read"],
        _row(progress, "Student 06")["notes"],
    ) == (1, 1)
    assert progress.loc[progress["group"] == 2, "group_tensions"].tolist() == [1, 1, 1]
    assert "SECRET-TEXT" not in progress.to_string()

    with course.open_group(1) as store:
        store.close_recall(course.instructor)
    progress = course_progress(course_dir)
    assert progress["step1_closed"].tolist() == [True, True, True, False, False, False]

    ax = plot_course_progress(progress)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "Student 01 · group 1 ✓"
    assert [p.get_width() for p in ax.patches[:6]] == [2, 0, 0, 0, 0, 1]
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


# -- the role-play workshop --------------------------------------------------------------


def test_roleplay_workshop_next_group_plays_the_leaders(course_dir):
    course = load_course(course_dir)
    _freeze_v1(course, 1)
    result = roleplay_workshop(course_dir, WHEN, actor="instructor")
    assert result["group"].tolist() == [1, 2]
    assert result["status"].tolist() == [
        "set up: leaders played by group 2",
        "skipped: framework v1 is not frozen yet",
    ]
    assert result["workshop"].iloc[0] == 1 and pd.isna(result["workshop"].iloc[1])
    with course.open_group(1) as store:
        ws = store.workshop()
        leaders = [p.name for p in store.participants()]
        assert (ws.date, ws.base_version, ws.facilitators) == (WHEN, 1, ["Instructor"])
        assert ws.participants == leaders
    with course.open_group(2) as store:
        assert store.workshops() == []

    cast = course_cast(course_dir)
    assert list(cast.columns) == course_mod.CAST_COLUMNS
    assert cast["participant"].tolist() == sorted(leaders)
    assert cast["group"].unique().tolist() == [1]
    assert cast["student_group"].unique().tolist() == [2]
    # dealt round robin over group 2, in the leaders' order
    assert cast["student"].tolist() == [
        "Student 04",
        "Student 05",
        "Student 06",
        "Student 04",
        "Student 05",
    ]

    # a student acting as a leader answers a card: counted for them, not for others
    role = cast.iloc[1]
    with course.open_group(1, actor=role["login"]) as store:
        store.set_response(1, role["participant"], "T1", comment="We never had the budget.")
        store.set_response(1, role["participant"], "T1", circle="inner")  # same card
    progress = course_progress(course_dir)
    assert progress.set_index("student")["roleplay_responses"].to_dict() == {
        "Student 01": 0,
        "Student 02": 0,
        "Student 03": 0,
        "Student 04": 0,
        "Student 05": 1,
        "Student 06": 0,
    }

    # group 2 catches up: set up now, group 1 untouched
    _freeze_v1(course, 2)
    again = roleplay_workshop(course_dir, WHEN, actor="instructor")
    assert again["status"].tolist() == ["already set up", "set up: leaders played by group 1"]
    cast = course_cast(course_dir)
    assert cast.loc[cast["group"] == 2, "student_group"].unique().tolist() == [1]
    with course.open_group(1) as store:
        assert len(store.workshops()) == 1


def test_roleplay_with_one_group_casts_its_own_students(tmp_path):
    create_course(tmp_path / "c", ["Ada", "Bo"], group_size=4)
    course = load_course(tmp_path / "c")
    _freeze_v1(course, 1)
    result = roleplay_workshop(tmp_path / "c", WHEN, actor="instructor")
    assert result["status"].tolist() == ["set up: leaders played by group 1"]
    assert course_cast(tmp_path / "c")["student"].tolist() == ["Ada", "Bo", "Ada", "Bo", "Ada"]


# -- widgets -----------------------------------------------------------------------------


def test_dashboard_renders_counts_and_escapes_names(tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_USER", "instructor")  # the instructor's server (hub environment)
    d = tmp_path / "c"
    create_course(d, [HOSTILE, "Bea Okoro", "Cal Varga"], name="<b>Seminar</b>")
    view = InstructorDashboard(d)
    assert "cp-instructor-dashboard" in view._dom_classes
    assert "<img src=x" not in view.table.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.table.value
    assert "<b>Seminar</b>" not in view.title.value and "&lt;b&gt;Seminar" in view.title.value
    assert len(view.figure.children) == 1  # the progress figure
    assert view.progress["notes"].sum() == 0

    course = load_course(d)
    with course.open_group(1, actor="imgsrcxonerroralert1") as store:
        store.mark_read(HOSTILE, store.transcripts()[0].title)
    view.refresh_button.click()
    assert view.progress.set_index("student").loc[HOSTILE, "transcripts_read"] == 1

    view.roleplay_date.value = WHEN
    view.roleplay_button.click()
    assert "skipped: framework v1 is not frozen yet" in view.roleplay_status.value
    assert view.cast.value == ""
    _freeze_v1(course, 1)
    view.roleplay_button.click()
    assert "set up: leaders played by group 1" in view.roleplay_status.value
    assert "coprod-nb serve-workshop" in view.roleplay_status.value
    assert "Role-play cast" in view.cast.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.cast.value
    assert "<img src=x" not in view.cast.value


def test_course_setup_creates_and_reports(tmp_path):
    view = CourseSetup(tmp_path / "new")
    assert "cp-course-setup" in view._dom_classes
    view.students.value = 5
    view.group_size.value = 2
    view.create.click()
    assert "cp-ok" in view.status.value
    assert "group 2 (groups/group-2): Student 04, Student 05" in view.status.value
    assert "COPROD_STUDY=" in view.status.value
    assert view.course.groups == 2 and load_course(tmp_path / "new").groups == 2

    view.create.click()  # the folder now holds a course: it is opened, not refused
    assert "cp-ok" in view.status.value and "Opened the existing course" in view.status.value
    (tmp_path / "notacourse").mkdir()
    (tmp_path / "notacourse" / "x.txt").write_text("x")
    view.folder.value = str(tmp_path / "notacourse")
    view.create.click()  # a folder with other files is still refused
    assert "cp-error" in view.status.value and "not empty" in view.status.value

    roster = tmp_path / "list.csv"
    roster.write_text(f"name\n{HOSTILE}\n\n{HOSTILE}\n", encoding="utf-8")
    view.folder.value = str(tmp_path / "other")
    view.roster.value = str(roster)
    view.create.click()
    assert "list.csv, row 4" in view.status.value and "cp-error" in view.status.value
    assert "<img" not in view.status.value
    assert not (tmp_path / "other").exists()


# -- command line ------------------------------------------------------------------------


def test_cli_create_progress_roleplay(tmp_path, capsys):
    d = tmp_path / "c"
    assert main(["course", str(d), "--students", "4", "--group-size", "2", "--name", "Sem"]) == 0
    out = capsys.readouterr().out
    assert "Course 'Sem': 4 students in 2 groups" in out
    assert "group 2 (groups/group-2): Student 03, Student 04" in out

    with load_course(d).open_group(2, actor="student03") as store:
        store.add_note("student03", "AVC", "x")
    assert main(["course", str(d), "--progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == course_mod.PROGRESS_COLUMNS
    assert lines[3].split() == ["Student", "03", "student03", "2", "0", "5", "1", "False", "0", "0"]

    _freeze_v1(load_course(d), 2)
    assert main(["course", str(d), "--roleplay", "--date", "2025-03-14", "--as", "instructor"]) == 0
    out = capsys.readouterr().out
    assert "group 1 (groups/group-1): skipped: framework v1 is not frozen yet" in out
    assert "group 2 (groups/group-2): set up: leaders played by group 1" in out
    assert f"coprod-nb serve-workshop {d / 'groups/group-2'}" in out
    with load_course(d).open_group(2) as store:
        assert store.workshop().date == WHEN


def test_cli_roster(tmp_path, capsys):
    roster = tmp_path / "r.csv"
    roster.write_text("name,login\nAda Fenwick,afen\nBo Lind,blind\n", encoding="utf-8")
    d = tmp_path / "c"
    assert main(["course", str(d), "--roster", str(roster), "--instructor", "Dr Holt"]) == 0
    assert "led by Dr Holt (login drholt)" in capsys.readouterr().out
    assert [s.login for s in load_course(d).students] == ["afen", "blind"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--students", "0"],
        ["--students", "six"],
        ["--students", "4", "--group-size", "0"],
        ["--students", "4", "--roster", "r.csv"],
        ["--roleplay", "--date", "14/03/2025"],
        [],
    ],
)
def test_cli_usage_errors_exit_2(tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(["course", str(tmp_path / "c"), *argv])
    assert exc.value.code == 2
    assert not (tmp_path / "c").exists()


def test_cli_library_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nAda\n\nAda\n", encoding="utf-8")
    cases = [
        (["course", str(tmp_path / "busy"), "--students", "3"], "not empty"),
        (["course", str(tmp_path / "new"), "--roster", str(bad)], "bad.csv, row 4: name 'Ada'"),
        (["course", str(tmp_path / "none"), "--progress"], "no course in"),
    ]
    for argv, text in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and text in err and err.count("\n") == 1
    assert not (tmp_path / "new").exists() and not (tmp_path / "none").exists()


def test_a_quote_left_open_is_refused_not_merged(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text('name\n"unterminated\nBob\n', encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        create_course(tmp_path / "c", roster)
    assert "quote left open" in str(err.value) and err.value.file == "class.csv"
    assert not (tmp_path / "c").exists()


def test_a_vertical_tab_inside_a_name_does_not_split_the_student(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("name\nBo\x0bb\nCarl\n", encoding="utf-8")
    assert read_roster(roster) == [("Bo b", "bob"), ("Carl", "carl")]


def test_a_course_folder_under_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["course", str(tmp_path / "afile" / "sub"), "--students", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cannot write the course" in err
    assert "Traceback" not in err


def test_a_course_file_with_a_student_in_no_group_is_refused(course_dir):
    path = course_dir / "course.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("group = 1", "group = 9", 1), encoding="utf-8")
    with pytest.raises(InvalidInput, match="not 1 to"):
        load_course(course_dir)
