"""``GET /v1/sync``: what changed since the caller's cursor, in their scope."""

from __future__ import annotations

import base64
import binascii

import msgspec

from service import access
from service.access import StaffUser
from service.db import changes
from service.db.engine import transaction
from service.exceptions import InvalidInputError
from service.runtime import Runtime
from service.schemas.contacts import ChangeOut, SyncPage

CURSOR_PREFIX = "c1:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw.startswith(CURSOR_PREFIX):
            return max(0, int(raw.removeprefix(CURSOR_PREFIX)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInputError("not a cursor from this service", field="since")


async def sync(runtime: Runtime, user: StaffUser, since: str | None, limit: int) -> SyncPage:
    after = decode_cursor(since)
    async with transaction(runtime.sessions) as session:
        await changes.number_committed(session)
        rows = await changes.page(
            session, after_seq=after, scope=access.params(access.scope_of(user)), limit=limit + 1
        )
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1]["seq"] if rows else after
    return SyncPage(
        cursor=encode_cursor(last),
        changes=msgspec.convert(rows, list[ChangeOut]),
        has_more=has_more,
    )
