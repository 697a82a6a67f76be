"""assignments: current assignment per open work item, coordinator overrides, runs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

RULES = (
    "covering_team",
    "pinned_override",
    "overflow_next_shift",
    "overflow_other_team",
    "no_covering_team",
    "all_full",
    "pinned_team_unknown",
    "pinned_team_full",
)
WORK_KINDS = ("urgent_referral", "referral", "hotspot")
ITEM_KINDS = ("referral", "hotspot")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "assignment_runs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("trigger", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Double(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.Column("unassigned", sa.Integer(), nullable=False),
        sa.Column("overflowed", sa.Integer(), nullable=False),
        sa.Column("pinned", sa.Integer(), nullable=False),
        sa.Column(
            "swep_authorities",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_runs")),
    )
    op.create_index(
        "ix_assignment_runs_started_at", "assignment_runs", ["started_at"], unique=False
    )
    op.create_table(
        "assignments",
        sa.Column("item_kind", sa.String(length=10), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("work_kind", sa.String(length=20), nullable=False),
        sa.Column("authority_code", sa.String(length=9), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shift_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shift_index", sa.SmallInteger(), nullable=True),
        sa.Column("rule", sa.String(length=30), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("swep", sa.Boolean(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("serve_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("within_sla", sa.Boolean(), nullable=True),
        sa.Column(
            "reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(_in("item_kind", ITEM_KINDS), name=op.f("ck_assignments_item_kind")),
        sa.CheckConstraint(_in("work_kind", WORK_KINDS), name=op.f("ck_assignments_work_kind")),
        sa.CheckConstraint(_in("rule", RULES), name=op.f("ck_assignments_rule")),
        sa.CheckConstraint(
            "(team_id IS NULL) = (shift_start IS NULL)", name=op.f("ck_assignments_team_shift")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["assignment_runs.id"],
            name=op.f("fk_assignments_run_id_assignment_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_assignments_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("item_kind", "item_id", name=op.f("pk_assignments")),
    )
    op.create_index(
        "ix_assignments_team_id_shift_start",
        "assignments",
        ["team_id", "shift_start"],
        unique=False,
    )
    op.create_index(
        "ix_assignments_authority_code", "assignments", ["authority_code"], unique=False
    )
    op.create_index("ix_assignments_run_id", "assignments", ["run_id"], unique=False)
    op.create_table(
        "assignment_overrides",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("item_kind", sa.String(length=10), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("shift_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.Column("released_by_name", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            _in("item_kind", ITEM_KINDS), name=op.f("ck_assignment_overrides_item_kind")
        ),
        sa.CheckConstraint(
            "(released_at IS NULL) = (released_by_name IS NULL)",
            name=op.f("ck_assignment_overrides_released"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_assignment_overrides_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["released_by"],
            ["users.id"],
            name=op.f("fk_assignment_overrides_released_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_assignment_overrides_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_overrides")),
    )
    op.create_index(
        "uq_assignment_overrides_active",
        "assignment_overrides",
        ["item_kind", "item_id"],
        unique=True,
        postgresql_where=sa.text("released_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_assignment_overrides_active", table_name="assignment_overrides")
    op.drop_table("assignment_overrides")
    op.drop_index("ix_assignments_run_id", table_name="assignments")
    op.drop_index("ix_assignments_authority_code", table_name="assignments")
    op.drop_index("ix_assignments_team_id_shift_start", table_name="assignments")
    op.drop_table("assignments")
    op.drop_index("ix_assignment_runs_started_at", table_name="assignment_runs")
    op.drop_table("assignment_runs")
