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


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert contacts (ids unique among ``rows``) with their special-category and change-feed
    rows in one statement; the ids that were new."""
    result = await session.execute(sql("contact_insert_batch"), {"items": jsonb(rows)})
    return {row.id for row in result}


async def content_hashes(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The stored content hashes of these contacts (those of a batch that were not new)."""
    if not ids:
        return {}
    rows = await session.execute(
        text("SELECT id, content_hash FROM contacts WHERE id = ANY(:ids)"), {"ids": ids}
    )
    return {row.id: row.content_hash for row in rows}


async def existing_ids(
    session: AsyncSession, table: str, ids: set[uuid.UUID] | set[int]
) -> set[Any]:
    """Which of these ids exist in ``table`` (``persons`` or ``teams``)."""
    if table not in ("persons", "teams") or not ids:
        return set()
    rows = await session.execute(
        text(f"SELECT id FROM {table} WHERE id = ANY(:ids)"), {"ids": list(ids)}
    )
    return {row.id for row in rows}


async def referral_scopes(
    session: AsyncSession, ids: set[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Authority and team of these referrals (for scope checks), by id."""
    if not ids:
        return {}
    rows = await session.execute(
        text("SELECT id, authority_code, team_id FROM referrals WHERE id = ANY(:ids)"),
        {"ids": list(ids)},
    )
    return {row.id: dict(row._mapping) for row in rows}


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
