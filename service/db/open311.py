"""Repository for the public Open311 view of referrals (coarsened, no personal data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

SQUARE_M = 1000
"""Locations are never finer than the 1 km British National Grid square."""

_SELECT = """
SELECT p.*,
       CASE WHEN p.cell_e IS NULL THEN 0 ELSE (
           SELECT count(*) FROM referrals o
           WHERE o.geom_bng && ST_MakeEnvelope(p.cell_e * {m}, p.cell_n * {m},
                                               (p.cell_e + 1) * {m}, (p.cell_n + 1) * {m}, 27700)
             AND floor(ST_X(o.geom_bng) / {m}) = p.cell_e
             AND floor(ST_Y(o.geom_bng) / {m}) = p.cell_n
             AND o.received_at >= :square_since AND o.received_at < :embargo_before
             AND NOT o.urgent AND NOT o.out_of_area
       ) END AS square_count
FROM (
    SELECT r.reference, r.status, r.outcome, r.received_at, r.updated_at,
           t.name AS team_name,
           CASE WHEN r.urgent OR r.out_of_area OR r.received_at >= :embargo_before THEN NULL
                ELSE CAST(floor(ST_X(r.geom_bng) / {m}) AS integer) END AS cell_e,
           CASE WHEN r.urgent OR r.out_of_area OR r.received_at >= :embargo_before THEN NULL
                ELSE CAST(floor(ST_Y(r.geom_bng) / {m}) AS integer) END AS cell_n
    FROM referrals r LEFT JOIN teams t ON t.id = r.team_id
    WHERE {where}
    ORDER BY r.received_at DESC, r.reference
    LIMIT :limit OFFSET :offset
) p
ORDER BY p.received_at DESC, p.reference
"""
BY_REFERENCES = text(
    _SELECT.format(m=SQUARE_M, where="r.reference = ANY(CAST(:references AS varchar[]))")
)
LISTED = text(
    _SELECT.format(
        m=SQUARE_M,
        where=(
            "r.received_at >= :start AND r.received_at < :end "
            "AND r.received_at < :embargo_before "
            "AND r.status = ANY(CAST(:statuses AS varchar[]))"
        ),
    )
)


async def public_requests(
    session: AsyncSession, statement: TextClause, params: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = (await session.execute(statement, params)).mappings().all()
    return [dict(row) for row in rows]
