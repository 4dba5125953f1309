"""The study set-up widgets in real JupyterLab and Chromium, on an empty study of its own.

A partnership typed into StudySetupEditor reaches the database; "Save as manifest" gives a
download whose bytes are the manifest; a file uploaded through ImportView's FileUpload (the
browser's own upload, ipywidgets 8's value format) is imported from inside the study folder.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from coprod_nb.seed.manifest import manifest_toml
from coprod_nb.storage import Store
from tests.browser.conftest import _wait_for_port
from tests.conftest import free_port

pytestmark = pytest.mark.browser

VTT = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nRowan Vey: What did the coalition share?\n\n"
    "00:00:05.000 --> 00:00:09.000\nPat Ember: The kitchen, and the say over it.\n"
)
CELL = """\
import os
from coprod_nb.storage import Store
from coprod_nb.widgets import ImportView, StudySetupEditor
store = Store(os.environ["COPROD_STUDY"])
display(StudySetupEditor(store))
display(ImportView(store))
"""


@pytest.fixture(scope="module")
def setup_lab(tmp_path_factory):
    """JupyterLab over a folder with one small notebook, on an empty study."""
    base = tmp_path_factory.mktemp("setup-lab")
    root, settings, study = base / "root", base / "settings", base / "study"
    root.mkdir()
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": CELL,
                "outputs": [],
                "execution_count": None,
            }  # noqa: E501
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "setup.ipynb").write_text(json.dumps(notebook))
    note = settings / "@jupyterlab" / "apputils-extension"
    note.mkdir(parents=True)
    (note / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    with Store(study, actor="rowan") as st:
        st.add_researcher("Rowan Vey", "rowan", True)
        st.add_participant("Pat Ember", real_name="Dorothy Kell")
    token, port = secrets.token_hex(16), free_port()
    env = {
        **os.environ,
        "COPROD_STUDY": str(study),
        "COPROD_USER": "rowan",
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
    }
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = base / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        _wait_for_port(port, proc, log)
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "study": study, "base": base}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_set_up_download_and_upload_in_lab(setup_lab, page, tmp_path):
    page.set_default_timeout(60_000)
    page.goto(f"{setup_lab['url']}/lab/tree/setup.ipynb?reset&token={setup_lab['token']}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session"
        "?.kernel?.status === 'idle'"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    editor = page.locator(".cp-study-setup").first
    editor.wait_for(timeout=120_000)

    editor.locator(".lm-TabBar-tab", has_text="Partnerships").click()
    form = editor.locator(".cp-setup-partnerships")
    texts = form.locator("input[type='text']")
    texts.nth(0).fill("HFC")
    texts.nth(1).fill("Harbour Food Coalition")
    form.locator("textarea").fill('region = "east coast"')
    form.get_by_role("button", name="Add").click()
    form.locator(".cp-ok").wait_for()
    with Store(setup_lab["study"]) as st:
        p = st.partnership("HFC")
        assert (p.name, p.attributes) == ("Harbour Food Coalition", {"region": "east coast"})
        expected = manifest_toml(st).encode("utf-8")

    editor.get_by_role("button", name="Save as manifest").click()
    link = editor.locator(".cp-download a")
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith("_manifest_REAL_NAMES.toml")
    assert Path(download.path()).read_bytes() == expected

    file = tmp_path / "hfc_2024-05-01.vtt"
    file.write_text(VTT)
    with page.expect_file_chooser() as chooser:
        page.locator(".cp-import-view .cp-import-upload").click()
    chooser.value.set_files(str(file))
    page.locator(".cp-import-view .cp-ok").wait_for()
    with Store(setup_lab["study"]) as st:
        [tr] = st.transcripts()
        assert tr.source_name == "hfc_2024-05-01.vtt"
    kept = list((setup_lab["study"] / "uploads").rglob("*.vtt"))
    assert [k.read_text() for k in kept] == [VTT]
