"""Four clear-error gaps (review of 2026-12-02): a refusal of the database says why.

1. The bulk writes of an import (storage/bulk.py): a trigger, a guard, a researcher's
   role refusing the rows is a CoprodError with the database's reason, not SQLAlchemy's
   error, and the study is as it was.
2. ``update_researcher``: a refused lead change is told as refused, not as "another
   researcher already has the name None or the login None".
3. ``coprod-nb history``: an unknown kind (a typing mistake) is refused with the kinds
   the log records, not answered "no history".
4. A new partnership, researcher, participant, excerpt, meeting, dissent or tension link
   (``Store._add``) and a changed participant: a trigger or a CHECK refusing the row is
   told with its reason, not as "already exists"; a real clash still is.

Demo and second study (early and late stages) on SQLite; a team study on PostgreSQL.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import coprod_nb
from coprod_nb.cli import main
from coprod_nb.errors import CoprodError, Forbidden, InvalidInput, OutOfOrder
from coprod_nb.exchange.refi_qda import export_qdpx, import_qdpx
from coprod_nb.storage import Store, bulk
from coprod_nb.storage.events import OBJECT_TYPES
from coprod_nb.storage.guards import APPEND_ONLY
from tests.acting import as_, as_lead
from tests.badinput import table_checksums


@pytest.fixture
def study(tmp_path, demo_template, second_templates):
    """A private copy of the demo or of the second study at a stage."""

    def get(name: str, stage: str = "workshop") -> Path:
        dest = tmp_path / f"{name}-{stage}"
        shutil.copytree(demo_template if name == "demo" else second_templates(stage), dest)
        return dest

    return get


STUDIES = [("demo", "workshop"), ("second", "recall"), ("second", "workshop")]


def _trigger(folder: Path, sql: str) -> None:
    with Store(folder, actor="owner") as st:
        with st.engine.begin() as conn:
            conn.execute(text(sql))


def _refusal_of(exc: BaseException) -> str:
    # what the user reads: the error itself, never SQLAlchemy's
    assert isinstance(exc, CoprodError) and not isinstance(exc, DBAPIError)
    assert "sqlalchemy" not in str(exc).lower() and "[SQL" not in str(exc)
    return str(exc)


def _refused_as_lead(folder: Path, trigger: str, act) -> str:
    """What the lead reads when ``act(store)`` meets ``trigger``; the study is unchanged."""
    _trigger(folder, trigger)
    before = table_checksums(folder / "study.db")
    with Store(folder, actor="owner") as st, pytest.raises(Forbidden) as refused:
        act(as_lead(st))
    assert table_checksums(folder / "study.db") == before
    return _refusal_of(refused.value)


# -- 1. the bulk writes of an import ------------------------------------------------------

REFUSING = {
    # a plain trigger (a full disk, a rule of a later migration)
    "note rows": "CREATE TRIGGER late BEFORE INSERT ON note "
    "BEGIN SELECT RAISE(ABORT, 'no room left'); END",
    "note events": "CREATE TRIGGER late BEFORE INSERT ON event WHEN NEW.object_type = 'note' "
    "BEGIN SELECT RAISE(ABORT, 'no room left'); END",
    "excerpt rows": "CREATE TRIGGER late BEFORE INSERT ON excerpt "
    "BEGIN SELECT RAISE(ABORT, 'no room left'); END",
}


@pytest.mark.parametrize(("name", "stage"), STUDIES)
@pytest.mark.parametrize("where", sorted(REFUSING))
def test_a_refused_bulk_write_of_an_import_says_why_and_changes_nothing(
    tmp_path, study, name, stage, where
):
    src = study(name, stage)
    with Store(src, actor="owner") as st:
        lead = next(r for r in st.researchers() if r.lead)
        path = export_qdpx(as_(st, lead.login or lead.name), tmp_path / f"{name}.qdpx")
    target = tmp_path / "empty"
    Store(target, actor="owner").close()
    _trigger(target, REFUSING[where])
    before = table_checksums(target / "study.db")
    with Store(target, actor="owner") as st:
        with pytest.raises(Forbidden) as refused:
            import_qdpx(st, path, lead=lead.name)
    message = _refusal_of(refused.value)
    assert "the database refused" in message and "no room left" in message
    assert "nothing was changed" in message
    kind = where.split()[0]
    assert f"{kind}s" in message
    assert table_checksums(target / "study.db") == before


@pytest.mark.parametrize(("name", "stage"), STUDIES)
def test_a_guard_refusing_bulk_notes_is_the_guards_clear_refusal(study, name, stage):
    folder = study(name, stage)
    # a guard's trigger on the notes' events: the store's translation names the guard
    _trigger(
        folder,
        "CREATE TRIGGER late BEFORE INSERT ON event WHEN NEW.object_type = 'note' "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
    )
    before = table_checksums(folder / "study.db")
    with Store(folder, actor="owner") as st:
        me = next(r for r in st.researchers() if r.lead)
        pship = st.partnerships()[0].short
        choice = {"category": st.note_categories()[0], "kind": st.data_kinds()[0]}
        notes = [
            {"researcher": me.name, "partnership": pship, "text": f"n{i}", **choice}
            for i in range(3)
        ]
        with pytest.raises(OutOfOrder) as refused:
            bulk.add_notes(as_(st, me.login or me.name), notes)
        assert APPEND_ONLY in _refusal_of(refused.value)
        # inside a caller's transaction too (as the import calls it)
        with pytest.raises(OutOfOrder):
            with st.transaction():
                bulk.add_notes(as_(st, me.login or me.name), notes)
    assert table_checksums(folder / "study.db") == before


# -- 2. update_researcher -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "stage"), STUDIES)
def test_a_refused_lead_change_is_not_told_as_a_taken_name(study, name, stage):
    folder = study(name, stage)
    with Store(folder, actor="owner") as st:
        other = next(r.name for r in st.researchers() if not r.lead)
    message = _refused_as_lead(
        folder,
        "CREATE TRIGGER late BEFORE UPDATE OF lead ON researcher "
        "BEGIN SELECT RAISE(ABORT, 'no room left'); END",
        lambda me: me.update_researcher(other, lead=True),
    )
    assert "already has" not in message and "None" not in message
    assert "the database refused the change to researcher" in message
    assert other in message and "no room left" in message


@pytest.mark.parametrize(("name", "stage"), STUDIES)
def test_a_taken_login_is_still_told_as_taken(study, name, stage):
    folder = study(name, stage)
    with Store(folder, actor="owner") as st:
        lead = next(r for r in st.researchers() if r.lead)
        a, b = [r for r in st.researchers() if not r.lead][:2]
        me = as_(st, lead.login or lead.name)
        me.update_researcher(a.name, login="taken-login")
        before = table_checksums(folder / "study.db")
        with pytest.raises(InvalidInput) as taken:
            me.update_researcher(b.name, login="taken-login")
    message = _refusal_of(taken.value)
    assert message == "another researcher already has the login 'taken-login'"
    assert table_checksums(folder / "study.db") == before


# -- 3. coprod-nb history -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "stage"), STUDIES)
@pytest.mark.parametrize("given", ["bogus", "transcripts:1", "Transcript:1", ":1"])
def test_history_refuses_an_unknown_kind_listing_the_known(study, capsys, name, stage, given):
    folder = study(name, stage)
    before = table_checksums(folder / "study.db")
    assert main(["history", str(folder), given]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "Traceback" not in out.err
    assert out.err.startswith(f"error: {given}: unknown kind of object")
    assert "no history" not in out.err
    assert all(kind in out.err for kind in OBJECT_TYPES)
    assert table_checksums(folder / "study.db") == before


@pytest.mark.parametrize(("name", "stage"), STUDIES)
def test_history_takes_a_known_kind_with_a_number_or_all(study, capsys, name, stage):
    folder = study(name, stage)
    assert main(["history", str(folder), "transcript:"]) == 1
    assert "error: give an object after transcript:, e.g. transcript:3" in capsys.readouterr().err
    assert main(["history", str(folder), "note:first"]) == 1  # notes by number only
    assert "give note objects by number, e.g. note:3" in capsys.readouterr().err
    with Store(folder, actor="owner") as st:
        tid = st.transcripts(text=False)[0].id
    assert main(["history", str(folder), f"transcript:{tid}"]) == 0
    assert f" transcript:{tid} " in capsys.readouterr().out
    assert main(["history", str(folder), "researcher"]) == 0  # a kind alone: all of them
    assert "create researcher:" in capsys.readouterr().out
    # a known kind nothing was logged about yet is an honest "no history"
    assert main(["history", str(folder), "qda_coding"]) == 0
    assert capsys.readouterr().out.strip() == "no history for qda_coding"


def _logged_kinds_in_code() -> set[str]:
    """Every literal object type that the package's events.log / log_many calls write."""
    kinds = set()
    for path in Path(coprod_nb.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "log"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "events"
                and len(node.args) > 3
                and isinstance(node.args[3], ast.Constant)
            ):
                kinds.add(node.args[3].value)
            if isinstance(node, ast.Dict):  # log_many's entries
                for k, v in zip(node.keys, node.values, strict=True):
                    if isinstance(k, ast.Constant) and k.value == "object_type":
                        if isinstance(v, ast.Constant):
                            kinds.add(v.value)
    return kinds


