"""The record's guards in the database, and their refusals as a :class:`CoprodError`.

Some rules must hold whatever writes to the database (a notebook, a plain SQL client, a
bug): they are triggers on SQLite and PostgreSQL, each in one migration, not checks in
the API. Their messages are listed here so that the store turns a trigger's refusal
into a clear :class:`~coprod_nb.errors.OutOfOrder` (:func:`guard_refusal`).

- the event log is append-only (migration 0001);
- a frozen framework version cannot be changed or deleted (0003);
- the consensus threshold is fixed once the workshop has results, i.e. a card response
  or a ballot (0008): a threshold chosen after seeing results could be chosen to make a
  result;
- a closed poll stays as it closed: no new or changed ballots, no reopening, no change to
  its options (0008);
- a workshop whose result is frozen keeps its record: no new or changed card responses,
  no new poll, no new or changed ballot (0017; the store refuses first, naming the
  workshop and the version).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from coprod_nb.errors import OutOfOrder

APPEND_ONLY = "the event log is append-only"
FROZEN = "a frozen framework version cannot be changed"
THRESHOLD_FIXED = (
    "the consensus threshold is fixed once the workshop has results (card responses or ballots)"
)
POLL_CLOSED = "a closed poll stays as it closed (no new or changed ballots, no reopening)"

WORKSHOP_FROZEN = (
    "a workshop whose result is frozen keeps its record "
    "(no new or changed responses, polls or ballots)"
)

GUARDS = (APPEND_ONLY, FROZEN, THRESHOLD_FIXED, POLL_CLOSED, WORKSHOP_FROZEN)


def guard_refusal(exc: BaseException) -> OutOfOrder | None:
    """An :class:`OutOfOrder` when ``exc`` is one of the guards' refusals, else None."""
    if not isinstance(exc, DBAPIError):
        return None
    message = str(exc.orig)
    for guard in GUARDS:
        if guard in message:
            return OutOfOrder(f"the database refused the change: {guard}")
    return None
