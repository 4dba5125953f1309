"""A private, throwaway PostgreSQL server for the benchmarks (coprod_nb.storage.local_server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from coprod_nb.storage.local_server import local_server, pg_bindir


@contextmanager
def private_postgres() -> Iterator[str | None]:
    """Yield the URL of a fresh server (``postgresql+psycopg://coprod@127.0.0.1:PORT``).

    None when the server binaries are not installed (the search benchmark then reports
    SQLite only).
    """
    if pg_bindir() is None:
        yield None
        return
    with local_server(prefix="coprod-bench-pg-") as server:
        yield server.url


def new_database(server: str) -> str:
    """A new empty database on ``server``; returns its URL."""
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    conninfo = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"