@pytest.mark.parametrize(("name", "stage"), STUDIES)
def test_the_one_list_of_kinds_is_what_the_code_and_the_studies_log(study, name, stage):
    in_code = _logged_kinds_in_code()
    assert {"note", "transcript", "decision", "workshop"} <= in_code  # the scan sees calls
    assert in_code <= set(OBJECT_TYPES)
    assert len(set(OBJECT_TYPES)) == len(OBJECT_TYPES)
    with Store(study(name, stage), actor="owner") as st:
        with st.engine.connect() as conn:
            logged = {r[0] for r in conn.execute(text("SELECT DISTINCT object_type FROM event"))}
    assert logged and logged <= set(OBJECT_TYPES)


# -- PostgreSQL: a team study, the researchers' roles -------------------------------------

psycopg = pytest.importorskip("psycopg")

from tests.test_team_postgres import team  # noqa: E402, F401 (the team fixture)


def _pg_state(team) -> list:  # noqa: F811
    with psycopg.connect(team.admin) as conn:
        return [
            conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
            for t in ("researcher", "note", "excerpt", "event")
        ]


@pytest.mark.postgres
def test_pg_a_role_refused_the_lead_step_is_told_the_real_reason(team):  # noqa: F811
    # the team still being set up: no lead yet, so the library lets anyone try, and
    # the database refuses a researcher's role (lead-only rows)
    with psycopg.connect(team.admin, autocommit=True) as conn:
        conn.execute("UPDATE researcher SET lead = false")
    before = _pg_state(team)
    with team.store("Moss") as moss:
        for ref in ("Moss", "Fern"):
            with pytest.raises(Forbidden) as refused:
                moss.update_researcher(ref, lead=True)
            message = _refusal_of(refused.value)
            assert "already has" not in message and "None" not in message
            assert "only the study lead changes researcher rows" in message
        with pytest.raises(Forbidden) as refused:
            moss.update_researcher("Moss", login="moss-again")
        assert "permission denied for table researcher" in _refusal_of(refused.value)
    assert _pg_state(team) == before


