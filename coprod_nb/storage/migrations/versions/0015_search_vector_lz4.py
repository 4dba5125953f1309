"""PostgreSQL search vectors compressed with lz4: measured, not adopted (issue 18).

Revision ID: 0015
Revises: 0014

Kept as a no-op on both databases, on purpose. The idea was that PostgreSQL search
decompresses every candidate turn's ``search_vector`` (pglz) to read positions, and
that lz4 would be cheaper to read. Measured on the 800-transcript copy of the
synthetic study (113,728 turns, docs/performance.md, "Search medians on SQLite and
PostgreSQL"):

- with pglz, **no** stored vector is compressed (``pg_column_compression`` is null
  for all of them): pglz gives up on tsvector data, and the 13,072 vectors too large
  for the row are stored out of line uncompressed (22 MB of TOAST). There was no
  decompression to save;
- with ``SET COMPRESSION lz4`` and the vectors rewritten, lz4 compresses those 13,072,
  yet they stay out of line (22 MB) and the search is no quicker: median of the 30
  benchmark queries, same minutes, interleaved, 26.6 / 45.8 ms against 27.5 / 44.4
  ms for pglz (two runs), phrases 81 / 166 ms against 71 / 162 ms; ``STORAGE MAIN``
  with lz4 likewise (27.3 / 47.9 ms).

The cost is reading the vectors the ``@@`` filter visits, not their compression.
Because the revision does nothing, a study stamped 0015 while this was a placeholder
is already what a new study is; nothing needs redoing.
"""

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # see the module docstring: measured, no gain


def downgrade() -> None:
    pass
