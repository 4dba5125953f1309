"""Foreign codes, codings, sets, memos, variables and users kept from a REFI-QDA project.

Revision ID: 0009
Revises: 0008

(Reserved: filled in by the change that needs it; until then it changes nothing.)
"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
