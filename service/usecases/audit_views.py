"""The audit log for admins: filtered, newest first, keyset-paginated on ``(at, id)``.

The cursor is opaque to clients (base64url of the last row's position): a page never skips or
repeats a row even while new rows are written, because newer rows sort before the cursor.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

import msgspec
from sqlalchemy import text

from service.db.engine import transaction
from service.exceptions import InvalidInputError
from service.schemas.audit import AuditEntry, AuditPage, AuditQuery
from service.state import Runtime

# Kept next to its only caller: service/db/audit.py (the writer) belongs to another module.
AUDIT_PAGE_SQL = text(
    """
    SELECT id, at, user_id, username, action, subject_type, subject_id, route, detail
      FROM audit_log
     WHERE (CAST(:user_id AS integer) IS NULL OR user_id = :user_id)
       AND (CAST(:username AS text) IS NULL OR username = :username)
       AND (CAST(:subject_type AS text) IS NULL OR subject_type = :subject_type)
       AND (CAST(:subject_id AS text) IS NULL OR subject_id = :subject_id)
       AND (CAST(:action AS text) IS NULL OR action = :action)
       AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)
       AND (CAST(:until AS timestamptz) IS NULL OR at < :until)
       AND (CAST(:after_at AS timestamptz) IS NULL
            OR (at, id) < (:after_at, CAST(:after_id AS bigint)))
     ORDER BY at DESC, id DESC
     LIMIT :limit
    """
)


class _AuditCursor(msgspec.Struct, array_like=True, frozen=True):
    at: dt.datetime
    id: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # a bigint key


def encode_cursor(at: dt.datetime, row_id: int) -> str:
    raw = msgspec.json.encode(_AuditCursor(at, row_id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> _AuditCursor | None:
    """The keyset position in an opaque cursor (``None`` for the first page).

    >>> at = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    >>> decode_cursor(encode_cursor(at, 42)) == _AuditCursor(at, 42)
    True
    >>> decode_cursor(encode_cursor(at, 2**63))  # beyond a bigint
    Traceback (most recent call last):
    ...
    service.exceptions.InvalidInputError: the cursor is not valid: start again without it
    >>> decode_cursor("e30")  # base64 of {}: well-formed, but not a cursor
    Traceback (most recent call last):
    ...
    service.exceptions.InvalidInputError: the cursor is not valid: start again without it
    """
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=_AuditCursor)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInputError(
            "the cursor is not valid: start again without it", field="cursor"
        ) from None


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
    params = _params(query, decode_cursor(query.cursor))
    async with transaction(runtime.sessions) as session:
        rows = [dict(r) for r in (await session.execute(AUDIT_PAGE_SQL, params)).mappings()]
    page = rows[: query.limit]
    last = page[-1] if len(rows) > query.limit else None
    return AuditPage(
        items=msgspec.convert(page, list[AuditEntry]),
        next_cursor=encode_cursor(last["at"], last["id"]) if last else None,
    )
