"""The working notebooks are tools for any study, at any stage, and running them writes nothing.

Each notebook of ``notebooks/`` (not the tour) is executed in a fresh kernel, as a
researcher of the second study (tests/second_study, no name shared with the demo), on that
study at every stage; no cell may fail, no widget may open on an error, and every table's
rows must be the same before and after (a checksum per table). On one study the whole
series 00 to 06 runs twice in a row.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.badinput import table_checksums
from tests.conftest import ROOT

WORKING = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Names and codes of the demo study that no working notebook cell may hold.
DEMO_NAMES = (
    "Cedar",
    "Alder",
    "Birch",
    "LAHRP",
    "WVC",
    "TCP",
    "AVC",
    "CCPH",
    "Jo Linden",
    "Kit Moreland",
    "Sam Arrow",
    "Max Tolley",
    "Lee Harrow",
    "demo_data_dir",
    "2021",
)


def _widget_texts(nb) -> list[str]:
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    texts = []
    for model in state.get("state", {}).values():
        value = model.get("state", {}).get("value")
        if isinstance(value, str):
            texts.append(value)
    return texts


def run_notebook(path: Path, workdir: Path) -> tuple[list[str], list[str]]:
    """Execute a copy of a notebook; returns (errors, texts shown by its widgets)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        store_widget_state=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    errors = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                errors.append(f"{path.name} cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr" and "Traceback" in out.text:
                errors.append(f"{path.name} cell {i}: {out.text[-400:]}")
    texts = _widget_texts(nb)
    for t in texts:
        if "cp-error" in t:
            errors.append(f"{path.name}: a widget opened on an error: {t[:300]}")
    return errors, texts


@pytest.fixture
def notebook_env(monkeypatch, tmp_path):
    """Run notebooks on a study folder as a researcher; the kernel inherits this env."""

    def use(study: Path, user: str) -> Path:
        monkeypatch.setenv("COPROD_STUDY", str(study))
        monkeypatch.setenv("COPROD_USER", user)
        monkeypatch.delenv("COPROD_DB", raising=False)
        monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
        monkeypatch.delenv("COPROD_COURSE", raising=False)
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        return work

    return use


def test_there_are_seven_working_notebooks_and_a_tour():
    assert [p.name[:2] for p in WORKING] == ["00", "01", "02", "03", "04", "05", "06"]
    assert len(list((ROOT / "notebooks" / "tour").glob("*.ipynb"))) == 7


@pytest.mark.parametrize("path", WORKING, ids=lambda p: p.name[:2])
def test_a_working_notebook_names_nothing_of_the_demo_and_scripts_nothing(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert [d for d in DEMO_NAMES if d in code] == []
    # no clicks, no values typed in, no method of the study called: cells pass it on only
    assert not re.search(r"\.click\(\)|\.value\s*=[^=]|\bstudy\.\w+\(", code)
    assert all(
        len("".join(c["source"]).splitlines()) <= 12 for c in cells if c["cell_type"] == "code"
    )


# Which plain message a notebook must show at a stage where its step cannot start yet.
EXPECTED = {
    ("no_researchers", "01"): "no researchers yet",
    ("recall", "02"): "Step 1 is still open",
    ("joint", "03"): "No workshop recorded yet",
}


@pytest.mark.parametrize(
    "variant", ["transcripts", "no_researchers", "recall", "joint", "two_workshops"]
)
def test_every_working_notebook_runs_on_the_second_study_and_writes_nothing(
    variant, second_templates, notebook_env, tmp_path
):
    study = tmp_path / "study"
    shutil.copytree(second_templates(variant), study)
    work = notebook_env(study, "quill")
    before = table_checksums(study / "study.db")
    problems, shown = [], {}
    for path in WORKING:
        errors, texts = run_notebook(path, work)
        problems += errors
        shown[path.name[:2]] = " ".join(texts)
    assert problems == []
    assert table_checksums(study / "study.db") == before
    for (v, nb), phrase in EXPECTED.items():
        if v == variant:
            assert phrase.casefold() in shown[nb].casefold(), (nb, phrase)


def test_the_working_notebooks_run_twice_in_a_row_on_one_study_without_a_change(
    second_templates, notebook_env, tmp_path
):
    study = tmp_path / "study"
    shutil.copytree(second_templates("workshop"), study)
    work = notebook_env(study, "rowan")  # the lead: every button is live
    before = table_checksums(study / "study.db")
    problems = []
    for _ in range(2):
        for path in WORKING:
            problems += run_notebook(path, work)[0]
    assert problems == []
    assert table_checksums(study / "study.db") == before


def test_notebook_05_opens_an_existing_course_and_changes_nothing(
    notebook_env, monkeypatch, tmp_path
):
    from coprod_nb.course import create_course

    create_course(tmp_path / "seminar", 5, group_size=3, name="Methods seminar")
    work = notebook_env(tmp_path / "no-study-needed", "instructor")
    monkeypatch.setenv("COPROD_COURSE", str(tmp_path / "seminar"))
    studies = sorted((tmp_path / "seminar").rglob("study.db"))
    before = [table_checksums(db) for db in studies]
    errors, texts = run_notebook(ROOT / "notebooks" / "05_course_dashboard.ipynb", work)
    assert errors == [] and len(studies) == 2
    assert any("Methods seminar" in t for t in texts)  # the dashboard, not the set-up form
    assert [table_checksums(db) for db in studies] == before


def test_a_user_mistake_in_a_notebook_cell_reads_as_one_line_not_a_traceback(
    notebook_env, tmp_path
):
    """An error of coprod_nb (here: a study folder that holds no study) shows its message."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from coprod_nb import open_study\nopen_study()")]
    path = tmp_path / "mistake.ipynb"
    nbformat.write(nb, path)
    notebook_env(tmp_path / "no-such-study", "quill")
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True)
    client.execute()
    [out] = nb.cells[0].outputs
    assert out.output_type == "error" and out.ename == "NotFound"
    assert len(out.traceback) == 1 and "coprod-nb init" in out.traceback[0]
