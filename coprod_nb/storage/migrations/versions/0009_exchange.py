"""Foreign codes, codings, sets, memos, variables and users kept from a REFI-QDA project.

Revision ID: 0009
Revises: 0008

Tables ``qda_user`` (a project's users, mapped to researchers), ``qda_code`` (the
codebook, ``parent_id`` its hierarchy), ``qda_coding`` (a code on a span of a
transcript's canonical text, or on the whole transcript, by a coder), ``qda_set`` and
``qda_set_member``, ``qda_memo`` (on the project, a source, a selection, a code) and
``qda_variable`` / ``qda_variable_value`` (source variables; case variables stay
partnership attributes, their types are kept here).

Before this revision an import kept codes and codings in the study settings
``qdpx_codes`` and ``qdpx_codings``; the upgrade moves them into the tables (and out of
the settings), the downgrade writes them back.
"""

import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_NS = uuid.UUID("0c6b4e1e-7d5f-5a9e-9d0b-6e2f1a3c5b79")


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "\x1f".join(map(str, parts))))


def upgrade() -> None:
    op.create_table(
        "qda_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guid", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column(
            "researcher_id", sa.Integer(), sa.ForeignKey("researcher.id", ondelete="SET NULL")
        ),
        sa.UniqueConstraint("guid"),
    )
    op.create_table(
        "qda_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guid", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("color", sa.String(16)),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("codable", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("qda_code.id", ondelete="CASCADE")),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.UniqueConstraint("guid"),
    )
    op.create_index(op.f("ix_qda_code_parent_id"), "qda_code", ["parent_id"])
    op.create_table(
        "qda_coding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guid", sa.String(64), nullable=False),
        sa.Column(
            "code_id",
            sa.Integer(),
            sa.ForeignKey("qda_code.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "transcript_id",
            sa.Integer(),
            sa.ForeignKey("transcript.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("start", sa.Integer()),
        sa.Column("end", sa.Integer()),
        sa.Column("selection_guid", sa.String(64)),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("qda_user.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime()),
        sa.UniqueConstraint("guid"),
    )
    op.create_index(op.f("ix_qda_coding_code_id"), "qda_coding", ["code_id"])
    op.create_index(op.f("ix_qda_coding_transcript_id"), "qda_coding", ["transcript_id"])
    op.create_table(
        "qda_set",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guid", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.UniqueConstraint("guid"),
    )
    op.create_table(
        "qda_set_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "set_id", sa.Integer(), sa.ForeignKey("qda_set.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code_id", sa.Integer(), sa.ForeignKey("qda_code.id", ondelete="CASCADE")),
        sa.Column(
            "transcript_id", sa.Integer(), sa.ForeignKey("transcript.id", ondelete="CASCADE")
        ),
        sa.CheckConstraint("(code_id IS NULL) <> (transcript_id IS NULL)", name="one_member"),
    )
    op.create_index(op.f("ix_qda_set_member_set_id"), "qda_set_member", ["set_id"])
    op.create_table(
        "qda_memo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guid", sa.String(64)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "transcript_id", sa.Integer(), sa.ForeignKey("transcript.id", ondelete="CASCADE")
        ),
        sa.Column("start", sa.Integer()),
        sa.Column("end", sa.Integer()),
        sa.Column("selection_guid", sa.String(64)),
        sa.Column("code_id", sa.Integer(), sa.ForeignKey("qda_code.id", ondelete="CASCADE")),
        sa.Column("note_id", sa.Integer(), sa.ForeignKey("note.id", ondelete="SET NULL")),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("qda_user.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime()),
        sa.CheckConstraint("kind IN ('project', 'source', 'selection', 'code')", name="kind"),
    )
    op.create_table(
        "qda_variable",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guid", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.UniqueConstraint("guid"),
        sa.UniqueConstraint("name", name="uq_qda_variable_name"),
    )
    op.create_table(
        "qda_variable_value",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "variable_id",
            sa.Integer(),
            sa.ForeignKey("qda_variable.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "transcript_id",
            sa.Integer(),
            sa.ForeignKey("transcript.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.UniqueConstraint("variable_id", "transcript_id", name="value"),
    )
    op.create_index(
        op.f("ix_qda_variable_value_transcript_id"), "qda_variable_value", ["transcript_id"]
    )
    _settings_to_tables()


def _settings_to_tables() -> None:
    """The codes and codings an earlier import kept in the study settings, as rows."""
    conn = op.get_bind()
    row = conn.execute(sa.text("SELECT id, settings FROM study")).first()
    if row is None:
        return
    settings = row.settings if isinstance(row.settings, dict) else json.loads(row.settings or "{}")
    codes = settings.pop("qdpx_codes", None) or []
    codings = settings.pop("qdpx_codings", None) or []
    if not codes and not codings:
        return
    code_id: dict[str, int] = {}
    pending = [c for c in codes if c.get("guid")]
    seq = 0
    while pending:  # parents first, whatever order the list had
        ready = [c for c in pending if not c.get("parent") or c["parent"] in code_id]
        if not ready:  # a parent that is not in the list: kept as a root
            ready = pending[:1]
        for c in ready:
            pending.remove(c)
            if c["guid"] in code_id:
                continue
            seq += 1
            code_id[c["guid"]] = conn.execute(
                sa.text(
                    "INSERT INTO qda_code (guid, name, color, description, codable, parent_id, seq)"
                    " VALUES (:g, :n, :c, :d, :k, :p, :s) RETURNING id"
                ),
                {
                    "g": c["guid"],
                    "n": c.get("name") or "",
                    "c": c.get("color"),
                    "d": c.get("description") or "",
                    "k": True,
                    "p": code_id.get(c.get("parent") or ""),
                    "s": seq,
                },
            ).scalar_one()
    users: dict[str, int] = {}
    researchers = {r.name: r.id for r in conn.execute(sa.text("SELECT id, name FROM researcher"))}
    for n, c in enumerate(codings):
        code = code_id.get(c.get("code_guid") or "")
        if code is None:
            continue
        span = (None, None)
        if c.get("excerpt_id"):
            ex = conn.execute(
                sa.text('SELECT transcript_id, start, "end" FROM excerpt WHERE id = :i'),
                {"i": c["excerpt_id"]},
            ).first()
            if ex is None:
                continue
            tid, span = ex.transcript_id, (ex.start, ex.end)
        elif c.get("transcript_id"):
            tid = c["transcript_id"]
        else:
            continue
        coder = c.get("coder")
        if coder and coder not in users:
            users[coder] = conn.execute(
                sa.text(
                    "INSERT INTO qda_user (guid, name, researcher_id) VALUES (:g, :n, :r) "
                    "RETURNING id"
                ),
                {"g": _guid("user", coder), "n": coder, "r": researchers.get(coder)},
            ).scalar_one()
        conn.execute(
            sa.text(
                'INSERT INTO qda_coding (guid, code_id, transcript_id, start, "end", user_id, '
                "created_at) VALUES (:g, :c, :t, :s, :e, :u, :w)"
            ),
            {
                "g": _guid("coding", n, c.get("code_guid"), c.get("excerpt_id") or tid),
                "c": code,
                "t": tid,
                "s": span[0],
                "e": span[1],
                "u": users.get(coder) if coder else None,
                "w": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
            },
        )
    _save_settings(conn, row.id, settings)


def _save_settings(conn, study_id: int, settings: dict) -> None:
    table = sa.table("study", sa.column("id"), sa.column("settings", sa.JSON()))
    conn.execute(table.update().where(table.c.id == study_id).values(settings=settings))


def _tables_to_settings() -> None:
    """Codes and codings back into the settings, as the import before 0009 kept them."""
    conn = op.get_bind()
    row = conn.execute(sa.text("SELECT id, settings FROM study")).first()
    if row is None:
        return
    codes = conn.execute(
        sa.text(
            "SELECT c.id, c.guid, c.name, c.color, c.description, p.guid AS parent "
            "FROM qda_code c LEFT JOIN qda_code p ON p.id = c.parent_id ORDER BY c.seq, c.id"
        )
    ).all()
    if not codes:
        return
    settings = row.settings if isinstance(row.settings, dict) else json.loads(row.settings or "{}")
    settings["qdpx_codes"] = [
        {
            "guid": c.guid,
            "name": c.name,
            "parent": c.parent,
            "description": c.description,
            **({"color": c.color} if c.color else {}),
        }
        for c in codes
    ]
    out = []
    for c in conn.execute(
        sa.text(
            'SELECT k.transcript_id, k.start, k."end", c.guid AS code_guid, u.name AS coder '
            "FROM qda_coding k JOIN qda_code c ON c.id = k.code_id "
            "LEFT JOIN qda_user u ON u.id = k.user_id ORDER BY k.id"
        )
    ):
        item = {"code_guid": c.code_guid, **({"coder": c.coder} if c.coder else {})}
        if c.start is None:
            item["transcript_id"] = c.transcript_id
        else:
            ex = conn.execute(
                sa.text(
                    'SELECT id FROM excerpt WHERE transcript_id = :t AND start = :s AND "end" = :e'
                    " ORDER BY id"
                ),
                {"t": c.transcript_id, "s": c.start, "e": c.end},
            ).first()
            if ex is None:
                continue
            item["excerpt_id"] = ex.id
        out.append(item)
    settings["qdpx_codings"] = out
    _save_settings(conn, row.id, settings)


def downgrade() -> None:
    _tables_to_settings()
    for table in (
        "qda_variable_value",
        "qda_variable",
        "qda_memo",
        "qda_set_member",
        "qda_set",
        "qda_coding",
        "qda_code",
        "qda_user",
    ):
        op.drop_table(table)
