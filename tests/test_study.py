"""open_study opens what it is told to: a named study that is missing is an error, never
a silent demo; the demo is built only when nothing is named or when asked for, and says so."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from coprod_nb import open_study
from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.storage import Store
from coprod_nb.study import DEMO_NOTICE


@pytest.fixture(autouse=True)
def _nothing_named(monkeypatch, tmp_path):
    monkeypatch.delenv("COPROD_STUDY", raising=False)
    monkeypatch.delenv("COPROD_DB", raising=False)
    monkeypatch.setenv("COPROD_DEMO_CACHE", str(tmp_path / "demo-cache"))


def _how_to_create(message: str, folder) -> None:
    assert f"coprod-nb init {folder}" in message
    assert f"coprod-nb demo {folder}" in message
    assert "notebook 00" in message


def test_a_typo_in_coprod_study_is_an_error_not_the_demo(tmp_path, monkeypatch, capsys):
    typo = tmp_path / "stduy"
    monkeypatch.setenv("COPROD_STUDY", str(typo))
    with pytest.raises(NotFound, match="named by COPROD_STUDY") as err:
        open_study(stage="recall")
    _how_to_create(str(err.value), typo)
    assert not typo.exists()  # nothing was created
    assert DEMO_NOTICE not in capsys.readouterr().out


def test_an_empty_named_folder_stays_empty(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotFound, match="no study in") as err:
        open_study(empty)
    _how_to_create(str(err.value), empty)
    assert list(empty.iterdir()) == []


def test_a_named_study_opens_as_it_is(demo_dir, monkeypatch, capsys):
    monkeypatch.setenv("COPROD_STUDY", str(demo_dir))
    with open_study(stage="recall") as store:  # the stage is for a demo only
        assert store.study_dir == demo_dir.resolve()
        assert store.step_closed() and store.is_demo is False
    with open_study(demo_dir, actor="alder") as store:
        assert store.actor == "alder" and not store.is_demo
    assert capsys.readouterr().out == ""


def test_no_study_named_gives_a_temporary_demo_that_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COPROD_USER", "someone-else")
    store = open_study(stage="recall")
    try:
        out = capsys.readouterr().out
        # one line, the notebook's first output; whoever is not of the demo's team works
        # as one of its researchers, and is told so
        assert out == DEMO_NOTICE + " You work as its researcher Cedar.\n"
        assert store.actor == "cedar" and store.acting_researcher().name == "Cedar"
        assert "/" not in DEMO_NOTICE  # no (temporary, changing) path in stored outputs
        assert store.is_demo and not store.step_closed()
        assert store.study_dir.name.startswith("coprod-demo-")
        assert str(store.study_dir).startswith(tempfile.gettempdir())
    finally:
        store.close()
        shutil.rmtree(store.study_dir)


def test_demo_true_is_a_demo_even_when_a_study_is_named(demo_dir, monkeypatch, capsys):
    monkeypatch.setenv("COPROD_STUDY", str(demo_dir))
    with open_study(demo=True, stage="joint", actor="cedar") as store:
        assert store.is_demo and store.study_dir != demo_dir.resolve()
        assert store.actor == "cedar" and store.step_closed()
    assert capsys.readouterr().out == DEMO_NOTICE + "\n"
    with pytest.raises(InvalidInput, match="coprod-nb demo DIR"):
        open_study(demo_dir, demo=True)
    with pytest.raises(InvalidInput, match="stage must be one of"):
        open_study(demo=True, stage="nonsense")


def test_coprod_db_alone_names_a_study_and_never_receives_the_demo(monkeypatch, capsys):
    # nothing listens on port 9: had the demo been built there, this would fail otherwise
    monkeypatch.setenv("COPROD_DB", "postgresql+psycopg://nobody:secret@127.0.0.1:9/none")
    monkeypatch.setenv("COPROD_USER", "birch")  # one of the demo's researchers: stays so
    with pytest.raises(NotFound, match="set COPROD_STUDY too"):
        open_study()
    with open_study(demo=True) as store:  # asked for: a SQLite file of its own
        assert store.actor == "birch" and store.is_demo and store.url.startswith("sqlite:///")
        assert store.url.endswith(f"{store.study_dir.name}/study.db")
    assert capsys.readouterr().out == DEMO_NOTICE + "\n"


@pytest.mark.postgres
def test_a_named_database_without_a_study_is_an_error(pg_url, tmp_path, monkeypatch):
    folder = tmp_path / "exports-here"
    monkeypatch.setenv("COPROD_STUDY", str(folder))
    monkeypatch.setenv("COPROD_DB", pg_url)
    with pytest.raises(NotFound, match="no study in the database") as err:
        open_study()
    _how_to_create(str(err.value), folder)
    assert not folder.exists()
    Store(tmp_path / "lead", pg_url, actor="alder").close()  # `coprod-nb init`, as the lead
    with open_study(actor="birch") as store:  # the folder only keeps backups and exports
        assert store.url == pg_url and store.study_dir == folder.resolve()
        assert not store.is_demo
    assert folder.is_dir()


def test_a_notebook_kernel_started_without_a_study_prints_the_notice(tmp_path):
    code = "from coprod_nb import open_study; s = open_study(stage='recall'); print(s.is_demo)"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COPROD_DEMO_CACHE": "off"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [DEMO_NOTICE + " You work as its researcher Cedar.", "True"]


def test_create_true_makes_a_new_empty_study_in_a_named_folder_and_says_so(
    tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "harbour-study"
    monkeypatch.setenv("COPROD_STUDY", str(folder))
    store = open_study(create=True, actor="rowan")
    try:
        assert (folder / "study.db").is_file() and store.is_demo is False
        assert store.partnerships() == [] and store.transcripts() == []
        out = capsys.readouterr().out
        assert "A new, empty study was created in" in out and DEMO_NOTICE not in out
    finally:
        store.close()
    # the second time it is opened as it is, silently
    with open_study(create=True) as again:
        assert again.study_dir == folder.resolve()
    assert capsys.readouterr().out == ""


def test_create_true_never_builds_or_hides_a_demo_and_refuses_a_file(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    monkeypatch.setenv("COPROD_STUDY", str(not_a_folder))
    with pytest.raises(NotFound, match="is not a folder"):
        open_study(create=True)
    assert not_a_folder.read_text() == "x"


def test_a_temporary_demo_is_removed_once_its_store_is_no_longer_used(capsys):
    """ "Nothing you do here is kept": the folder goes with the last reference to its
    store, not before, and a forked child (whose parent still works on it) leaves it."""
    store = open_study(demo=True, stage="recall", actor="alder")
    folder = store.study_dir
    store.add_partnership("RA", "Riverside allotments")  # some work, as a user would do
    gc.collect()
    assert (folder / "study.db").is_file()  # still in use: kept
    child = os.fork()
    if child == 0:  # the child drops its copy of the store, then exits without cleanup
        del store
        gc.collect()
        os._exit(0)
    os.waitpid(child, 0)
    assert (folder / "study.db").is_file()
    del store
    gc.collect()
    assert not folder.exists()
    assert capsys.readouterr().out == DEMO_NOTICE + "\n"


def test_a_notebook_on_the_temporary_demo_leaves_nothing_behind_when_its_kernel_ends():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from coprod_nb import open_study\nstudy = open_study()\nprint(study.study_dir)"
        )
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()  # then shuts it down
    [notice, where] = "".join(o.get("text", "") for o in nb.cells[0].outputs).splitlines()
    assert notice.startswith(DEMO_NOTICE)
    folder = Path(where)
    assert folder.name.startswith("coprod-demo-") and folder.parent == Path(tempfile.gettempdir())
    assert not folder.exists()


_OPEN_AND = (
    "import os, signal, sys\n"
    "from coprod_nb import open_study\n"
    "store = open_study()\n"
    "print(store.study_dir, flush=True)\n"
)


def _demo_in_a_process(then: str, env: dict) -> tuple[subprocess.Popen, Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", _OPEN_AND + then],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in child.stdout:  # the demo notice, then the folder
        if line.startswith("/"):
            return child, Path(line.strip())
    raise AssertionError(f"no folder printed (exit {child.wait()})")


def test_a_killed_kernels_demo_is_removed_by_the_next_demo_and_a_live_one_is_not(
    tmp_path, monkeypatch
):
    """A kernel killed outright cannot clean up; the next temporary demo sweeps its
    folder, and only the folders of processes that have ended."""
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    killed, abandoned = _demo_in_a_process("os.kill(os.getpid(), signal.SIGKILL)", env)
    assert killed.wait() == -9 and (abandoned / "study.db").is_file()  # left behind
    working, live = _demo_in_a_process("sys.stdin.read()", env)  # works until told
    other = temp / "coprod-demo-from-an-older-version"  # no lock held: not judged
    other.mkdir()
    store = open_study(demo=True, stage="recall")
    assert not abandoned.exists()
    assert (live / "study.db").is_file() and other.is_dir()
    assert sorted(p.name for p in temp.iterdir()) == sorted(
        [live.name, other.name, store.study_dir.name]
    )
    working.stdin.close()  # it ends normally, and removes its own
    assert working.wait() == 0 and not live.exists()
    folder = store.study_dir
    del store
    gc.collect()
    assert not folder.exists()
