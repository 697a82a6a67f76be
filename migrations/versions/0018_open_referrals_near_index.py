"""referrals: one index for the nearby-duplicate search (open, near, in the time window)

Every referral with a position looks for open referrals within ``duplicate_radius_m`` and
``duplicate_window_hours`` of it (``referral_intake.sql``, the ``nearby`` part). The planner
answered that by ANDing two bitmaps: every referral in the box (``ix_referrals_geom_bng``,
closed ones too) and every open referral seen in the window anywhere
(``ix_referrals_open_seen_at``). The second grows with the open referrals of the whole region:
18,311 index entries read for each referral after a flood (0.78 ms of its 1.47 ms), which made
intake dearer as open items grew. A GiST index on the point and the time together, open
referrals only, reads just the open referrals near the point and in the window.
``btree_gist`` (the GiST operator class for ``timestamptz``) is a trusted extension: the
database owner may create it without being a superuser.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_index(
        "ix_referrals_open_geom_bng_seen_at",
        "referrals",
        ["geom_bng", "seen_at"],
        postgresql_using="gist",
        postgresql_where=sa.text("status <> 'closed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_referrals_open_geom_bng_seen_at", table_name="referrals")
