"""Step 2: meetings with dissents, tensions with evidence and links, frozen frameworks.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "framework_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("frozen_at", sa.DateTime(), nullable=False),
        sa.Column("frozen_by", sa.String(length=120), nullable=False),
        sa.Column("tensions", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_version")),
        sa.UniqueConstraint("version", name=op.f("uq_framework_version_version")),
    )
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    op.create_table(
        "tension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("pole_a", sa.String(length=300), nullable=False),
        sa.Column("pole_b", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("subthemes", sa.JSON(), nullable=False),
        sa.Column("proposer", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tension")),
        sa.UniqueConstraint("code", name=op.f("uq_tension_code")),
    )
    op.create_table(
        "dissent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("positions", sa.JSON(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_dissent_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dissent")),
    )
    op.create_table(
        "tension_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["tension.id"],
            name=op.f("fk_tension_link_source_id_tension"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["tension.id"],
            name=op.f("fk_tension_link_target_id_tension"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tension_link")),
        sa.UniqueConstraint("source_id", "target_id", "kind", name="link"),
    )
    op.create_table(
        "tension_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tension_id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("excerpt_id", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.String(length=120), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["excerpt_id"],
            ["excerpt.id"],
            name=op.f("fk_tension_evidence_excerpt_id_excerpt"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["note.id"],
            name=op.f("fk_tension_evidence_note_id_note"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tension_id"],
            ["tension.id"],
            name=op.f("fk_tension_evidence_tension_id_tension"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tension_evidence")),
        sa.UniqueConstraint("tension_id", "note_id", "excerpt_id", name="item"),
    )

    frozen_upgrade()


def downgrade() -> None:
    frozen_downgrade()
    op.drop_table("tension_evidence")
    op.drop_table("tension_link")
    op.drop_table("dissent")
    op.drop_table("tension")
    op.drop_table("meeting")
    op.drop_table("framework_version")


FROZEN = "a frozen framework version cannot be changed"


def frozen_upgrade() -> None:
    """Frozen framework versions refuse UPDATE and DELETE, like the event log."""
    if op.get_context().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER framework_no_{verb.lower()} BEFORE {verb} ON framework_version "
                f"BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION framework_frozen() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{FROZEN}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER framework_frozen BEFORE UPDATE OR DELETE ON framework_version "
            "FOR EACH ROW EXECUTE FUNCTION framework_frozen()"
        )


def frozen_downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS framework_no_update")
        op.execute("DROP TRIGGER IF EXISTS framework_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS framework_frozen ON framework_version")
        op.execute("DROP FUNCTION IF EXISTS framework_frozen()")