@pytest.mark.postgres
def test_pg_a_taken_login_is_told_as_taken(team):  # noqa: F811
    before = _pg_state(team)
    with pytest.raises(InvalidInput) as taken:
        team.owner.update_researcher("Fern", login=team.logins["Moss"])
    assert str(taken.value) == f"another researcher already has the login {team.logins['Moss']!r}"
    assert _pg_state(team) == before


@pytest.mark.postgres
def test_pg_bulk_notes_in_a_colleagues_name_are_refused_unchanged(team):  # noqa: F811
    before = _pg_state(team)
    with team.store("Moss") as moss:
        with pytest.raises(Forbidden) as refused:
            bulk.add_notes(moss, [{"researcher": "Fern", "partnership": "KEL", "text": "x"}])
        assert "Fern" in _refusal_of(refused.value)
        with pytest.raises(Forbidden):
            with moss.transaction():
                bulk.add_notes(moss, [{"researcher": "Moss", "partnership": "KEL", "text": "y"}])
                bulk.add_notes(moss, [{"researcher": "Fern", "partnership": "KEL", "text": "x"}])
    assert _pg_state(team) == before


@pytest.mark.postgres
@pytest.mark.parametrize("errcode", ["raise_exception", "check_violation", "unique_violation"])
def test_pg_a_trigger_refusing_bulk_rows_says_why_unchanged(team, errcode):  # noqa: F811
    with psycopg.connect(team.admin, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION t_late() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION 'no room left' USING ERRCODE = '{errcode}'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER late BEFORE INSERT ON note FOR EACH ROW EXECUTE FUNCTION t_late()"
        )
    before = _pg_state(team)
    with team.store("Moss") as moss:
        expected = InvalidInput if errcode == "unique_violation" else Forbidden
        with pytest.raises(expected) as refused:
            with moss.transaction():
                ex = bulk.add_excerpts(moss, [(team.transcript, 0, 4)])
                bulk.add_notes(
                    moss,
                    [{"researcher": "Moss", "partnership": "KEL", "text": "z", "excerpts": ex}],
                )
    message = _refusal_of(refused.value)
    assert "no room left" in message and "1 note:" in message
    assert _pg_state(team) == before


