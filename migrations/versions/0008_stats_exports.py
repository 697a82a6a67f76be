"""stats and exports: indexes for period figures, persons' nationality band

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NATIONALITY_BANDS = "nationality_band IN ('uk', 'eu', 'non_eu', 'unknown')"


def upgrade() -> None:
    op.add_column(
        "persons",
        sa.Column(
            "nationality_band",
            sa.String(length=20),
            server_default=sa.text("'unknown'"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_persons_nationality_band"), "persons", sa.text(NATIONALITY_BANDS)
    )
    # Figures and exports for a period: by received/observed time, per team and authority.
    op.create_index("ix_referrals_received_at", "referrals", ["received_at"], unique=False)
    op.create_index(
        "ix_referrals_team_id_received_at", "referrals", ["team_id", "received_at"], unique=False
    )
    # (contacts.observed_at is indexed since 0004, for the hotspot window)
    op.create_index(
        "ix_contacts_authority_code_observed_at",
        "contacts",
        ["authority_code", "observed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_authority_code_observed_at", table_name="contacts")
    op.drop_index("ix_referrals_team_id_received_at", table_name="referrals")
    op.drop_index("ix_referrals_received_at", table_name="referrals")
    op.drop_constraint(op.f("ck_persons_nationality_band"), "persons", type_="check")
    op.drop_column("persons", "nationality_band")
