"""Recordings: a transcript's audio or video file in the study folder.

Revision ID: 0010
Revises: 0009

``transcript.media_path`` is the recording's path relative to the study folder (under
``media/``), or NULL when the conversation has no recording. An index on
``note_excerpt.excerpt_id``: a transcript page asks which notes anchor its excerpts.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch copy of the table: SQLite adds (and, from 3.35,
    # drops) a column in place, and copying transcript would trip over the tables and
    # triggers that refer to it.
    op.add_column("transcript", sa.Column("media_path", sa.String(length=500), nullable=True))
    op.create_index(op.f("ix_note_excerpt_excerpt_id"), "note_excerpt", ["excerpt_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_note_excerpt_excerpt_id"), table_name="note_excerpt")
    op.drop_column("transcript", "media_path")
