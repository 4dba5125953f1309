"""Plain documents: turns without a speaker (reserved for the change that needs it).

Revision ID: 0013
Revises: 0012

(Reserved: filled in by the change that needs it; until then it changes nothing.)
"""

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
