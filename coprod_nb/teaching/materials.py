"""Teaching materials generated from a course's group studies, so they never go stale.

For each group: an answer key for the self-checks (:mod:`coprod_nb.teaching.exercises`,
each answer computed from the group's study as it stands) and a facilitator script for
its role-play workshop (the group's tensions, the poll, the circles, timings, the cast).
For the class: printable slides for the three sessions, with each group's counts.

Everything is printable HTML, every value escaped. Nothing shows the text of a note:
the materials give counts only. Files are written through the one output-path rule
(:mod:`coprod_nb.exchange.outputs`): never over a study's record, an existing file only
with ``force``, all or nothing.
"""

from __future__ import annotations

import os
from collections import Counter
from html import escape
from pathlib import Path

from coprod_nb.course import Course, course_cast, load_course
from coprod_nb.storage import Store
from coprod_nb.storage.workshop import CIRCLES

__all__ = ["answer_key_html", "facilitator_script_html", "slides_html", "write_materials"]

#: The role-play agenda, in minutes (the instructor guide's session 3).
AGENDA = (
    ("Welcome; the role-players read their leader's card", 5),
    ("Cards: a comment, a suggestion and a circle per tension", 20),
    ("Poll: nominate the tensions that matter most", 10),
    ("Circles: sort the tensions, inner to outer, and discuss", 15),
    ("Decisions: the facilitator records keep, merge, drop", 10),
)

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
td, th { border: 1px solid #999; padding: 0.25rem 0.5rem; text-align: left; }
section.slide { min-height: 90vh; border-bottom: 1px dashed #999; page-break-after: always; }
@media print { section.slide { border: none; } }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _answer_text(answer: object) -> str:
    if isinstance(answer, frozenset | set):
        return ", ".join(sorted(answer)) or "(none)"
    if isinstance(answer, float):
        return f"{answer:.0%}"
    return str(answer)


def answer_key_html(course: Course, group: int, store: Store) -> str:
    """The self-checks' answers for one group, computed from its study now."""
    from coprod_nb.teaching.exercises import EXERCISES, NotReady

    rows = []
    for ex in EXERCISES.values():
        try:
            answer = _answer_text(ex.solve(store).answer)
        except NotReady as exc:
            answer = f"not yet: {exc}"
        rows.append([ex.id, ex.notebook, ex.question, answer])
    body = (
        f"<p>{escape(course.name)}, group {group} ({escape(course.group_path(group))}). "
        "Each answer is computed from the group's study as it stood when this key was "
        "written: write it again after each session.</p>"
        + _table(["exercise", "notebook", "question", "answer"], rows)
    )
    return _page(f"Answer key: group {group}", body)


def facilitator_script_html(course: Course, group: int, store: Store) -> str:
    """The role-play script of one group: tensions, poll, circles, timings, the cast."""
    versions = store.framework_versions()
    cast = course_cast(course.dir)
    cast = cast[cast["group"] == group]
    parts = [
        f"<p>{escape(course.name)}, group {group}; facilitator {escape(course.instructor)}.</p>"
    ]
    if versions:
        fv = versions[-1]
        tensions = [t for t in fv.tensions if "code" in t]
        parts.append(f"<h2>Framework v{fv.version} ({escape(fv.label)})</h2>")
        parts.append(
            _table(
                ["code", "tension", "pole A", "pole B"],
                [
                    [t["code"], t["name"], t.get("pole_a", ""), t.get("pole_b", "")]
                    for t in tensions
                ],
            )
        )
    else:
        parts.append("<p>No framework frozen yet: the group freezes v1 before the role-play.</p>")
    parts.append("<h2>Timings</h2>")
    total = sum(m for _, m in AGENDA)
    parts.append(_table(["part", "minutes"], [[p, m] for p, m in AGENDA] + [["total", total]]))
    parts.append(
        "<h2>Circles</h2><p>Each tension goes to one circle: "
        + ", ".join(escape(c) for c in CIRCLES)
        + ".</p>"
    )
    if store.workshops():
        ws = store.workshop()
        poll = store.current_poll(ws.id)
        circles = Counter(r.circle for r in store.responses(ws.id) if r.circle)
        parts.append(
            f"<h2>Workshop of {ws.date:%Y-%m-%d} (id {ws.id})</h2>"
            f"<p>Poll: {escape(poll.name) if poll else 'none opened yet'}. "
            f"Card responses so far: {len(store.responses(ws.id))}; per circle: "
            + escape(", ".join(f"{c} {circles[c]}" for c in CIRCLES))
            + ".</p>"
        )
    if len(cast):
        parts.append("<h2>The cast</h2>")
        parts.append(
            _table(
                ["leader", "partnership", "played by", "login", "from group"],
                cast[
                    ["participant", "partnership", "student", "login", "student_group"]
                ].values.tolist(),
            )
        )
    else:
        parts.append(
            "<p>No role-play set up yet (<code>coprod-nb course COURSE --roleplay</code>).</p>"
        )
    return _page(f"Facilitator script: group {group}", "\n".join(parts))


def slides_html(course: Course, stores: dict[int, Store]) -> str:
    """Printable slides for the three sessions, one slide per section, with group counts."""
    from coprod_nb.course import note_counts

    rows = []
    for g, store in stores.items():
        notes = sum(note_counts(store).values())
        rows.append(
            [
                g,
                len(course.members(g)),
                notes,
                "yes" if store.step_closed() else "no",
                len(store.tensions()),
                len(store.framework_versions()),
            ]
        )
    counts = _table(
        ["group", "students", "notes", "step 1 closed", "tensions", "framework versions"], rows
    )
    slides = [
        (
            "The three steps",
            f"<p>{escape(course.name)}: {len(course.students)} students in "
            f"{course.groups} groups, each with its own study of five conversations.</p>",
        ),
        (
            "Session 1: individual recall",
            "<p>Read your group's transcripts and write blind "
            "notes per partnership: nobody sees another's notes until step 1 closes.</p>",
        ),
        (
            "Session 2: joint interpretation",
            "<p>Compare readings, name tensions between two "
            "poles, agree them; the instructor freezes framework v1.</p>",
        ),
        (
            "Session 3: the role-play workshop",
            "<p>Another group plays your partnership leaders: cards, poll, circles, decisions.</p>",
        ),
        ("Where the groups are", counts),
    ]
    body = "\n".join(
        f'<section class="slide"><h2>{escape(t)}</h2>{content}</section>' for t, content in slides
    )
    return _page(f"{course.name}: slides", body)


def write_materials(
    course_dir: str | os.PathLike, out: str | os.PathLike, *, force: bool = False
) -> list[Path]:
    """Write the class's materials into the folder ``out``; returns the files written.

    ``out/slides.html`` and, per group, ``out/group-N/answer-key.html`` and
    ``out/group-N/facilitator-script.html``. Reads the group studies as the instructor.
    """
    from coprod_nb.exchange.outputs import Outputs, check_output

    course = load_course(course_dir)
    stores = {g: course.open_group(g) for g in range(1, course.groups + 1)}
    try:
        files: dict[Path, str] = {}
        root = Path(out)
        for g, store in stores.items():
            files[root / f"group-{g}" / "answer-key.html"] = answer_key_html(course, g, store)
            files[root / f"group-{g}" / "facilitator-script.html"] = facilitator_script_html(
                course, g, store
            )
        files[root / "slides.html"] = slides_html(course, stores)
        with Outputs(None, force=force) as output:
            output.folder(root)
            for g in stores:
                output.folder(root / f"group-{g}")
            written = []
            for path, text in files.items():
                for store in stores.values():  # never a group study's record
                    check_output(path, store, force=force)
                written.append(output.write(path, text))
        return written
    finally:
        for store in stores.values():
            store.close()
