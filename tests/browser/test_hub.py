"""A team on a real JupyterHub: each researcher's own server on a shared PostgreSQL study.

The study (no name shared with the demo) is built with the library by its owner, a plain role
with CREATEROLE, on the throwaway PostgreSQL server; ``apply_team_roles`` makes the LOGIN roles
of Wren (the lead), Moss and Fern. JupyterHub runs on 127.0.0.1 with its own
configurable-http-proxy (from npm, ``scripts/install-system-deps.sh``), a shared-password
authenticator and SimpleLocalProcessSpawner: each hub user has a home of their own holding a
copy of the notebooks, and a server whose ``COPROD_DB`` connects as the database role of the
same name (hub user = researcher's login = role). Moss and Fern log in with Chromium in
separate browser contexts, run notebook 01 and type a note each; the database (plain SQL as
each role) and the page show each only their own. Fern, not the lead, cannot close step 1:
the button is disabled, and forced calls (the widget's click, the library naming the lead,
plain SQL over her server's connection) are refused.

The configuration here is the one docs/jupyterhub.md and SECURITY.md describe.
"""

from __future__ import annotations

import shutil
import textwrap
import time
import uuid
from pathlib import Path

import pytest

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
from tests.conftest import ROOT

psycopg = pytest.importorskip("psycopg")

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

TEAM = {"Wren": ("wren", True), "Moss": ("moss", False), "Fern": ("fern", False)}
HUB_USERS = ("moss", "fern")
PASSWORD = "blind-notes-" + uuid.uuid4().hex[:8]  # the hub's shared password (>= 8 chars)
NOTEBOOK = "notebooks/01_individual_recall.ipynb"
TYPED = {
    "moss": "Moss, typed at the hub: the library room mattered more than the agenda",
    "fern": "Fern, typed at the hub: a parent in the chair changed who spoke",
}
WREN_NOTE = "Wren's reading, entered by the owner: childcare money came first"


@pytest.fixture(scope="module")
def programs() -> tuple[str, str, str]:
    """jupyterhub, jupyterhub-singleuser (this environment) and configurable-http-proxy."""
    return hub_programs()


@pytest.fixture(scope="module")
def team_db(pg_server, tmp_path_factory):
    """The shared study on PostgreSQL, made by its owner role; yields (host, admin URL)."""
    from coprod_nb.domain import RawTurn
    from coprod_nb.storage import Store
    from coprod_nb.storage.team import apply_team_roles

    admin = pg_server.replace("postgresql+psycopg://", "postgresql://")
    database, owner_role = f"hub_{uuid.uuid4().hex[:8]}", f"owner_{uuid.uuid4().hex[:6]}"
    host = f"{admin.split('@', 1)[1]}/{database}"
    logins = [login for login, _ in TEAM.values()]
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner_role}" LOGIN CREATEROLE')
        conn.execute(f'CREATE DATABASE "{database}" OWNER "{owner_role}"')
    owner = Store(
        tmp_path_factory.mktemp("hub-owner") / "study",
        f"postgresql+psycopg://{owner_role}@{host}",
        actor="admin",
    )
    try:
        owner.add_partnership("KEL", "Kelp Lane health partnership")
        for name, (login, lead) in TEAM.items():
            owner.add_researcher(name, login=login, lead=lead)
        owner.add_participant("Ida Vane", "KEL")
        turns = [
            RawTurn("Wren", "What did the partnership change first?"),
            RawTurn("Ida Vane", "We moved the meetings to the library so families could come."),
            RawTurn("Moss", "And who chaired them?"),
            RawTurn("Ida Vane", "Nobody at first; later a parent did, and that changed things."),
        ]
        owner.add_transcript(
            turns,
            title="Kelp Lane conversation",
            source_name="kel.txt",
            source_format="txt",
            content_hash=uuid.uuid4().hex,
            partnership="KEL",
        )
        owner.add_note("Wren", "KEL", WREN_NOTE, category="barrier", kind="recalled memory")
        report = apply_team_roles(owner)
        assert sorted(report.roles) == sorted(logins)
        owner.close()
        yield host, f"{admin}/{database}"
    finally:
        owner.close()
        with psycopg.connect(f"{admin}/{database}", autocommit=True) as conn:
            conn.execute(f'REASSIGN OWNED BY "{owner_role}" TO coprod')
            for role in [*logins, owner_role]:
                conn.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            for role in [*logins, owner_role]:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _hub_config(base: Path, host: str, programs, ports: dict[str, int]) -> str:
    """jupyterhub_config.py: the set-up of docs/jupyterhub.md, on 127.0.0.1 ports."""
    return base_config(
        base,
        programs,
        ports,
        password=PASSWORD,
        users=set(HUB_USERS),
        default_url=f"/lab/tree/{NOTEBOOK}",
    ) + textwrap.dedent(
        f"""\
        c.Spawner.environment = {{
            # the hub user name is the researcher's login and the database role
            "COPROD_DB": lambda spawner: f"postgresql://{{spawner.user.name}}@{host}",
            "COPROD_STUDY": lambda spawner: f"{{spawner.home_dir}}/study",
        }}
        """
    )


