"""A built wheel, installed without the repository, carries everything a user needs.

The wheel is built from a copy of the repository's files (``git ls-files``), so the build
writes nothing into the working tree, and installed into a fresh virtual environment. So as
not to install the heavy dependencies again, that environment sees the main one's
site-packages through a ``.pth`` file holding its path: a plain path line in a ``.pth`` does
not run the main environment's editable-install hook, so ``coprod_nb`` is imported from the
wheel (checked). From there ``coprod-nb demo`` builds the demo, ``coprod-nb notebooks``
copies the notebooks and one working notebook runs, in a kernel of that environment, on
the demo study named by ``COPROD_STUDY``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, missing

#: The working notebook executed from the installed package: it reads the named study and
#: writes the report into its exports folder.
NOTEBOOK = "04_report.ipynb"


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))}\n{out.stdout}\n{out.stderr}"
    return out


def _source_copy(dest: Path) -> Path:
    """The repository's files (tracked, and new ones not ignored) as they are now."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        missing("git and the repository's .git are needed to list the files to build from")
    listed = _run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT
    ).stdout
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():  # a file deleted in the working tree is still in the index
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    source = _source_copy(base / "source")
    # pip builds in an isolated environment with the build-system requirements, as a user's
    # `pip install .` or `pip wheel .` does.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source])
    (found,) = (base / "dist").glob("coprod_nb-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory) -> dict:
    """A fresh virtual environment with the wheel installed (and the main one's packages)."""
    base = tmp_path_factory.mktemp("fresh")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    # The main environment's pip installs into the fresh one; before the .pth exists, so
    # that pip sees no coprod_nb already installed there.
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel])
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        ).stdout.strip()
    )
    main = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "zz_main_site_packages.pth").write_text("".join(f"{p}\n" for p in main))
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(base / "home"),
        "COPROD_USER": "wheel-tester",
        "COPROD_DEMO_CACHE": "off",
        "JUPYTER_PATH": str(base / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(base / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(base / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
        "IPYTHONDIR": str(base / "ipython"),
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONSAFEPATH": "1",  # never the repository's coprod_nb from the working folder
    }
    (base / "home").mkdir()
    # A kernel of the fresh environment, by absolute path.
    spec = base / "jupyter" / "kernels" / "coprod-wheel"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "coprod_nb (wheel)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return {"base": base, "venv": venv, "python": python, "site": site, "env": env}


def test_the_wheel_carries_the_data_the_notebooks_and_the_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    demo = ROOT / "coprod_nb" / "seed" / "data" / "demo"
    transcripts = sorted(p.name for p in (demo / "transcripts").iterdir())
    assert len(transcripts) == 5
    for name in transcripts:
        assert f"coprod_nb/seed/data/demo/transcripts/{name}" in names
    for name in ("study.toml", "notes.toml", "joint_meeting.toml", "workshop.toml"):
        assert f"coprod_nb/seed/data/demo/{name}" in names
    assert "coprod_nb/seed/data/demo/extra/ccph_followup_2021-07-20.srt" in names
    for name in ("report.html.j2", "resource_pack.html.j2"):
        assert f"coprod_nb/exchange/templates/{name}" in names
    assert "coprod_nb/exchange/schemas/Project.xsd" in names
    assert "coprod_nb/participant_app/participant.ipynb" in names
    assert "coprod_nb/storage/migrations/script.py.mako" in names
    for path in (ROOT / "coprod_nb" / "storage" / "migrations" / "versions").glob("*.py"):
        assert f"coprod_nb/storage/migrations/versions/{path.name}" in names
    name, version = wheel.name.split("-")[:2]
    share = f"{name}-{version}.data/data/share/coprod_nb/notebooks"
    shipped = {n.removeprefix(share + "/") for n in names if n.startswith(share)}
    repo = {p.relative_to(ROOT / "notebooks").as_posix() for p in ROOT.glob("notebooks/*.ipynb")}
    tour = {
        p.relative_to(ROOT / "notebooks").as_posix() for p in ROOT.glob("notebooks/tour/*.ipynb")
    }
    assert NOTEBOOK in repo and tour
    assert shipped == repo | tour
    assert not [n for n in names if ".ipynb_checkpoints" in n or "__pycache__" in n]


def test_installed_from_the_wheel_the_demo_and_a_notebook_run(fresh, tmp_path):
    python, env = fresh["python"], fresh["env"]
    code = "import coprod_nb; print(coprod_nb.__file__)"
    where = _run([python, "-c", code], env=env, cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(fresh["site"])  # the wheel's copy
    coprod = fresh["venv"] / "bin" / "coprod-nb"
    study, notebooks = tmp_path / "study", tmp_path / "notebooks"
    out = _run([coprod, "demo", "-q", study], env=env, cwd=tmp_path)
    assert "demo study built" in out.stdout and (study / "study.db").is_file()
    out = _run([coprod, "notebooks", notebooks], env=env, cwd=tmp_path)
    copied = sorted(p.relative_to(notebooks).as_posix() for p in notebooks.rglob("*.ipynb"))
    assert copied == sorted(
        p.relative_to(ROOT / "notebooks").as_posix()
        for p in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/tour/*.ipynb")]
    )
    assert (notebooks / "tour").is_dir() and str(notebooks) in out.stdout

    # Once copied, the notebooks are the user's: a second copy changes nothing.
    (notebooks / NOTEBOOK).write_text("mine")
    again = subprocess.run(
        [coprod, "notebooks", notebooks], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert again.returncode == 1 and "--force" in again.stderr
    assert (notebooks / NOTEBOOK).read_text() == "mine"
    _run([coprod, "notebooks", "--force", notebooks], env=env, cwd=tmp_path)
    assert (notebooks / NOTEBOOK).read_text() != "mine"

    # Execute one working notebook in a kernel of the fresh environment, on the demo study;
    # a last cell says which coprod_nb the kernel imported.
    import nbformat

    path = notebooks / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import coprod_nb; print(coprod_nb.__file__)"))
    nbformat.write(nb, path)
    run_env = {**env, "COPROD_STUDY": str(study)}
    _run(
        [
            python,
            "-m",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.kernel_name=coprod-wheel",
            "--ExecutePreprocessor.timeout=120",
            "--output",
            "executed.ipynb",
            path,
        ],
        env=run_env,
        cwd=notebooks,
    )
    executed = nbformat.read(notebooks / "executed.ipynb", as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert errors == [] and stderr == [], (errors, stderr)
    last = executed.cells[-1].outputs[0].text.strip()
    assert Path(last).is_relative_to(fresh["site"])
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "temporary fictional demo" not in text  # COPROD_STUDY was opened, not a demo
