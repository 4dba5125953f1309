"""Bugs found in the release review of 2026-12-02, each pinned by a test that fails without
its fix. The study is the second study (no name shared with the demo), on a SQLite file and
on a real PostgreSQL server.

A frozen workshop's record (responses, polls, ballots) is refused by the store
(``_refuse_frozen`` in storage/workshop.py); the views offer editing on an open workshop only.
"""

from __future__ import annotations

from datetime import date

import pytest

from coprod_nb.domain.decisions import Decision
from coprod_nb.errors import OutOfOrder
from tests.acting import as_lead
from tests.second_study import build_second_study


def _workshop_record(store, ws_id: int) -> tuple:
    """What a workshop holds that a frozen result rests on: responses, polls, ballots."""
    responses = sorted(
        (r.participant_id, r.code, r.comment, r.suggestion, r.circle)
        for r in store.responses(ws_id)
    )
    polls = sorted((p.name, tuple(p.options)) for p in store.polls(ws_id))
    return responses, polls, len(store.history("card_response")), len(store.history("poll"))


# -- a workshop whose result is frozen is finished: its record no longer changes ---------


@pytest.mark.parametrize("second", [False, True], ids=["late", "follow-up-open"])
def test_a_frozen_workshop_refuses_responses_polls_and_ballots(tmp_path, db_url, second):
    """After the lead freezes a workshop's result (v2), the responses and polls its
    decisions cite (``prompted_by``) stay as they were: a researcher or the lead rewriting
    a participant's comment, or opening a new poll there, is refused and changes nothing.
    A workshop still open (the follow-up on v2) keeps taking them."""
    store = build_second_study(tmp_path / "study", "workshop", db_url, second_workshop=second)
    frozen = store.workshops()[0]
    assert store.workshop_frozen_as(frozen.id) == 2
    before = _workshop_record(store, frozen.id)
    attempts = {
        "rewrite a response": lambda: store.set_response(
            frozen.id, "Bea Kestle", "H2", comment="rewritten after the freeze"
        ),
        "a new response": lambda: store.set_response(frozen.id, "Ora Menhay", "H3", circle="outer"),
        "open a poll": lambda: as_lead(store).open_poll(frozen.id, "late", ["H1", "H3"]),
    }
    for what, attempt in attempts.items():
        with pytest.raises(OutOfOrder) as err:
            attempt()
        message = str(err.value)
        assert f"{frozen.date:%Y-%m-%d}" in message and "frozen as framework v2" in message, what
        assert "new workshop" in message, what  # what to do instead
    assert _workshop_record(store, frozen.id) == before
    if second:
        follow_up = store.workshops()[-1]
        assert store.workshop_frozen_as(follow_up.id) is None
        store.set_response(follow_up.id, "Ash Penhale", "H4", comment="still open")
        assert any(r.comment == "still open" for r in store.responses(follow_up.id))


def test_a_ballot_into_a_poll_left_open_at_the_freeze_is_refused(tmp_path, db_url):
    """A poll still open when the lead froze its workshop's result takes no more ballots:
    the result it could have informed is already fixed."""
    store = build_second_study(tmp_path / "study", "workshop", db_url, second_workshop=True)
    follow_up = store.workshops()[-1]
    poll = store.poll("opening", follow_up.id)
    assert poll.closed_at is None
    as_lead(store).freeze_workshop_framework(follow_up.id, "v3: after the follow-up")
    count = store.ballot_count(poll.id)
    with pytest.raises(OutOfOrder, match="frozen as framework v3"):
        store.cast_ballot(poll.id, "Nico Trevail", ["H4"])
    assert store.ballot_count(poll.id) == count
    # closing it still shows what was cast before the freeze
    as_lead(store).close_poll(poll.id)
    assert store.ballots(poll.id) == {"Ash Penhale": ["H4"]}


def test_the_workshop_record_can_be_filled_before_the_freeze(tmp_path):
    """The early stages keep working: a workshop recorded on v1 takes responses, a poll and
    ballots until its result is frozen (the order the manifest and the widgets use)."""
    store = build_second_study(tmp_path / "study", "joint")
    ws = as_lead(store).add_workshop(date(2022, 6, 21), participants=["Ash Penhale"])
    store.set_response(ws.id, "Ash Penhale", "H1", comment="ours", circle="inner")
    poll = store.open_poll(ws.id, "opening", ["H1", "H2", "H3"], max_choices=1)
    store.cast_ballot(poll.id, "Ash Penhale", ["H1"])
    as_lead(store).close_poll(poll.id)
    as_lead(store).freeze_workshop_framework(ws.id, "v2")
    assert [r.comment for r in store.responses(ws.id)] == ["ours"]
    assert store.ballots(poll.id) == {"Ash Penhale": ["H1"]}


# -- a researcher's .qdpx on a team study: real names typed in notes ----------------------


