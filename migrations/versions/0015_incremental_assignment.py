"""assignments: incremental placement (priority keys, skipped slots, run inputs)

An arrival or change is placed by updating only the items it displaces
(``service.usecases.assignments.incremental``). That needs, per stored assignment, its
priority as a sortable key (``priority``, byte order) instead of a position that every arrival
would shift, the item's inputs as they were placed (``inputs``: the items a change displaces are
placed again as the stored result knew them), and the full shifts it skipped (``assignment_skips``): when a place frees up, the
first item in priority order that skipped that shift is the one that may take it. A run records
whether it was incremental, a digest of its inputs (teams, SWEP) and the next shift boundary,
after which (or when the inputs differ) only a full run is valid.

The per-authority indexes of contacts and referrals also carry the columns the figures need, so
a year's stats of a big city are read from the index alone.

Revision ID: 0015
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


COVERING = (
    # the stats of an authority for a period read only the index (EXPLAIN ANALYZE, BUFFERS on
    # a year of England: 17,865 buffers and a seq scan -> 1,365 buffers, index-only)
    ("contacts", ["authority_code", "observed_at"], ["team_id", "bedded_down", "person_id"]),
    (
        "referrals",
        ["authority_code", "received_at"],
        ["team_id", "outcome", "closed_at", "next_shift_due_at", "outcome_due_at"],
    ),
)


def _covering(include: bool) -> None:
    for table, keys, extra in COVERING:
        name = f"ix_{table}_{'_'.join(keys)}"
        op.drop_index(name, table_name=table)
        op.create_index(
            name, table, keys, unique=False, postgresql_include=extra if include else None
        )


def upgrade() -> None:
    _covering(True)
    # Stored assignments are a cache of the last run: the next full run rebuilds them.
    op.execute("DELETE FROM assignments")
    op.drop_index("ix_assignments_team_id_shift_start", table_name="assignments")
    op.drop_column("assignments", "rank")
    op.add_column(
        "assignments",
        sa.Column("priority", sa.String(length=160, collation="C"), nullable=False),
    )
    op.add_column(
        "assignments",
        sa.Column(
            "inputs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_assignments_team_id_shift_start_priority",
        "assignments",
        ["team_id", "shift_start", "priority"],
        unique=False,
    )
    op.create_index("ix_assignments_priority", "assignments", ["priority"], unique=False)
    op.create_table(
        "assignment_skips",
        sa.Column("item_kind", sa.String(length=10), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.String(length=160, collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_kind", "item_id"],
            ["assignments.item_kind", "assignments.item_id"],
            name=op.f("fk_assignment_skips_item_kind_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "item_kind", "item_id", "team_id", "shift_start", name=op.f("pk_assignment_skips")
        ),
    )
    op.create_index(
        "ix_assignment_skips_team_id_shift_start_priority",
        "assignment_skips",
        ["team_id", "shift_start", "priority"],
        unique=False,
    )
    op.add_column(
        "assignment_runs",
        sa.Column("incremental", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("assignment_runs", sa.Column("inputs_digest", sa.String(64), nullable=True))
    op.add_column(
        "assignment_runs",
        sa.Column("next_boundary_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    _covering(False)
    op.drop_column("assignment_runs", "next_boundary_at")
    op.drop_column("assignment_runs", "inputs_digest")
    op.drop_column("assignment_runs", "incremental")
    op.drop_index("ix_assignment_skips_team_id_shift_start_priority", table_name="assignment_skips")
    op.drop_table("assignment_skips")
    op.execute("DELETE FROM assignments")
    op.drop_index("ix_assignments_priority", table_name="assignments")
    op.drop_index("ix_assignments_team_id_shift_start_priority", table_name="assignments")
    op.drop_column("assignments", "priority")
    op.drop_column("assignments", "inputs")
    op.add_column("assignments", sa.Column("rank", sa.Integer(), nullable=False))
    op.create_index(
        "ix_assignments_team_id_shift_start",
        "assignments",
        ["team_id", "shift_start"],
        unique=False,
    )
