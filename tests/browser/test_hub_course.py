"""A PhD class on a real JupyterHub: the set-up of docs/jupyterhub.md, "A PhD class".

The instructor creates a PostgreSQL course of six students in three groups of two (group N's
study is the database BASE_gN, each member a LOGIN role, storage/team.py); the hub's
``pre_spawn_hook`` gives each hub user's server :func:`coprod_nb.course.student_environment`
(a student: their group's study and login; the instructor: the course), each home holds the
notebooks copied by ``coprod-nb course COURSE --setup-home LOGIN DEST``, and group 3's
role-play workshop runs as the hub service ``workshop-3`` (:func:`coprod_nb.course.hub_services`).

Ada (group 1) and Cy (group 2) log in with Chromium, run notebook 01 on their own group's
study and type a note each; Bo, Ada's partner, has a note already. Each page, each
student's own store and plain SQL as each role show only their own note, and no role
reaches another group's database; the instructor's notebook 05 counts both.
A role-player (Ada plays a leader of group 3) opens her personal link through the hub's
proxy, ``/services/workshop-3/?key=...``, and fills in a card: it is in group 3's study.
One hub for the module.
"""

from __future__ import annotations

import re
import textwrap
import time
import uuid

import pytest
from playwright.sync_api import expect

from coprod_nb.cli import main
from coprod_nb.course import (
    close_recall_groups,
    create_course,
    freeze_groups,
    load_course,
    roleplay_links,
    roleplay_workshop,
)
from coprod_nb.storage.local_server import free_port
from tests.browser.hub_kit import (
    base_config,
    hub_ports,
    hub_programs,
    kernel_prints,
    log_in,
    quiet_lab,
    run_all_cells,
    running_hub,
    write_new_note,
)

psycopg = pytest.importorskip("psycopg")

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

STUDENTS = [
    ("Ada Fenwick", "ada"),
    ("Bo Lund", "bo"),
    ("Cy Moor", "cy"),
    ("Di Vale", "di"),
    ("Ed Holt", "ed"),
    ("Fay Roe", "fay"),
]
HUB_USERS = ("instructor", "ada", "cy")
PASSWORD = "class-notes-" + uuid.uuid4().hex[:8]
TYPED = {
    "ada": "Ada at the hub: the library room mattered more than the agenda",
    "cy": "Cy at the hub: a parent in the chair changed who spoke",
}
BO_NOTE = "Bo's blind reading: the budget line came first"
CARD = "From the hub: the inner circle needs the parents"
TIMEOUT = 120_000


@pytest.fixture(scope="module")
def course_db(pg_server):
    """An owner role with CREATEDB and CREATEROLE and its base database; dropped after."""
    admin = pg_server.replace("postgresql+psycopg://", "postgresql://")
    tag = uuid.uuid4().hex[:6]
    owner, base = f"owner_{tag}", f"class_{tag}"
    host = admin.split("@", 1)[1]
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN CREATEDB CREATEROLE')
        conn.execute(f'CREATE DATABASE "{base}" OWNER "{owner}"')
    try:
        yield {"url": f"postgresql://{owner}@{host}/{base}", "host": host, "base": base}
    finally:
        with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
            for db in [base] + [f"{base}_g{g}" for g in (1, 2, 3)]:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            for role in [*(login for _, login in STUDENTS), "instructor", owner]:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _sql(db: dict, role: str, group: int, query: str) -> list[tuple]:
    """Plain SQL as a member's role on group ``group``'s database."""
    with psycopg.connect(f"postgresql://{role}@{db['host']}/{db['base']}_g{group}") as conn:
        return conn.execute(query).fetchall()


@pytest.fixture(scope="module")
def classroom(tmp_path_factory, course_db):
    """The course (group 3 at the role-play stage), the homes and the hub's configuration."""
    programs = hub_programs()  # a missing program skips before anything is built
    base = tmp_path_factory.mktemp("hub-class")
    course_dir = base / "course"
    course = create_course(
        course_dir, STUDENTS, group_size=2, name="Methods seminar", db=course_db["url"]
    )
    with course.open_group(1, actor="bo") as store:
        store.add_note("bo", "AVC", BO_NOTE)
    with course.open_group(3, actor="ed") as store:
        store.add_tension("parents in the chair vs staff in the chair", "parents", "staff")
    with course.open_group(3) as store:  # the instructor agrees it
        store.update_tension(store.tensions()[0].id, status="agreed")
    close_recall_groups(course_dir, 3, actor="instructor")
    freeze_groups(course_dir, 3, actor="instructor")
    roleplay_workshop(course_dir, group=3, actor="instructor")
    for user in HUB_USERS:
        home = base / "home" / user
        argv = ["course", str(course_dir), "--setup-home", user, str(home / "notebooks")]
        assert main(argv) == 0
        quiet_lab(home)
    ports = hub_ports()
    first = free_port() - 2  # group 3's service listens on first + 2
    config = base_config(
        base,
        programs,
        ports,
        password=PASSWORD,
        users=set(HUB_USERS),
        default_url="/lab/tree/notebooks/01_individual_recall.ipynb",
    ) + textwrap.dedent(
        f"""\
        # -- a PhD class (docs/jupyterhub.md) --
        from coprod_nb.course import hub_services, student_environment

        COURSE = {str(course_dir)!r}

        def pre_spawn_hook(spawner):
            env = student_environment(COURSE, spawner.user.name)
            spawner.environment = {{**spawner.environment, **env}}
            if "COPROD_COURSE" in env:  # the instructor starts on the dashboard
                spawner.default_url = "/lab/tree/notebooks/05_course_dashboard.ipynb"

        c.Spawner.pre_spawn_hook = pre_spawn_hook
        c.JupyterHub.services = hub_services(COURSE, first_port={first})
        """
    )
    # The links are issued before the hub starts the service, so that the service issues
    # none of its own (it prints any it issues into the hub's log).
    url = f"http://127.0.0.1:{ports['public']}"
    links = roleplay_links(course_dir, url, 3, actor="instructor")
    with running_hub(programs[0], base, config, ports) as hub:
        assert hub["url"] == url
        yield {**hub, "course": load_course(course_dir), "links": links}


