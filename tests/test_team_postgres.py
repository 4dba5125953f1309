"""The team set-up on a real PostgreSQL server: each researcher's own role, held by the database.

A small study (no name shared with the demo) is built with the library by its owner, a
plain role with CREATEROLE (not a superuser); ``apply_team_roles`` makes the login roles of
Wren (the lead), Moss, Fern and Sol; then each role connects with psycopg and plain SQL
shows what it can read and write. The library's own flows run as the roles too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest

from tests.acting import as_

psycopg = pytest.importorskip("psycopg")

from coprod_nb.domain import RawTurn  # noqa: E402
from coprod_nb.errors import Forbidden  # noqa: E402
from coprod_nb.storage import Store  # noqa: E402
from coprod_nb.storage.team import apply_team_roles  # noqa: E402

pytestmark = pytest.mark.postgres

TEAM = {"Wren": True, "Moss": False, "Fern": False, "Sol": False}  # name -> lead
DENIED = (psycopg.errors.InsufficientPrivilege,)  # 42501: privileges and RLS policies alike


@dataclass
class Team:
    """The study, its owner's store, and how to connect as each researcher."""

    owner: Store
    admin: str  # libpq URL of the superuser
    host: str  # 127.0.0.1:port/database
    logins: dict[str, str]  # researcher name -> login
    notes: dict[str, int]  # researcher name -> id of their note
    excerpts: dict[str, int]  # researcher name -> id of the excerpt their note anchors
    secret: dict[str, str]  # researcher name -> text of their note
    transcript: int
    tmp: object

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://{self.logins[name]}@{self.host}"

    def sql(self, name: str, **kw):
        return psycopg.connect(f"postgresql://{self.logins[name]}@{self.host}", **kw)

    def store(self, name: str, **kw) -> Store:
        folder = self.tmp / name.lower()
        folder.mkdir(exist_ok=True)
        return Store(folder, self.url(name), create=False, **kw)

    def rows(self, name: str, query: str, params=()) -> list[tuple]:
        with self.sql(name) as conn:
            return conn.execute(query, params).fetchall()


def _own_ids(team: Team, name: str) -> tuple[set, set, set]:
    notes = {r[0] for r in team.rows(name, "SELECT id FROM note")}
    excerpts = {r[0] for r in team.rows(name, "SELECT id FROM excerpt")}
    anchored = {r[0] for r in team.rows(name, "SELECT note_id FROM note_excerpt")}
    return notes, excerpts, anchored


