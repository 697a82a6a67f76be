"""Repository for outreach contacts and their special-category side table."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import jsonb, sql

CONTACT_COLUMNS = (
    "c.id, c.team_id, c.worker_id, c.observed_at, c.received_at, ST_Y(c.geom) AS lat, "
    "ST_X(c.geom) AS lon, c.accuracy_m, c.authority_code, c.person_id, c.referral_id, "
    "c.bedded_down, c.contact_type, c.engagement, c.offers_made, c.offers_accepted, c.outcome, "
    "c.safeguarding_concern, c.notes"
)


async def insert(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert unless a contact with this id exists; True when it was inserted."""
    inserted = await session.execute(sql("contact_insert"), values)
    return inserted.first() is not None


async def content_hash(session: AsyncSession, contact_id: uuid.UUID) -> str | None:
    row = (
        await session.execute(
            text("SELECT content_hash FROM contacts WHERE id = :id"), {"id": contact_id}
        )
    ).first()
    return row.content_hash if row else None


async def insert_sensitive(
    session: AsyncSession, contact_id: uuid.UUID, support_needs: list[str], health_notes: str | None
) -> None:
    await session.execute(
        text(
            "INSERT INTO contact_sensitive (contact_id, support_needs, health_notes) "
            "VALUES (:id, CAST(:needs AS jsonb), :notes)"
        ),
        {"id": contact_id, "needs": jsonb(support_needs), "notes": health_notes},
    )


async def get(session: AsyncSession, contact_id: uuid.UUID) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(f"SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = :id"),
                {"id": contact_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def get_sensitive(session: AsyncSession, contact_id: uuid.UUID) -> dict[str, Any]:
    row = (
        (
            await session.execute(
                text(
                    "SELECT support_needs, health_notes FROM contact_sensitive "
                    "WHERE contact_id = :id"
                ),
                {"id": contact_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else {"support_needs": [], "health_notes": None}
