"""The record under bad input and faults (issue 15): whole-or-nothing decision logs, linear
replay, codes no tension shares, guards in the database, damaged and foreign database
files, a failed init, and ``coprod-nb check`` / ``restore``.

Each refused command goes through ``tests/badinput.py``'s contract where the study is
readable (exit 1, message naming file, place and problem, no traceback, every table's
checksum unchanged, nothing written outside the study folder or in /tmp). Run on the demo
and on the second study, early (joint, two_workshops) and late (the frozen workshop).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

import coprod_nb.analysis  # noqa: F401  (its first import writes matplotlib's cache, in ~)
from benchmarks.bench_decisions import decision_log
from coprod_nb.domain.decisions import (
    Decision,
    DecisionError,
    check_decisions,
    decision_codes,
    replay,
    write_decision_log,
)
from coprod_nb.errors import CoprodError, InvalidInput, OutOfOrder
from coprod_nb.storage import Store
from coprod_nb.storage.guards import POLL_CLOSED, THRESHOLD_FIXED, WORKSHOP_FROZEN
from coprod_nb.storage.integrity import check_study

from .acting import as_lead
from .badinput import assert_refused, run_cli, table_checksums

ROOT = Path(__file__).resolve().parents[1]


def _lead(store) -> str:
    lead = next(r for r in store.researchers() if r.lead)
    return lead.login or lead.name


def _open_study(request, which: str) -> tuple[Path, str]:
    """(folder, lead login) of a study with an open workshop: the demo or the second."""
    if which == "demo":
        folder = request.getfixturevalue("workshop_open_dir")
    else:
        folder = request.getfixturevalue("second_study")("two_workshops").study_dir
    with Store(folder, actor="tester") as st:
        return folder, _lead(st)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- decision logs: checked whole, written whole ----------------------------------------


@pytest.mark.parametrize("which", ["demo", "second"])
def test_a_log_with_a_blank_rationale_applies_nothing_then_the_fixed_log_applies(
    request, which, tmp_path, capsys
):
    folder, lead = _open_study(request, which)
    with Store(folder, actor=lead) as st:
        first, second = st.current_framework().codes[:2]
        before = [d.ref for d in st.decisions()]
    log = tmp_path / "half.toml"
    entries = [
        Decision("rename", ref="R1", targets=(first,), name="Renamed", rationale="said so"),
        Decision("rename", ref="R2", targets=(second,), name="Other", rationale="   "),
    ]
    # A blank rationale, and none at all: both refused.
    for text_ in (
        write_decision_log(entries),
        write_decision_log(entries).replace('rationale = "   "\n', ""),
    ):
        assert text_.count("rationale") in (1, 2)
        log.write_text(text_, encoding="utf-8")
        assert_refused(
            ["decisions", str(folder), "apply", str(log), "--as", lead],
            folder,
            capsys,
            names=("half.toml", "R2", "rationale", "nothing was applied"),
        )
    with Store(folder, actor=lead) as st:
        assert [d.ref for d in st.decisions()] == before
    entries[1] = Decision("rename", ref="R2", targets=(second,), name="Other", rationale="ok")
    log.write_text(write_decision_log(entries), encoding="utf-8")
    status, out, err, _ = run_cli(
        ["decisions", str(folder), "apply", str(log), "--as", lead], capsys
    )
    assert (status, err) == (0, "")
    assert "2 decisions applied: R1, R2" in out
    with Store(folder, actor=lead) as st:
        assert [d.ref for d in st.decisions()] == [*before, "R1", "R2"]


@pytest.mark.parametrize("which", ["demo", "second"])
def test_a_log_whose_last_entry_cannot_apply_or_reuses_an_id_writes_nothing(
    request, which, tmp_path, capsys
):
    folder, lead = _open_study(request, which)
    with Store(folder, actor=lead) as st:
        codes = st.current_framework().codes
        taken = st.decisions()[0].ref if st.decisions() else None
    bad_logs = {
        "missing.toml": (
            [
                Decision("keep", ref="K1", targets=(codes[0],), rationale="r"),
                Decision("drop", ref="K2", targets=("ZZ9",), rationale="r"),
            ],
            ("missing.toml", "K2", "ZZ9 is not in the framework"),
        ),
        "twice.toml": (
            [
                Decision("drop", ref="K1", targets=(codes[0],), rationale="r"),
                Decision("rename", ref="K2", targets=(codes[0],), name="x", rationale="r"),
            ],
            ("twice.toml", "K2", f"{codes[0]} is not in the framework"),
        ),
    }
    if taken:
        bad_logs["taken.toml"] = (
            [
                Decision("keep", ref="K1", targets=(codes[0],), rationale="r"),
                Decision("keep", ref=taken, targets=(codes[0],), rationale="r"),
            ],
            ("taken.toml", taken, "already recorded"),
        )
    for name, (entries, names) in bad_logs.items():
        log = tmp_path / name
        log.write_text(write_decision_log(entries), encoding="utf-8")
        assert_refused(
            ["decisions", str(folder), "apply", str(log), "--as", lead],
            folder,
            capsys,
            names=(*names, "nothing was applied"),
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_incremental_check_equals_a_full_replay_and_what_is_stored(
    seed, workshop_open, second_study
):
    """check_decisions applies each decision once to a running framework; the result is
    the full replay's, and what the store records replays to it too."""
    for st in (workshop_open, second_study("two_workshops")):
        base = st.current_framework()
        log = decision_log(base, 150, seed=seed, prefix="G")
        # Some harmless keeps reverted in the log: skipped by both.
        log = [
            replace(d, reverted=True) if d.kind == "keep" and i % 3 else d
            for i, d in enumerate(log)
        ]
        assert any(d.reverted for d in log)
        for n in [*range(1, len(log), 7), len(log)]:  # every prefix, from the start each time
            assert check_decisions(base, log[:n]) == replay(base, log[:n]), n
        incremental = check_decisions(base, log)
        as_lead(st).record_decisions(None, log)
        assert st.current_framework() == incremental
        assert [d.reverted for d in st.decisions()[-len(log) :]] == [d.reverted for d in log]


