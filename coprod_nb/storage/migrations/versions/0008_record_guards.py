"""Guards in the database: threshold, frozen frameworks, closed polls, the event log.

Revision ID: 0008
Revises: 0007

(Reserved: filled in by the change that needs it; until then it changes nothing.)
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
