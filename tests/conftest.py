"""Shared fixtures: study folders, a real PostgreSQL server, the demo study.

Under ``CI=true`` a missing PostgreSQL or browser is a failure; on a laptop without
them the tests that need them are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from coprod_nb.storage.local_server import local_server, pg_bindir

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The tests (and the notebooks nbval runs in kernels started from this process) name their
# studies and who is working themselves: nothing of the developer's own environment leaks in.
for _var in ("COPROD_STUDY", "COPROD_DB", "COPROD_USER", "JUPYTERHUB_USER", "COPROD_COURSE"):
    os.environ.pop(_var, None)


def pytest_collection_modifyitems(config, items):
    """Browser tests last: one JupyterLab and one Chromium, and no event loop left behind
    by Playwright's sync API while the other tests run."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def missing(reason: str):
    """Skip on a laptop, fail in CI: a missing real part must not pass silently there."""
    if IN_CI:
        pytest.fail(f"{reason} (required when CI=true)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole test session.

    pytest-postgresql's ``postgresql_proc`` cannot start a server as root (initdb
    refuses), and CI runs as root; coprod_nb.storage.local_server runs it as the
    ``postgres`` system user then.
    """
    if pg_bindir() is None:
        missing("PostgreSQL server binaries (pg_ctl) not found")
    with local_server(options="-c max_connections=60") as server:
        yield server.url


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty PostgreSQL database for one test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    conninfo = pg_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_server}/{name}"
    for _ in range(20):
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            break
        except psycopg.Error:
            time.sleep(0.1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Run a storage test on SQLite (a real file) and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return None  # the default: DIR/study.db
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(tmp_path, db_url):
    """An empty study on each database."""
    from coprod_nb.storage import Store

    st = Store(tmp_path / "study", db_url, actor="tester")
    yield st
    st.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """The full demo study built once per session (SQLite); copy it before changing it."""
    from coprod_nb.seed.demo import build_demo

    d = tmp_path_factory.mktemp("demo-template") / "study"
    build_demo(d).close()
    return d


def _stage_template(tmp_path_factory, stage: str):
    from coprod_nb.seed.demo import build_demo

    d = tmp_path_factory.mktemp(f"{stage}-template") / "study"
    build_demo(d, stage=stage).close()
    return d


def _open_copy(template, dest):
    from coprod_nb.storage import Store

    shutil.copytree(template, dest)
    return Store(dest, actor="tester")


@pytest.fixture(scope="session")
def recall_template(tmp_path_factory):
    """The demo study as step 1 is under way: notes written, step 1 still open."""
    return _stage_template(tmp_path_factory, "recall")


@pytest.fixture(scope="session")
def joint_template(tmp_path_factory):
    """The demo study after the joint meeting: six tensions frozen as v1, no workshop yet."""
    return _stage_template(tmp_path_factory, "joint")


@pytest.fixture(scope="session")
def workshop_open_template(tmp_path_factory):
    """The demo study during its workshop: the decisions D1-D6 and both polls recorded,
    the result not frozen yet (so decisions can still be recorded and reverted), and no
    spectrum positions."""
    from coprod_nb.seed.demo import build_demo, demo_data_dir
    from coprod_nb.seed.manifest import load_workshop

    d = tmp_path_factory.mktemp("workshop-open-template") / "study"
    st = build_demo(d, stage="joint")
    load_workshop(st, demo_data_dir() / "workshop.toml", lead="Alder", freeze=False)
    st.close()
    return d


@pytest.fixture
def workshop_open_dir(tmp_path, workshop_open_template):
    """A private copy of the folder of the demo study during its workshop."""
    dest = tmp_path / "workshop-open"
    shutil.copytree(workshop_open_template, dest)
    return dest


@pytest.fixture
def workshop_open(workshop_open_dir):
    """The demo study during its workshop (result not frozen), open."""
    from coprod_nb.storage import Store

    st = Store(workshop_open_dir, actor="tester")
    yield st
    st.close()


@pytest.fixture
def recall_demo(tmp_path, recall_template):
    """A private copy of the step-1 demo study, open."""
    st = _open_copy(recall_template, tmp_path / "recall")
    yield st
    st.close()


@pytest.fixture
def joint_demo(tmp_path, joint_template):
    """A private copy of the step-2 demo study, open."""
    st = _open_copy(joint_template, tmp_path / "joint")
    yield st
    st.close()


@pytest.fixture
def demo_dir(tmp_path, demo_template):
    """A private copy of the demo study folder."""
    dest = tmp_path / "demo"
    shutil.copytree(demo_template, dest)
    return dest


@pytest.fixture
def demo(demo_dir):
    """The demo study, open."""
    from coprod_nb.storage import Store

    st = Store(demo_dir, actor="tester")
    yield st
    st.close()


# -- the second study (tests/second_study): no name shared with the demo -------------------

SECOND_VARIANTS = ("transcripts", "recall", "joint", "workshop", "no_researchers", "two_workshops")


@pytest.fixture(scope="session")
def second_templates(tmp_path_factory):
    """Build the second study at a stage (or variant) once per session; returns a getter.

    ``second_templates("joint")`` is the folder of a built study: copy it before
    changing it (or use :func:`second_study`). Variants beside the stages:
    ``no_researchers`` and ``two_workshops``.
    """
    from tests.second_study import build_second_study

    built: dict[str, Path] = {}

    def get(variant: str) -> Path:
        if variant not in built:
            d = tmp_path_factory.mktemp(f"second-{variant}") / "study"
            if variant == "no_researchers":
                store = build_second_study(d, "transcripts", researchers=False)
            elif variant == "two_workshops":
                store = build_second_study(d, "workshop", second_workshop=True)
            else:
                store = build_second_study(d, variant)
            store.close()
            built[variant] = d
        return built[variant]

    return get


@pytest.fixture
def second_study(tmp_path, second_templates):
    """Open a private copy of the second study: ``second_study("recall", actor="quill")``."""
    from coprod_nb.storage import Store

    opened = []

    def open_(variant: str = "workshop", actor: str = "rowan") -> Store:
        dest = tmp_path / f"second-{variant}-{len(opened)}"
        shutil.copytree(second_templates(variant), dest)
        opened.append(Store(dest, actor=actor))
        return opened[-1]

    yield open_
    for st in opened:
        st.close()
