"""An index on excerpt (transcript_id, start) for a page (issue 18).

Revision ID: 0016
Revises: 0015

A page of the transcript reader (:func:`coprod_nb.storage.pages.turn_page`) asks for
the excerpts of one transcript that overlap the page's character range
(``start < hi AND end > lo``). With only the index on ``transcript_id`` SQLite and
PostgreSQL read every excerpt of the transcript (thousands on a long one) to test the
offsets; with ``(transcript_id, start)`` the condition on ``start`` is a range of the
index, and the excerpts after the page are never read.

``IF NOT EXISTS`` on both sides: the revision was an empty placeholder for a while, and
a study stamped 0016 then gets the index when it is opened
(:func:`coprod_nb.storage.pages.ensure_position_index`), so running this upgrade on a
database that already has it must not fail.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NAME = "ix_excerpt_transcript_start"


def upgrade() -> None:
    op.create_index(NAME, "excerpt", ["transcript_id", "start"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index(NAME, table_name="excerpt", if_exists=True)
