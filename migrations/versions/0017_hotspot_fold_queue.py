"""hotspots: the fold queue, shared by every app process

New points used to wait for their hotspot fold in the memory of the process that stored them:
with two app workers each folded its own points under the layer's lock, one after the other,
each reading the same dense neighbourhood; and a point stored by a process that then stopped
(a deploy, a crash, a command-line import) waited for the next full recompute, up to ten
minutes. Now the statement that stores a point also queues it here, and whichever process
next takes the layer's lock folds every queued point of the layer
(``service.usecases.hotspots.queue``).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotspot_fold_queue",
        sa.Column("layer", sa.String(length=30), nullable=False),
        sa.Column("member_kind", sa.String(length=10), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column(
            "queued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "layer IN ('public_reports', 'verified_bedded_down', 'all_contacts')",
            name=op.f("ck_hotspot_fold_queue_layer"),
        ),
        sa.CheckConstraint(
            "member_kind IN ('referral', 'contact')", name=op.f("ck_hotspot_fold_queue_member_kind")
        ),
        sa.PrimaryKeyConstraint(
            "layer", "member_kind", "member_id", name=op.f("pk_hotspot_fold_queue")
        ),
    )


def downgrade() -> None:
    op.drop_table("hotspot_fold_queue")