@pytest.fixture
def second_team(request, pg_url, tmp_path):
    """The second study on PostgreSQL (at step 1, or at the stage the test's
    ``indirect`` parameter names), held by an owner role (not a superuser),
    with a login role per researcher (``apply_team_roles``, what ``coprod-nb team`` does);
    logins are tagged because roles are shared by the whole test server."""
    import uuid

    import psycopg

    from coprod_nb.storage import Store
    from coprod_nb.storage.team import apply_team_roles

    tag = uuid.uuid4().hex[:6]
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    server, database = admin.rsplit("/", 1)
    host = f"{server.split('@', 1)[1]}/{database}"
    owner_role = f"owner_{tag}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner_role}" LOGIN CREATEROLE')
        conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{owner_role}"')
    owner_url = f"postgresql+psycopg://{owner_role}@{host}"
    stage = getattr(request, "param", "recall")
    owner = build_second_study(tmp_path / "owner", stage, owner_url)
    logins = {}
    for r in owner.researchers():
        logins[r.name] = f"{r.login}_{tag}"
        owner.update_researcher(r.name, login=logins[r.name])
    apply_team_roles(owner)

    def store(name: str) -> Store:
        folder = tmp_path / name.lower()
        folder.mkdir(exist_ok=True)
        return Store(folder, f"postgresql+psycopg://{logins[name]}@{host}", create=False)

    try:
        yield owner, store
    finally:
        owner.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO coprod')
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'REASSIGN OWNED BY "{owner_role}" TO coprod')
            for role in [*logins.values(), owner_role]:
                conn.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(server + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            for role in [*logins.values(), owner_role]:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.postgres
def test_a_researchers_qdpx_says_when_typed_real_names_were_not_checked(second_team, tmp_path):
    """Quill's role may not read the name key, so a real name Quill typed into a note
    cannot be replaced. The notes file and the report then say so (``UNCHECKED``); the
    .qdpx must too (or be refused, as the CSV/XLSX export is), not carry the name silently."""
    import zipfile

    from coprod_nb.exchange._names import UNCHECKED
    from coprod_nb.exchange.notes import notes_file
    from coprod_nb.exchange.refi_qda import export_qdpx

    owner, store = second_team
    real = owner.pseudonym_key().mapping
    typed = next(name for name in real if " " in name)
    with store("Quill") as quill:
        quill.add_note(
            "Quill", "GULL", f"Met {typed} again by the harbour.", category="observation"
        )
        assert UNCHECKED in notes_file(quill, "md").data.decode()  # the notes file says so
        path = export_qdpx(quill, tmp_path / "quill.qdpx")
    with zipfile.ZipFile(path) as archive:
        text = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    assert typed not in text or "were not checked" in text


# -- the event log: a researcher's role cannot write the lead's acts ----------------------


@pytest.mark.postgres
@pytest.mark.parametrize("second_team", ["joint", "workshop"], indirect=True)
def test_a_researchers_role_cannot_forge_a_lead_event(second_team):
    """The library reads a workshop's frozen state from the "framework freeze" events. Plain
    SQL as Quill's role appending such an event (or one of step 1 closing, a workshop, a
    decision) is refused by the database, so the lead's open workshop stays open to
    decisions; the lead's own freeze still writes its event."""
    import json

    import psycopg

    owner, store = second_team
    with store("Rowan") as rowan:
        ws = rowan.add_workshop(date(2023, 6, 20), facilitators=["Rowan"])
        version = max(v.version for v in rowan.framework_versions())
        events = len(owner.history("framework")), len(owner.history("workshop"))
    with store("Quill") as quill:
        conn = quill.engine.raw_connection()
        try:
            for kind, action, after in [
                ("framework", "freeze", {"workshop": ws.id, "version": version}),
                ("step", "close", {"step": "recall"}),
                ("workshop", "create", {"id": ws.id + 1}),
                ("decision", "record", {"ref": "D9"}),
            ]:
                cur = conn.cursor()
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    cur.execute(
                        "INSERT INTO event (at, actor, action, object_type, object_id, after, "
                        "detail) VALUES (now(), 'rowan', %s, %s, %s, %s, '')",
                        (action, kind, ws.id, json.dumps(after)),
                    )
                conn.rollback()
        finally:
            conn.close()
        # what the role may still log: its own acts of the team's work
        quill.add_tension("Harbour time vs office time", "Harbour time", "Office time")
    assert (len(owner.history("framework")), len(owner.history("workshop"))) == events
    with store("Rowan") as rowan:
        assert rowan.workshop_frozen_as(ws.id) is None and rowan.open_workshop().id == ws.id
        rowan.record_decision(ws.id, Decision(kind="keep", targets=("H1",), rationale="named"))
        fv = rowan.freeze_workshop_framework(ws.id, "after the follow-up")
        assert rowan.workshop_frozen_as(ws.id) == fv.version


# -- bad input: a database URL of an unknown kind -------------------------------------------


@pytest.mark.parametrize("url", ["postgres://rowan@127.0.0.1:1/study", "bogus://x"])
def test_a_database_url_of_an_unknown_kind_is_a_clear_error(tmp_path, capsys, url):
    """``postgres://`` (a common spelling SQLAlchemy does not take) or a typing mistake in
    ``--db``/``COPROD_DB``: one line naming the URL and what to write, exit status 1, and
    nothing created."""
    from coprod_nb.cli import main

    build_second_study(tmp_path / "study", "transcripts").close()
    before = sorted(p.name for p in (tmp_path / "study").iterdir())
    for command in ("info", "check", "search"):
        args = [command, str(tmp_path / "study"), "--db", url] + (
            ["harbour"] if command == "search" else []
        )
        assert main(args) == 1, command
        err = capsys.readouterr().err
        assert err.startswith("error: ") and url.split(":")[0] in err, (command, err)
        assert "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "study").iterdir()) == before
