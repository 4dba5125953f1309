"""A real JupyterHub for browser tests: the programs, the configuration, the start, the log-in.

Shared by ``test_hub.py`` (a team on PostgreSQL) and ``test_hub_course.py`` (a PhD class):
JupyterHub on 127.0.0.1 with its own configurable-http-proxy (from npm,
``scripts/install-system-deps.sh``), a shared-password authenticator and
SimpleLocalProcessSpawner (each hub user a home of their own). Each test module adds the
lines of docs/jupyterhub.md it tests to the base configuration.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from coprod_nb.storage.local_server import free_port
from tests.browser.conftest import _wait_for_port
from tests.conftest import missing

CHP_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "coprod_nb"
    / "chp"
    / "node_modules"
    / ".bin"
    / "configurable-http-proxy"
)


def hub_programs() -> tuple[str, str, str]:
    """jupyterhub, jupyterhub-singleuser (this environment) and configurable-http-proxy."""
    bindir = Path(sys.executable).parent
    hub, single = bindir / "jupyterhub", bindir / "jupyterhub-singleuser"
    if not hub.exists() or not single.exists():
        missing("jupyterhub not installed in this environment (pip install -e '.[test]')")
    if not shutil.which("node"):
        missing("node not installed (scripts/install-system-deps.sh, as root)")
    chp = shutil.which("configurable-http-proxy") or (str(CHP_CACHE) if CHP_CACHE.exists() else "")
    if not chp:
        missing("configurable-http-proxy not installed (scripts/install-system-deps.sh)")
    return str(hub), str(single), chp


def hub_ports() -> dict[str, int]:
    return {"public": free_port(), "hub": free_port(), "api": free_port()}


def base_config(
    base: Path,
    programs: tuple[str, str, str],
    ports: dict[str, int],
    *,
    password: str,
    users: set[str],
    default_url: str,
) -> str:
    """jupyterhub_config.py without the study lines: the hub, proxy, log-in and spawner."""
    _, single, chp = programs
    args = ["--allow-root"] if os.geteuid() == 0 else []
    args.append("--LabApp.expose_app_in_browser=True")
    return textwrap.dedent(
        f"""\
        c = get_config()  # noqa
        c.JupyterHub.bind_url = "http://127.0.0.1:{ports["public"]}"
        c.JupyterHub.hub_bind_url = "http://127.0.0.1:{ports["hub"]}"
        c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["api"]}"
        c.ConfigurableHTTPProxy.command = [{chp!r}]
        c.ConfigurableHTTPProxy.pid_file = {str(base / "proxy.pid")!r}
        c.JupyterHub.db_url = "sqlite:///{base / "jupyterhub.sqlite"}"
        c.JupyterHub.cookie_secret_file = {str(base / "cookie_secret")!r}

        c.JupyterHub.authenticator_class = "shared-password"
        c.SharedPasswordAuthenticator.user_password = {password!r}
        c.Authenticator.allowed_users = {set(users)!r}

        c.JupyterHub.spawner_class = "simple"
        c.SimpleLocalProcessSpawner.home_dir_template = {str(base / "home" / "{username}")!r}
        c.Spawner.cmd = [{single!r}]
        c.Spawner.args = {args!r}
        c.Spawner.default_url = {default_url!r}
        c.Spawner.env_keep = ["PATH", "LANG"]
        """
    )


def quiet_lab(home: Path) -> None:
    """Lab without its news pop-up, in ``home``."""
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')


def _wait_for_login_page(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """Wait until the proxy routes to the hub (it adds the route after starting services)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the hub stopped; its log:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the hub's log-in page never answered; its log:\n{log.read_text()[-3000:]}")


@contextmanager
def running_hub(hub_bin: str, base: Path, config: str, ports: dict[str, int]) -> Iterator[dict]:
    """Start JupyterHub with ``config``; yields its public URL, the homes and the log."""
    path = base / "jupyterhub_config.py"
    path.write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPROD_", "JUPYTER"))}
    log = base / "hub.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [hub_bin, "-f", str(path)],
            cwd=base,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the hub, its proxy and the users' servers: one group
        )
    try:
        _wait_for_port(ports["public"], proc, log)
        _wait_for_port(ports["hub"], proc, log)
        _wait_for_login_page(f"http://127.0.0.1:{ports['public']}/hub/login", proc, log)
        yield {"url": f"http://127.0.0.1:{ports['public']}", "home": base / "home", "log": log}
    finally:
        proc.send_signal(signal.SIGTERM)  # the hub stops the servers and the proxy it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything of this run left behind
        except ProcessLookupError:
            pass


def log_in(context, url: str, user: str, password: str):
    """A new page of ``context`` logged in to the hub at ``url`` as ``user``."""
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{url}/hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(password)
    page.locator("#login_submit").click()
    return page


def run_all_cells(page, user: str) -> None:
    """Wait for Lab on the hub's default notebook and the kernel; run all its cells."""
    page.wait_for_url(f"**/user/{user}/lab/**")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session"
        "?.kernel?.status === 'idle'"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def kernel_prints(page, code: str) -> str:
    """Run ``code`` in the notebook's kernel; return what it printed (and any error)."""
    return page.evaluate(
        """async (code) => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const future = kernel.requestExecute({code});
            const out = [];
            future.onIOPub = (msg) => {
                if (msg.header.msg_type === 'stream') out.push(msg.content.text);
                if (msg.header.msg_type === 'error')
                    out.push(msg.content.ename + ': ' + msg.content.evalue);
            };
            await future.done;
            return out.join('');
        }""",
        code,
    )


def write_new_note(page, text: str) -> list[str]:
    """In the open notebook's note editor: the researcher picker's options (as shown),
    then a new note with ``text`` typed key by key (the editor saves it as it goes)."""
    panel = page.locator(".jp-NotebookPanel:visible")
    picker = panel.locator(".cp-researcher-picker select").first
    picker.locator("option").first.wait_for(state="attached")
    options = [" ".join(o.split()) for o in picker.locator("option").all_text_contents()]
    editor = panel.locator(".cp-note-editor").first
    editor.get_by_role("button", name="New note").click()
    box = editor.locator(".cp-note-text textarea")
    box.click()
    box.press_sequentially(text, delay=5)
    return options
