"""Undo of board and decision edits (reserved for the change that needs it).

Revision ID: 0014
Revises: 0013

(Reserved: filled in by the change that needs it; until then it changes nothing.)
"""

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
