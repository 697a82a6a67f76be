"""Repository for exports: scoped row streams read through a server-side cursor in batches
(so a large export never sits in memory), their exact row count in the same snapshot, and
the snapshot-style return. The SQL is in ``sql/export_*.sql``.

Scope parameters come from ``service.access.params`` (the snapshot, a figure, reads
``scope_all`` and ``scope_codes`` from ``service.access.exact_figures``); filters are
``start``/``end`` (end exclusive), ``authority`` and ``team_id``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.db.engine import CUSTOM_PLANS, sql


def query(name: str) -> TextClause:
    """``referrals`` or ``contacts``: the export's query."""
    return sql(f"export_{name}")


def _count(statement: TextClause) -> TextClause:
    return text(f"SELECT count(*) FROM ({statement.text}) AS export")


@asynccontextmanager
async def snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only connection whose queries all see one snapshot (REPEATABLE READ), so the
    count written to the audit log is exactly the number of rows then streamed."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with conn.begin():
            await conn.execute(CUSTOM_PLANS)  # optional filters: no generic plans
            yield conn


async def count(conn: AsyncConnection, name: str, params: dict[str, Any]) -> int:
    return int(await conn.scalar(_count(query(name)), params) or 0)


async def batches(
    conn: AsyncConnection, name: str, params: dict[str, Any], *, batch_rows: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """The rows in batches, fetched from a server-side cursor."""
    result = await conn.stream(query(name), params)
    async for partition in result.mappings().partitions(batch_rows):
        yield [dict(row) for row in partition]


async def snapshot_counts(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``(authority_code, gender, age_band, nationality_band, n)`` of the snapshot return."""
    return [dict(r) for r in (await session.execute(sql("export_snapshot"), params)).mappings()]
