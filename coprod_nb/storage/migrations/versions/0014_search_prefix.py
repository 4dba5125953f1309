"""Search at scale: an FTS5 prefix index for prefixes of two and three letters.

Revision ID: 0014
Revises: 0013

Without a prefix index FTS5 answers ``co*`` by merging the doclist of every indexed word
that starts with "co" (81 ms at 800 transcripts, the slowest query of the benchmark); with
one it reads a single doclist. FTS5 uses a prefix index only for a prefix of exactly its
length. Measured on the 200-transcript study (docs/performance.md, "Prefix index"): ``co*``
8.7 -> 2.7 ms of CPU with 2 and 3 indexed; four letters and more (``fund*``, ``part*``)
were already as quick as a word (few words share them, and the ranked window fills), so
an index for 4 only made the FTS5 data larger (10.3 -> 12.8 MB; 3.9 MB without a prefix
index). One letter (``b*``) is left to the merge: rare in what researchers type.

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
PREFIX = "prefix='2 3'"


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
