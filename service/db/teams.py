"""Repository for outreach teams and the authorities they cover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import sql


async def list_teams(session: AsyncSession) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in await session.execute(sql("teams_list"))]


async def add_if_missing(
    session: AsyncSession,
    *,
    name: str,
    lon: float,
    lat: float,
    shift_capacity: int,
    shift_start: dt.time,
    shift_end: dt.time,
    covers: Sequence[str],
) -> int | None:
    """Insert a team (and its areas) unless one with that name exists; returns the new id."""
    team_id = (
        await session.execute(
            text(
                "INSERT INTO teams (name, base, shift_capacity, shift_start, shift_end) "
                "VALUES (:name, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :capacity, "
                ":start, :end) ON CONFLICT (name) DO NOTHING RETURNING id"
            ),
            {
                "name": name,
                "lon": lon,
                "lat": lat,
                "capacity": shift_capacity,
                "start": shift_start,
                "end": shift_end,
            },
        )
    ).scalar_one_or_none()
    if team_id is not None and covers:
        await session.execute(
            text("INSERT INTO team_areas (team_id, authority_code) VALUES (:team_id, :code)"),
            [{"team_id": team_id, "code": code} for code in covers],
        )
    return team_id
