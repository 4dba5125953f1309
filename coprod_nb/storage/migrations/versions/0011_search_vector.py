"""Search at scale: a stored tsvector with its GIN index on PostgreSQL.

Revision ID: 0011
Revises: 0010

PostgreSQL only (SQLite keeps its FTS5 table): ``turn.search_vector`` is a generated
column, so every insert and update of a turn's text keeps it current without a trigger;
search ranks on it instead of parsing every hit's text again, and its GIN index replaces
the expression index of 0001. The expression is ``search.PG_SEARCH_TEXT`` as of this
revision, written out here so that a later change of the constant cannot change history.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEARCH_TEXT = "to_tsvector('simple'::regconfig, regexp_replace(text, '[^[:alnum:]]+', ' ', 'g'))"


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        f"ALTER TABLE turn ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({SEARCH_TEXT}) "
        "STORED"
    )
    op.execute("CREATE INDEX ix_turn_search_vector ON turn USING gin (search_vector)")
    op.execute("DROP INDEX IF EXISTS ix_turn_fts")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_turn_fts ON turn USING gin (to_tsvector('simple', text))")
    op.execute("DROP INDEX IF EXISTS ix_turn_search_vector")
    op.execute("ALTER TABLE turn DROP COLUMN search_vector")
