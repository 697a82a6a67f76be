"""Retention: each row of the schedule (``service.retention_schedule``) is one statement,
``sql/retention_<name>.sql``, that changes what is due and answers how many rows it changed.

Every statement may read ``:cutoff`` (now minus the row's period), ``:now``, ``:grid_m`` and
``:half_m`` (the size of the squares positions are coarsened to, and half of it) and
``:accuracy_m`` (the accuracy a coarsened position then has).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import SQL_DIR, sql


def statement_exists(name: str) -> bool:
    """Whether the schedule row ``name`` has its statement."""
    return (SQL_DIR / f"retention_{name}.sql").is_file()


async def apply(
    session: AsyncSession,
    name: str,
    *,
    cutoff: dt.datetime,
    now: dt.datetime,
    grid_m: int,
    accuracy_m: float,
) -> int:
    """Apply the schedule row ``name``; how many rows it changed."""
    params = {
        "cutoff": cutoff,
        "now": now,
        "grid_m": float(grid_m),
        "half_m": grid_m / 2,
        "accuracy_m": accuracy_m,
    }
    result = await session.execute(sql(f"retention_{name}"), params)
    return int(result.scalar_one())
