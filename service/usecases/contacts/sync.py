"""``GET /v1/sync``: what changed since the caller's cursor, in their scope."""

from __future__ import annotations

import msgspec

from service import access
from service.access import StaffUser
from service.db import changes
from service.db.engine import transaction
from service.runtime import Runtime
from service.schemas.contacts import ChangeOut, SyncPage
from service.usecases.cursors import decode_cursor, encode_cursor


class SyncPosition(msgspec.Struct, array_like=True, frozen=True):
    """The last change-feed ``seq`` the caller has seen."""

    seq: int


async def sync(runtime: Runtime, user: StaffUser, since: str | None, limit: int) -> SyncPage:
    position = decode_cursor(since or None, SyncPosition, field="since")
    after = max(0, position.seq) if position else 0
    async with transaction(runtime.sessions) as session:
        await changes.number_committed(session)
        rows = await changes.page(
            session, after_seq=after, scope=access.params_of(user), limit=limit + 1
        )
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1]["seq"] if rows else after
    return SyncPage(
        cursor=encode_cursor(SyncPosition(last)),
        changes=msgspec.convert(rows, list[ChangeOut]),
        has_more=has_more,
    )