def test_a_decision_recorded_while_another_reverts_is_checked_after_it(small_study_url):
    """Facilitator A reverts the add of X1 while B renames X1: one transaction under the
    workshop's lock each, so exactly one of them succeeds and the log still replays."""
    folder, url, ws_id = small_study_url
    with Store(folder, url, actor="ash") as st:
        as_lead(st).record_decision(
            ws_id,
            Decision("add", ref="DX", code="X1", name="x", pole_a="a", pole_b="b", rationale="r"),
        )
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(who: str) -> None:
        with Store(folder, url, actor="ash") as st:
            barrier.wait()
            try:
                if who == "revert":
                    as_lead(st).revert_decision(ws_id, "DX", rationale="not needed")
                else:
                    as_lead(st).record_decision(
                        ws_id,
                        Decision("rename", ref="DR", targets=("X1",), name="y", rationale="r"),
                    )
                outcomes[who] = "ok"
            except (DecisionError, CoprodError) as exc:
                outcomes[who] = str(exc)

    threads = [threading.Thread(target=act, args=(w,)) for w in ("revert", "rename")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["rename", "revert"]
    assert list(outcomes.values()).count("ok") == 1, outcomes
    with Store(folder, url, actor="ash") as st:
        stored = st.decisions(ws_id)
        replay(st.framework(1), stored)  # the stored sequence replays
        if outcomes["revert"] == "ok":
            assert [d.ref for d in stored if not d.reverted] == ["D1"]
        else:
            assert "later decision needs it" in outcomes["revert"]


@pytest.fixture
def small_study_url(tmp_path, db_url):
    """A small study on SQLite and on PostgreSQL with an open workshop on v1."""
    folder = tmp_path / "small"
    with Store(folder, db_url, actor="ash") as st:
        st.add_partnership("P", "P")
        st.add_researcher("Ash", login="ash", lead=True)
        for name in ("A", "B", "C"):
            st.add_tension(name, f"{name}1", f"{name}2", status="agreed")
        st.close_recall()
        st.freeze_framework("v1")
        ws = st.add_workshop(date(2021, 11, 10), facilitators=["Ash"])
        st.record_decision(ws.id, Decision("keep", ref="D1", targets=("T1",), rationale="r"))
        return folder, db_url, ws.id


def test_sigkill_during_a_log_leaves_the_study_as_before(workshop_open_dir, tmp_path):
    folder = workshop_open_dir
    with Store(folder, actor="tester") as st:
        lead = _lead(st)
        log = decision_log(st.current_framework(), 20_000, seed=7, prefix="K")
    big = tmp_path / "big.toml"
    big.write_text(write_decision_log(log), encoding="utf-8")
    db = folder / "study.db"
    before = table_checksums(db)
    wal = folder / "study.db-wal"
    start = wal.stat().st_size if wal.exists() else 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "coprod_nb.cli", "decisions", str(folder), "apply", str(big)]
        + ["--as", lead],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Kill it once it is writing: pages of the open transaction spill into the WAL.
    while proc.poll() is None and (wal.stat().st_size if wal.exists() else 0) <= start:
        time.sleep(0.005)
    assert proc.poll() is None, "the command ended before it could be killed mid-way"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(60) == -signal.SIGKILL
    assert table_checksums(db) == before
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check_study(folder) == []


