"""The project's own files agree with each other, and layers point one way."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name_and_spec(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement)
    assert m, requirement
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_name_and_spec(r) for r in project["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_name_and_spec(d) for d in env["dependencies"] if isinstance(d, str))
    conda.pop("python"), conda.pop("pip")
    assert conda == wanted


def test_domain_loads_neither_widgets_nor_sqlalchemy():
    code = (
        "import sys, coprod_nb.domain; "
        "bad = [m for m in ('ipywidgets', 'sqlalchemy', 'pandas') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_storage_does_not_load_widgets():
    code = "import sys, coprod_nb.storage; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _loaded(code: str, modules: tuple[str, ...]) -> list[str]:
    probe = f"{code}\nimport sys; print(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_slow_imports_wait_until_they_are_needed():
    # Each of these takes a noticeable part of a second to import (docs/performance.md).
    slow = ("scipy", "alembic", "docx", "sqlalchemy", "pandas")
    assert _loaded("import coprod_nb", slow) == []
    assert _loaded("import coprod_nb.analysis, coprod_nb.widgets", slow[:3]) == []


def test_opening_a_study_at_the_newest_schema_does_not_load_alembic(tmp_path):
    from coprod_nb.storage import Store

    Store(tmp_path / "study").close()  # fresh: created through alembic
    code = f"from coprod_nb.storage import Store; Store({str(tmp_path / 'study')!r}).close()"
    assert _loaded(code, ("alembic",)) == []


def test_layers_import_one_way():
    order = ["domain", "storage", "ingest", "analysis", "widgets"]
    for i, layer in enumerate(order):
        later = order[i + 1 :]
        for path in (ROOT / "coprod_nb" / layer).rglob("*.py"):
            source = path.read_text()
            for upper in later:
                assert f"coprod_nb.{upper}" not in source, f"{path} imports {upper}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_binder_post_build_builds_the_demo_and_start_points_the_notebooks_at_it(tmp_path):
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip  # repo2docker installs the package itself from environment.yml
    run_env = {
        "HOME": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "COPROD_USER": "binder",
    }
    first = subprocess.run(
        [str(ROOT / "postBuild")], cwd=ROOT, env=run_env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "study" / "study.db").is_file()
    again = subprocess.run(
        [str(ROOT / "postBuild")], cwd=ROOT, env=run_env, capture_output=True, text=True
    )
    assert "already" in again.stdout
    code = "import os; from coprod_nb import open_study; s = open_study(); print(s.study_dir)"
    started = subprocess.run(
        [str(ROOT / "start"), sys.executable, "-c", code],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == str(tmp_path / "study")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # nothing else in $HOME
