"""Serving the participant app: personal links, and the Voilà command that serves it.

Links are keys from :func:`secrets.token_urlsafe`, issued by the store; they are shown
once, when issued, and only their hashes are kept. The server listens on 127.0.0.1
unless told otherwise; for a remote workshop it runs behind JupyterHub (through
jupyter-server-proxy) or an SSH tunnel, see ``docs/participant-app.md``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from coprod_nb.errors import CoprodError, InvalidInput, NotFound

__all__ = ["NOTEBOOK", "ServePlan", "link_root", "prepare", "run", "voila_command"]

#: The Voilà notebook of the app.
NOTEBOOK = Path(__file__).resolve().with_name("participant.ipynb")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PORT = 8866
_PATH = re.compile(r"/([A-Za-z0-9._~%!$&'()*+,;=:@-]+/)*")


@dataclass
class ServePlan:
    """What ``serve-workshop`` will run, and the links to hand out."""

    command: list[str]
    env: dict[str, str]
    cwd: Path
    root: str  # the app's address as participants reach it
    workshop: str  # e.g. "workshop 2 of 2022-11-09 (framework v2)"
    poll: str  # the current poll's state, in words
    links: dict[str, str] = field(default_factory=dict)  # participant -> key, issued now
    earlier: dict[str, datetime] = field(default_factory=dict)  # still working, not shown
    warning: str | None = None

    def describe(self) -> str:
        """The text printed before the server starts (it holds the new keys)."""
        from coprod_nb.widgets.participant import participant_link

        lines = [f"Participant app for {self.workshop}; {self.poll}."]
        if self.links:
            lines.append(
                "Personal links (each works for its participant only; shown this once, "
                "send each privately):"
            )
            lines += [
                f"  {name}: {participant_link(self.root, key)}"
                for name, key in sorted(self.links.items())
            ]
        if self.earlier:
            lines.append(
                "Links issued earlier still work (they are not stored, so not shown again; "
                "--new-links replaces every link):"
            )
            lines += [
                f"  {name}: issued {when:%Y-%m-%d %H:%M} UTC"
                for name, when in sorted(self.earlier.items())
            ]
        return "\n".join(lines)


def normalise_base_url(base_url: str) -> str:
    """``base_url`` with one leading and one trailing slash; refused if not a URL path."""
    value = "/" + (base_url or "").strip().strip("/") + "/"
    value = value.replace("//", "/")
    if not _PATH.fullmatch(value) or {".", ".."} & set(value.split("/")):
        raise InvalidInput(f"--base-url must be a URL path such as /user/alder/ (got {base_url!r})")
    return value


def link_root(host: str, port: int, base_url: str = "/", public_url: str | None = None) -> str:
    """The app's address in the links: ``public_url`` if given, else ``http://host:port/base``."""
    if public_url:
        if not re.match(r"https?://[^\s/]+", public_url):
            raise InvalidInput(f"--public-url must start with http:// or https:// ({public_url!r})")
        if "?" in public_url or "#" in public_url:
            # The key is appended as ?key=...: a query or fragment here would break every link.
            raise InvalidInput(f"--public-url must not hold a '?' or '#' ({public_url!r})")
        return public_url.rstrip("/") + "/"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{normalise_base_url(base_url)}"


def voila_command(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    base_url: str = "/",
    *,
    python: str | None = None,
    cull_idle: int = 600,
    bad_key_burst: int = 10,
    bad_key_refill: float = 60.0,
    behind_proxy: bool = False,
) -> list[str]:
    """The Voilà command line that serves the app's notebook and nothing else.

    The server is Voilà with the app's gate (:mod:`coprod_nb.participant_app.server`):
    no kernel for a visit without a valid key, bad keys rate-limited, one kernel per
    link, and kernels whose page has gone culled after ``cull_idle`` seconds. With
    ``behind_proxy`` bad keys are counted per address the proxy reports.
    """
    return [
        python or sys.executable,
        "-m",
        "coprod_nb.participant_app.server",
        str(NOTEBOOK),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        f"--Voila.base_url={normalise_base_url(base_url)}",
        # Participants see a friendly page, never a traceback or the cell's code.
        "--show_tracebacks=False",
        "--strip_sources=True",
        # A fresh kernel per page with a valid key (the gate checks first): Voilà hands
        # it the link's query string at start.
        "--preheat_kernel=False",
        # Serve no static files from the notebook's folder (the default allows images).
        "--VoilaConfiguration.file_allowlist=^$",
        "--VoilaConfiguration.file_denylist=.*",
        # A kernel whose page is gone (closed without notice, network lost) is shut down
        # after cull_idle seconds without activity; an open page keeps its kernel.
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        f"--MappingKernelManager.cull_interval={max(1, min(60, cull_idle // 2))}",
        "--MappingKernelManager.cull_connected=False",
        f"--ParticipantVoila.bad_key_burst={bad_key_burst}",
        f"--ParticipantVoila.bad_key_refill={bad_key_refill:g}",
        *(["--ParticipantVoila.trust_xheaders=True"] if behind_proxy else []),
    ]


