"""Repository for referrals, their referrer contact, events and duplicate links."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import jsonb, sql

PUBLIC_COLUMNS = (
    "id, reference, status, outcome, urgent, received_at, updated_at, closed_at, "
    "token_salt, status_token_hash"
)


async def intake(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """Store a referral with its referrer contact, events, change-feed row and duplicate links
    in one statement (``referral_intake.sql``); ``None`` when its submission key was used."""
    row = (await session.execute(sql("referral_intake"), values)).mappings().first()
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


LIST_SQL = text(
    "SELECT id, reference, status, outcome, urgent, authority_code, team_id, received_at, "
    "seen_at, site_type, location_quality, attempts, next_shift_due_at, outcome_due_at, "
    "COALESCE(status <> 'closed' AND (now() > outcome_due_at OR (attempts = 0 AND now() > "
    " next_shift_due_at)), false) AS sla_breached "
    "FROM referrals "
    "WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes, "
    "                    authority_code, team_id) "
    "AND (CAST(:status AS text) IS NULL OR status = :status) "
    "AND (CAST(:team_id AS integer) IS NULL OR team_id = :team_id) "
    "ORDER BY urgent DESC, received_at DESC LIMIT :limit OFFSET :offset"
)


async def list_for_staff(
    session: AsyncSession, scope: dict[str, Any], filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Referrals the scope (``service.access.params``) may see, most urgent and newest first;
    ``sla_breached`` is false, not unknown, while a referral has no due times (no location)."""
    rows = await session.execute(LIST_SQL, {**scope, **filters})
    return [dict(r) for r in rows.mappings()]


async def get_whole(session: AsyncSession, referral_id: uuid.UUID) -> dict[str, Any] | None:
    """Every column of one referral with its position as ``lat``/``lon``."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT *, ST_Y(geom) AS lat, ST_X(geom) AS lon FROM referrals WHERE id = :id"
                ),
                {"id": referral_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def get_referrer_contact(
    session: AsyncSession, referral_id: uuid.UUID
) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    "SELECT name, email, phone, wants_update FROM referrer_contacts "
                    "WHERE referral_id = :id"
                ),
                {"id": referral_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
