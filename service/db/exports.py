"""Repository for exports: scoped rows written as CSV lines by the database and read through
a server-side cursor in batches (so a large export never sits in memory), their exact row
count in the same snapshot, and the snapshot-style return. The SQL is in ``sql/export_*.sql``;
the cells are written by ``csv_cell()`` (``migrations/versions/0016_csv_cells.py``).

Scope parameters come from ``service.access.params`` (the snapshot, a figure, reads
``scope_all`` and ``scope_codes`` from ``service.access.exact_figures``); filters are
``start``/``end`` (end exclusive), ``authority`` and ``team_id``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.db.engine import CUSTOM_PLANS, sql

SHORTEST_FLOATS = text("SET LOCAL extra_float_digits = 1")
"""A float's cell is its shortest exact digits, as Python's ``str`` (``csv_cell``); the
default since PostgreSQL 12, set in case a server or role says otherwise."""


def query(name: str) -> TextClause:
    """``referrals`` or ``contacts``: the export's query."""
    return sql(f"export_{name}")


def _count(statement: TextClause) -> TextClause:
    return text(f"SELECT count(*) FROM ({statement.text}) AS export")


LIST_COLUMNS = frozenset({"offers_made", "offers_accepted", "support_needs"})
"""JSON arrays, written as their elements joined by ``;``, each a cell of its own kind."""


def _cell(column: str) -> str:
    """The SQL of one column's cell, in the line query below (``e`` is the export's row)."""
    if column in LIST_COLUMNS:
        # inline, not a function: one that reads its argument's elements is never inlined
        return (
            "(SELECT csv_quote(string_agg(coalesce(csv_escape(x), ''), ';' ORDER BY n)) "
            f"FROM jsonb_array_elements_text(e.{column}) WITH ORDINALITY AS u(x, n))"
        )
    return f"csv_cell(e.{column})"


def lines_query(name: str, columns: Sequence[str]) -> TextClause:
    """The export ``name`` as CSV lines (CRLF-terminated) of ``columns``, in its order: the
    subquery's ORDER BY keeps it from being pulled up, so its rows come out sorted."""
    cells = ", ".join(_cell(column) for column in columns)
    return text(
        f"SELECT concat_ws(',', {cells}) || E'\\r\\n' AS line FROM ({query(name).text}) AS e"
    )


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
            await conn.execute(SHORTEST_FLOATS)
            yield conn


async def count(conn: AsyncConnection, name: str, params: dict[str, Any]) -> int:
    return int(await conn.scalar(_count(query(name)), params) or 0)


async def lines(
    conn: AsyncConnection,
    name: str,
    columns: Sequence[str],
    params: dict[str, Any],
    *,
    batch_rows: int,
) -> AsyncIterator[list[str]]:
    """The export's CSV lines in batches, fetched from a server-side cursor."""
    result = await conn.stream(lines_query(name, columns), params)
    async for partition in result.scalars().partitions(batch_rows):
        yield list(partition)


async def snapshot_counts(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``(authority_code, gender, age_band, nationality_band, n)`` of the snapshot return."""
    return [dict(r) for r in (await session.execute(sql("export_snapshot"), params)).mappings()]
