"""``GET /v1/sync``: what changed for the caller's teams since their cursor."""

from __future__ import annotations

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import StaffUser
from service.db import changes
from service.db.engine import transaction
from service.schemas.contacts import ChangeOut, SyncPage
from service.state import Runtime
from service.usecases.cursors import decode_cursor, encode_cursor


class SyncPosition(msgspec.Struct, array_like=True, frozen=True):
    """The last change-feed ``seq`` the caller has seen."""

    seq: int


async def teams_in_scope(session: AsyncSession, user: StaffUser) -> list[int] | None:
    """``None`` means every team (admin)."""
    if user.is_admin:
        return None
    if user.role == "coordinator":
        rows = await session.execute(
            text("SELECT DISTINCT team_id FROM team_areas WHERE authority_code = ANY(:codes)"),
            {"codes": list(user.authority_codes)},
        )
        return sorted({*user.team_ids, *(r.team_id for r in rows)})
    return list(user.team_ids)


async def sync(runtime: Runtime, user: StaffUser, since: str | None, limit: int) -> SyncPage:
    position = decode_cursor(since or None, SyncPosition, field="since")
    after = max(0, position.seq) if position else 0
    async with transaction(runtime.sessions) as session:
        await changes.number_committed(session)
        teams = await teams_in_scope(session, user)
        rows = await changes.page(session, after_seq=after, team_ids=teams, limit=limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1]["seq"] if rows else after
    return SyncPage(
        cursor=encode_cursor(SyncPosition(last)),
        changes=msgspec.convert(rows, list[ChangeOut]),
        has_more=has_more,
    )
