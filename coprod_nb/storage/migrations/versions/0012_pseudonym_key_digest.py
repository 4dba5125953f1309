"""Pseudonym re-apply at scale (reserved for the change that needs it).

Revision ID: 0012
Revises: 0011

(Reserved: filled in by the change that needs it; until then it changes nothing.)
"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
