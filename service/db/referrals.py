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
