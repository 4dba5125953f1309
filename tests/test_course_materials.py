"""Materials generated from a course of 12 students: answer keys, facilitator scripts, slides.

Written early (before any note) and late (notes, a frozen framework, a role-play with
responses); each file holds its own group's actual tensions and answers, is well-formed
HTML with every value escaped, and never a note's text.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser

import pytest

from coprod_nb.cli import main
from coprod_nb.course import (
    close_recall_groups,
    create_course,
    freeze_groups,
    load_course,
    roleplay_workshop,
)
from coprod_nb.errors import InvalidInput
from coprod_nb.teaching.exercises import EXERCISES
from coprod_nb.teaching.materials import write_materials

HOSTILE = "<script>alert(1)</script>"
VOID = {"meta", "br", "img", "hr", "link", "input"}


class _Balanced(HTMLParser):
    """Fails on a tag closed that was not open: the page's structure is intact."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def _parse(path) -> str:
    text = path.read_text(encoding="utf-8")
    parser = _Balanced()
    parser.feed(text)
    parser.close()
    assert parser.stack == [] and parser.scripts == 0
    return text


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    d = tmp_path_factory.mktemp("class12m") / "course"
    create_course(d, 12, name=f"Methods {HOSTILE}")
    return d


@pytest.fixture
def course12(tmp_path, template):
    shutil.copytree(template, tmp_path / "course")
    return tmp_path / "course"


def test_materials_early_before_any_note(course12, tmp_path, capsys):
    out = tmp_path / "materials"
    assert main(["course", str(course12), "--materials", str(out)]) == 0
    written = capsys.readouterr().out.splitlines()
    assert len(written) == 3 * 2 + 1
    for g in (1, 2, 3):
        key = _parse(out / f"group-{g}" / "answer-key.html")
        assert all(f"<td>{e}</td>" in key for e in EXERCISES)
        assert "not yet:" in key  # step 1 is open: later answers are not computed yet
        script = _parse(out / f"group-{g}" / "facilitator-script.html")
        assert "No framework frozen yet" in script and "No role-play set up yet" in script
    slides = _parse(out / "slides.html")
    assert slides.count('class="slide"') == 5
    assert HOSTILE not in slides and "&lt;script&gt;" in slides
    # the rule of every output: an existing file is replaced only with --force
    assert main(["course", str(course12), "--materials", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["course", str(course12), "--materials", str(out), "--force"]) == 0


def test_materials_late_hold_each_groups_tensions_and_answers(course12, tmp_path):
    course = load_course(course12)
    secret = {}
    for g in (1, 2, 3):
        for s in course.members(g):
            with course.open_group(g, actor=s.login) as store:
                secret[s.login] = f"private reading of {s.name}"
                store.add_note(s.login, "AVC", secret[s.login])
        with course.open_group(g) as store:
            store.add_tension(
                f"tension {HOSTILE} of group {g}", f"pole A{g}", f"pole B{g}", status="agreed"
            )
    close_recall_groups(course12, actor="instructor")
    freeze_groups(course12, actor="instructor")
    roleplay_workshop(course12, actor="instructor")
    paths = write_materials(course12, tmp_path / "m")
    assert len(paths) == 7 and all(p.is_file() for p in paths)
    for g in (1, 2, 3):
        key = _parse(tmp_path / "m" / f"group-{g}" / "answer-key.html")
        with course.open_group(g) as store:
            expected = EXERCISES["01-a"].solve(store).answer
        assert ", ".join(sorted(expected)) in key
        script = _parse(tmp_path / "m" / f"group-{g}" / "facilitator-script.html")
        assert f"tension &lt;script&gt;alert(1)&lt;/script&gt; of group {g}" in script
        assert f"pole A{g}" in script and f"pole A{g % 3 + 1}" not in script
        assert "Framework v1" in script and "The cast" in script
        others = [s.name for s in course.members(g % 3 + 1)]  # the next group plays
        assert any(name in script for name in others)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert not any(t in text for t in secret.values())  # counts only, never a note
        assert HOSTILE not in text
    slides = _parse(tmp_path / "m" / "slides.html")
    assert "<td>4</td><td>4</td><td>yes</td>" in slides  # 4 students, 4 notes, closed


def test_materials_never_over_a_group_study(course12):
    with pytest.raises(InvalidInput):
        write_materials(course12, course12 / "groups" / "group-1" / "study.db")
