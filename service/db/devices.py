"""Repository for staff devices (phones) and their refresh tokens (stored as SHA-256)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_COLUMNS = """d.id, d.user_id, u.username, u.display_name, d.label, d.created_at,
       d.last_seen_at, d.revoked_at,
       COALESCE((SELECT array_agg(ut.team_id ORDER BY ut.team_id) FROM user_teams ut
                  WHERE ut.user_id = d.user_id), ARRAY[]::integer[]) AS team_ids"""

# A device is seen by admins, by its owner, and by coordinators of a team its owner is in.
_VISIBLE = """(:scope_all OR d.user_id = :me OR (:scope_coordinator AND EXISTS (
           SELECT 1 FROM user_teams ut
            WHERE ut.user_id = d.user_id AND ut.team_id = ANY(:scope_teams))))"""


async def add(
    session: AsyncSession, *, device_id: uuid.UUID, user_id: int, label: str, refresh_hash: bytes
) -> None:
    await session.execute(
        text(
            "INSERT INTO devices (id, user_id, label, refresh_hash, last_seen_at) "
            "VALUES (:id, :user_id, :label, :hash, now())"
        ),
        {"id": device_id, "user_id": user_id, "label": label, "hash": refresh_hash},
    )


async def lock_for_refresh(session: AsyncSession, device_id: uuid.UUID) -> dict[str, Any] | None:
    """The device with its token hashes and whether its user is still active, locked until
    the transaction ends (two refreshes of one token cannot both rotate it)."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT d.id, d.user_id, d.refresh_hash, d.previous_refresh_hash, "
                    "d.revoked_at, u.active "
                    "FROM devices d JOIN users u ON u.id = d.user_id "
                    "WHERE d.id = :id FOR UPDATE OF d"
                ),
                {"id": device_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def rotate(
    session: AsyncSession, device_id: uuid.UUID, *, new_hash: bytes, previous_hash: bytes
) -> None:
    await session.execute(
        text(
            "UPDATE devices SET refresh_hash = :new, previous_refresh_hash = :previous, "
            "last_seen_at = now() WHERE id = :id"
        ),
        {"id": device_id, "new": new_hash, "previous": previous_hash},
    )


async def list_visible(session: AsyncSession, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """The devices the caller may manage (see ``_VISIBLE``), newest first."""
    rows = await session.execute(
        text(
            f"SELECT {_COLUMNS} FROM devices d JOIN users u ON u.id = d.user_id "
            f"WHERE {_VISIBLE} ORDER BY d.created_at DESC, d.id"
        ),
        scope,
    )
    return [dict(r) for r in rows.mappings()]


async def get_visible(
    session: AsyncSession, device_id: uuid.UUID, scope: dict[str, Any]
) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    f"SELECT {_COLUMNS} FROM devices d JOIN users u ON u.id = d.user_id "
                    f"WHERE d.id = :id AND {_VISIBLE}"
                ),
                {**scope, "id": device_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def revoke(session: AsyncSession, device_id: uuid.UUID, by_user_id: int) -> None:
    """Revoke the device (once: a second revocation keeps the first time and revoker)."""
    await session.execute(
        text(
            "UPDATE devices SET revoked_at = now(), revoked_by = :by "
            "WHERE id = :id AND revoked_at IS NULL"
        ),
        {"id": device_id, "by": by_user_id},
    )
