"""Course mode: teaching the three-step method to a class of PhD students.

A course folder holds ``course.toml`` (the roster, the groups and the role-play cast)
and one study per group under ``groups/group-1/``, ``groups/group-2/``, ... Each group
study is a SQLite file built from the fictional demo's partnerships, participants and
five transcripts, with the instructor as study lead and the group's students as its
researchers (their login is their JupyterHub user name, so the researcher picker starts
on them). A group does step 1 blind in its own study, compares exactly its own notes in
step 2, freezes its own framework and runs its own workshop.

Course studies are SQLite files inside the course folder, whatever ``$COPROD_DB`` says,
unless the course is created with ``db=postgresql://OWNER@HOST/BASE``: then group N's
study is the PostgreSQL database ``BASE_gN`` with the team roles of storage/team.py, so
that the database itself keeps step 1 blind and other groups out.

Nothing here shows note text: the instructor follows counts only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import shutil
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from coprod_nb.domain.toml_text import load_toml, toml_basic
from coprod_nb.domain.wording import plural
from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.storage import Store, access
from coprod_nb.storage.database import GROUP_FILE_MODE

__all__ = [
    "CastRole",
    "Course",
    "Student",
    "course_cast",
    "course_progress",
    "close_recall_groups",
    "course_summary",
    "create_course",
    "freeze_groups",
    "hub_services",
    "is_course",
    "form_groups",
    "load_course",
    "move_student",
    "note_counts",
    "plot_course_progress",
    "read_roster",
    "roleplay_links",
    "roleplay_workshop",
    "setup_home",
    "student_environment",
]

COURSE_FILE = "course.toml"
GROUPS_DIR = "groups"
MAX_STUDENTS = 500
PROGRESS_COLUMNS = [
    "student",
    "login",
    "group",
    "transcripts_read",
    "transcripts",
    "notes",
    "step1_closed",
    "group_tensions",
    "roleplay_responses",
]
CAST_COLUMNS = [
    "group",
    "study",
    "workshop",
    "participant",
    "partnership",
    "student",
    "login",
    "student_group",
]
_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class Student:
    """A student of the course: display name, JupyterHub login, group number."""

    name: str
    login: str
    group: int


@dataclass(frozen=True)
class CastRole:
    """In group ``group``'s role-play workshop, ``student`` acts as ``participant``."""

    group: int
    workshop: int
    participant: str
    partnership: str
    student: str
    login: str


@dataclass(frozen=True)
class Course:
    """A course as described by its ``course.toml``."""

    dir: Path
    name: str
    instructor: str
    instructor_login: str
    group_size: int
    groups: int
    students: tuple[Student, ...]
    cast: tuple[CastRole, ...] = field(default=())
    #: A PostgreSQL course: the owner's URL of the base database (group N's study is the
    #: database ``BASE_gN``); None for SQLite files in the course folder.
    db: str | None = None

    def group_url(self, group: int, role: str | None = None) -> str:
        """The group study's database URL, connecting as ``role`` (PostgreSQL course)."""
        if not self.db:
            return _sqlite_url(self.group_dir(group))
        url = _server_url(self.db)
        url = url.set(database=f"{url.database}_g{group}", username=role or url.username)
        return url.render_as_string(hide_password=False)

    def group_path(self, group: int) -> str:
        """The group study's folder relative to the course folder (``groups/group-N``)."""
        return f"{GROUPS_DIR}/group-{group}"

    def group_dir(self, group: int) -> Path:
        """The group study's folder."""
        return self.dir / GROUPS_DIR / f"group-{group}"

    def members(self, group: int) -> list[Student]:
        """The students of a group, in roster order."""
        return [s for s in self.students if s.group == group]

    def student(self, ref: str) -> Student:
        """A student by name or login (ignoring case)."""
        folded = str(ref).strip().casefold()
        for s in self.students:
            if folded in (s.name.casefold(), s.login.casefold()):
                return s
        raise NotFound(f"no student {ref!r} in the course")

    def open_group(self, group: int, *, actor: str | None = None) -> Store:
        """Open a group's study (acting as the instructor unless ``actor`` is given)."""
        if group not in range(1, self.groups + 1):
            raise InvalidInput(f"no group {group}: the course has groups 1 to {self.groups}")
        folder = self.group_dir(group)
        who = actor or self.instructor_login
        if self.db:  # the role is who is working: the database checks it
            return Store(folder, self.group_url(group, who), create=False)
        return Store(folder, _sqlite_url(folder), actor=who, create=False)


# -- the roster ------------------------------------------------------------------------