@pytest.mark.parametrize(("name", "stage"), [("demo", "workshop"), ("second", "recall")])
def test_the_import_command_prints_the_refusal_in_one_line(tmp_path, study, capsys, name, stage):
    src = study(name, stage)
    with Store(src, actor="owner") as st:
        lead = next(r for r in st.researchers() if r.lead)
        path = export_qdpx(as_(st, lead.login or lead.name), tmp_path / f"{name}.qdpx")
    target = tmp_path / "empty"
    Store(target, actor="owner").close()
    _trigger(target, REFUSING["note rows"])
    before = table_checksums(target / "study.db")
    assert main(["import", str(target), str(path), "--lead", lead.name]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the database refused ") and "no room left" in err
    assert "Traceback" not in err and "sqlalchemy" not in err.lower()
    assert table_checksums(target / "study.db") == before


def test_a_mistake_in_a_statement_is_not_dressed_as_a_refusal(study):
    from coprod_nb.storage.team import constraint_refusal

    with Store(study("second", "recall"), actor="owner") as st:
        with st.engine.connect() as conn:
            with pytest.raises(DBAPIError) as mistake:
                conn.execute(text("SELECT no_such_column FROM note"))
            with pytest.raises(DBAPIError) as refusal:
                conn.execute(text("INSERT INTO note (id) VALUES (NULL)"))  # NOT NULL columns
    assert constraint_refusal(mistake.value, "a note") is None  # stays a traceback
    refused = constraint_refusal(refusal.value, "a note")
    assert isinstance(refused, Forbidden)
    assert str(refused).startswith("the database refused a note: NOT NULL constraint failed")


# -- 4. a new row, or a changed participant, refused for another reason than a clash ------


@pytest.mark.parametrize(("name", "stage"), STUDIES)
def test_a_refused_new_partnership_is_not_told_as_taken(study, name, stage):
    message = _refused_as_lead(
        study(name, stage),
        "CREATE TRIGGER late BEFORE INSERT ON partnership "
        "BEGIN SELECT RAISE(ABORT, 'no new cases this term'); END",
        lambda me: me.add_partnership("ZQX", "Quarry Lane Trust"),
    )
    assert "already exists" not in message
    assert "the database refused the new partnership" in message
    assert "no new cases this term" in message


@pytest.mark.parametrize(("name", "stage"), STUDIES)
def test_a_taken_partnership_is_still_told_as_taken(study, name, stage):
    folder = study(name, stage)
    with Store(folder, actor="owner") as st:
        taken = st.partnerships()[0].short
        before = table_checksums(folder / "study.db")
        with pytest.raises(InvalidInput) as clash:
            as_lead(st).add_partnership(taken, "Another name")
    assert _refusal_of(clash.value) == f"partnership {taken!r} already exists"
    assert table_checksums(folder / "study.db") == before


@pytest.mark.parametrize(("name", "stage"), STUDIES)
def test_a_refused_participant_change_is_not_told_as_taken(study, name, stage):
    folder = study(name, stage)
    with Store(folder, actor="owner") as st:
        person = st.participants()[0].name
    message = _refused_as_lead(
        folder,
        "CREATE TRIGGER late BEFORE UPDATE OF role ON participant "
        "BEGIN SELECT RAISE(ABORT, 'roles are frozen'); END",
        lambda me: me.update_participant(person, role="Treasurer"),
    )
    assert "already exists" not in message
    assert "the database refused the change to participant" in message
    assert person in message and "roles are frozen" in message