def _make_home(home: Path) -> None:
    """A user's home: a copy of the notebooks, and Lab without its news pop-up."""
    shutil.copytree(
        ROOT / "notebooks", home / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    quiet_lab(home)


@pytest.fixture(scope="module")
def hub(programs, team_db, tmp_path_factory):
    """JupyterHub on 127.0.0.1 with its proxy; yields its public URL and the users' homes."""
    host, _ = team_db  # the programs are looked for first: a missing one skips before the study
    base = tmp_path_factory.mktemp("hub")
    for user in HUB_USERS:
        _make_home(base / "home" / user)
    ports = hub_ports()
    with running_hub(programs[0], base, _hub_config(base, host, programs, ports), ports) as running:
        yield running


def _log_in(context, hub: dict, user: str):
    return log_in(context, hub["url"], user, PASSWORD)


def _sql(host: str, role: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(f"postgresql://{role}@{host}") as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def pages(hub, browser):
    """Moss and Fern, each in a browser context of their own, in Lab on notebook 01."""
    contexts = {user: browser.new_context() for user in HUB_USERS}
    try:
        opened = {user: _log_in(contexts[user], hub, user) for user in HUB_USERS}
        for user, page in opened.items():  # both servers spawn at once
            run_all_cells(page, user)
        for page in opened.values():
            panel = page.locator(".jp-NotebookPanel:visible")
            panel.locator(".cp-recall-closure").first.wait_for(timeout=120_000)
        yield opened
    finally:
        for context in contexts.values():
            context.close()


_kernel_prints = kernel_prints


def test_each_researcher_at_the_hub_writes_notes_only_they_can_read(hub, team_db, pages):
    host, admin = team_db
    for user, page in pages.items():
        options = write_new_note(page, TYPED[user])
        assert options == [f"{user.title()} (login {user})"]  # the hub user is the researcher

    for user in HUB_USERS:  # each role's own SQL reads only its own notes
        deadline, texts = time.time() + 30, []
        while time.time() < deadline and texts != [TYPED[user]]:
            time.sleep(0.5)
            texts = [t for (t,) in _sql(host, user, "SELECT text FROM note ORDER BY id")]
        assert texts == [TYPED[user]], f"{user} reads {texts}"
        actors = _sql(host, user, "SELECT DISTINCT actor FROM event WHERE object_type = 'note'")
        assert actors == [(user,)]
    with psycopg.connect(admin) as conn:  # the superuser sees all three, each by its author
        rows = conn.execute(
            "SELECT r.login, n.text FROM note n JOIN researcher r ON r.id = n.researcher_id"
        ).fetchall()
    assert sorted(rows) == sorted(
        [("wren", WREN_NOTE), ("moss", TYPED["moss"]), ("fern", TYPED["fern"])]
    )

    for user, page in pages.items():  # the NoteEditor's list: one's own note, no one else's
        mine = page.locator(".jp-NotebookPanel:visible .cp-note-editor .cp-my-notes").first
        mine.get_by_text(TYPED[user][:30]).first.wait_for()
        shown = mine.inner_text()
        others = [t for u, t in TYPED.items() if u != user] + [WREN_NOTE]
        assert not any(t[:30] in shown for t in others), shown
        assert page.locator(".jp-NotebookPanel:visible .cp-notes-export").count() == 1
    # each server keeps its study folder (exports, backups) in its user's home
    assert all((hub["home"] / user / "study").is_dir() for user in HUB_USERS)


def test_a_researcher_who_is_not_the_lead_cannot_close_step_1(team_db, pages):
    host, admin = team_db
    page = pages["fern"]
    closure = page.locator(".jp-NotebookPanel:visible .cp-recall-closure").first
    button = closure.get_by_role("button", name="Close step 1")
    assert button.is_disabled()
    closure.get_by_text("Fern is not the lead").wait_for()

    # Forced through the page: enable the button in the DOM, tick, click.
    closure.get_by_role("checkbox").check()
    button.evaluate("b => { b.disabled = false; }")
    button.click()
    closure.locator(".cp-error").get_by_text("only the study lead").wait_for()

    # Forced in Fern's own kernel: the library naming the lead refuses; so does the
    # database, to plain SQL over the connection Fern's server holds.
    printed = _kernel_prints(
        page,
        "from sqlalchemy import text\n"
        "try:\n"
        "    study.close_recall('Wren')\n"
        "    print('closed')\n"
        "except Exception as exc:\n"
        "    print('library refused:', type(exc).__name__, exc)\n"
        "try:\n"
        "    with study.engine.begin() as conn:\n"
        '        conn.execute(text("INSERT INTO step_closure (step, closed_at, closed_by, "\n'
        "                          \"snapshot) VALUES ('recall', now(), 'Wren', '{}')\"))\n"
        "    print('inserted')\n"
        "except Exception as exc:\n"
        "    print('database refused:', type(getattr(exc, 'orig', exc)).__name__)\n",
    )
    lines = printed.splitlines()
    assert lines[0].startswith("library refused: Forbidden"), printed
    assert lines[1] == "database refused: InsufficientPrivilege", printed
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # and plain SQL as Fern's role
        _sql(
            host,
            "fern",
            "INSERT INTO step_closure (step, closed_at, closed_by, snapshot) "
            "VALUES ('recall', now(), 'Fern', '{}')",
        )
    with psycopg.connect(admin) as conn:
        assert conn.execute("SELECT count(*) FROM step_closure").fetchone() == (0,)