@pytest.fixture
def team(pg_url, tmp_path, monkeypatch):
    monkeypatch.delenv("COPROD_USER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    tag = uuid.uuid4().hex[:6]
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    server, database = admin.rsplit("/", 1)
    host = f"{server.split('@', 1)[1]}/{database}"
    owner_role = f"owner_{tag}"
    logins = {name: f"{name.lower()}_{tag}" for name in TEAM}
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner_role}" LOGIN CREATEROLE')
        conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{owner_role}"')
    owner = Store(tmp_path / "owner", f"postgresql+psycopg://{owner_role}@{host}", actor="admin")
    try:
        owner.add_partnership("KEL", "Kelp Lane health partnership")
        owner.add_partnership("REEF", "Reef Row research centre")
        for name, lead in TEAM.items():
            owner.add_researcher(name, login=logins[name], lead=lead)
        owner.add_participant("Ida Vane", "KEL")
        owner.add_participant("Oto Brisk", "REEF")
        turns = [
            RawTurn("Wren", "What did the partnership change first?"),
            RawTurn("Ida Vane", "We moved the meetings to the library so families could come."),
            RawTurn("Ida Vane", "Money for childcare mattered more than any strategy paper."),
            RawTurn("Moss", "And who chaired them?"),
            RawTurn("Ida Vane", "Nobody at first; later a parent did, and that changed things."),
        ]
        tr = owner.add_transcript(
            turns,
            title="Kelp Lane conversation",
            source_name="kel.txt",
            source_format="txt",
            content_hash=uuid.uuid4().hex,
            partnership="KEL",
        )
        quotes = {
            "Wren": "moved the meetings to the library",
            "Moss": "Money for childcare",
            "Fern": "a parent did",
            "Sol": "Nobody at first",
        }
        notes, excerpts, secret = {}, {}, {}
        for name in TEAM:
            ex = owner.excerpt_of_quote(tr.id, quotes[name])
            secret[name] = f"{name}'s private reading: {uuid.uuid4().hex[:8]}"
            note = owner.add_note(
                name,
                "KEL",
                secret[name],
                category="barrier",
                kind="recalled memory",
                excerpts=[ex.id],
            )
            notes[name], excerpts[name] = note.id, ex.id
        report = apply_team_roles(owner)
        assert sorted(report.roles) == sorted(logins.values())
        yield Team(owner, admin, host, logins, notes, excerpts, secret, tr.id, tmp_path)
    finally:
        owner.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO coprod')
        with psycopg.connect(admin.rsplit("/", 1)[0] + f"/{database}", autocommit=True) as conn:
            conn.execute(f'REASSIGN OWNED BY "{owner_role}" TO coprod')
            for role in [*logins.values(), owner_role]:
                conn.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(admin.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            for role in [*logins.values(), owner_role]:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _closure(team: Team) -> None:
    with team.store("Wren") as wren:
        closure = wren.close_recall()
    assert len(closure.snapshot["notes"]) >= len(TEAM)


# -- the command ------------------------------------------------------------------------------


def _grants_and_policies(team: Team) -> tuple:
    with psycopg.connect(team.admin) as conn:
        grants = conn.execute(
            "SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = 'public' ORDER BY 1, 2, 3"
        ).fetchall()
        columns = conn.execute(
            "SELECT grantee, table_name, column_name, privilege_type "
            "FROM information_schema.column_privileges WHERE table_schema = 'public' "
            "ORDER BY 1, 2, 3, 4"
        ).fetchall()
        policies = conn.execute(
            "SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies ORDER BY 1, 2"
        ).fetchall()
        roles = conn.execute(
            "SELECT rolname, rolcanlogin, rolpassword IS NULL FROM pg_authid "
            "WHERE rolname = ANY(%s) ORDER BY 1",
            (list(team.logins.values()),),
        ).fetchall()
    return grants, columns, policies, roles


def test_the_team_command_makes_login_roles_without_passwords_and_is_idempotent(team):
    first = _grants_and_policies(team)
    roles = first[3]
    assert [(login, True, True) for login in sorted(team.logins.values())] == roles
    again = apply_team_roles(team.owner)
    assert all(f"role {login} exists (LOGIN)" in str(again) for login in team.logins.values())
    assert _grants_and_policies(team) == first
    # the name key: the lead's role only
    key_readers = {g for g, t, p in first[0] if t == "name_key" and p == "SELECT"}
    assert team.logins["Wren"] in key_readers
    assert not key_readers & {team.logins[n] for n in ("Moss", "Fern", "Sol")}


def test_the_team_command_on_the_command_line(team, capsys):
    from coprod_nb.cli import main

    url = team.owner.url
    assert main(["team", str(team.owner.study_dir), "--db", url]) == 0
    out = capsys.readouterr().out
    assert "policies and triggers" in out
    assert all(login in out for login in team.logins.values())
    # a researcher's role may not run it
    (team.tmp / "moss").mkdir()
    assert main(["team", str(team.tmp / "moss"), "--db", team.url("Moss")]) == 1
    assert "owner" in capsys.readouterr().err
    # --as names someone else than the connected role
    assert main(["info", str(team.tmp / "moss"), "--db", team.url("Moss"), "--as", "Wren"]) == 1
    err = capsys.readouterr().err
    assert (
        err == f"error: you are connected to the database as {team.logins['Moss']}; "
        "you cannot act as Wren\n"
    )
    # the database's refusal is one line too
    assert main(["close-recall", str(team.tmp / "moss"), "--db", team.url("Moss")]) == 1
    assert capsys.readouterr().err.startswith("error: only the study lead (Wren) can close")


def test_a_role_taken_off_the_team_loses_its_privileges(team):
    with psycopg.connect(team.admin.rsplit("/", 1)[0] + "/" + team.host.rsplit("/", 1)[1]) as c:
        c.execute("UPDATE researcher SET login = NULL WHERE name = 'Sol'")
    with team.owner.engine.begin() as conn:  # a grant to everyone, made by mistake
        conn.exec_driver_sql("GRANT SELECT ON note TO PUBLIC")
    report = apply_team_roles(team.owner)
    assert f"revoked the privileges of {team.logins['Sol']}" in str(report)
    assert "revoked the privileges of PUBLIC" in str(report)
    assert "Sol: no login in the study, so no role" in str(report)
    with team.sql("Sol") as conn, pytest.raises(DENIED):
        conn.execute("SELECT * FROM note")
    assert team.rows("Moss", "SELECT id FROM note") == [(team.notes["Moss"],)]


# -- blinding, by plain SQL -------------------------------------------------------------------


STATS = "SELECT attname, histogram_bounds::text FROM pg_stats WHERE tablename IN ('note', 'event')"


def test_before_closure_each_role_reads_only_its_own_notes_excerpts_and_events(team):
    with team.owner.engine.begin() as conn:  # statistics that would hold the texts
        conn.exec_driver_sql("ANALYZE note; ANALYZE event")
        assert conn.exec_driver_sql(STATS).all()  # the owner's
    for name in TEAM:
        notes, excerpts, anchored = _own_ids(team, name)
        assert notes == {team.notes[name]}, name
        assert excerpts == {team.excerpts[name]}, name
        assert anchored == {team.notes[name]}, name
        texts = [r[0] for r in team.rows(name, "SELECT text FROM note")]
        assert texts == [team.secret[name]]
        events = team.rows(
            name,
            "SELECT object_type, object_id FROM event WHERE object_type IN ('note', 'excerpt')",
        )
        assert {i for t, i in events if t == "note"} == {team.notes[name]}, name
        assert {i for t, i in events if t == "excerpt"} == {team.excerpts[name]}, name
        # no colleague's text anywhere in the log
        log = " ".join(
            f"{b} {a}" for b, a in team.rows(name, "SELECT before::text, after::text FROM event")
        )
        for other in TEAM:
            assert (team.secret[other] in log) == (other == name), (name, other)
        # nor through the database's own functions and statistics
        _refused(team, name, "SELECT coprod_notes_snapshot()")
        assert team.rows(name, STATS) == []
        # non-blind tables stay readable
        assert len(team.rows(name, "SELECT * FROM researcher")) == len(TEAM)
        assert team.rows(name, "SELECT count(*) FROM turn")[0][0] == 5


def test_after_the_lead_closes_step_1_every_role_reads_everything(team):
    _closure(team)
    for name in TEAM:
        notes, excerpts, anchored = _own_ids(team, name)
        assert notes == set(team.notes.values()), name
        assert excerpts == set(team.excerpts.values()), name
        assert anchored == set(team.notes.values()), name
        query = "SELECT object_id FROM event WHERE object_type = 'note'"
        ids = {i for (i,) in team.rows(name, query)}
        assert ids == set(team.notes.values())


# -- forbidden writes, by plain SQL -----------------------------------------------------------


def _refused(team: Team, name: str, sql: str, params=()) -> None:
    with team.sql(name) as conn, pytest.raises(DENIED):
        conn.execute(sql, params)


def test_only_the_lead_writes_closures_frameworks_researchers_workshops_and_decisions(team):
    for name in ("Moss", "Fern", "Sol"):
        me = team.logins[name]
        _refused(team, name, "UPDATE researcher SET lead = true WHERE login = %s", (me,))
        _refused(team, name, "UPDATE researcher SET name = 'X' WHERE name = 'Wren'")
        _refused(team, name, "UPDATE researcher SET login = 'x'")  # not even the lead
        _refused(team, name, "DELETE FROM researcher WHERE name = 'Sol'")
        _refused(team, name, "INSERT INTO researcher (name, lead) VALUES ('Eve', true)")
        _refused(
            team,
            name,
            "INSERT INTO step_closure (step, closed_at, closed_by, snapshot) "
            "VALUES ('recall', now(), 'Wren', '{}')",
        )
        _refused(
            team,
            name,
            "INSERT INTO framework_version (version, label, frozen_at, frozen_by, tensions) "
            "VALUES (1, 'v1', now(), 'Wren', '[]')",
        )
        _refused(
            team,
            name,
            "INSERT INTO workshop (date, mode, facilitators, participants, base_version, "
            "consensus_threshold, threshold_fixed_at, notes) "
            "VALUES ('2024-05-01', 'online', '[]', '[]', 1, 0.75, now(), '')",
        )
        _refused(team, name, "INSERT INTO name_key (real_name, pseudonym) VALUES ('a', 'b')")
        _refused(team, name, "SELECT * FROM name_key")
    # the lead's role may
    with team.sql("Wren") as conn:
        conn.execute("UPDATE researcher SET lead = true WHERE name = 'Fern'")
        conn.execute("UPDATE researcher SET lead = false WHERE name = 'Fern'")
    _refused(team, "Wren", "UPDATE researcher SET login = 'x' WHERE name = 'Fern'")
    assert team.owner.step_closure() is None


def test_a_researcher_writes_only_their_own_notes_anchors_and_readings(team):
    fern, sol = team.notes["Fern"], team.notes["Sol"]
    fern_id = team.owner.researcher("Fern").id
    with team.sql("Moss") as conn:
        # before closure a colleague's note does not exist for moss: nothing is changed
        assert conn.execute("UPDATE note SET text = 'x' WHERE id = %s", (fern,)).rowcount == 0
        assert conn.execute("DELETE FROM note_excerpt WHERE note_id = %s", (sol,)).rowcount == 0
    _refused(
        team,
        "Moss",
        "INSERT INTO note (researcher_id, partnership_id, category, kind, text, version, "
        "created_at, updated_at) "
        "VALUES (%s, 1, 'barrier', 'recalled memory', 'x', 1, now(), now())",
        (fern_id,),
    )
    _refused(
        team,
        "Moss",
        "INSERT INTO note_excerpt (note_id, excerpt_id) VALUES (%s, %s)",
        (fern, team.excerpts["Moss"]),
    )
    _refused(
        team,
        "Moss",
        "INSERT INTO reading (researcher_id, transcript_id, read_at) VALUES (%s, %s, now())",
        (fern_id, team.transcript),
    )
    _refused(team, "Moss", "UPDATE note SET researcher_id = %s", (fern_id,))
    _closure(team)
    # after closure colleagues' notes are readable, not writable
    _refused(team, "Moss", "UPDATE note SET text = 'x' WHERE id = %s", (fern,))
    _refused(
        team,
        "Moss",
        "UPDATE note SET researcher_id = %s WHERE id = %s",
        (
            team.owner.researcher("Moss").id,
            fern,
        ),
    )
    _refused(team, "Moss", "DELETE FROM note_excerpt WHERE note_id = %s", (sol,))
    _refused(team, "Moss", "DELETE FROM note WHERE id = %s", (fern,))
    with team.sql("Moss") as conn:
        conn.execute("UPDATE note SET text = 'my own' WHERE id = %s", (team.notes["Moss"],))
    texts = {n.id: n.text for n in as_(team.owner, "Wren").notes()}
    assert texts[fern] == team.secret["Fern"] and texts[team.notes["Moss"]] == "my own"


def test_every_table_has_a_rule_for_researchers_roles():
    """A table added to the models must be given a rule here (and policies if it is blind)."""
    from coprod_nb.storage.models import Base
    from coprod_nb.storage.team import LEAD_ONLY_GRANTS, TABLE_GRANTS

    # alembic's own table, and PostgreSQL's search vectors (migration 0018, no model)
    assert set(Base.metadata.tables) | {"alembic_version", "turn_search"} == set(
        TABLE_GRANTS
    ) | set(LEAD_ONLY_GRANTS)


def test_nobody_writes_an_event_about_a_colleagues_note(team):
    _closure(team)
    _refused(
        team,
        "Moss",
        "INSERT INTO event (at, actor, action, object_type, object_id, detail) "
        "VALUES (now(), 'x', 'update', 'note', %s, '')",
        (team.notes["Fern"],),
    )


def test_nobody_rewrites_the_log_and_the_database_names_the_actor(team):
    for name in TEAM:
        _refused(team, name, "UPDATE event SET actor = 'x'")
        _refused(team, name, "DELETE FROM event")
    with team.sql("Moss") as conn:
        (eid,) = conn.execute(
            "INSERT INTO event (at, actor, action, object_type, object_id, detail) "
            "VALUES ('2000-01-01', 'wren', 'comment', 'tension', NULL, 'forged') RETURNING id"
        ).fetchone()
    # an event of a lead's act (here step 1 closing) is refused outright (LEAD_EVENTS in
    # storage/team.py; more in tests/test_review_2026_12_02.py)
    _refused(
        team,
        "Moss",
        "INSERT INTO event (at, actor, action, object_type, object_id, detail) "
        "VALUES (now(), 'wren', 'close', 'step', NULL, 'forged')",
    )
    with psycopg.connect(team.admin.rsplit("/", 1)[0] + "/" + team.host.rsplit("/", 1)[1]) as c:
        actor, at = c.execute("SELECT actor, at FROM event WHERE id = %s", (eid,)).fetchone()
    assert actor == team.logins["Moss"]
    assert at.year > 2000


# -- identity in the library ------------------------------------------------------------------


def test_the_library_as_a_researcher_role_refuses_impersonation(team, monkeypatch):
    with pytest.raises(Forbidden, match=f"connected to the database as {team.logins['Moss']}"):
        team.store("Moss", actor="wren")
    with pytest.raises(Forbidden, match="you cannot act as Wren"):
        team.store("Moss", actor="Wren")
    monkeypatch.setenv("COPROD_USER", team.logins["Fern"])
    with pytest.raises(Forbidden):
        team.store("Moss")
    monkeypatch.setenv("COPROD_USER", "Moss")  # the name is the same person
    with team.store("Moss") as st:
        assert st.actor == team.logins["Moss"]
        assert st.acting_researcher().name == "Moss"
    monkeypatch.delenv("COPROD_USER")
    with team.store("Moss") as st:  # nothing declared: the role says who it is
        assert st.actor == team.logins["Moss"]
        # nor can the actor be changed afterwards, nor a viewer or a lead be named
        with pytest.raises(Forbidden, match="cannot act as wren"):
            st.actor = "wren"
        assert st.actor == team.logins["Moss"]
        with pytest.raises(Forbidden, match="cannot look as Wren"):
            st.notes("Wren")
        with pytest.raises(Forbidden, match="cannot close step 1 as Wren"):
            st.close_recall(by="Wren")
    # the owner administers: a declared actor is kept
    assert team.owner.actor == "admin"


def test_the_library_flows_run_as_the_roles(team):
    with team.store("Moss") as moss:
        ex = moss.excerpt_of_quote(team.transcript, "later a parent did")
        note = moss.add_note("Moss", "KEL", "moss again", excerpts=[ex.id])
        moss.mark_read("Moss", team.transcript)
        assert {n.id for n in moss.notes("Moss")} == {team.notes["Moss"], note.id}
        # naming a colleague as viewer is refused: no one looks as another
        with pytest.raises(Forbidden, match="cannot look as Fern"):
            moss.notes("Fern")
        assert team.excerpts["Fern"] not in {e.id for e in moss.excerpts()}
        moss.update_note(note.id, "Moss", text="moss, edited")
        with pytest.raises(Forbidden, match=r"only the study lead \(Wren\) can close step 1"):
            moss.close_recall()  # the library refuses (the database would too: _refused)
    assert as_(team.owner, "Moss").history("note", note.id)[-1].actor == team.logins["Moss"]
    with team.store("Fern") as fern:
        from coprod_nb.analysis import progress_table

        counts = progress_table(fern).groupby("researcher")["notes"].max().to_dict()
        assert counts == {"Wren": 1, "Moss": 2, "Fern": 1, "Sol": 1}  # counts only
        assert ex.id not in {e.id for e in fern.excerpts()}
        assert note.id not in {n.id for n in fern.notes("Fern")}
    with team.store("Wren") as wren:
        closure = wren.close_recall()
    every = {n.id for n in as_(team.owner, "Wren").notes(include_deleted=True)}
    assert {n["id"] for n in closure.snapshot["notes"]} == every
    assert closure.closed_by == "Wren"
    stored = team.owner.step_closure()
    assert {n["id"] for n in stored.snapshot["notes"]} == every
    (moss_state,) = [n for n in stored.snapshot["notes"] if n["id"] == note.id]
    assert moss_state["text"] == "moss, edited" and moss_state["excerpts"] == [ex.id]
    with team.store("Moss") as moss:
        assert {n.text for n in moss.notes("Moss", researcher="Fern")} == {team.secret["Fern"]}
        moss.update_note(note.id, "Moss", text="after closure")  # a version is kept
        assert [v.text for v in moss.note_versions(note.id, "Moss")] == ["moss, edited"]
    assert len(team.rows("Fern", "SELECT * FROM note_version")) == 1


def test_a_researchers_role_undoes_its_board_edits_links_included(team):
    """The tension board's undo runs as the researcher's own role: taking back a link is a
    DELETE the role may make (with its event), as attaching and detaching evidence are."""
    from coprod_nb.storage.interpretation import BoardUndo

    _closure(team)
    with team.store("Moss") as moss:
        t1 = moss.add_tension("Library vs strategy paper", "library", "strategy paper")
        t2 = moss.add_tension("Chair by parents vs nobody", "parents", "nobody")
        undo = BoardUndo(moss)
        undo.attach(t1.id, notes=[team.notes["Fern"]])
        undo.link(t1.id, t2.id, "contradicts")
        assert len(moss.tension_links()) == 1
        undo.undo()
        assert moss.tension_links() == []
        undo.undo()
        assert moss.evidence(t1.code) == []
    assert [e.action for e in as_(team.owner, "Wren").history("tension_link")][-1] == "delete"


def test_ballots_stay_hidden_until_the_poll_closes(team):
    _closure(team)
    with team.store("Wren") as wren:
        wren.add_tension("access vs ownership", "access", "ownership", code="K1", status="agreed")
        wren.add_tension("care vs money", "care", "money", code="K2", status="agreed")
        wren.freeze_framework("v1")
        ws = wren.add_workshop(date(2024, 5, 1), participants=["Ida Vane", "Oto Brisk"])
        poll = wren.open_poll(ws.id, "opening", ["K1", "K2"], max_choices=1)
    with team.store("Moss") as moss:  # a facilitator records the ballots
        moss.cast_ballot(poll.id, "Ida Vane", ["K1"])
        moss.cast_ballot(poll.id, "Oto Brisk", ["K1"])
        moss.cast_ballot(poll.id, "Oto Brisk", ["K2"])  # a second ballot replaces the first
        assert moss.voters(poll.id) == ["Ida Vane", "Oto Brisk"]
        assert moss.ballot_count(poll.id) == 2
        with pytest.raises(Forbidden):
            moss.ballots(poll.id)
    for name in TEAM:
        assert team.rows(name, "SELECT * FROM ballot") == [], name
    _refused(
        team,
        "Fern",
        "INSERT INTO ballot (poll_id, participant_id, choices, cast_at) "
        "VALUES (%s, 1, '[\"K1\"]', now())",
        (poll.id,),
    )
    with team.sql("Fern") as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("SELECT coprod_cast_ballot(%s, 1, '[\"K9\"]')", (poll.id,))
    _refused(
        team,
        "Moss",
        "INSERT INTO decision (workshop_id, seq, ref, kind, payload, recorded_by, recorded_at) "
        "VALUES (%s, 1, 'D1', 'keep', '{}', 'Moss', now())",
        (ws.id,),
    )
    _refused(team, "Moss", "UPDATE workshop SET notes = 'x'")
    with team.store("Wren") as wren:
        wren.close_poll(poll.id)
        assert wren.ballots(poll.id) == {"Ida Vane": ["K1"], "Oto Brisk": ["K2"]}
    for name in TEAM:
        assert len(team.rows(name, "SELECT * FROM ballot")) == 2, name
    # A closed poll stays closed for every role, the owner's too (migration 0008's guard).
    for name in ("Sol", "Wren"):
        with team.sql(name) as conn, pytest.raises(psycopg.errors.RaiseException, match="closed"):
            conn.execute("UPDATE poll SET closed_at = NULL WHERE id = %s", (poll.id,))


def test_an_excerpt_is_blind_by_the_notes_it_anchors_and_who_made_it(team):
    with team.store("Moss") as moss:
        loose = moss.excerpt_of_quote(team.transcript, "What did the partnership")
    made_for_fern = team.owner.excerpt_of_quote(team.transcript, "mattered more")
    team.owner.update_note(
        team.notes["Fern"], "Fern", excerpts=[team.excerpts["Fern"], made_for_fern.id]
    )
    with psycopg.connect(team.admin.rsplit("/", 1)[0] + "/" + team.host.rsplit("/", 1)[1]) as c:
        # as a manifest loaded by the owner in the lead's name records it
        c.execute("UPDATE excerpt SET created_by = 'Wren' WHERE id = %s", (made_for_fern.id,))
    unanchored = team.owner.excerpt_of_quote(team.transcript, "And who chaired")  # by "admin"
    seen = {name: _own_ids(team, name)[1] for name in TEAM}
    assert seen["Moss"] == {team.excerpts["Moss"], loose.id, unanchored.id}
    assert seen["Fern"] == {team.excerpts["Fern"], made_for_fern.id, unanchored.id}
    assert seen["Wren"] == {team.excerpts["Wren"], unanchored.id}  # made "by" Wren: Fern's
    assert seen["Sol"] == {team.excerpts["Sol"], unanchored.id}
    _closure(team)
    assert all(len(_own_ids(team, name)[1]) == 7 for name in TEAM)


def test_a_transcripts_text_under_hidden_excerpts_is_the_owners_to_change(team):
    # the excerpts' offsets move with the text: a role that cannot see them all would
    # leave colleagues' excerpts on the wrong words
    _refused(team, "Moss", "UPDATE transcript SET text = text || ' '")
    with team.sql("Moss") as conn:  # other columns stay the team's
        conn.execute("UPDATE transcript SET title = 'Kelp Lane, first conversation'")


def test_the_databases_snapshot_is_the_librarys(team):
    """The snapshot the database takes for the lead's role has the library's shape."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from coprod_nb.storage.models import Note
    from coprod_nb.storage.notes import _note_state

    team.owner.delete_note(team.notes["Sol"], "Sol")
    with team.owner.engine.begin() as conn:  # a time on a whole second: no ".000000"
        conn.exec_driver_sql("UPDATE note SET created_at = '2024-01-02 03:04:05'")
    with team.owner.session() as s:  # the owner sees every note
        library = [
            _note_state(n)
            for n in s.scalars(select(Note).options(selectinload(Note.excerpts)).order_by(Note.id))
        ]
    with psycopg.connect(team.admin.rsplit("/", 1)[0] + "/" + team.host.rsplit("/", 1)[1]) as c:
        (snapshot,) = c.execute("SELECT coprod_notes_snapshot()").fetchone()
    assert len(library) == len(TEAM)
    assert library[0]["created_at"] == "2024-01-02T03:04:05" and library[-1]["deleted_at"]
    assert snapshot["notes"] == library
    assert [list(n) for n in snapshot["notes"]] == [list(n) for n in library]


def test_migration_0007_installs_and_removes_the_policies(team):
    from alembic import command

    from coprod_nb.storage.database import _alembic_config

    def policies() -> int:
        with team.owner.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM pg_policies").scalar_one()

    installed = policies()
    assert installed > 30
    cfg = _alembic_config()
    with team.owner.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert policies() == 0
    with team.owner.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert policies() == installed
    for name in TEAM:  # the roles' grants survive: the blinding is back
        assert {r[0] for r in team.rows(name, "SELECT id FROM note")} == {team.notes[name]}


def test_researchers_roles_search_but_only_the_triggers_write_the_vectors(team):
    found = "SELECT id FROM turn_search WHERE search_vector @@ to_tsquery('simple', 'childcare')"
    for name in TEAM:
        assert len(team.rows(name, found)) == 1
        _refused(team, name, "UPDATE turn_search SET search_vector = to_tsvector('forged')")
        _refused(team, name, "DELETE FROM turn_search")
        _refused(team, name, "INSERT INTO turn_search (id, search_vector) VALUES (-1, '')")
    # a member's change of a turn's text (theirs to make) is indexed by the triggers
    with team.sql("Moss") as conn:
        conn.execute(
            "UPDATE turn SET text = 'Kelpie pasties at every meeting.' "
            "WHERE text LIKE 'Money for childcare%'"
        )
    with team.store("Fern") as fern:
        assert [h.transcript_id for h in fern.search("kelpie")] == [team.transcript]
        assert list(fern.search("childcare")) == []


def test_migration_0018_lets_every_role_that_reads_the_turns_search(team):
    from alembic import command

    from coprod_nb.storage.database import _alembic_config

    cfg = _alembic_config()
    for revision, step in (("0017", command.downgrade), ("head", command.upgrade)):
        with team.owner.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)
    for name in TEAM:  # before `coprod-nb team` runs again
        with team.store(name) as store:
            assert [h.transcript_id for h in store.search("library")] == [team.transcript]


def test_a_sqlite_study_has_no_team_roles(tmp_path, capsys):
    from coprod_nb.cli import main

    with Store(tmp_path / "solo", actor="Moss") as st:
        st.add_researcher("Moss", login="moss")
        assert st.connected_as is None  # declared: one person's file
        st2 = Store(tmp_path / "solo", actor="Wren")
        assert st2.actor == "Wren"  # nobody can check it on SQLite
        st2.close()
    assert main(["team", str(tmp_path / "solo")]) == 1
    assert "SQLite study is one person's file" in capsys.readouterr().err
