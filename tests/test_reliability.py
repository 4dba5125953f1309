"""A study survives killed kernels and several researchers writing at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import date

import pytest

from coprod_nb.storage import Store
from tests.acting import as_, as_lead

WRITER = textwrap.dedent(
    """
    import sys
    from coprod_nb.storage import Store
    target, url, who, n, poll_id, voter = sys.argv[1:7]
    study = Store(target, url or None, actor=who)
    for i in range(int(n)):
        study.add_note(who, "TCP", f"{who} note {i}", category="reflection")
        if poll_id != "-":
            study.cast_ballot(int(poll_id), voter, ["T1"] if i % 2 else ["T2"])
    study.close()
    print("done", flush=True)
    """
)


def _run_writers(target, url, poll_id, processes=10, notes=15):
    team = ["Alder", "Birch", "Cedar"]
    voters = ["Jo Linden", "Sam Arrow", "Kit Moreland", "Lee Harrow", "Max Tolley"]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(target),
                url or "",
                team[i % 3],
                str(notes),
                str(poll_id),
                voters[i % 5],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err.lower() and out.strip() == "done"
    return processes * notes


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ten_processes_write_notes_and_votes_at_once(backend, tmp_path, joint_template, request):
    from coprod_nb.seed.demo import build_demo

    if backend == "sqlite":
        import shutil

        target, url = tmp_path / "study", None
        shutil.copytree(joint_template, target)
        study = Store(target, actor="lead")
    else:
        url = request.getfixturevalue("pg_url")
        target = tmp_path / "team"
        study = build_demo(target, url=url, stage="joint")
    ws = as_lead(study).add_workshop(
        date(2021, 11, 10), participants=[p.name for p in study.participants()]
    )
    poll = study.open_poll(ws.id, "opening", ["T1", "T2"], max_choices=1)
    before = len(as_(study, "Alder").notes(include_deleted=True))
    events_before = len(study.history("note"))
    written = _run_writers(target, url, poll.id)
    assert len(as_(study, "Alder").notes(include_deleted=True)) == before + written
    assert len(study.history("note")) == events_before + written  # a complete event log
    assert study.ballot_count(poll.id) == 5  # re-votes replaced, never duplicated
    votes = [e for e in study.history("poll", poll.id) if e.action == "vote"]
    assert len(votes) == written
    study.close()


def test_a_killed_process_loses_nothing_it_saved(tmp_path, recall_template):
    import shutil

    target = tmp_path / "study"
    shutil.copytree(recall_template, target)
    script = textwrap.dedent(
        """
        import sys, time
        from coprod_nb.storage import Store
        study = Store(sys.argv[1], actor="Birch")
        note = study.add_note("Birch", "WVC", "", category="barrier")
        text = ""
        for i in range(10_000):
            text += f" word{i}"
            study.update_note(note.id, "Birch", text=text.strip())  # an autosave
            print(note.id, i, flush=True)
            time.sleep(0.01)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True
    )
    last = None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        last = line.split()
        if int(last[1]) >= 40:
            break
    os.kill(proc.pid, signal.SIGKILL)  # the kernel dies mid-session
    proc.wait(timeout=30)
    assert last is not None
    note_id, saved = int(last[0]), int(last[1])
    with sqlite3.connect(target / "study.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Store(target) as study:
        text = as_(study, "Birch").note(note_id).text
    # every autosave reported before the kill is there (one more may have landed)
    assert text.split()[-1] in (f"word{saved}", f"word{saved + 1}")
    assert len(text.split()) >= saved + 1
