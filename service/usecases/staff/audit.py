"""The audit log for admins: filtered, newest first, keyset-paginated on ``(at, id)``.

The cursor is opaque to clients (base64url of the last row's position): a page never skips or
repeats a row even while new rows are written, because newer rows sort before the cursor.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from service.db import audit as audit_repo
from service.db.engine import transaction
from service.exceptions import InvalidInputError
from service.runtime import Runtime
from service.schemas.staff import AuditEntry, AuditPage, AuditQuery
from service.usecases.cursors import decode_cursor, encode_cursor


class _AuditCursor(msgspec.Struct, array_like=True, frozen=True):
    """The keyset position of the last row shown.

    >>> at = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    >>> decode_cursor(encode_cursor(_AuditCursor(at, 42)), _AuditCursor) == _AuditCursor(at, 42)
    True
    >>> decode_cursor(encode_cursor(_AuditCursor(at, 2**63)), _AuditCursor)  # beyond a bigint
    Traceback (most recent call last):
    ...
    service.exceptions.InvalidInputError: the cursor is not valid: start again without it
    """

    at: dt.datetime
    id: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # a bigint key


def _params(query: AuditQuery, after: _AuditCursor | None) -> dict[str, Any]:
    if query.since and query.until and query.since >= query.until:
        raise InvalidInputError("since must be before until", field="since")
    filters = msgspec.structs.asdict(query)
    del filters["cursor"]
    return {
        **filters,
        "limit": query.limit + 1,
        "after_at": after.at if after else None,
        "after_id": after.id if after else None,
    }


async def list_entries(runtime: Runtime, query: AuditQuery) -> AuditPage:
    params = _params(query, decode_cursor(query.cursor, _AuditCursor))
    async with transaction(runtime.sessions) as session:
        rows = await audit_repo.page(session, params)
    page = rows[: query.limit]
    last = page[-1] if len(rows) > query.limit else None
    return AuditPage(
        items=msgspec.convert(page, list[AuditEntry]),
        next_cursor=encode_cursor(_AuditCursor(last["at"], last["id"])) if last else None,
    )