@pytest.fixture(scope="module")
def students(classroom, browser):
    """Ada and Cy, each in a browser context of their own, in Lab on notebook 01."""
    contexts = {user: browser.new_context() for user in ("ada", "cy")}
    try:
        opened = {u: log_in(contexts[u], classroom["url"], u, PASSWORD) for u in contexts}
        for user, page in opened.items():  # both servers spawn at once
            run_all_cells(page, user)
        for page in opened.values():
            panel = page.locator(".jp-NotebookPanel:visible")
            panel.locator(".cp-note-editor").first.wait_for(timeout=TIMEOUT)
        yield opened
    finally:
        for context in contexts.values():
            context.close()


def _own_notes(course, group: int, login: str) -> list[str]:
    with course.open_group(group, actor=login) as store:
        return [n.text for n in store.notes()]


def test_each_student_writes_in_their_group_study_blind(classroom, students, course_db):
    course = classroom["course"]
    names = {"ada": "Ada Fenwick", "cy": "Cy Moor"}
    for user, page in students.items():
        options = write_new_note(page, TYPED[user])
        assert options == [f"{names[user]} (login {user})"]  # the hub user is the student

    groups = {"ada": 1, "cy": 2}
    for user, group in groups.items():  # each student's own view of the group study
        deadline, texts = time.time() + 30, []
        while time.time() < deadline and texts != [TYPED[user]]:
            time.sleep(0.5)
            texts = _own_notes(course, group, user)
        assert texts == [TYPED[user]], f"{user} reads {texts}"
    assert _own_notes(course, 1, "bo") == [BO_NOTE]  # Ada's partner: only his own
    # the database itself, to plain SQL as each role: own notes only, no other group at all
    assert _sql(course_db, "ada", 1, "SELECT text FROM note") == [(TYPED["ada"],)]
    assert _sql(course_db, "bo", 1, "SELECT text FROM note") == [(BO_NOTE,)]
    assert _sql(course_db, "cy", 2, "SELECT text FROM note") == [(TYPED["cy"],)]
    for role, group in (("cy", 1), ("ada", 2), ("bo", 2)):
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            _sql(course_db, role, group, "SELECT text FROM note")

    for user, page in students.items():  # in the page and in each student's own kernel
        mine = page.locator(".jp-NotebookPanel:visible .cp-note-editor .cp-my-notes").first
        mine.get_by_text(TYPED[user][:30]).first.wait_for()
        shown = mine.inner_text()
        others = [t for u, t in TYPED.items() if u != user] + [BO_NOTE]
        assert not any(t[:30] in shown for t in others), shown
        printed = kernel_prints(
            page, "print(study.study_dir.name, [n.text for n in study.notes()])"
        )
        assert printed.strip() == f"group-{groups[user]} {[TYPED[user]]!r}", printed


def test_the_dashboard_counts_both_notes(classroom, students, browser):
    context = browser.new_context()
    try:
        page = log_in(context, classroom["url"], "instructor", PASSWORD)
        run_all_cells(page, "instructor")
        table = page.locator(".jp-NotebookPanel:visible .cp-course-progress").first
        table.wait_for(timeout=TIMEOUT)
        rows = {}
        for row in table.locator("tbody tr").all():
            cells = [c.strip() for c in row.locator("td").all_inner_texts()]
            rows[cells[1]] = cells
        notes = {login: rows[login][5] for login in ("ada", "bo", "cy", "di")}
        assert notes == {"ada": "1", "bo": "1", "cy": "1", "di": "0"}
        assert not page.get_by_text(TYPED["ada"][:30]).count()  # counts only, never the text
    finally:
        context.close()


def test_a_role_player_fills_in_a_card_through_the_hub(classroom, browser):
    links = classroom["links"]
    role = links.iloc[0]
    assert role.link.startswith(f"{classroom['url']}/services/workshop-3/?key=")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(role.link, wait_until="commit")
        app = page.locator(".cp-participant-app")
        expect(app).to_contain_text(f"Welcome, {role.participant}", timeout=TIMEOUT)
        card = page.locator(".cp-card").first
        card.locator(".cp-card-comment textarea").fill(CARD)  # a card saves as it changes
        state = card.locator(".cp-card-state")
        expect(state).to_have_text(re.compile(r"^\s*saved\s*$"), timeout=TIMEOUT)
        with classroom["course"].open_group(3) as store:
            deadline, given = time.time() + 30, []
            while time.time() < deadline and not given:
                time.sleep(0.5)
                given = [r.comment for r in store.responses()]
        assert given == [CARD]
    finally:
        context.close()