def _slug(name: str) -> str:
    """A login made from a name: ASCII letters and digits, lower case."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_name.lower())


def _check_entries(
    entries: Sequence[tuple[str, str | None, str]], *, file: str | None, instructor: str
) -> list[tuple[str, str]]:
    """Validate (name, login or None, place) entries; returns (name, login) pairs."""
    out: list[tuple[str, str]] = []
    names: dict[str, str] = {instructor.casefold(): "the instructor"}
    logins: dict[str, str] = {_slug(instructor) or "instructor": "the instructor"}
    for name, login, place in entries:
        name = " ".join(name.split())
        if not name:
            raise InvalidInput("a student needs a name", file=file, place=place)
        if not name.isprintable():
            raise InvalidInput("the name holds control characters", file=file, place=place)
        login = (login or "").strip() or _slug(name)
        if not login:
            raise InvalidInput(
                f"cannot make a login from {name!r}; give one in a 'login' column",
                file=file,
                place=place,
            )
        if not _LOGIN.fullmatch(login):
            raise InvalidInput(
                f"login {login!r} is not a user name (letters, digits, . _ @ -)",
                file=file,
                place=place,
            )
        # The store reads a reference made only of digits as an id.
        if name.isdigit() or login.isdigit():
            raise InvalidInput("a name or login cannot be only digits", file=file, place=place)
        for value, seen, what in ((name, names, "name"), (login, logins, "login")):
            if value.casefold() in seen:
                raise InvalidInput(
                    f"{what} {value!r} is already used by {seen[value.casefold()]}",
                    file=file,
                    place=place,
                )
            seen[value.casefold()] = place
        out.append((name, login))
    if not out:
        raise InvalidInput("the roster names no student", file=file)
    if len(out) > MAX_STUDENTS:
        raise InvalidInput(f"a course has at most {MAX_STUDENTS} students", file=file)
    return out


def read_roster(
    path: str | os.PathLike, *, instructor: str = "Instructor"
) -> list[tuple[str, str]]:
    """Read a roster CSV: a ``name`` column and an optional ``login`` column.

    Other columns are ignored; rows whose cells are all empty are skipped. Without a
    login, one is made from the name (``Ada Fenwick`` → ``adafenwick``).

    Returns
    -------
    list of (name, login)

    Raises
    ------
    InvalidInput
        Naming the file, the row (the header is row 1, as in a spreadsheet) and the
        problem: no ``name`` column, an empty name, a duplicate name or login, a login
        that is not a user name.
    """
    path = Path(path)
    from coprod_nb.ingest.limits import MAX_TEXT_BYTES, read_capped

    if not path.exists():
        raise InvalidInput("no such file", file=str(path))
    if path.is_dir():
        raise InvalidInput("a roster is a .csv file, not a folder", file=str(path))
    try:
        # Read with a cap (a FIFO or /dev/zero is refused, not read to exhaustion).
        raw = read_capped(path, MAX_TEXT_BYTES, what="roster")
        text = raw.decode("utf-8-sig")  # spreadsheets often add a BOM
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"not UTF-8 text (byte {exc.start}); save the roster as CSV UTF-8", file=path.name
        ) from None
    try:
        # Not str.splitlines(): it also breaks at \v, \f, U+2028 ..., which would split a
        # name in two; strict mode refuses a quote left open instead of swallowing rows.
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise InvalidInput(
            f"not a valid CSV file ({exc}; is a quote left open?)", file=path.name
        ) from None
    if not rows:
        raise InvalidInput("the file is empty", file=path.name)
    header = [h.strip().casefold() for h in rows[0]]
    if "name" not in header:
        raise InvalidInput("no 'name' column in the header", file=path.name, place="row 1")
    i_name = header.index("name")
    i_login = header.index("login") if "login" in header else None
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        row = row + [""] * (len(header) - len(row))  # a short row: missing cells are empty
        login = row[i_login] if i_login is not None else ""
        entries.append((row[i_name], login or None, f"row {number}"))
    return _check_entries(entries, file=path.name, instructor=instructor)


def _roster(
    students: int | Sequence[str] | Sequence[tuple[str, str]], instructor: str
) -> list[tuple[str, str]]:
    if isinstance(students, bool):
        raise InvalidInput("give the number of students or their names")
    if isinstance(students, int):
        if not 1 <= students <= MAX_STUDENTS:
            raise InvalidInput(f"the number of students is 1 to {MAX_STUDENTS} (got {students})")
        width = max(2, len(str(students)))
        return [(f"Student {i:0{width}d}", f"student{i:0{width}d}") for i in range(1, students + 1)]
    if isinstance(students, str | os.PathLike):
        return read_roster(students, instructor=instructor)
    entries = []
    for i, entry in enumerate(students, start=1):
        name, login = (entry, None) if isinstance(entry, str) else entry
        entries.append((str(name), login, f"student {i}"))
    return _check_entries(entries, file=None, instructor=instructor)


def form_groups(count: int, group_size: int) -> list[int]:
    """Group numbers (from 1) for ``count`` students in roster order.

    As few groups as keep every group at most ``group_size``, except that nobody is left
    to compare readings alone (with a group size of 2 and an odd count, one group has
    3); sizes differ by at most one (the first groups take the extra students), and
    consecutive students of the roster share a group. Deterministic: the same roster
    gives the same groups.
    """
    if group_size < 2:
        raise InvalidInput(
            f"a group needs at least 2 students to compare readings (got {group_size})"
        )
    groups = max(1, math.ceil(count / group_size))
    if groups > 1 and count // groups < 2:
        groups = count // 2
    base, extra = divmod(count, groups)
    out: list[int] = []
    for g in range(1, groups + 1):
        out += [g] * (base + (1 if g <= extra else 0))
    return out


# -- course.toml -----------------------------------------------------------------------


def _sqlite_url(folder: Path) -> str:
    # Explicit, so that $COPROD_DB (a team's PostgreSQL) never redirects a course study.
    return f"sqlite:///{Path(folder).resolve() / 'study.db'}"


def _server_url(db: str):
    """A PostgreSQL URL (``postgresql://owner@host/base``) with the psycopg driver."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db)
    except ArgumentError:
        raise InvalidInput(f"not a database URL: {db!r}") from None
    if url.get_backend_name() != "postgresql" or not url.database or not url.username:
        raise InvalidInput(
            f"a course database is postgresql://OWNER@HOST/BASE (got {db!r}): the owner "
            "creates one database per group, BASE_g1, BASE_g2, ..."
        )
    return url.set(drivername="postgresql+psycopg")


def _q(value: object) -> str:
    return toml_basic(str(value))


def _write_course(course: Course) -> None:
    lines = [
        "# A coprod_nb course: roster, groups and role-play cast.",
        "# Written by coprod-nb; change groups with coprod_nb.course.move_student.",
        "",
        "[course]",
        f"name = {_q(course.name)}",
        f"instructor = {_q(course.instructor)}",
        f"instructor_login = {_q(course.instructor_login)}",
        f"group_size = {course.group_size}",
        f"groups = {course.groups}",
    ]
    if course.db:
        lines.append(f"db = {_q(course.db)}")
    for s in course.students:
        lines += ["", "[[students]]", f"name = {_q(s.name)}", f"login = {_q(s.login)}"]
        lines.append(f"group = {s.group}")
    for r in course.cast:
        lines += [
            "",
            "[[cast]]",
            f"group = {r.group}",
            f"workshop = {r.workshop}",
            f"participant = {_q(r.participant)}",
            f"partnership = {_q(r.partnership)}",
            f"student = {_q(r.student)}",
            f"login = {_q(r.login)}",
        ]
    target = course.dir / COURSE_FILE
    partial = target.with_suffix(".toml.partial")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(partial, target)  # never leave a half-written roster behind


def load_course(course_dir: str | os.PathLike) -> Course:
    """Read a course folder's ``course.toml``."""
    course_dir = Path(course_dir).resolve()
    path = course_dir / COURSE_FILE
    if not path.is_file():
        raise NotFound(
            f"no course in {course_dir} (create one with `coprod-nb course DIR --students N`)"
        )
    try:
        from coprod_nb.ingest.limits import read_text_capped

        data = load_toml(read_text_capped(path, what="course file"), file=path.name)
        info = data["course"]
        students = tuple(
            Student(str(s["name"]), str(s["login"]), int(s["group"]))
            for s in data.get("students", [])
        )
        cast = tuple(
            CastRole(
                int(r["group"]),
                int(r["workshop"]),
                str(r["participant"]),
                str(r["partnership"]),
                str(r["student"]),
                str(r["login"]),
            )
            for r in data.get("cast", [])
        )
        groups = int(info["groups"])
        wrong = [s.name for s in students if not 1 <= s.group <= groups]
        wrong += [r.student for r in cast if not 1 <= r.group <= groups]
        if wrong:
            raise ValueError(f"{wrong[0]!r} is in a group that is not 1 to {groups}")
        return Course(
            dir=course_dir,
            name=str(info["name"]),
            instructor=str(info["instructor"]),
            instructor_login=str(info["instructor_login"]),
            group_size=int(info["group_size"]),
            groups=int(info["groups"]),
            students=students,
            cast=cast,
            db=str(info["db"]) if "db" in info else None,
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"not a course file ({exc})", file=str(path)) from None


# -- creating a course -------------------------------------------------------------------


def _class_manifest() -> dict:
    """The demo manifest without its research team.

    The demo's three researchers interviewed the leaders, so they remain speakers in the
    transcripts under their pseudonyms (their real names go into the pseudonym key as
    other people), but they are not members of a class team.
    """
    from coprod_nb.seed.demo import demo_data_dir
    from coprod_nb.seed.manifest import read_manifest

    data = read_manifest(demo_data_dir() / "study.toml")
    team = data.pop("researchers", [])
    data["people"] = list(data.get("people", [])) + [
        {"name": r["name"], "pseudonym": r["pseudonym"]}
        for r in team
        if r.get("pseudonym") and r["pseudonym"] != r["name"]
    ]
    data["transcripts"] = [
        {k: v for k, v in t.items() if k != "interviewers"} for t in data.get("transcripts", [])
    ]
    return data


def _build_group(course: Course, group: int, manifest: dict) -> None:
    from coprod_nb.seed.demo import demo_data_dir
    from coprod_nb.seed.manifest import load_manifest

    folder = course.group_dir(group)
    data = {
        **manifest,
        "study": {
            **manifest.get("study", {}),
            "name": f"{course.name}: group {group}",
            "description": (
                f"Class study of group {group} in the course {course.name}: the fictional "
                "demo's five conversations with partnership leaders, read by the group's "
                "students."
            ),
        },
    }
    # Students of a group write into its study on a shared hub: the file is shared with
    # the course's Unix group (0660, never other accounts); see docs/teaching/course-mode.md.
    if course.db:
        _create_group_database(course, group)
    url = course.group_url(group)  # on PostgreSQL: as the owner, who builds the study
    with Store(folder, url, actor=course.instructor_login, file_mode=GROUP_FILE_MODE) as store:
        load_manifest(store, demo_data_dir() / "study.toml", progress=False, data=data)
        # The team joins after the import, so that no student is matched as a speaker.
        store.add_researcher(course.instructor, course.instructor_login, lead=True)
        for s in course.members(group):
            store.add_researcher(s.name, s.login)
        if course.db:
            # Each member a LOGIN role with the method's rights and row-level security
            # (storage/team.py); CONNECT only to their own group's database.
            from coprod_nb.storage.team import apply_team_roles

            apply_team_roles(store)


def _owner_engine(course: Course, database: str | None = None):
    from sqlalchemy import create_engine

    url = _server_url(course.db)
    return create_engine(url.set(database=database or url.database), isolation_level="AUTOCOMMIT")


def _create_group_database(course: Course, group: int) -> None:
    """CREATE DATABASE BASE_gN, closed to PUBLIC (another group's study is not reachable)."""
    from sqlalchemy.exc import DBAPIError

    name = _server_url(course.group_url(group)).database
    engine = _owner_engine(course)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            conn.exec_driver_sql(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    except DBAPIError as exc:
        raise InvalidInput(
            f"cannot create the group database {name} ({exc.orig}); the owner needs "
            "CREATEDB and CREATEROLE"
        ) from None
    finally:
        engine.dispose()


def _drop_group_databases(course: Course) -> None:
    engine = _owner_engine(course)
    try:
        with engine.connect() as conn:
            for g in range(1, course.groups + 1):
                name = _server_url(course.group_url(g)).database
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def create_course(
    course_dir: str | os.PathLike,
    students: int | Sequence[str] | Sequence[tuple[str, str]] | os.PathLike,
    group_size: int = 4,
    instructor: str = "Instructor",
    *,
    name: str | None = None,
    db: str | None = None,
) -> Course:
    """Create a course: a roster, balanced groups and one demo study per group.

    Parameters
    ----------
    course_dir : path
        A new or empty folder; nothing is ever written outside it.
    students : int, list or path
        A number of students (named ``Student 01``, login ``student01``, ...), a list of
        names or of (name, login) pairs, or a roster CSV path (see :func:`read_roster`).
    group_size : int
        The largest group; groups are balanced (see :func:`form_groups`).
    instructor : str
        The instructor's name; they lead every group study (login made from the name).
    name : str, optional
        The course's name (default: the folder's name).
    db : str, optional
        A PostgreSQL course: ``postgresql://OWNER@HOST/BASE``, a role with CREATEDB and
        CREATEROLE. Group N's study is the database ``BASE_gN`` (REVOKE ALL FROM PUBLIC),
        with the team roles of :func:`coprod_nb.storage.team.apply_team_roles`: each
        member a LOGIN role named by their login, step 1 blind by row-level security.
        Without it, each group study is a SQLite file in the course folder.

    Returns
    -------
    Course

    Raises
    ------
    InvalidInput
        A non-empty folder or a bad roster; nothing is written then.
    """
    course_dir = Path(course_dir).resolve()
    if course_dir.exists() and (not course_dir.is_dir() or any(course_dir.iterdir())):
        raise InvalidInput(
            "the course folder is not empty; choose a new or empty folder", file=str(course_dir)
        )
    instructor = " ".join(str(instructor).split())
    if not instructor or not instructor.isprintable():
        raise InvalidInput("the instructor needs a name")
    if isinstance(group_size, bool) or not isinstance(group_size, int):
        raise InvalidInput(f"the group size is a whole number (got {group_size!r})")
    roster = _roster(students, instructor)
    numbers = form_groups(len(roster), group_size)
    course = Course(
        dir=course_dir,
        name=" ".join((name or course_dir.name).split()),
        instructor=instructor,
        instructor_login=_slug(instructor) or "instructor",
        group_size=group_size,
        groups=max(numbers),
        students=tuple(Student(n, login, g) for (n, login), g in zip(roster, numbers, strict=True)),
        db=_server_url(db).render_as_string(hide_password=False) if db else None,
    )
    created = not course_dir.exists()
    try:
        course_dir.mkdir(parents=True, exist_ok=True)
        manifest = _class_manifest()
        for g in range(1, course.groups + 1):
            _build_group(course, g, manifest)
        _write_course(course)  # last: a course without its file is not a course
    except BaseException as exc:
        if course.db:
            _drop_group_databases(course)
        # The folder was new or empty: leave it as it was.
        if created:
            shutil.rmtree(course_dir, ignore_errors=True)
        else:
            for child in course_dir.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        if isinstance(exc, OSError):
            raise InvalidInput(
                f"cannot write the course: {exc.strerror or exc}", file=str(course_dir)
            ) from None
        raise
    return course


def move_student(course_dir: str | os.PathLike, student: str, group: int) -> Course:
    """Move a student to another group, allowed only while they have written no note.

    Their transcripts-read marks move with them (the group studies hold the same
    transcripts). A student with notes, even deleted ones, stays: their notes are part of
    their group's blind step 1.

    Raises
    ------
    Forbidden
        The student has written a note.
    InvalidInput
        No such group, or the student is already in it.
    """
    course = load_course(course_dir)
    if course.db:
        raise InvalidInput(
            "moving a student is for a SQLite course; on a PostgreSQL course their role "
            "would need the other group's database (create the course again)"
        )
    st = course.student(student)
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise InvalidInput(f"a group is a number from 1 (got {group!r})")
    if group > course.groups:
        raise InvalidInput(f"no group {group}: the course has groups 1 to {course.groups}")
    if group == st.group:
        raise InvalidInput(f"{st.name} is already in group {group}")
    with course.open_group(st.group) as old:
        if old.has_notes(st.login):  # a count: no blinding issue
            raise Forbidden(
                f"{st.name} has written notes in group {st.group}; a student can move only "
                "before writing a first note"
            )
        titles = {t.id: t.title for t in old.transcripts()}
        read = [titles[tid] for who, tid in old.readings() if who == st.name]
        with course.open_group(group) as new:
            new.add_researcher(st.name, st.login)
            # A reading is its researcher's own record: the move writes it as the student
            # (a group study is SQLite, where who is working is declared).
            new.actor = st.login
            for title in read:
                new.mark_read(st.name, title)
        old.remove_researcher(st.login)
    moved = replace(
        course,
        students=tuple(replace(s, group=group) if s == st else s for s in course.students),
    )
    _write_course(moved)
    return moved


# -- progress --------------------------------------------------------------------------


def note_counts(store: Store) -> dict[str, int]:
    """Live notes per researcher's name in a group study: counts only, never text.

    On PostgreSQL the connected role reads only its own notes before step 1 closes, so
    the database counts everyone's (``coprod_note_counts()``, storage/team.py), as
    :func:`coprod_nb.analysis.recall.progress_table` does.
    """
    with store.session(write=False) as s:
        return dict(access.note_counts(s, on_server=bool(store.connected_as)))


def course_progress(course_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per student: counts only, never the text of a note.

    Columns: student, login, group, transcripts_read (of ``transcripts``, the group
    study's total), notes (written, not deleted), step1_closed (the group's step 1),
    group_tensions (on the group's tension board, any status) and roleplay_responses
    (card responses given in the roles the student plays in a role-play workshop).
    """
    course = load_course(course_dir)
    per_group: dict[int, dict] = {}
    responses: Counter[str] = Counter()
    for g in range(1, course.groups + 1):
        with course.open_group(g) as store:
            notes = note_counts(store)
            per_group[g] = {
                "transcripts": len(store.transcripts()),
                "read": Counter(who for who, _ in store.readings()),
                "notes": notes,
                "closed": store.step_closure() is not None,
                "tensions": len(store.tensions()),
            }
            roles = [r for r in course.cast if r.group == g]
            if roles:
                names = {p.id: p.name for p in store.participants()}
                given: Counter[tuple[int, str]] = Counter()
                for ws in {r.workshop for r in roles}:
                    for resp in store.responses(ws):
                        given[ws, names[resp.participant_id]] += 1
                for r in roles:
                    responses[r.student] += given[r.workshop, r.participant]
    rows = []
    for s in sorted(course.students, key=lambda s: s.group):  # stable: roster order inside
        info = per_group[s.group]
        rows.append(
            {
                "student": s.name,
                "login": s.login,
                "group": s.group,
                "transcripts_read": info["read"][s.name],
                "transcripts": info["transcripts"],
                "notes": info["notes"].get(s.name, 0),
                "step1_closed": info["closed"],
                "group_tensions": info["tensions"],
                "roleplay_responses": responses[s.name],
            }
        )
    return pd.DataFrame(rows, columns=PROGRESS_COLUMNS)


def plot_course_progress(course: str | os.PathLike | pd.DataFrame, ax=None):
    """Bars of transcripts read and notes written per student; ✓ marks a closed step 1.

    Parameters
    ----------
    course : path or DataFrame
        A course folder, or a table from :func:`course_progress`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import numpy as np

    progress = course if isinstance(course, pd.DataFrame) else course_progress(course)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 1.4 + 0.45 * max(len(progress), 1)))
    y = np.arange(len(progress))
    ax.barh(y - 0.2, progress["transcripts_read"], height=0.4, label="transcripts read")
    ax.barh(y + 0.2, progress["notes"], height=0.4, label="notes written")
    if len(progress):
        ax.axvline(progress["transcripts"].max(), color="grey", linestyle=":", linewidth=1)
    labels = [
        # "$" would start matplotlib's mathtext in a student's name
        f"{row.student} · group {row.group}{' ✓' if row.step1_closed else ''}".replace("$", r"\$")
        for row in progress.itertuples()
    ]
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("count (dotted line: transcripts to read)")
    ax.set_title("Course progress per student (✓ the group has closed step 1)")
    ax.legend(loc="lower right")
    return ax


# -- the role-play workshop --------------------------------------------------------------


def _performers(course: Course, group: int) -> list[Student]:
    """Students of the next group (round robin) that has any; the group's own last."""
    for step in range(1, course.groups + 1):
        candidate = (group - 1 + step) % course.groups + 1
        found = course.members(candidate)
        if found:
            return found
    return []


def roleplay_workshop(
    course_dir: str | os.PathLike,
    date: dt.date | None = None,
    group: int | None = None,
    *,
    actor: str | None = None,
) -> pd.DataFrame:
    """Set up a role-play workshop for one group (``group``) or every group with a frozen v1.

    The workshop is recorded in the group's study on framework v1, facilitated by the
    instructor, with the demo's partnership leaders as participants. Each leader is
    played by a student of the next group (group 1's by group 2, ..., the last group's
    by group 1), dealt round robin, so students act as leaders for another group. The
    cast is kept in ``course.toml`` (see :func:`course_cast`). The leaders' links for the
    participant app come from ``coprod-nb serve-workshop GROUP_STUDY_DIR``.

    Groups without a frozen v1 are reported and skipped; a group already set up is left
    as it is, so running this again after more groups froze v1 sets up only those.

    The person working (``actor``, default ``$COPROD_USER``, ``$JUPYTERHUB_USER``) must
    be the course's instructor (:class:`Forbidden` otherwise).

    Returns
    -------
    DataFrame
        group, study (relative folder), status, workshop (id or None), roles.
    """
    course = load_course(course_dir)
    login = _instructor_acting(course, actor)
    when = date or dt.date.today()
    rows = []
    for g in _chosen_groups(course, group):
        row = {"group": g, "study": course.group_path(g), "workshop": None, "roles": 0}
        done = [r for r in course.cast if r.group == g]
        if done:
            rows.append(
                {
                    **row,
                    "status": "already set up",
                    "workshop": done[0].workshop,
                    "roles": len(done),
                }
            )
            continue
        performers = _performers(course, g)
        with course.open_group(g, actor=login) as store:
            if 1 not in {v.version for v in store.framework_versions()}:
                rows.append({**row, "status": "skipped: framework v1 is not frozen yet"})
                continue
            if not performers:
                rows.append({**row, "status": "skipped: no student to play the leaders"})
                continue
            leaders = store.participants()
            shorts = {p.id: p.short for p in store.partnerships()}
            ws = store.add_workshop(
                when,
                facilitators=[course.instructor],
                participants=[p.name for p in leaders],
                base_version=1,
            )
        roles = tuple(
            CastRole(
                g,
                ws.id,
                p.name,
                shorts.get(p.partnership_id, ""),
                performers[i % len(performers)].name,
                performers[i % len(performers)].login,
            )
            for i, p in enumerate(leaders)
        )
        course = replace(course, cast=course.cast + roles)
        _write_course(course)  # after each group, so the file matches the studies
        by = sorted({s.group for s in performers})
        rows.append(
            {
                **row,
                "status": f"set up: leaders played by group {by[0]}",
                "workshop": ws.id,
                "roles": len(roles),
            }
        )
    table = pd.DataFrame(rows, columns=["group", "study", "status", "workshop", "roles"])
    table["workshop"] = table["workshop"].astype("Int64")  # an id, or <NA> when skipped
    return table


def course_cast(course_dir: str | os.PathLike) -> pd.DataFrame:
    """Who plays which partnership leader in which group's role-play workshop.

    Columns: group (whose workshop), study (its folder), workshop (id), participant (the
    leader's pseudonym), partnership, student, login, student_group.
    """
    course = load_course(course_dir)
    groups = {s.name: s.group for s in course.students}
    rows = [
        {
            "group": r.group,
            "study": course.group_path(r.group),
            "workshop": r.workshop,
            "participant": r.participant,
            "partnership": r.partnership,
            "student": r.student,
            "login": r.login,
            "student_group": groups.get(r.student),
        }
        for r in sorted(course.cast, key=lambda r: (r.group, r.workshop, r.participant))
    ]
    return pd.DataFrame(rows, columns=CAST_COLUMNS)


def course_summary(course: Course) -> str:
    """What was created and how students open their group's study (plain text)."""
    lines = [
        f"Course {course.name!r}: {plural(len(course.students), 'student')} in "
        f"{plural(course.groups, 'group')}, led by {course.instructor} "
        f"(login {course.instructor_login}).",
    ]
    for g in range(1, course.groups + 1):
        names = ", ".join(s.name for s in course.members(g)) or "(no student)"
        lines.append(f"  group {g} ({course.group_path(g)}): {names}")
    lines.append(
        "Each student opens their group's study with COPROD_STUDY set to its folder, e.g. "
        f"COPROD_STUDY={course.group_dir(1)}; on JupyterHub their user name is their login."
    )
    if course.db:
        lines.append(
            f"PostgreSQL course: group N's study is the database {course.group_url(1)[:-1]}N; "
            "each member connects as their own role (COPROD_DB, see student_environment)."
        )
    return "\n".join(lines)


# -- the instructor's acts, for one group or all ------------------------------------------

#: The hub service of group N's participant app is ``workshop-N`` (``/services/workshop-N/``).
SERVICE_PREFIX = "workshop-"
ACT_COLUMNS = ["group", "study", "status"]


def is_course(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a course (its ``course.toml``)."""
    return (Path(folder) / COURSE_FILE).is_file()


def _instructor_acting(course: Course, actor: str | None) -> str:
    """The instructor's login if the person working is the instructor, else Forbidden."""
    from coprod_nb.storage.store import default_actor

    who = (actor or default_actor()).strip()
    if who.casefold() != course.instructor_login.casefold():
        raise Forbidden(
            f"you are {who}: only the course's instructor ({course.instructor_login}) acts for "
            "the groups (log in as them, or set COPROD_USER / --as on a SQLite course)"
        )
    return course.instructor_login


def _chosen_groups(course: Course, group: int | None) -> list[int]:
    if group is None:
        return list(range(1, course.groups + 1))
    if (
        isinstance(group, bool)
        or not isinstance(group, int)
        or group not in range(1, course.groups + 1)
    ):
        raise InvalidInput(f"no group {group!r}: the course has groups 1 to {course.groups}")
    return [group]


def _act_on_groups(
    course_dir: str | os.PathLike, group: int | None, actor: str | None, act
) -> pd.DataFrame:
    """Run ``act(store) -> status`` in each chosen group's study, as the instructor."""
    course = load_course(course_dir)
    login = _instructor_acting(course, actor)
    rows = []
    for g in _chosen_groups(course, group):
        with course.open_group(g, actor=login) as store:
            status = act(store)
        rows.append({"group": g, "study": course.group_path(g), "status": status})
    return pd.DataFrame(rows, columns=ACT_COLUMNS)


def close_recall_groups(
    course_dir: str | os.PathLike, group: int | None = None, *, actor: str | None = None
) -> pd.DataFrame:
    """Close step 1 in one group's study (``group``) or in every group's.

    The person working (``actor``, default ``$COPROD_USER``, ``$JUPYTERHUB_USER``) must be
    the course's instructor, who leads every group study; the store checks it again.
    A group already closed is reported and left as it is.

    Returns
    -------
    DataFrame
        group, study, status.
    """

    def close(store) -> str:
        if store.step_closed():
            return "step 1 was already closed"
        store.close_recall()
        return "step 1 closed: notes are now visible to the group"

    return _act_on_groups(course_dir, group, actor, close)


def freeze_groups(
    course_dir: str | os.PathLike,
    group: int | None = None,
    *,
    label: str = "",
    actor: str | None = None,
) -> pd.DataFrame:
    """Freeze each chosen group's agreed tensions as its next framework version.

    Uses the store's own freeze (:meth:`Store.freeze_framework`), acting as the
    instructor (see :func:`close_recall_groups`). A group whose step 1 is open or that
    has agreed no tension is skipped, with the reason.

    Returns
    -------
    DataFrame
        group, study, status.
    """

    def freeze(store) -> str:
        agreed = store.tensions("agreed")
        if not store.step_closed():
            return "skipped: step 1 is still open (close it first)"
        if not agreed:
            return "skipped: no agreed tension on the group's board"
        fv = store.freeze_framework(label)
        return f"froze framework v{fv.version} ({len(agreed)} agreed tensions)"

    return _act_on_groups(course_dir, group, actor, freeze)


def student_environment(course_dir: str | os.PathLike, hub_user: str) -> dict[str, str]:
    """The environment of a hub user's server in a course (for ``pre_spawn_hook``).

    A student gets ``COPROD_STUDY`` (their group's study folder), ``COPROD_USER``
    (their login) and, on a PostgreSQL course, ``COPROD_DB`` (their role on their group's
    database); the instructor gets ``COPROD_COURSE`` (the course folder, which
    notebook 05 opens) and ``COPROD_USER``.

    Raises
    ------
    NotFound
        ``hub_user`` is neither the instructor nor a student of the course.
    """
    course = load_course(course_dir)
    user = str(hub_user).strip().casefold()
    if user == course.instructor_login.casefold():
        return {"COPROD_COURSE": str(course.dir), "COPROD_USER": course.instructor_login}
    for s in course.students:
        if s.login.casefold() == user:
            env = {"COPROD_STUDY": str(course.group_dir(s.group)), "COPROD_USER": s.login}
            if course.db:  # connecting as their own role, to their own group's database
                env["COPROD_DB"] = course.group_url(s.group, s.login)
            return env
    raise NotFound(f"hub user {hub_user!r} is not in the course {course.name!r}")


def setup_home(
    course_dir: str | os.PathLike, login: str, dest: str | os.PathLike, *, force: bool = False
) -> list[Path]:
    """Copy the working notebooks into a course member's home folder ``dest``.

    ``login`` must be a student or the instructor of the course (so a typo is caught
    before a home is filled). Returns the notebooks written.
    """
    from coprod_nb.seed.notebooks import copy_notebooks

    student_environment(course_dir, login)  # refuses a login that is not in the course
    return copy_notebooks(dest, force=force)


def hub_services(
    course_dir: str | os.PathLike, first_port: int = 8870, *, coprod_nb: str | None = None
) -> list[dict]:
    """``c.JupyterHub.services`` entries: one participant app per group with a workshop.

    Group N's app is the service ``workshop-N`` at ``/services/workshop-N/`` through the
    hub's proxy, listening on 127.0.0.1 port ``first_port + N - 1`` and started by the hub
    as ``coprod-nb serve-workshop`` acting as the instructor.
    """
    import sys

    course = load_course(course_dir)
    program = coprod_nb or str(Path(sys.executable).with_name("coprod-nb"))
    out = []
    for g in sorted({r.group for r in course.cast}):
        port = first_port + g - 1
        out.append(
            {
                "name": f"{SERVICE_PREFIX}{g}",
                "url": f"http://127.0.0.1:{port}",
                "command": [
                    program,
                    "serve-workshop",
                    str(course.group_dir(g)),
                    "--port",
                    str(port),
                    "--base-url",
                    f"/services/{SERVICE_PREFIX}{g}/",
                    "--as",
                    course.instructor_login,
                    # Every role-player arrives through the hub's proxy (which adds
                    # X-Forwarded-For): count bad keys per role-player, not per proxy.
                    "--behind-proxy",
                    # The app reads the workshop's ballots, which no member's role may:
                    # on a PostgreSQL course it connects as the owner (serve-workshop --db).
                    *(["--db", course.group_url(g)] if course.db else []),
                ],
            }
        )
    return out


def roleplay_links(
    course_dir: str | os.PathLike,
    hub_url: str,
    group: int | None = None,
    *,
    actor: str | None = None,
) -> pd.DataFrame:
    """Issue each role-player's personal link through the hub, for one group or all.

    The link is ``HUB/services/workshop-N/?key=...`` (see :func:`hub_services`); it is
    shown once, here, and earlier links of the same leaders stop working. Acting as the
    instructor (see :func:`close_recall_groups`).

    Returns
    -------
    DataFrame
        group, participant, student, login, link.
    """
    from urllib.parse import urlencode

    course = load_course(course_dir)
    login = _instructor_acting(course, actor)
    hub = str(hub_url).strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", hub):
        raise InvalidInput(f"the hub's address starts with http:// or https:// (got {hub_url!r})")
    rows = []
    for g in _chosen_groups(course, group):
        roles = [r for r in course.cast if r.group == g]
        if not roles:
            continue
        with course.open_group(g, actor=login) as store:
            keys = store.issue_links(roles[0].workshop, [r.participant for r in roles])
        root = f"{hub}/services/{SERVICE_PREFIX}{g}/"
        rows += [
            {
                "group": g,
                "participant": r.participant,
                "student": r.student,
                "login": r.login,
                "link": f"{root}?{urlencode({'key': keys[r.participant]})}",
            }
            for r in roles
        ]
    return pd.DataFrame(rows, columns=["group", "participant", "student", "login", "link"])
