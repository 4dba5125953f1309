"""Plain documents: turns without a speaker.

Revision ID: 0013
Revises: 0012

A paragraph of a plain document (a REFI-QDA source without speaker lines, see
``coprod_nb.exchange.refi_qda``) is stored as a turn whose ``speaker`` is the empty
label ``""``. The column stays ``NOT NULL``: an empty label needs no change to the
schema, every reader of ``turn.speaker`` keeps getting a string, and
``canonical_text`` writes such a turn without a ``"Name: "`` prefix. So this revision
changes nothing in the database; it records the convention where the schema's history
is read. Turns stored before it are left as they are: an "Unknown" turn of an earlier
import cannot be told from a real speaker label, so it is not rewritten.
"""

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nothing to alter: see the module docstring (the empty label is the convention).
    pass


def downgrade() -> None:
    pass
