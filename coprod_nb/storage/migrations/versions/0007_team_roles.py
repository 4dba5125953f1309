"""Blinding in the database: row-level security, actor triggers, lead-only writes (PostgreSQL).

Installs the helper functions, triggers and policies of :mod:`coprod_nb.storage.team` on
PostgreSQL. The researchers' login roles and their privileges are made by
``coprod-nb team`` (``apply_team_roles``), which the study's owner runs. On SQLite there is
nothing to do: a SQLite study is one person's file, and who is acting is declared.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    from coprod_nb.storage.team import install_policies

    install_policies(op.get_bind())


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    from coprod_nb.storage.team import remove_policies

    remove_policies(op.get_bind())
