"""Repository for the outbox (``outbox_messages``) and Web Push subscriptions.

A message is one row per recipient; ``(message_key, recipient_key)`` is unique, so queuing the
same message for the same recipient again is a no-op. Senders claim due rows with ``FOR UPDATE
SKIP LOCKED`` (``outbox_claim.sql``) and record the result in the claiming transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import jsonb, sql

LIST_COLUMNS = (
    "id, message_key, recipient_key, template, channel, state, referral_id, team_id, "
    "attempts, next_attempt_at, last_error, created_at, updated_at, sent_at"
)


async def queue_team_alert(
    session: AsyncSession,
    *,
    message_key: str,
    template: str,
    team_ids: list[int],
    params: dict[str, Any],
    referral_id: uuid.UUID | None,
    now: dt.datetime,
    push_on: bool,
) -> int:
    """Queue an alert to these teams (``outbox_team_alert.sql``); how many rows were queued."""
    result = await session.execute(
        sql("outbox_team_alert"),
        {
            "message_key": message_key,
            "template": template,
            "team_ids": team_ids,
            "params": jsonb(params),
            "referral_id": referral_id,
            "now": now,
            "push_on": push_on,
        },
    )
    return int(result.scalar_one())


async def queue_run_sheet_alerts(
    session: AsyncSession,
    *,
    placed: list[tuple[uuid.UUID, int]],
    day: dt.date,
    now: dt.datetime,
    push_on: bool,
) -> int:
    """Alert teams of referrals on their run-sheet for ``day`` (``outbox_run_sheet.sql``)."""
    if not placed:
        return 0
    result = await session.execute(
        sql("outbox_run_sheet"),
        {
            "referral_ids": [r for r, _ in placed],
            "team_ids": [t for _, t in placed],
            "day": day.isoformat(),
            "now": now,
            "push_on": push_on,
        },
    )
    return int(result.scalar_one())


async def queue_referrer_update(
    session: AsyncSession, referral_id: uuid.UUID, template: str
) -> None:
    """Queue ``template`` to the referral's referrer if they want updates by email."""
    await session.execute(
        sql("outbox_referrer_update"), {"referral_id": referral_id, "template": template}
    )


async def claim(
    session: AsyncSession, *, limit: int, channels: list[str] | None = None
) -> list[dict[str, Any]]:
    """Lock up to ``limit`` due messages for this transaction (others skip them)."""
    rows = await session.execute(sql("outbox_claim"), {"limit": limit, "channels": channels})
    return [dict(r) for r in rows.mappings()]


async def mark_sent(session: AsyncSession, ids: list[int]) -> None:
    """Sent: never claimed again. A referrer's address and status token are not needed once
    their email has gone, so the row's copies are dropped at once."""
    if not ids:
        return
    await session.execute(
        text(
            "UPDATE outbox_messages SET state = 'sent', sent_at = now(), updated_at = now(), "
            "attempts = attempts + 1, last_error = NULL, "
            "address = CASE WHEN recipient_key = 'referrer' THEN NULL ELSE address END, "
            "params = CASE WHEN recipient_key = 'referrer' THEN params - 'token' ELSE params END "
            "WHERE id = ANY(:ids)"
        ),
        {"ids": ids},
    )


async def mark_failed(
    session: AsyncSession, message_id: int, *, error: str, retry_at: dt.datetime | None
) -> None:
    """A failed attempt: due again at ``retry_at``, or a dead letter (``None``)."""
    await session.execute(
        text(
            "UPDATE outbox_messages SET attempts = attempts + 1, last_error = :error, "
            "updated_at = now(), "
            "state = CASE WHEN CAST(:retry_at AS timestamptz) IS NULL THEN 'dead' ELSE state END, "
            "next_attempt_at = COALESCE(CAST(:retry_at AS timestamptz), next_attempt_at) "
            "WHERE id = :id"
        ),
        {"id": message_id, "error": error[:300], "retry_at": retry_at},
    )


async def cancel(session: AsyncSession, message_id: int, *, reason: str) -> None:
    await session.execute(
        text(
            "UPDATE outbox_messages SET state = 'cancelled', last_error = :reason, "
            "updated_at = now() WHERE id = :id"
        ),
        {"id": message_id, "reason": reason[:300]},
    )


async def list_messages(
    session: AsyncSession, *, state: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            f"SELECT {LIST_COLUMNS} FROM outbox_messages "
            "WHERE (CAST(:state AS text) IS NULL OR state = :state) "
            "ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset"
        ),
        {"state": state, "limit": limit, "offset": offset},
    )
    return [dict(r) for r in rows.mappings()]


