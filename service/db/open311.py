"""Repository for the public Open311 view of referrals (no location, no personal data).

Each row says only what the referral itself says: never its position, never a figure that
counts other referrals, and its place only as the name of its authority.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

_SELECT = """
SELECT r.reference, r.status, r.outcome, r.received_at, r.updated_at,
       CASE WHEN r.out_of_area THEN NULL ELSE (
           SELECT a.name FROM authorities a
             JOIN boundary_versions v ON v.id = a.version_id AND v.is_current
            WHERE a.code = r.authority_code
            LIMIT 1
       ) END AS authority_name
FROM referrals r
WHERE {where}
ORDER BY r.received_at DESC, r.reference
LIMIT :limit OFFSET :offset
"""
BY_REFERENCES = text(_SELECT.format(where="r.reference = ANY(CAST(:references AS varchar[]))"))
LISTED = text(
    _SELECT.format(
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
