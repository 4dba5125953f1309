"""The instructor's acts on a course of 12 students: close step 1, freeze, role-play, links.

Each act runs for one group or all, as the person working, who must be the course's
instructor; a student (or anyone else) is refused and nothing changes. Tested early
(before any note) and late (notes written in every group). Also the hub's environment of
each member's server, the home set-up command, and notebook 05's set-up opening an
existing course.
"""

from __future__ import annotations

import shutil

import pytest

from coprod_nb.cli import main
from coprod_nb.course import (
    course_cast,
    create_course,
    hub_services,
    load_course,
    roleplay_links,
    student_environment,
)
from coprod_nb.errors import Forbidden, NotFound
from coprod_nb.widgets.course import CourseSetup
from tests.badinput import assert_refused

HUB = "https://hub.example.org"


@pytest.fixture(scope="module")
def class_template(tmp_path_factory):
    """Twelve students, groups of four: three group studies, built once."""
    d = tmp_path_factory.mktemp("class12") / "course"
    create_course(d, 12, name="Qualitative methods")
    return d


@pytest.fixture
def course12(tmp_path, class_template):
    dest = tmp_path / "course"
    shutil.copytree(class_template, dest)
    return dest


def _run(argv, capsys) -> list[str]:
    assert main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out.splitlines()


def _state(course, group: int) -> tuple[bool, list[int]]:
    with course.open_group(group) as store:
        return store.step_closed(), [v.version for v in store.framework_versions()]


def test_the_acts_for_one_group_at_an_early_stage(course12, capsys):
    c = load_course(course12)
    assert c.groups == 3 and len(c.students) == 12
    d, me = str(course12), ["--as", "instructor"]
    # before any note: freezing is skipped (step 1 open), closing group 2 only
    assert _run(["course", d, "--freeze", *me], capsys) == [
        f"group {g} (groups/group-{g}): skipped: step 1 is still open (close it first)"
        for g in (1, 2, 3)
    ]
    out = _run(["course", d, "--close-recall", "--group", "2", *me], capsys)
    assert out == ["group 2 (groups/group-2): step 1 closed: notes are now visible to the group"]
    assert [_state(c, g) for g in (1, 2, 3)] == [(False, []), (True, []), (False, [])]
    out = _run(["course", d, "--freeze", "--group", "2", *me], capsys)
    assert out == ["group 2 (groups/group-2): skipped: no agreed tension on the group's board"]

    with c.open_group(2, actor="student05") as store:  # a student of group 2 names a tension
        store.add_tension("quiet rooms vs open doors", "quiet rooms", "open doors")
    with c.open_group(2) as store:
        store.update_tension(store.tensions()[0].id, status="agreed")
    out = _run(["course", d, "--freeze", "--group", "2", "--label", "class v1", *me], capsys)
    assert out == ["group 2 (groups/group-2): froze framework v1 (1 agreed tensions)"]
    with c.open_group(2) as store:
        fv = store.framework_versions()[0]
        assert (fv.label, fv.frozen_by) == ("class v1", "Instructor")
        assert [t["name"] for t in fv.tensions] == ["quiet rooms vs open doors"]

    out = _run(["course", d, "--roleplay", "--group", "2", "--date", "2025-03-14", *me], capsys)
    assert out[0] == "group 2 (groups/group-2): set up: leaders played by group 3"
    cast = course_cast(course12)
    assert set(cast["group"]) == {2} and set(cast["student_group"]) == {3}
    out = _run(["course", d, "--links", HUB, "--group", "2", *me], capsys)
    assert len(out) == len(cast)
    assert all(f"{HUB}/services/workshop-2/?key=" in line for line in out)
    assert [s["name"] for s in hub_services(course12)] == ["workshop-2"]
    assert "/services/workshop-2/" in hub_services(course12)[0]["command"]
    assert "--behind-proxy" in hub_services(course12)[0]["command"]  # per role-player


