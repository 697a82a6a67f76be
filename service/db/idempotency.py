"""Repository for stored responses of staff writes sent with an ``Idempotency-Key``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def get(session: AsyncSession, user_id: int, key: str) -> dict[str, Any] | None:
    """The stored ``request_hash`` and response ``body``, or ``None``."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT request_hash, body FROM idempotent_responses "
                    "WHERE user_id = :u AND key = :k"
                ),
                {"u": user_id, "k": key},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def add(
    session: AsyncSession, user_id: int, key: str, *, request_hash: str, body: bytes
) -> None:
    """Store a response unless one is stored for this (user, key) already."""
    await session.execute(
        text(
            "INSERT INTO idempotent_responses (user_id, key, request_hash, status_code, "
            "body) VALUES (:u, :k, :h, 200, :b) ON CONFLICT DO NOTHING"
        ),
        {"u": user_id, "k": key, "h": request_hash, "b": body},
    )
