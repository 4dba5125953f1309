"""Pseudonym re-apply at scale: a digest per transcript of the key last applied to it.

Revision ID: 0012
Revises: 0011

``transcript.key_digest`` is the digest of the name key applied to the transcript
together with its canonical text as it then was (:meth:`PseudonymTable.text_digest`), or
NULL when the key has not been re-applied since the column was added. Re-applying the
key skips a transcript whose text and key give the stored digest: applying a key twice
changes nothing, so skipping it gives the same tables.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (as in 0010): SQLite adds a nullable column in place.
    op.add_column("transcript", sa.Column("key_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("transcript", "key_digest")
