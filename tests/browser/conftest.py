"""One JupyterLab server and one headless Chromium for all browser tests."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coprod_nb.storage.local_server import free_port
from tests.conftest import ROOT, missing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright cannot download its own browser here."""
    if not Path(CHROMIUM).exists():
        missing("Chromium not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    # A TCP connect, not an HTTP GET: readiness without side effects.
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def running_lab(base: Path, study: Path, user: str):
    """JupyterLab on 127.0.0.1 over a copy of the notebooks, on ``study``, as ``user``.

    Yields a dict with ``url``, ``token`` and ``study`` (the study folder the notebooks
    work on, for assertions on the database).
    """
    root, settings = base / "root", base / "settings"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    note = settings / "@jupyterlab" / "apputils-extension"
    note.mkdir(parents=True)
    (note / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    token, port = secrets.token_hex(16), free_port()
    env = {
        **os.environ,
        "COPROD_STUDY": str(study),
        "COPROD_USER": user,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
    }
    env.pop("COPROD_DB", None)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = base / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        _wait_for_port(port, proc, log)
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "study": study}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab over a copy of the notebooks, on a demo study, as its researcher cedar."""
    from coprod_nb.seed.demo import build_demo

    base = tmp_path_factory.mktemp("lab")
    build_demo(base / "study").close()
    with running_lab(base, base / "study", "cedar") as lab:
        yield lab


def run_all(page, lab: dict, name: str) -> None:
    """Open notebook ``name`` in the Lab of ``lab`` and run all its cells."""
    page.set_default_timeout(60_000)
    # ?reset: a fresh workspace, so notebooks opened by earlier tests are not restored
    page.goto(f"{lab['url']}/lab/tree/{name}?reset&token={lab['token']}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    # the kernel must be ready before "run all", or the first cells can be dropped
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session"
        "?.kernel?.status === 'idle'"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


@pytest.fixture
def open_notebook(lab, page):
    """Open a notebook in Lab and run all its cells; returns the page."""

    def _open(name: str):
        run_all(page, lab, name)
        return page

    return _open
