"""A PostgreSQL course: one database per group, each member a LOGIN role, step 1 blind by
the database. Another group's study is not reachable (no CONNECT), a student's own SQL
reads only their own notes, and the instructor's acts connect as the instructor's role."""

from __future__ import annotations

import uuid

import pytest

from coprod_nb.cli import main
from coprod_nb.course import course_progress, create_course, load_course, student_environment
from coprod_nb.errors import InvalidInput

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_course(pg_server, tmp_path):
    """Six students in two groups on PostgreSQL, made by an owner with CREATEDB, CREATEROLE."""
    admin = pg_server.replace("postgresql+psycopg://", "postgresql://")
    tag = uuid.uuid4().hex[:6]
    owner, base = f"owner_{tag}", f"course_{tag}"
    roster = [(f"Student {i}", f"s{i}_{tag}") for i in range(1, 7)]
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN CREATEDB CREATEROLE')
        conn.execute(f'CREATE DATABASE "{base}" OWNER "{owner}"')
    host = admin.split("@", 1)[1]
    course = create_course(
        tmp_path / "course",
        roster,
        group_size=3,
        instructor=f"Instructor {tag}",
        db=f"postgresql://{owner}@{host}/{base}",
    )
    try:
        yield course, host, [login for _, login in roster]
    finally:
        with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
            for db in (f"{base}_g1", f"{base}_g2", base):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            for role in [*(login for _, login in roster), course.instructor_login, owner]:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _sql(host: str, role: str, database: str, query: str) -> list[tuple]:
    with psycopg.connect(f"postgresql://{role}@{host.split('/')[0]}/{database}") as conn:
        return conn.execute(query).fetchall()


def test_each_group_is_a_database_blind_by_its_roles(pg_course, capsys):
    course, host, logins = pg_course
    course = load_course(course.dir)
    assert course.db and course.groups == 2
    base = course.db.rsplit("/", 1)[1]
    s1, s2, s4 = logins[0], logins[1], logins[3]
    for login, group in ((s1, 1), (s2, 1), (s4, 2)):
        with course.open_group(group, actor=login) as store:  # connected as their own role
            assert store.connected_as
            store.add_note(login, "AVC", f"blind reading of {login}")
    # each student's own SQL reads only their own note, in their own group's database
    assert _sql(host, s1, f"{base}_g1", "SELECT text FROM note") == [(f"blind reading of {s1}",)]
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        _sql(host, s4, f"{base}_g1", "SELECT text FROM note")  # another group: no CONNECT
    env = student_environment(course.dir, s4)
    assert env["COPROD_DB"].endswith(f"{s4}@{host.split('/')[0]}/{base}_g2")

    progress = course_progress(course.dir).set_index("login")
    assert progress.loc[[s1, s2, s4], "notes"].tolist() == [1, 1, 1]

    # the instructor's acts connect as the instructor's role; a student's are refused
    assert main(["course", str(course.dir), "--close-recall", "--group", "1", "--as", s1]) == 1
    assert "only the course's instructor" in capsys.readouterr().err
    me = course.instructor_login
    assert main(["course", str(course.dir), "--close-recall", "--group", "1", "--as", me]) == 0
    assert "step 1 closed" in capsys.readouterr().out
    texts = sorted(t for (t,) in _sql(host, s1, f"{base}_g1", "SELECT text FROM note"))
    assert texts == [f"blind reading of {s1}", f"blind reading of {s2}"]  # now the group's
    assert _sql(host, s4, f"{base}_g2", "SELECT text FROM note") == [(f"blind reading of {s4}",)]


def test_a_course_database_url_must_be_postgresql(tmp_path, capsys):
    with pytest.raises(InvalidInput, match="postgresql://OWNER@HOST/BASE"):
        create_course(tmp_path / "c", 4, db="sqlite:///x.db")
    assert not (tmp_path / "c").exists()
    argv = ["course", str(tmp_path / "c"), "--students", "4", "--db", "mysql://x@h/y"]
    assert main(argv) == 1
    assert "postgresql://OWNER@HOST/BASE" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
