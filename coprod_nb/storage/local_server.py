"""A throwaway PostgreSQL server on 127.0.0.1: for trying team mode, the tests and benchmarks.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` system
user. ``fsync=off``: the server and its data are thrown away when the block ends.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalServer", "pg_bindir", "free_port", "local_server"]


def pg_bindir() -> Path | None:
    """The folder of the newest installed ``pg_ctl``, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalServer:
    """A running throwaway server: its URL (no database) and ``pg_ctl`` actions."""

    url: str
    bindir: Path
    data: Path
    options: str
    log: Path
    prefix: list[str]

    def run(self, *cmd: str) -> None:
        """Run a server program (as ``postgres`` when we are root)."""
        subprocess.run([*self.prefix, *cmd], check=True, capture_output=True, text=True)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", self.options,
            "-l", str(self.log), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended)."""
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextmanager
def local_server(*, prefix: str = "coprod-pg-", options: str = "") -> Iterator[LocalServer]:
    """Start a fresh server for the block; it and its data are removed afterwards.

    Parameters
    ----------
    prefix : str
        Name prefix of its temporary folder.
    options : str
        More ``postgres`` options, e.g. ``"-c max_connections=60"``.

    Raises
    ------
    FileNotFoundError
        The server programs are not installed.
    """
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (pg_ctl) not found")
    base = Path(tempfile.mkdtemp(prefix=prefix))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    server = LocalServer(
        url=f"postgresql+psycopg://coprod@127.0.0.1:{port}",
        bindir=bindir,
        data=base / "data",
        options=f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off {options}",
        log=base / "log",
        prefix=run_as,
    )
    try:
        server.run(
            str(bindir / "initdb"), "-D", str(server.data), "-U", "coprod", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        server.start()
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
