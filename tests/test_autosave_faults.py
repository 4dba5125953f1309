"""NoteEditor's autosave when the database fails: locked, PostgreSQL restarted, disk full.

Each test types into a real editor on a real database, breaks the database for real, keeps
typing, mends it, and checks that the note in the database is what was typed, that the
editor said "not saved" (never a stale "saved HH:MM:SS") while it was broken, and that no
exception escaped the editor's callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import event

from coprod_nb.storage import Store
from coprod_nb.storage.local_server import local_server, pg_bindir
from coprod_nb.widgets.recall import NoteEditor
from tests.acting import as_
from tests.conftest import missing


class Clock:
    """A clock the test moves by hand (the editor's debounce and retry read it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def stored_text(store: Store, who: str, note_id: int) -> str:
    return as_(store, who).note(note_id).text


def short_busy_timeout(store: Store, ms: int = 200) -> None:
    """Make the store's SQLite connections give up on a lock after ``ms`` (not 30 s)."""
    store.engine.dispose()
    event.listen(
        store.engine, "connect", lambda conn, _r: conn.execute(f"PRAGMA busy_timeout={ms}")
    )


def assert_not_saved(ed: NoteEditor, reason: str) -> None:
    shown = ed.status.value
    assert "not saved" in shown and reason in shown, shown
    assert "cp-error" in shown and "cp-not-saved" in ed.status._dom_classes
    assert "retrying" in shown


def assert_saved(ed: NoteEditor) -> None:
    assert "not saved" not in ed.status.value and "saved " in ed.status.value
    assert "cp-not-saved" not in ed.status._dom_classes


def write_through_a_lock(store: Store, who: str, partnership: str) -> None:
    """Type, lock the SQLite file from another connection, type on, release, type."""
    short_busy_timeout(store)
    clock = Clock()
    ed = NoteEditor(as_(store, who), who, clock=clock, debounce=1.0, retry=5.0)
    ed.partnership.value = partnership
    ed.text.value = "Before the lock."
    assert_saved(ed)
    note_id = ed.note_id
    holder = sqlite3.connect(store.study_dir / "study.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        clock.advance(2)
        ed.text.value = "Before the lock. During it"  # raises nothing out of the callback
        assert_not_saved(ed, "database is locked")
        assert ed.text.value == "Before the lock. During it"  # kept in the box
        clock.advance(1)
        ed.text.value = "Before the lock. During it, more."  # within the retry: no attempt
        assert_not_saved(ed, "database is locked")
        ed._on_new_click()  # a new note would clear the box: refused while unsaved
        assert ed.text.value == "Before the lock. During it, more." and ed.note_id == note_id
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert stored_text(store, who, note_id) == "Before the lock."  # what was saved is there
    clock.advance(5)
    ed.text.value = "Before the lock. During it, more. After."
    assert_saved(ed)
    assert stored_text(store, who, note_id) == "Before the lock. During it, more. After."


def test_a_locked_database_keeps_the_text_and_saves_when_released(recall_demo):
    write_through_a_lock(recall_demo, "Birch", "TCP")


def test_a_locked_database_on_the_second_study(second_study):
    st = second_study("recall", "quill")
    write_through_a_lock(st, "Quill", st.partnerships()[0].short)


def test_the_timer_retries_without_a_keystroke(second_study):
    """In a kernel (an event loop runs) the retry timer saves once the lock is gone."""
    st = second_study("recall", "tamsin")
    short_busy_timeout(st)

    async def scenario():
        ed = NoteEditor(as_(st, "Tamsin"), "Tamsin", debounce=0.05, retry=0.2)
        ed.partnership.value = st.partnerships()[1].short
        ed.text.value = "First words."
        holder = sqlite3.connect(st.study_dir / "study.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        await asyncio.sleep(0.1)
        ed.text.value = "First words. Then the lock."
        assert_not_saved(ed, "database is locked")
        holder.execute("ROLLBACK")
        holder.close()
        for _ in range(200):  # the timer retries by itself
            if "cp-not-saved" not in ed.status._dom_classes:
                break
            await asyncio.sleep(0.05)
        assert_saved(ed)
        return ed.note_id

    note_id = asyncio.run(scenario())
    assert stored_text(st, "Tamsin", note_id) == "First words. Then the lock."


# -- PostgreSQL restarted -----------------------------------------------------------------


@contextlib.contextmanager
def private_postgres():
    """A PostgreSQL server of this test's own (the session's server is never stopped).

    Yields ``(url, pg_ctl)`` where ``pg_ctl("stop")`` / ``pg_ctl("start")`` act on it.
    """
    if pg_bindir() is None:
        missing("PostgreSQL server binaries (pg_ctl) not found")
    with local_server(prefix="coprod-pg-restart-") as server:
        port = server.url.rsplit(":", 1)[1]
        server.run(
            str(server.bindir / "createdb"), "-h", "127.0.0.1", "-p", port, "-U", "coprod", "study"
        )
        yield f"{server.url}/study", lambda action: getattr(server, action)()


def test_postgresql_restarted_while_autosaving_loses_nothing(tmp_path):
    from tests.second_study import build_second_study

    with private_postgres() as (url, pg_ctl):
        build_second_study(tmp_path / "study", "recall", url).close()
        st = Store(tmp_path / "study", url, actor="quill")
        try:
            clock = Clock()
            ed = NoteEditor(st, "Quill", clock=clock, debounce=1.0, retry=5.0)
            ed.partnership.value = st.partnerships()[2].short
            typed = "Recalled before the restart."
            ed.text.value = typed
            assert_saved(ed)
            note_id = ed.note_id
            pg_ctl("stop")
            for more in (" Typed while", " the server", " was down."):
                clock.advance(6)  # each keystroke past the retry interval tries again
                typed += more
                ed.text.value = typed
                assert_not_saved(ed, "connect")
                assert ed.text.value == typed
            ed._on_new_click()  # kept: a new note would clear the unsaved text
            ed._on_delete_click()  # the database is down: said, not raised
            ed._on_anchor_click()
            assert ed.text.value == typed and ed.note_id == note_id
            assert "cp-error" in ed.status.value and "Traceback" not in ed.status.value
            pg_ctl("start")
            clock.advance(6)
            typed += " Back."
            ed.text.value = typed
            assert_saved(ed)
            assert stored_text(st, "Quill", note_id) == typed
        finally:
            st.close()
        with Store(tmp_path / "study", url, actor="quill") as fresh:  # a new connection
            assert stored_text(fresh, "Quill", note_id) == typed


# -- a full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MB tmpfs mounted for the test (root only: CI runs as root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        missing(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; returns the filler file."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        chunk = b"\0" * (1 << 16)
        with contextlib.suppress(OSError):
            while True:
                out.write(chunk)
                out.flush()
    with contextlib.suppress(OSError), filler.open("ab") as out:
        while True:  # the last partial block
            out.write(b"\0")
            out.flush()
    return filler


def test_a_full_disk_keeps_what_was_saved_and_saves_after(second_templates, small_disk):
    shutil.copytree(second_templates("recall"), small_disk / "study")
    st = Store(small_disk / "study", actor="rowan")
    try:
        clock = Clock()
        ed = NoteEditor(st, "Rowan", clock=clock, debounce=1.0, retry=5.0)
        ed.partnership.value = st.partnerships()[0].short
        saved = "Saved before the disk filled. " * 10
        ed.text.value = saved
        assert_saved(ed)
        note_id = ed.note_id
        others = {n.id: n.text for n in st.notes(viewer="Rowan", researcher="Rowan")}
        filler = fill(small_disk)
        clock.advance(2)
        # Far more than any free page of the file or its WAL: the write needs new blocks.
        typed = saved + "More, on a full disk. " * 20_000
        ed.text.value = typed
        assert_not_saved(ed, "full")
        assert ed.text.value == typed
        filler.unlink()
        assert stored_text(st, "Rowan", note_id) == saved  # nothing saved before is lost
        assert {n.id: n.text for n in st.notes(viewer="Rowan", researcher="Rowan")} == others
        clock.advance(6)
        typed += "Space again."
        ed.text.value = typed
        assert_saved(ed)
        assert stored_text(st, "Rowan", note_id) == typed
    finally:
        st.close()
    with sqlite3.connect(small_disk / "study" / "study.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Store(small_disk / "study", actor="rowan") as fresh:
        assert stored_text(fresh, "Rowan", note_id) == typed
