"""messages: the transactional outbox, Web Push subscriptions, team alert addresses

A message row is written in the same transaction as the change that causes it and delivered
by senders in any app process; ``(message_key, recipient_key)`` is unique so one message is
queued once per recipient however often the change is replayed. The referrer's status token
is kept (with their other contact details, deleted by retention) so that an outcome email can
carry the status link.

Revision ID: 0014
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

CHANNELS = "channel IN ('email', 'push')"
STATES = "state IN ('queued', 'sent', 'dead', 'cancelled')"
TEMPLATES = (
    "template IN ('referral_acknowledged', 'referral_outcome', 'urgent_referral', "
    "'run_sheet_item', 'swep_on')"
)


def upgrade() -> None:
    op.add_column("teams", sa.Column("alert_email", sa.String(length=254), nullable=True))
    op.add_column(
        "referrer_contacts", sa.Column("status_token", sa.String(length=64), nullable=True)
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_push_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index(
        op.f("ix_push_subscriptions_user_id"), "push_subscriptions", ["user_id"], unique=False
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("recipient_key", sa.String(length=100), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column(
            "state", sa.String(length=12), server_default=sa.text("'queued'"), nullable=False
        ),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("subscription_id", sa.BigInteger(), nullable=True),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_outbox_messages_channel")),
        sa.CheckConstraint(STATES, name=op.f("ck_outbox_messages_state")),
        sa.CheckConstraint(TEMPLATES, name=op.f("ck_outbox_messages_template")),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_outbox_messages_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_outbox_messages_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["push_subscriptions.id"],
            name=op.f("fk_outbox_messages_subscription_id_push_subscriptions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint(
            "message_key",
            "recipient_key",
            name=op.f("uq_outbox_messages_message_key_recipient_key"),
        ),
    )
    # The senders' queue: only queued rows, by when they are due.
    op.create_index(
        "ix_outbox_messages_due",
        "outbox_messages",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'queued'"),
    )
    op.create_index(
        op.f("ix_outbox_messages_referral_id"), "outbox_messages", ["referral_id"], unique=False
    )
    op.create_index(
        "ix_outbox_messages_state_created_at",
        "outbox_messages",
        ["state", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("outbox_messages")
    op.drop_table("push_subscriptions")
    op.drop_column("referrer_contacts", "status_token")
    op.drop_column("teams", "alert_email")
