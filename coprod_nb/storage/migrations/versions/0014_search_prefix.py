"""Search at scale: an FTS5 prefix index for prefixes of two, three and four letters.

Revision ID: 0014
Revises: 0013

Without a prefix index FTS5 answers ``co*`` by merging the doclist of every indexed word
that starts with "co" (81 ms at 800 transcripts, the slowest query of the benchmark); with
one it reads a single doclist. FTS5 uses a prefix index only for a prefix of exactly its
length, and prefixes of five letters or more are answered quickly without one (few words
share them), so 2, 3 and 4 are indexed (docs/performance.md, "Prefix index").

An FTS5 table's options are fixed when it is created, so ``turn_fts`` is rebuilt: a new
table with the same column, content table and tokenizer is filled from ``turn`` and takes
the old one's place. The triggers on ``turn`` that keep it current (update and delete,
and the per-row insert trigger of a study stamped while 0011 was a placeholder) are
dropped around the swap, which checks their bodies, and created again as they were.
PostgreSQL is unchanged: its prefixes (``:*``) are answered by the GIN index of 0011.
"""

from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OPTIONS = "text, content='turn', content_rowid='id', tokenize='unicode61 remove_diacritics 2'"
PREFIX = "prefix='2 3 4'"


def _rebuild(options: str) -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    conn = op.get_bind()
    triggers = conn.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'turn' "
            "AND name LIKE 'turn\\_fts\\_%' ESCAPE '\\' ORDER BY name"
        )
    ).all()
    for name, _ in triggers:
        op.execute(f"DROP TRIGGER {name}")
    op.execute(f"CREATE VIRTUAL TABLE turn_fts_new USING fts5({options})")
    # 'rebuild' reads every row of the content table (turn) through the new tokenizer.
    op.execute("INSERT INTO turn_fts_new(turn_fts_new) VALUES ('rebuild')")
    op.execute("DROP TABLE turn_fts")
    op.execute("ALTER TABLE turn_fts_new RENAME TO turn_fts")
    for _, sql in triggers:
        op.execute(sql)


def upgrade() -> None:
    _rebuild(f"{OPTIONS}, {PREFIX}")


def downgrade() -> None:
    _rebuild(OPTIONS)
