"""Recordings: a transcript's audio or video file in the study folder.

Revision ID: 0010
Revises: 0009

(Reserved: filled in by the change that needs it; until then it changes nothing.)
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
