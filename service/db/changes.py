"""The change feed: append on write; number under a lock on read.

Writers insert rows with ``seq`` NULL inside their own transaction. A reader first takes a
transaction-scoped advisory lock and numbers, in id order, every *committed* row that has no
number yet; numbers only grow, so a row that commits late gets a number above every cursor
already handed out. Readers then page by ``seq``: no gaps under concurrent writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import jsonb

SEQUENCE_LOCK = 7_301_001  # pg_advisory_xact_lock key for numbering changes


async def append(
    session: AsyncSession,
    *,
    team_id: int | None,
    kind: str,
    entity_id: str,
    data: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO changes (team_id, kind, entity_id, data) "
            "VALUES (:team_id, :kind, :entity_id, CAST(:data AS jsonb))"
        ),
        {
            "team_id": team_id,
            "kind": kind,
            "entity_id": entity_id,
            "data": jsonb(data or {}),
        },
    )


async def number_committed(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCE_LOCK})
    await session.execute(
        text(
            "WITH base AS (SELECT COALESCE(max(seq), 0) AS top FROM changes), "
            "todo AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM changes "
            "         WHERE seq IS NULL) "
            "UPDATE changes c SET seq = base.top + todo.n FROM todo, base WHERE c.id = todo.id"
        )
    )


async def page(
    session: AsyncSession, *, after_seq: int, scope: Mapping[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Changes numbered after ``after_seq`` that the scope (``service.access.params``) may
    see: an entry is seen where the changed referral or contact lies, or by the team whose
    feed it is (the entry's ``team_id``)."""
    rows = await session.execute(
        text(
            "SELECT ch.seq, ch.kind, ch.entity_id, ch.team_id, ch.at, ch.data FROM changes ch "
            "LEFT JOIN referrals r ON r.id = CASE WHEN ch.kind LIKE 'referral%' "
            "                                THEN CAST(ch.entity_id AS uuid) END "
            "LEFT JOIN contacts k ON k.id = CASE WHEN ch.kind LIKE 'contact%' "
            "                                THEN CAST(ch.entity_id AS uuid) END "
            "WHERE ch.seq > :after "
            "AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes, "
            "                  COALESCE(r.authority_code, k.authority_code), ch.team_id) "
            "ORDER BY ch.seq LIMIT :limit"
        ),
        {**scope, "after": after_seq, "limit": limit},
    )
    return [dict(r) for r in rows.mappings()]