def _check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise InvalidInput(f"--port must be between 1 and 65535 (got {port})")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InvalidInput(f"--host {host!r} is not an address of this machine") from exc
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind(address)
        except OSError as exc:
            raise CoprodError(
                f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port"
            ) from exc


def prepare(
    study_dir: str | os.PathLike,
    *,
    url: str | None = None,
    workshop: int | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    base_url: str = "/",
    public_url: str | None = None,
    new_links: bool = False,
    actor: str | None = None,
    behind_proxy: bool = False,
) -> ServePlan:
    """Check the study and the address, issue the links needed, build the command.

    Links are issued for every participant with ``new_links`` (earlier links stop
    working), otherwise only for participants without a working link. ``behind_proxy``
    counts bad keys per client address as a proxy on this machine reports it; it needs
    the app to listen on loopback, where the proxy is the one way in.

    Raises
    ------
    CoprodError
        No study, no frozen framework, no workshop, Voilà missing, a bad address or
        a port in use, each with a one-line message.
    """
    from coprod_nb.storage import Store

    if importlib.util.find_spec("voila") is None:
        raise CoprodError("Voilà is not installed: pip install voila")
    if behind_proxy and host not in LOCAL_HOSTS:
        # Headers from anyone who can reach the port would name any address they like.
        raise InvalidInput(
            f"--behind-proxy needs --host 127.0.0.1 (got {host}): the proxy on this machine "
            "must be the only way in"
        )
    base_url = normalise_base_url(base_url)
    root = link_root(host, port, base_url, public_url)
    study_dir = Path(study_dir)
    if not study_dir.is_dir() and not url and not os.environ.get("COPROD_DB"):
        raise NotFound(f"no study folder {study_dir}")
    with Store(study_dir, url, actor=actor, create=False) as store:
        if not store.framework_versions():
            raise CoprodError(
                f"{study_dir}: no frozen framework yet: agree the framework (step 2) and "
                "record the workshop first"
            )
        try:
            ws = store.workshop(workshop)
        except NotFound as exc:
            raise NotFound(f"{study_dir}: {exc} (record it in notebook 03 first)") from exc
        _check_port(host, port)
        active = store.active_links(ws.id)
        roster = list(ws.participants) or [p.name for p in store.participants()]
        if not roster:
            raise CoprodError(f"{study_dir}: the workshop has no participants")
        missing = [n for n in roster if n not in active]
        links: dict[str, str] = {}
        if new_links:
            links = store.issue_links(ws.id)
        elif missing:
            links = store.issue_links(ws.id, missing)
        earlier = {n: t for n, t in active.items() if n not in links}
        poll = store.current_poll(ws.id)
        if poll is None:
            poll_state = "no poll opened yet"
        else:
            state = "open" if poll.closed_at is None else "closed"
            poll_state = f"poll {poll.name!r} {state}"
        label = f"the workshop of {ws.date:%Y-%m-%d} (id {ws.id}, framework v{ws.base_version})"
        env = {**os.environ, "COPROD_STUDY": str(store.study_dir), "COPROD_WORKSHOP": str(ws.id)}
        if url:
            env["COPROD_DB"] = url
    warning = None
    if host not in LOCAL_HOSTS:
        warning = (
            f"serving on {host}, not only on this machine: anyone who can reach it can load "
            "the page, and the personal links are the only protection; prefer 127.0.0.1 "
            "behind JupyterHub, an HTTPS proxy or an SSH tunnel"
        )
    return ServePlan(
        command=voila_command(host, port, base_url, behind_proxy=behind_proxy),
        env=env,
        cwd=NOTEBOOK.parent,
        root=root,
        workshop=label,
        poll=poll_state,
        links=links,
        earlier=earlier,
        warning=warning,
    )


def run(plan: ServePlan) -> int:
    """Run the Voilà server until it stops or Ctrl-C; returns its exit status."""
    proc = subprocess.Popen(plan.command, env=plan.env, cwd=plan.cwd)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        print("server stopped; every response submitted is saved", file=sys.stderr)
        return 0
