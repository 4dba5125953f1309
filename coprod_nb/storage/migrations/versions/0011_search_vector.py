"""Search at scale: a stored tsvector with its GIN index on PostgreSQL.

Revision ID: 0011
Revises: 0010

(Reserved: filled in by the change that needs it; until then it changes nothing.)
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
