"""PostgreSQL search vectors in a narrow table of their own, ``turn_search``.

Revision ID: 0018
Revises: 0017

Until now the vector was a generated column of ``turn`` (0011), stored beside each
turn's text. A search reads the vectors of the turns its GIN index (or the primary key,
for a common word) points to, and with the texts on the same pages it read about twice
the pages. Measured on the 800-transcript copy of the synthetic study (113,728 turns,
docs/performance.md, "Search medians on SQLite and PostgreSQL: where the time goes"):
the window statement 29.8 -> 18.4 ms, median of the benchmark's 30 queries, and phrases
of common words 115-138 -> 65-74 ms.

``turn_search(id, search_vector)`` holds one row per turn, keyed by the turn's id (and
deleted with it). Statement-level triggers on ``turn`` keep it current on both write
paths of a turn (the store's bulk insert and any ``UPDATE`` of a text, pseudonym
rewrites included): an insert adds the new turns' vectors in one statement, an update
recomputes the vectors of the turns whose text changed. The functions are SECURITY
DEFINER so that researchers' roles, which read the table (``storage/team.py``), cannot
write vectors of their own into it; this migration gives that read to every role that
already reads ``turn``, so a team's search keeps working before ``coprod-nb team`` runs
again.

The vector's text is 0011's, written out here so that this migration stays as it was
when it ran: the turn's text with all but letters and digits made spaces, parsed with
the ``simple`` configuration (``coprod_nb/storage/search.py``). SQLite is unchanged (its
FTS5 table is already apart from ``turn``).
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def vector_of(column: str) -> str:
    """The search vector of a text column, as 0011 made it."""
    return f"to_tsvector('simple'::regconfig, regexp_replace({column}, '[^[:alnum:]]+', ' ', 'g'))"


_INSERT = "coprod_turn_search_insert"
_UPDATE = "coprod_turn_search_update"


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        return
    conn = op.get_bind()
    schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    op.execute(
        "CREATE TABLE turn_search (id integer NOT NULL, search_vector tsvector NOT NULL, "
        "CONSTRAINT pk_turn_search PRIMARY KEY (id), CONSTRAINT fk_turn_search_id_turn "
        "FOREIGN KEY (id) REFERENCES turn (id) ON DELETE CASCADE)"
    )
    op.execute("INSERT INTO turn_search (id, search_vector) SELECT id, search_vector FROM turn")
    op.execute("ALTER TABLE turn DROP COLUMN search_vector")  # its GIN index goes with it
    op.execute("CREATE INDEX ix_turn_search_vector ON turn_search USING gin (search_vector)")
    # the words' frequencies, by which the planner chooses the GIN index or the turns in
    # order; a new table has none until autovacuum's first pass
    op.execute("ANALYZE turn_search")
    definer = f"LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp"
    op.execute(
        f"CREATE OR REPLACE FUNCTION {_INSERT}() RETURNS trigger {definer} AS $$ BEGIN "
        "INSERT INTO turn_search (id, search_vector) "
        f"SELECT n.id, {vector_of('n.text')} FROM new_turns n; "
        "RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE OR REPLACE FUNCTION {_UPDATE}() RETURNS trigger {definer} AS $$ BEGIN "
        "INSERT INTO turn_search (id, search_vector) "
        f"SELECT n.id, {vector_of('n.text')} FROM new_turns n JOIN old_turns o ON o.id = n.id "
        "WHERE n.text IS DISTINCT FROM o.text "
        "ON CONFLICT (id) DO UPDATE SET search_vector = EXCLUDED.search_vector; "
        "RETURN NULL; END $$"
    )
    # Statement-level, with the rows of the statement as a table: one INSERT ... SELECT
    # for a whole batch of turns rather than one call per turn.
    op.execute(
        f"CREATE TRIGGER {_INSERT} AFTER INSERT ON turn REFERENCING NEW TABLE AS new_turns "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {_INSERT}()"
    )
    op.execute(
        f"CREATE TRIGGER {_UPDATE} AFTER UPDATE ON turn "
        "REFERENCING OLD TABLE AS old_turns NEW TABLE AS new_turns "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {_UPDATE}()"
    )
    readers = conn.exec_driver_sql(
        "SELECT DISTINCT grantee FROM information_schema.role_table_grants "
        "WHERE table_schema = current_schema() AND table_name = 'turn' "
        "AND privilege_type = 'SELECT' AND grantee <> current_user"
    ).scalars()
    for grantee in readers:
        role = "PUBLIC" if grantee == "PUBLIC" else '"' + grantee.replace('"', '""') + '"'
        op.execute(f"GRANT SELECT ON turn_search TO {role}")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        return
    for name in (_INSERT, _UPDATE):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON turn")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute(
        f"ALTER TABLE turn ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        f"({vector_of('text')}) STORED"
    )
    op.execute("DROP TABLE turn_search")  # and its index, before the name is used again
    op.execute("CREATE INDEX ix_turn_search_vector ON turn USING gin (search_vector)")