# -- codes -------------------------------------------------------------------------------


def test_a_board_tension_takes_no_code_of_the_workshop_or_its_lineage(workshop_open, second_study):
    # The demo: the workshop added T7 and merged into T8; the working set stops at T6.
    used = {c for d in workshop_open.decisions() for c in decision_codes(d)}
    assert {"T7", "T8"} <= used
    row = workshop_open.add_tension("On the board", "one pole", "other pole")
    assert row.code not in used | {"T1", "T2", "T3", "T4", "T5", "T6"}
    with pytest.raises(InvalidInput, match="T7 is already used"):
        workshop_open.add_tension("Again", "a", "b", code="T7")
    # The second study, late (its workshop added H4, frozen in v2) and early (joint).
    late = second_study("workshop")
    assert "H4" in {c for d in late.decisions() for c in decision_codes(d)}
    with pytest.raises(InvalidInput, match="H4 is already used"):
        late.add_tension("Board", "a", "b", code="H4")
    fresh = late.add_tension("Board", "a", "b")
    versions = {
        t.code for v in late.framework_versions() for t in late.framework(v.version).tensions
    }
    assert fresh.code not in versions | {t.code for t in late.tensions() if t.id != fresh.id}
    early = second_study("joint")
    assert early.add_tension("Board", "a", "b").code not in {
        t.code for t in early.framework(1).tensions
    }


# -- guards in the database --------------------------------------------------------------


@pytest.fixture
def guarded(tmp_path, db_url, second_templates):
    """The second study after its workshop (results, a closed poll, frozen v1 and v2) on
    SQLite and on PostgreSQL; returns (store, run) where run(sql) is a plain SQL write."""
    if db_url is None:
        folder = tmp_path / "second"
        shutil.copytree(second_templates("workshop"), folder)
        store = Store(folder, actor="rowan")

        def run(sql: str) -> None:
            con = sqlite3.connect(folder / "study.db", isolation_level=None)
            try:
                con.execute(sql)
            finally:
                con.close()

        errors = (sqlite3.IntegrityError,)
    else:
        from tests.second_study import build_second_study

        store = build_second_study(tmp_path / "second-pg", "workshop", url=db_url)
        conninfo = db_url.replace("postgresql+psycopg://", "postgresql://")

        def run(sql: str) -> None:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(sql)

        errors = (psycopg.errors.RaiseException,)
    yield store, run, errors
    store.close()


def test_each_guard_refuses_a_plain_sql_write(guarded):
    store, run, errors = guarded
    url = None if store.url.startswith("sqlite") else store.url
    assert check_study(store.study_dir, url) == []  # check runs on both databases
    ws = store.workshops()[0]
    poll = store.poll("opening", ws.id)
    participant = store.participants()[0].id
    writes = {
        "threshold": f"UPDATE workshop SET consensus_threshold = 0.6 WHERE id = {ws.id}",
        "reopen": f"UPDATE poll SET closed_at = NULL WHERE id = {poll.id}",
        "options": f"UPDATE poll SET options = '[\"H1\"]' WHERE id = {poll.id}",
        "ballot changed": f"UPDATE ballot SET choices = '[]' WHERE poll_id = {poll.id}",
        "ballot added": "INSERT INTO ballot (poll_id, participant_id, choices, cast_at) "
        f"VALUES ({poll.id}, {participant}, '[]', '2022-06-21')",
        "frozen changed": "UPDATE framework_version SET label = 'x'",
        "frozen deleted": "DELETE FROM framework_version",
        "event changed": "UPDATE event SET actor = 'someone else'",
        "event deleted": "DELETE FROM event",
    }
    with store.session(write=False) as s:
        counts = {
            t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("ballot", "event", "framework_version")
        }
    for what, sql in writes.items():
        with pytest.raises(errors):
            run(sql)
        assert what  # the name says which guard refused, in pytest's report
    assert store.workshop(ws.id).consensus_threshold == ws.consensus_threshold
    assert store.poll("opening", ws.id).closed_at == poll.closed_at
    with store.session(write=False) as s:
        assert counts == {
            t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("ballot", "event", "framework_version")
        }


