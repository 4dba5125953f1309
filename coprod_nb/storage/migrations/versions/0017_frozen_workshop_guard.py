"""A guard in the database: a workshop whose result is frozen keeps its record.

Once the lead freezes a workshop's result as a framework version (the ``freeze`` event
of that version names the workshop), its card responses, polls and ballots are what the
frozen decisions cite (``prompted_by``): no card response is added or changed, no poll
opened and no ballot cast or changed there. Triggers on SQLite and PostgreSQL, so that
a plain SQL write is refused as well as the API (which refuses first, with the
workshop's date and version: ``WorkshopRepository._refuse_frozen``). Closing a poll
left open at the freeze stays possible (an update of ``poll``, not guarded here).

The frozen state is read from the freeze events (the one record of which workshop a
version came from); they are few, and found through the index on ``event.object_type``.
On PostgreSQL the functions are SECURITY DEFINER, so that the check sees every event
even when the role writing cannot (row-level security, storage/team.py).

The message is that of :mod:`coprod_nb.storage.guards`, written out here so that this
migration stays as it was when it ran.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

WORKSHOP_FROZEN = (
    "a workshop whose result is frozen keeps its record "
    "(no new or changed responses, polls or ballots)"
)

# ``{ws}``: an expression giving the workshop id of the row written.
_SQLITE_FROZEN = (
    "EXISTS (SELECT 1 FROM event e WHERE e.object_type = 'framework' "
    "AND e.action = 'freeze' AND json_extract(e.\"after\", '$.workshop') = {ws})"
)
_PG_FROZEN = (
    "EXISTS (SELECT 1 FROM event e WHERE e.object_type = 'framework' "
    "AND e.action = 'freeze' AND (e.\"after\" ->> 'workshop') = CAST({ws} AS TEXT))"
)
_POLL_OF = "(SELECT workshop_id FROM poll WHERE id = {row}.poll_id)"

_SQLITE = [
    ("guard_frozen_response_insert", "BEFORE INSERT ON card_response", "NEW.workshop_id"),
    ("guard_frozen_response_update", "BEFORE UPDATE ON card_response", "OLD.workshop_id"),
    ("guard_frozen_poll_insert", "BEFORE INSERT ON poll", "NEW.workshop_id"),
    ("guard_frozen_ballot_insert", "BEFORE INSERT ON ballot", _POLL_OF.format(row="NEW")),
    ("guard_frozen_ballot_update", "BEFORE UPDATE ON ballot", _POLL_OF.format(row="OLD")),
]

# name -> (table, when, the written row's workshop, the updated row's old workshop or None)
_PG = {
    "coprod_guard_frozen_response": (
        "card_response",
        "BEFORE INSERT OR UPDATE",
        "NEW.workshop_id",
        "OLD.workshop_id",
    ),
    "coprod_guard_frozen_poll": ("poll", "BEFORE INSERT", "NEW.workshop_id", None),
    "coprod_guard_frozen_ballot": (
        "ballot",
        "BEFORE INSERT OR UPDATE",
        _POLL_OF.format(row="NEW"),
        _POLL_OF.format(row="OLD"),
    ),
}


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name, when, ws in _SQLITE:
            condition = _SQLITE_FROZEN.format(ws=ws)
            if "UPDATE" in when:  # moving a row out of (or into) a frozen workshop too
                condition += " OR " + _SQLITE_FROZEN.format(ws=ws.replace("OLD.", "NEW."))
            op.execute(
                f"CREATE TRIGGER {name} {when} WHEN {condition} "
                f"BEGIN SELECT RAISE(ABORT, '{WORKSHOP_FROZEN}'); END"
            )
        return
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    for name, (table, when, new_ws, old_ws) in _PG.items():
        condition = _PG_FROZEN.format(ws=new_ws)
        if old_ws is not None:
            condition += f" OR (TG_OP = 'UPDATE' AND {_PG_FROZEN.format(ws=old_ws)})"
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
            f"SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$ BEGIN "
            f"IF {condition} THEN RAISE EXCEPTION '{WORKSHOP_FROZEN}'; END IF; "
            "RETURN NEW; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name, _, _ in _SQLITE:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for name, (table, *_) in _PG.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
