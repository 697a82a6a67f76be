"""Repository for staff users and their scopes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import Db, fetch_dicts


async def get(db: Db, user_id: int, *, device_id: uuid.UUID | None = None) -> dict[str, Any] | None:
    """An active user with their teams and authorities (sorted), or ``None``; with
    ``device_id``, only while that device is theirs and not revoked. One statement: on
    :func:`~service.db.engine.statements` (every signed-in request) one round trip."""
    rows = await fetch_dicts(db, "user_get", {"id": user_id, "device_id": device_id})
    return rows[0] if rows else None


async def get_credentials(session: AsyncSession, username: str) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text("SELECT id, password_hash, role FROM users WHERE username = :u AND active"),
                {"u": username},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def add(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password_hash: str,
    role: str,
    team_names: Sequence[str] = (),
    authority_codes: Sequence[str] = (),
) -> int:
    user_id = (
        await session.execute(
            text(
                "INSERT INTO users (username, display_name, password_hash, role) "
                "VALUES (:u, :d, :p, :r) RETURNING id"
            ),
            {"u": username, "d": display_name, "p": password_hash, "r": role},
        )
    ).scalar_one()
    for name in team_names:
        await session.execute(
            text(
                "INSERT INTO user_teams (user_id, team_id) "
                "SELECT :user_id, id FROM teams WHERE name = :name"
            ),
            {"user_id": user_id, "name": name},
        )
    if authority_codes:
        await session.execute(
            text("INSERT INTO user_authorities (user_id, authority_code) VALUES (:u, :c)"),
            [{"u": user_id, "c": code} for code in authority_codes],
        )
    return int(user_id)


async def team_ids_by_name(session: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    rows = await session.execute(
        text("SELECT name, id FROM teams WHERE name = ANY(:names)"), {"names": list(names)}
    )
    return {r.name: r.id for r in rows}


async def profile(session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """The display name of an active user, and the authorities their teams cover."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT u.display_name, COALESCE((SELECT array_agg(DISTINCT "
                    "ta.authority_code) FROM user_teams ut JOIN team_areas ta "
                    "ON ta.team_id = ut.team_id WHERE ut.user_id = u.id), "
                    "ARRAY[]::varchar[]) AS team_authorities "
                    "FROM users u WHERE u.id = :id AND u.active"
                ),
                {"id": user_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def authority_names(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    """Current names of these authorities (codes not found are left out)."""
    rows = await session.execute(
        text(
            "SELECT a.code, a.name FROM authorities a JOIN boundary_versions v "
            "ON v.id = a.version_id AND v.is_current WHERE a.code = ANY(:codes)"
        ),
        {"codes": list(codes)},
    )
    return {r.code: r.name for r in rows}