def test_the_threshold_changes_as_an_event_until_results_exist_then_is_refused(
    guarded, second_study
):
    store, _, _ = guarded
    # Late: the workshop has card responses and ballots; the trigger's refusal is clear.
    with pytest.raises(OutOfOrder, match="the consensus threshold is fixed"):
        as_lead(store).set_consensus_threshold(store.workshops()[0].id, 0.6, rationale="x")
    # Early: a new workshop on v2, no results yet: the change is allowed and recorded.
    ws = as_lead(store).add_workshop(date(2024, 1, 9), base_version=2)
    as_lead(store).set_consensus_threshold(ws.id, 0.8, rationale="agreed with the group")
    assert store.workshop(ws.id).consensus_threshold == 0.8
    event = [e for e in store.history("workshop", ws.id) if e.action == "threshold"]
    assert [(e.before, e.after, e.detail) for e in event] == [
        ({"consensus_threshold": 0.75}, {"consensus_threshold": 0.8}, "agreed with the group")
    ]
    store.set_response(ws.id, store.participants()[0].name, "H1", circle="inner")
    with pytest.raises(OutOfOrder, match="fixed once the workshop has results"):
        as_lead(store).set_consensus_threshold(ws.id, 0.9, rationale="too late")
    assert store.workshop(ws.id).consensus_threshold == 0.8


def test_a_trigger_refusal_inside_a_store_session_is_a_clear_error(guarded):
    store, _, _ = guarded
    poll = store.poll("opening", store.workshops()[0].id)
    # Past the API's own checks, straight to the database: the store names the guard.
    # A ballot of this workshop breaks two guards (its poll is closed and the workshop's
    # result frozen, migration 0017); each database fires its own first (SQLite the
    # newest trigger, PostgreSQL by name), and either is the true reason.
    for sql, guards in (
        ("UPDATE ballot SET choices = '[]' WHERE poll_id = :p", (POLL_CLOSED, WORKSHOP_FROZEN)),
        ("UPDATE poll SET closed_at = NULL WHERE id = :p", (POLL_CLOSED,)),
        ("UPDATE workshop SET consensus_threshold = 0.9", (THRESHOLD_FIXED,)),
    ):
        with pytest.raises(OutOfOrder) as err, store.session() as s:
            s.execute(text(sql), {"p": poll.id})
        assert str(err.value) in {f"the database refused the change: {g}" for g in guards}


# -- database files: damaged, foreign, too-large numbers ---------------------------------


@pytest.mark.parametrize("which", ["demo", "second"])
def test_a_too_large_object_number_is_refused(request, which, capsys):
    folder = (
        request.getfixturevalue("demo_dir")
        if which == "demo"
        else request.getfixturevalue("second_study")("recall").study_dir
    )
    assert_refused(
        ["history", str(folder), f"transcript:{2**70}"],
        folder,
        capsys,
        names=("transcript", str(2**70)[:20], "too large"),
    )


