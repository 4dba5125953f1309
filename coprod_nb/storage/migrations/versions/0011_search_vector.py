"""Search at scale: a stored tsvector with its GIN index on PostgreSQL.

Revision ID: 0011
Revises: 0010

On SQLite the FTS5 table stays; its per-row insert trigger goes, because
``Store.add_transcript`` now fills the index once per transcript (one ``INSERT ... SELECT``
is several times quicker than a trigger per turn). The update and delete triggers stay.

On PostgreSQL ``turn.search_vector`` is a generated column, so every insert and update
of a turn's text keeps it current without a trigger; search ranks on it instead of
parsing every hit's text again, and its GIN index replaces the expression index of 0001.
Its text is the turn's with all but letters and digits made spaces, so that the parser
splits words where FTS5 does (``coprod_nb/storage/search.py``).
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEARCH_TEXT = "to_tsvector('simple'::regconfig, regexp_replace(text, '[^[:alnum:]]+', ' ', 'g'))"
FTS_INSERT_TRIGGER = (
    "CREATE TRIGGER turn_fts_ai AFTER INSERT ON turn BEGIN "
    "INSERT INTO turn_fts(rowid, text) VALUES (new.id, new.text); END"
)


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS turn_fts_ai")
        return
    op.execute(
        f"ALTER TABLE turn ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({SEARCH_TEXT}) "
        "STORED"
    )
    op.execute("CREATE INDEX ix_turn_search_vector ON turn USING gin (search_vector)")
    op.execute("DROP INDEX IF EXISTS ix_turn_fts")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute(FTS_INSERT_TRIGGER)
        return
    op.execute("CREATE INDEX ix_turn_fts ON turn USING gin (to_tsvector('simple', text))")
    op.execute("DROP INDEX IF EXISTS ix_turn_search_vector")
    op.execute("ALTER TABLE turn DROP COLUMN search_vector")
