"""Course mode for instructors: create a class course, follow it on a dashboard.

Thin views over :mod:`coprod_nb.course`, where every rule lives (roster checks,
balanced groups, who plays which leader). Names come from a roster and are escaped
before they become HTML.
"""

from __future__ import annotations

import os
from pathlib import Path

import ipywidgets as w
import pandas as pd

from coprod_nb.course import (
    course_cast,
    course_progress,
    course_summary,
    create_course,
    is_course,
    load_course,
    plot_course_progress,
    roleplay_workshop,
)
from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError
from coprod_nb.widgets._common import FigureBox, escape, message, table_html
from coprod_nb.widgets._layout import fit

#: Controls side by side, wrapping onto a new line when the view is narrow.
_ROW = {"flex_flow": "row wrap", "align_items": "center"}

__all__ = ["CourseSetup", "InstructorDashboard"]


class CourseSetup(w.VBox):
    """Create a course: a number of students or a roster CSV, a group size, "Create".

    Given a folder that already holds a course, "Create" opens it instead (the message
    lists its groups).

    The message lists the group folders and how students open their group's study.
    ``course`` holds the :class:`~coprod_nb.course.Course` once created. CSS class
    ``cp-course-setup``.

    Parameters
    ----------
    folder : path, optional
        The course folder to propose (a new or empty folder).
    """

    def __init__(self, folder: str | os.PathLike | None = None, **kwargs):
        self.folder = w.Text(
            description="Course folder",
            value=str(folder or ""),
            placeholder="a new or empty folder",
            layout=w.Layout(width="520px", max_width="100%"),
        )
        self.name = w.Text(description="Course name", placeholder="default: the folder's name")
        self.students = w.BoundedIntText(description="Students", value=12, min=1, max=500)
        self.roster = w.Text(
            description="Roster CSV",
            placeholder="optional: columns name, login (replaces the number)",
            layout=w.Layout(width="520px", max_width="100%"),
        )
        self.group_size = w.BoundedIntText(description="Group size", value=4, min=2, max=20)
        self.instructor = w.Text(description="Instructor", value="Instructor")
        self.create = w.Button(description="Create course", button_style="primary", icon="plus")
        self.status = w.HTML()
        self.course = None
        self.create.on_click(self._on_create_click)
        super().__init__(
            [
                self.folder,
                self.name,
                w.HBox([self.students, self.group_size], layout=_ROW),
                self.roster,
                self.instructor,
                self.create,
                self.status,
            ],
            **kwargs,
        )
        self.add_class("cp-course-setup")
        fit(self)

    def _on_create_click(self, _button=None) -> None:
        folder = self.folder.value.strip()
        if not folder:
            message(self.status, "Give the course folder (a new or empty folder).", kind="error")
            return
        roster = self.roster.value.strip()
        if is_course(folder):  # an existing course is opened, not refused as "not empty"
            try:
                self.course = load_course(folder)
            except CoprodError as exc:
                message(self.status, str(exc), kind="error")
                return
            message(
                self.status,
                "Opened the existing course.\n" + course_summary(self.course),
                kind="ok",
            )
            return
        try:
            self.course = create_course(
                folder,
                Path(roster) if roster else self.students.value,
                group_size=self.group_size.value,
                instructor=self.instructor.value,
                name=self.name.value.strip() or None,
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        message(self.status, course_summary(self.course), kind="ok")


class InstructorDashboard(w.VBox):
    """Progress per student (counts only, never note text), a figure, the role-play.

    "Refresh" re-reads every group study; "Set up role-play" records a role-play
    workshop for each group whose framework v1 is frozen and shows the cast. CSS class
    ``cp-instructor-dashboard``.

    Parameters
    ----------
    course_dir : path
        A course folder made by :func:`coprod_nb.course.create_course`.
    """

    def __init__(self, course_dir: str | os.PathLike, **kwargs):
        self.course_dir = Path(course_dir)
        course = load_course(self.course_dir)
        self.title = w.HTML(
            f"<b>{escape(course.name)}</b>: {plural(len(course.students), 'student')} in "
            f"{plural(course.groups, 'group')}, instructor {escape(course.instructor)}"
        )
        self.table = w.HTML()
        self.figure = FigureBox()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.roleplay_date = w.DatePicker(description="Workshop date")
        self.roleplay_button = w.Button(description="Set up role-play", icon="users")
        self.roleplay_status = w.HTML()
        self.cast = w.HTML()
        self.status = w.HTML()
        self.progress = None
        self.refresh_button.on_click(self._on_refresh_click)
        self.roleplay_button.on_click(self._on_roleplay_click)
        super().__init__(
            [
                self.title,
                self.refresh_button,
                self.table,
                self.figure,
                w.HBox([self.roleplay_date, self.roleplay_button], layout=_ROW),
                self.roleplay_status,
                self.cast,
                self.status,
            ],
            **kwargs,
        )
        self.add_class("cp-instructor-dashboard")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the progress and the cast from the group studies."""
        try:
            progress = course_progress(self.course_dir)
            cast = course_cast(self.course_dir)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self.progress = progress
        self.table.value = table_html(progress, css_class="cp-table cp-course-progress")
        problem = self.figure.draw(lambda: plot_course_progress(progress))
        self.cast.value = (
            "<b>Role-play cast</b>" + table_html(cast, css_class="cp-table cp-course-cast")
            if len(cast)
            else ""
        )
        message(self.status, problem or "", kind="error" if problem else "info")

    def _on_refresh_click(self, _button=None) -> None:
        self.refresh()

    def _on_roleplay_click(self, _button=None) -> None:
        try:
            result = roleplay_workshop(self.course_dir, self.roleplay_date.value)
        except CoprodError as exc:
            message(self.roleplay_status, str(exc), kind="error")
            return
        lines = [f"group {r.group} ({r.study}): {r.status}" for r in result.itertuples()]
        ready = [r.study for r in result.itertuples() if pd.notna(r.workshop)]
        if ready:
            lines.append("The leaders' links for the participant app come from:")
            lines += [f"  coprod-nb serve-workshop {self.course_dir / s}" for s in ready]
        message(self.roleplay_status, "\n".join(lines), kind="ok")
        self.refresh()
