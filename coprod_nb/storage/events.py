"""The append-only event log: one row per change, written in the change's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from coprod_nb.storage.models import Event

#: Every kind of object the log records (``Event.object_type``), in one place: what
#: ``coprod-nb history`` accepts as KIND, and what :func:`log` and :func:`log_many` are
#: called with across the storage layer (tests/test_clear_errors_2026_12_02.py reads the
#: code's calls and fails on a kind missing here).
OBJECT_TYPES = (
    "card_response",
    "decision",
    "dissent",
    "excerpt",
    "framework",
    "meeting",
    "note",
    "participant",
    "partnership",
    "poll",
    "pseudonym",
    "qda_code",
    "qda_codebook",
    "qda_coding",
    "reflective_answer",
    "researcher",
    "speaker",
    "spectrum",
    "step",
    "study",
    "tension",
    "tension_link",
    "transcript",
    "workshop",
)

# Set only while the fictional demo is built (coprod_nb.seed.demo): its events then fall
# on the story's dates. Real studies always read the real clock.
_FICTIONAL_CLOCK: ContextVar[list[datetime] | None] = ContextVar("fictional_clock", default=None)


def utcnow() -> datetime:
    """Naive UTC time, as stored in every timestamp column."""
    clock = _FICTIONAL_CLOCK.get()
    if clock is not None:
        # One second per reading: the story's events stay in the order they were made.
        clock[0] += timedelta(seconds=1)
        return clock[0]
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def fictional_clock(start: datetime) -> Iterator[None]:
    """Timestamps from ``start`` (one second apart) instead of now, inside the block.

    For the demo builder only, whose study tells of 2021: a workshop of 2021 must not
    say it was closed on the day the demo was built.
    """
    token = _FICTIONAL_CLOCK.set([start])
    try:
        yield
    finally:
        _FICTIONAL_CLOCK.reset(token)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The column values of a mapped object, JSON-ready (for before/after)."""
    mapper = sa_inspect(obj).mapper
    return {c.key: _plain(getattr(obj, c.key)) for c in mapper.column_attrs}


def log(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    detail: str = "",
) -> Event:
    """Append one event to the log (flushed with the surrounding transaction)."""
    ev = Event(
        at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        detail=detail,
    )
    session.add(ev)
    return ev


def log_many(session: Session, actor: str, entries: list[dict[str, Any]]) -> None:
    """Append many events by one ``INSERT`` (``executemany``), in the order given.

    The rows :func:`log` gives one by one, without an ORM object each (an import's or a
    decision log's thousands). Each entry holds ``action``, ``object_type`` and
    ``object_id``, and may hold ``before``, ``after``, ``detail`` and ``at`` (read from
    :func:`utcnow` per entry, in order, when absent). Pending ORM changes are flushed
    first, so the log keeps the order of the acts.
    """
    if not entries:
        return
    session.flush()
    rows = []
    for e in entries:
        at = e["at"] if "at" in e else utcnow()
        rows.append({"before": None, "after": None, "detail": "", **e, "at": at, "actor": actor})
    session.connection().execute(insert(Event.__table__), rows)


@dataclass(frozen=True)
class HistoryEntry:
    """One event as shown in an object's history."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: int | None
    before: dict | None
    after: dict | None
    detail: str


def history(
    session: Session, object_type: str, object_id: int | None = None, *, where=None
) -> list[HistoryEntry]:
    """Events about one object (or every object of a type), oldest first.

    ``where``: the access policy's clause (:func:`coprod_nb.storage.access.visible_events`).
    """
    q = select(Event).where(Event.object_type == object_type)
    if where is not None:
        q = q.where(where)
    if object_id is not None:
        q = q.where(Event.object_id == object_id)
    rows = session.scalars(q.order_by(Event.id)).all()
    return [
        HistoryEntry(
            e.id, e.at, e.actor, e.action, e.object_type, e.object_id, e.before, e.after, e.detail
        )
        for e in rows
    ]
