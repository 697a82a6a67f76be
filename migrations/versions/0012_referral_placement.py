"""referrals: how each was located (``located_by``, ``location_accuracy_m``)

A coordinator places a referral that came with only a description on the map
(``PUT /v1/referrals/{id}/location``); ``located_by`` says how a referral's position was
found (``pin``, ``postcode``, ``place`` or ``coordinator``) and ``location_accuracy_m`` how
far it may be off. Issue 15's migration (0011) adds the same two columns: both are written
with ``IF NOT EXISTS`` so either may run first.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE referrals ADD COLUMN IF NOT EXISTS located_by text")
    op.execute("ALTER TABLE referrals ADD COLUMN IF NOT EXISTS location_accuracy_m real")


def downgrade() -> None:
    op.execute("ALTER TABLE referrals DROP COLUMN IF EXISTS location_accuracy_m")
    op.execute("ALTER TABLE referrals DROP COLUMN IF EXISTS located_by")