@pytest.mark.parametrize(
    "act", [["--close-recall"], ["--freeze"], ["--roleplay"], ["--links", HUB]]
)
@pytest.mark.parametrize("who", ["student05", "alder", "Instructor2"])
def test_only_the_instructor_acts_and_a_refusal_changes_nothing(course12, capsys, act, who):
    argv = ["course", str(course12), *act, "--group", "1", "--as", who]
    for g in (1, 2, 3):  # every group study is unchanged, and nothing is written beside
        study = course12 / "groups" / f"group-{g}"
        if g == 1:
            assert_refused(argv, study, capsys, names=("only the course's instructor", who))
        else:
            assert main(argv) == 1
            capsys.readouterr()
    with pytest.raises(Forbidden):
        roleplay_links(course12, HUB, actor="student01")


@pytest.mark.parametrize("url", ["hub.example.org", "ftp://hub", "https://hub/?x=1", "https://h#a"])
def test_links_need_the_hubs_address(course12, capsys, url):
    argv = ["course", str(course12), "--links", url, "--as", "instructor"]
    assert_refused(argv, course12 / "groups" / "group-1", capsys, names=("hub's address", url))


def test_a_group_that_does_not_exist_is_a_clear_error(course12, capsys):
    argv = ["course", str(course12), "--freeze", "--group", "4", "--as", "instructor"]
    assert_refused(argv, course12 / "groups" / "group-1", capsys, names=("no group 4", "1 to 3"))
    for bad in ("0", "x"):  # not a group number at all: a usage error
        with pytest.raises(SystemExit) as stop:
            main(["course", str(course12), "--freeze", "--group", bad])
        assert stop.value.code == 2
        assert "--group" in capsys.readouterr().err


def test_the_acts_for_all_groups_late_with_notes(course12, capsys):
    c = load_course(course12)
    d, me = str(course12), ["--as", "instructor"]
    for g in (1, 2, 3):
        for s in c.members(g):
            with c.open_group(g, actor=s.login) as store:
                store.add_note(s.login, "AVC", f"{s.name}'s reading")
        with c.open_group(g) as store:
            store.add_tension(f"tension of group {g}", "one pole", "other pole", status="agreed")
    out = _run(["course", d, "--close-recall", *me], capsys)
    assert all("step 1 closed" in line for line in out) and len(out) == 3
    again = _run(["course", d, "--close-recall", "--group", "3", *me], capsys)
    assert again == ["group 3 (groups/group-3): step 1 was already closed"]
    out = _run(["course", d, "--freeze", *me], capsys)
    assert out == [
        f"group {g} (groups/group-{g}): froze framework v1 (1 agreed tensions)" for g in (1, 2, 3)
    ]
    out = _run(["course", d, "--freeze", "--group", "1", *me], capsys)  # a later version
    assert out == ["group 1 (groups/group-1): froze framework v2 (1 agreed tensions)"]
    assert [_state(c, g)[1] for g in (1, 2, 3)] == [[1, 2], [1], [1]]
    _run(["course", d, "--roleplay", *me], capsys)
    cast = course_cast(course12)
    assert sorted(set(cast["group"])) == [1, 2, 3]
    links = roleplay_links(course12, HUB + "/", actor="instructor")
    assert len(links) == len(cast) and links["link"].str.startswith(f"{HUB}/services/").all()
    assert [s["name"] for s in hub_services(course12)] == [f"workshop-{g}" for g in (1, 2, 3)]


def test_each_hub_user_gets_their_group_study_and_a_home(course12, tmp_path, capsys):
    c = load_course(course12)
    for s in c.students:
        env = student_environment(course12, s.login.upper())  # hub names ignore case
        assert env == {"COPROD_STUDY": str(c.group_dir(s.group)), "COPROD_USER": s.login}
    assert student_environment(course12, "instructor") == {
        "COPROD_COURSE": str(c.dir),
        "COPROD_USER": "instructor",
    }
    with pytest.raises(NotFound, match="not in the course"):
        student_environment(course12, "mallory")

    home = tmp_path / "home" / "student07"
    out = _run(["course", str(course12), "--setup-home", "student07", str(home)], capsys)
    assert (home / "01_individual_recall.ipynb").is_file()
    assert f"COPROD_STUDY={c.group_dir(2)}" in out[0]
    assert main(["course", str(course12), "--setup-home", "mallory", str(tmp_path / "m")]) == 1
    assert "not in the course" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_course_setup_opens_an_existing_course(course12):
    view = CourseSetup(course12)
    view.create.click()
    assert view.course is not None and view.course.name == "Qualitative methods"
    assert "Opened the existing course" in view.status.value
    assert "not empty" not in view.status.value