async def get_state(session: AsyncSession, message_id: int) -> str | None:
    row = await session.execute(
        text("SELECT state FROM outbox_messages WHERE id = :id FOR UPDATE"), {"id": message_id}
    )
    return row.scalar_one_or_none()


async def requeue(session: AsyncSession, message_id: int) -> dict[str, Any]:
    """A dead letter queued again, due now, with a fresh count of attempts."""
    row = await session.execute(
        text(
            "UPDATE outbox_messages SET state = 'queued', attempts = 0, next_attempt_at = now(), "
            f"updated_at = now() WHERE id = :id RETURNING {LIST_COLUMNS}"
        ),
        {"id": message_id},
    )
    return dict(row.mappings().one())


async def stats(session: AsyncSession) -> dict[str, Any]:
    """Messages per state, queued ones that failed before (``retrying``) and the age in
    seconds of the oldest queued one (0: none)."""
    rows = await session.execute(
        text(
            "SELECT state, count(*) AS n, count(*) FILTER (WHERE attempts > 0) AS retrying, "
            "COALESCE(extract(epoch FROM now() - min(created_at)), 0) AS oldest_s "
            "FROM outbox_messages GROUP BY state"
        )
    )
    by_state = {r["state"]: r for r in rows.mappings()}
    queued = by_state.get("queued")
    return {
        "counts": {state: int(r["n"]) for state, r in by_state.items()},
        "retrying": int(queued["retrying"]) if queued else 0,
        "oldest_queued_s": float(queued["oldest_s"]) if queued else 0.0,
    }


async def unsubscribe_referrer(session: AsyncSession, referral_id: uuid.UUID) -> int:
    """No more emails to this referral's referrer: consent to updates withdrawn, their email
    address, the status token and queued emails to them dropped; how many queued emails were
    cancelled."""
    await session.execute(
        text(
            "UPDATE referrer_contacts SET wants_update = false, status_token = NULL, "
            "email = NULL WHERE referral_id = :id"
        ),
        {"id": referral_id},
    )
    result = await session.execute(
        text(
            "UPDATE outbox_messages SET state = 'cancelled', address = NULL, "
            "params = params - 'token', last_error = 'unsubscribed', updated_at = now() "
            "WHERE referral_id = :id AND recipient_key = 'referrer' "
            "AND state IN ('queued', 'dead') "
            "RETURNING 1"
        ),
        {"id": referral_id},
    )
    return len(result.all())


# --- push subscriptions ----------------------------------------------------------------------


async def upsert_subscription(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    """Register (or move to this user and refresh) the subscription of ``endpoint``."""
    row = await session.execute(
        text(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, device_id) "
            "VALUES (:user_id, :endpoint, :p256dh, :auth, :device_id) "
            "ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, "
            "p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, device_id = EXCLUDED.device_id "
            "RETURNING id, endpoint, device_id, created_at"
        ),
        values,
    )
    return dict(row.mappings().one())


async def delete_subscription(
    session: AsyncSession, *, endpoint: str, user_id: int | None = None
) -> bool:
    """Remove a subscription (only the user's own when ``user_id`` is given)."""
    result = await session.execute(
        text(
            "DELETE FROM push_subscriptions WHERE endpoint = :endpoint "
            "AND (CAST(:user_id AS integer) IS NULL OR user_id = :user_id) RETURNING 1"
        ),
        {"endpoint": endpoint, "user_id": user_id},
    )
    return result.first() is not None


async def delete_subscription_by_id(session: AsyncSession, subscription_id: int) -> None:
    await session.execute(
        text("DELETE FROM push_subscriptions WHERE id = :id"), {"id": subscription_id}
    )


async def queue_fallback_email(session: AsyncSession, message_id: int) -> None:
    """The push message ``message_id`` could not reach its device: its team's email address
    gets the alert instead (once per message, and only when the team has one)."""
    await session.execute(
        text(
            "INSERT INTO outbox_messages (message_key, recipient_key, template, channel, "
            "referral_id, team_id, address, params) "
            "SELECT o.message_key, 'team:' || t.id, o.template, 'email', o.referral_id, t.id, "
            "t.alert_email, o.params FROM outbox_messages o JOIN teams t ON t.id = o.team_id "
            "WHERE o.id = :id AND t.alert_email IS NOT NULL "
            "ON CONFLICT (message_key, recipient_key) DO NOTHING"
        ),
        {"id": message_id},
    )
