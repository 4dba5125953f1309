"""Guards in the database: the consensus threshold and closed polls.

The threshold of a workshop cannot change once the workshop has results (a card
response or a ballot); a closed poll gets no new or changed ballots, cannot be reopened
and keeps its options. Triggers on SQLite and PostgreSQL, so that a plain SQL write is
refused as well as the API. (The event log and frozen framework versions are guarded
since migrations 0001 and 0003.) On PostgreSQL this replaces the researchers-only
``coprod_poll_stays_closed`` trigger of migration 0007: one guard, for every role.

The messages are those of :mod:`coprod_nb.storage.guards`, written out here so that this
migration stays as it was when it ran.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

THRESHOLD_FIXED = (
    "the consensus threshold is fixed once the workshop has results (card responses or ballots)"
)
POLL_CLOSED = "a closed poll stays as it closed (no new or changed ballots, no reopening)"

_HAS_RESULTS = (
    "(EXISTS (SELECT 1 FROM card_response r WHERE r.workshop_id = OLD.id) "
    "OR EXISTS (SELECT 1 FROM ballot b JOIN poll p ON p.id = b.poll_id "
    "WHERE p.workshop_id = OLD.id))"
)
_CLOSED = "(SELECT closed_at FROM poll WHERE id = {row}.poll_id) IS NOT NULL"
_POLL_CHANGED = (
    "OLD.closed_at IS NOT NULL AND (NEW.closed_at IS DISTINCT FROM OLD.closed_at "
    "OR CAST(NEW.options AS TEXT) IS DISTINCT FROM CAST(OLD.options AS TEXT) "
    "OR NEW.max_choices IS DISTINCT FROM OLD.max_choices "
    "OR NEW.ranked IS DISTINCT FROM OLD.ranked OR NEW.workshop_id IS DISTINCT FROM OLD.workshop_id)"
)

_SQLITE = [
    (
        "guard_threshold",
        "BEFORE UPDATE OF consensus_threshold ON workshop "
        f"WHEN NEW.consensus_threshold IS NOT OLD.consensus_threshold AND {_HAS_RESULTS}",
        THRESHOLD_FIXED,
    ),
    (
        "guard_ballot_insert",
        f"BEFORE INSERT ON ballot WHEN {_CLOSED.format(row='NEW')}",
        POLL_CLOSED,
    ),
    (
        "guard_ballot_update",
        f"BEFORE UPDATE ON ballot WHEN {_CLOSED.format(row='OLD')} OR {_CLOSED.format(row='NEW')}",
        POLL_CLOSED,
    ),
    ("guard_poll_closed", f"BEFORE UPDATE ON poll WHEN {_POLL_CHANGED}", POLL_CLOSED),
]

# PostgreSQL: SECURITY DEFINER, so that the check sees every ballot even when the role
# writing cannot (row-level security hides ballots of open polls from researchers).
_PG_FUNCTIONS = {
    "coprod_guard_threshold": (
        "workshop",
        "BEFORE UPDATE",
        "NEW.consensus_threshold IS DISTINCT FROM OLD.consensus_threshold AND " + _HAS_RESULTS,
        THRESHOLD_FIXED,
        "NEW",
    ),
    "coprod_guard_ballot": (
        "ballot",
        "BEFORE INSERT OR UPDATE",
        f"{_CLOSED.format(row='NEW')} OR (TG_OP = 'UPDATE' AND {_CLOSED.format(row='OLD')})",
        POLL_CLOSED,
        "NEW",
    ),
    "coprod_guard_poll": ("poll", "BEFORE UPDATE", _POLL_CHANGED, POLL_CLOSED, "NEW"),
}


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name, when, message in _SQLITE:
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN SELECT RAISE(ABORT, '{message}'); END")
        return
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    op.execute("DROP TRIGGER IF EXISTS coprod_poll_stays_closed ON poll")
    op.execute("DROP FUNCTION IF EXISTS coprod_poll_stays_closed()")
    for name, (table, when, condition, message, returns) in _PG_FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
            f"SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$ BEGIN "
            f"IF {condition} THEN RAISE EXCEPTION '{message}'; END IF; "
            f"RETURN {returns}; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name, _, _ in _SQLITE:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for name, (table, *_) in _PG_FUNCTIONS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
