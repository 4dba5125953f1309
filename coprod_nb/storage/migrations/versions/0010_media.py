"""Recordings: a transcript's audio or video file in the study folder.

Revision ID: 0010
Revises: 0009

``transcript.media_path`` is the recording's path relative to the study folder (under
``media/``), or NULL when the conversation has no recording.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcript", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_path", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transcript", schema=None) as batch_op:
        batch_op.drop_column("media_path")
