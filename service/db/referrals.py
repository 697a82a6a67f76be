"""Repository for referrals, their referrer contact, events and duplicate links."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import jsonb, sql

PUBLIC_COLUMNS = (
    "id, reference, status, outcome, urgent, received_at, updated_at, closed_at, "
    "token_salt, status_token_hash"
)


async def add(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a referral; ``None`` when its submission key was used already."""
    row = (await session.execute(sql("referral_insert"), values)).mappings().first()
    return dict(row) if row else None


async def get_by_submission_key(session: AsyncSession, key_hash: str) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(f"SELECT {PUBLIC_COLUMNS} FROM referrals WHERE submission_key = :k"),
                {"k": key_hash},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def get_public(session: AsyncSession, reference: str) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(f"SELECT {PUBLIC_COLUMNS} FROM referrals WHERE reference = :r"),
                {"r": reference},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def add_contact(
    session: AsyncSession, referral_id: uuid.UUID, contact: dict[str, Any]
) -> None:
    await session.execute(
        text(
            "INSERT INTO referrer_contacts (referral_id, name, email, phone, wants_update) "
            "VALUES (:id, :name, :email, :phone, :wants_update)"
        ),
        {"id": referral_id, **contact},
    )


async def add_event(
    session: AsyncSession,
    referral_id: uuid.UUID,
    kind: str,
    *,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO referral_events (referral_id, kind, actor, data) "
            "VALUES (:id, :kind, :actor, CAST(:data AS jsonb))"
        ),
        {"id": referral_id, "kind": kind, "actor": actor, "data": jsonb(data or {})},
    )


async def nearby_open(
    session: AsyncSession,
    *,
    referral_id: uuid.UUID,
    lon: float,
    lat: float,
    seen_at: dt.datetime,
    radius_m: float,
    window_h: float,
) -> list[dict[str, Any]]:
    rows = await session.execute(
        sql("referral_nearby_open"),
        {
            "id": referral_id,
            "lon": lon,
            "lat": lat,
            "seen_at": seen_at,
            "radius_m": radius_m,
            "window_h": window_h,
        },
    )
    return [dict(r) for r in rows.mappings()]


async def same_fingerprint(
    session: AsyncSession, *, referral_id: uuid.UUID, fingerprint: str, since: dt.datetime
) -> list[uuid.UUID]:
    rows = await session.execute(
        text(
            "SELECT id FROM referrals WHERE fingerprint = :f AND received_at >= :since "
            "AND id <> :id AND status <> 'closed' ORDER BY received_at LIMIT 5"
        ),
        {"f": fingerprint, "since": since, "id": referral_id},
    )
    return [r.id for r in rows]


async def link_duplicate(
    session: AsyncSession,
    *,
    referral_id: uuid.UUID,
    other_id: uuid.UUID,
    reason: str,
    distance_m: float | None,
    hours_apart: float | None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO referral_duplicates "
            "(referral_id, other_id, reason, distance_m, hours_apart) "
            "VALUES (:a, :b, :reason, :d, :h) ON CONFLICT DO NOTHING"
        ),
        {"a": referral_id, "b": other_id, "reason": reason, "d": distance_m, "h": hours_apart},
    )