def _settle(db: Path) -> None:
    """Everything in the main file, no -wal/-shm (every connection to it closed)."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)


def _damage(db: Path, how: str) -> None:
    data = db.read_bytes()
    if how == "truncated":
        db.write_bytes(data[: len(data) // 3])
    else:  # "overwritten": the header and the first pages are noise
        db.write_bytes(b"\x5a" * 8192 + data[8192:])


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
@pytest.mark.parametrize("which", ["demo", "second"])
def test_a_damaged_study_db_is_a_clear_message_then_restore_brings_the_backup_back(
    request, which, how, capsys
):
    if which == "demo":
        folder = request.getfixturevalue("demo_dir")
    else:
        opened = request.getfixturevalue("second_study")("workshop")
        opened.close()
        folder = opened.study_dir
    db = folder / "study.db"
    sound = table_checksums(db)
    _settle(db)
    backup = folder / "study.backup-0007-20240101-000000.db"
    shutil.copy(db, backup)
    _damage(db, how)
    damaged = _sha(db)
    for argv in (["info", str(folder)], ["decisions", str(folder), "list"]):
        status, out, err, _ = run_cli(argv, capsys)
        assert status == 1 and "Traceback" not in out + err
        for name in (str(db), "damaged", backup.name, "coprod-nb restore"):
            assert name in err, err
        assert _sha(db) == damaged
    status, out, err, _ = run_cli(["check", str(folder)], capsys)
    assert status == 1 and "problem" in out and "Traceback" not in out + err
    status, out, err, _ = run_cli(["restore", str(folder)], capsys)
    assert (status, err) == (0, ""), err
    assert backup.name in out and "kept as" in out
    kept = list((folder / "backups").glob("study.replaced-*.db"))
    assert len(kept) == 1 and _sha(kept[0]) == damaged  # the damaged file is kept aside
    assert table_checksums(db) == sound
    status, out, _, _ = run_cli(["check", str(folder)], capsys)
    assert status == 0 and "sound" in out


def test_restore_without_a_backup_is_refused(second_study, capsys):
    folder = second_study("joint").study_dir
    assert_refused(
        ["restore", str(folder)], folder, capsys, names=(str(folder), "no backup", "nothing")
    )
    assert_refused(
        ["restore", str(folder), str(folder / "nope.db")],
        folder,
        capsys,
        names=("nope.db", "no such backup"),
    )


def test_a_foreign_file_given_as_db_is_never_opened_read_write(demo_dir, tmp_path, capsys):
    text_file = tmp_path / "passwd"
    text_file.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE accounts (id INTEGER)")
    con.close()
    for path, problem in (
        (text_file, "not a SQLite database"),
        (Path("/etc/passwd"), "not a SQLite database"),
        (other, "not a coprod_nb study"),
    ):
        stamp = (_sha(path), path.stat().st_mtime_ns)
        for argv in (["info", str(demo_dir)], ["init", str(tmp_path / "new")]):
            status, out, err, written = run_cli([*argv, "--db", f"sqlite:///{path}"], capsys)
            assert status == 1 and "Traceback" not in out + err
            assert str(path) in err and problem in err and "refusing" in err, err
            assert str(path) not in written
        assert (_sha(path), path.stat().st_mtime_ns) == stamp
        assert not Path(f"{path}-wal").exists() and not Path(f"{path}-journal").exists()
    assert not (tmp_path / "new").exists()


def test_a_failed_init_leaves_no_study_db(tmp_path, capsys):
    manifest = tmp_path / "bad.toml"
    manifest.write_text('[study]\nname = "x"\n\n[[partnerships]]\nshort = "P"\n', "utf-8")
    new, existing = tmp_path / "new", tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine", encoding="utf-8")
    for folder in (new, existing):
        status, out, err, _ = run_cli(["init", str(folder), "--manifest", str(manifest)], capsys)
        assert status == 1 and "Traceback" not in out + err
        assert "bad.toml" in err and "partnerships" in err and "name" in err
    assert not new.exists()
    assert sorted(p.name for p in existing.iterdir()) == ["keep.txt"]


# -- coprod-nb check ---------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["recall", "workshop", "two_workshops"])
def test_check_finds_the_second_study_sound_early_and_late(second_study, variant, capsys):
    folder = second_study(variant).study_dir
    status, out, err, _ = run_cli(["check", str(folder)], capsys)
    assert (status, err) == (0, "") and "sound" in out


def test_check_reports_each_broken_invariant(demo_dir, capsys):
    status, out, _, _ = run_cli(["check", str(demo_dir)], capsys)
    assert status == 0 and "sound" in out
    db = demo_dir / "study.db"
    con = sqlite3.connect(db, isolation_level=None)
    try:
        # Writes the guards would refuse, done by dropping them first: what check must see.
        con.execute("DROP TRIGGER framework_no_update")
        con.execute(
            "UPDATE framework_version SET tensions = json_remove(tensions, '$[0]') "
            "WHERE version = 2"
        )
        con.execute('UPDATE excerpt SET "end" = 10000000 WHERE id = 1')
        con.execute(  # same codes, another name: only the freeze event's digest tells
            "UPDATE framework_version SET tensions = json_set(tensions, '$[0].name', 'Other') "
            "WHERE version = 1"
        )
    finally:
        con.close()
    status, out, err, _ = run_cli(["check", str(demo_dir)], capsys)
    assert status == 1 and err == ""
    for finding in (
        "framework v2 was changed after it was frozen",
        "not to framework v2",
        "excerpt 1: offsets",
        "framework v1: its content was changed after it was frozen",
    ):
        assert finding in out, out


def test_check_runs_sqlites_integrity_check(demo_dir, capsys):
    db = demo_dir / "study.db"
    _settle(db)
    data = bytearray(db.read_bytes())
    page = 4096
    # Noise in the middle of the file: the header is sound, some pages are not.
    mid = (len(data) // page // 2) * page
    data[mid : mid + 2 * page] = os.urandom(2 * page)
    db.write_bytes(bytes(data))
    status, out, err, _ = run_cli(["check", str(demo_dir)], capsys)
    assert status == 1 and "Traceback" not in out + err
    assert "SQLite integrity check" in out or "SQLite's integrity check" in out, out
    assert str(db) in out or "row" in out


def test_0008_downgrades_and_upgrades_again(guarded):
    """Without 0008's triggers the threshold can be rewritten by plain SQL; with them, not.

    0008's own downgrade and upgrade are run (not the later migrations, which are others').
    """
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    path = ROOT / "coprod_nb/storage/migrations/versions/0008_record_guards.py"
    spec = importlib.util.spec_from_file_location("guards_0008", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    store, run, errors = guarded
    ws = store.workshops()[0]

    def step(fn) -> None:
        with store.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            fn()

    step(migration.downgrade)
    run(f"UPDATE workshop SET consensus_threshold = 0.7 WHERE id = {ws.id}")
    run(f"UPDATE poll SET closed_at = NULL WHERE workshop_id = {ws.id}")
    run(f"UPDATE poll SET closed_at = '2022-06-21 12:00:00' WHERE workshop_id = {ws.id}")
    step(migration.upgrade)
    with pytest.raises(errors):
        run(f"UPDATE workshop SET consensus_threshold = 0.8 WHERE id = {ws.id}")
    with pytest.raises(errors):
        run(f"UPDATE poll SET closed_at = NULL WHERE workshop_id = {ws.id}")
    assert store.workshop(ws.id).consensus_threshold == 0.7


# -- one process, the study opened twice ---------------------------------------------------


def _other_process(db: Path, sql: str) -> list:
    """Run ``sql`` in another process through plain sqlite3, then close (as a colleague's
    command or a test reading the file would)."""
    code = (
        "import json, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "print(json.dumps(c.execute(sys.argv[2]).fetchall()))\n"
        "c.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(db), sql], capture_output=True, text=True, check=True
    )
    import json

    return json.loads(out.stdout)


def test_opening_the_study_again_in_one_process_loses_no_later_write(tmp_path):
    """A kernel that runs the notebook's first cell twice holds two stores on one file.
    Opening the second must not drop the first one's SQLite locks: then another process
    closing its connection takes itself for the last one, deletes the WAL, and the
    kernel's later writes land in a deleted file (the saved card was gone)."""
    from tests.second_study import build_second_study

    build_second_study(tmp_path / "study", "recall").close()
    db = tmp_path / "study" / "study.db"
    first = Store(tmp_path / "study", actor="rowan")
    try:
        first.update_study(description="before")
        second = Store(tmp_path / "study", actor="rowan")  # the notebook's first cell again
        second.close()
        _other_process(db, "SELECT count(*) FROM event")  # opens and closes the file
        first.update_study(description="after the second open")
        [(seen,)] = _other_process(db, "SELECT description FROM study")
        assert seen == "after the second open"
        assert (tmp_path / "study" / "study.db-wal").exists()  # not deleted under `first`
    finally:
        first.close()
