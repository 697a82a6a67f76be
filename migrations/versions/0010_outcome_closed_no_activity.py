"""referrals: the outcome ``closed_no_activity`` (stale referrals closed by retention)

The retention schedule (``service.retention_schedule``) closes a referral nobody has acted on
for ``retention_stale_referral_days``: nobody searched, so ``not_found`` would be untrue.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD = (
    "found_engaged",
    "found_accommodated",
    "found_declined",
    "already_known",
    "found_not_rough_sleeping",
    "not_found",
    "insufficient_information",
    "out_of_area_forwarded",
    "duplicate_merged",
)
NEW = (*OLD, "closed_no_activity")


def _check(values: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{v}'" for v in values)
    op.drop_constraint(op.f("ck_referrals_outcome"), "referrals", type_="check")
    op.create_check_constraint(
        op.f("ck_referrals_outcome"),
        "referrals",
        sa.text(f"outcome IS NULL OR outcome IN ({listed})"),
    )


def upgrade() -> None:
    _check(NEW)


def downgrade() -> None:
    # The older vocabulary has no such outcome: the nearest is that nobody found the person.
    op.execute("UPDATE referrals SET outcome = 'not_found' WHERE outcome = 'closed_no_activity'")
    _check(OLD)
