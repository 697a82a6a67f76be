"""Wire types for the audit log: who read or changed what, when, and through which route."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec


class AuditQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Filters for the audit log; all optional, combined with AND. ``since`` is inclusive,
    ``until`` exclusive."""

    user_id: int | None = None
    username: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    cursor: str | None = None


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: dt.datetime
    user_id: int | None
    username: str
    action: str
    subject_type: str
    subject_id: str
    route: str
    detail: dict[str, Any]


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    """Newest first. Pass ``next_cursor`` as ``cursor`` (with the same filters) for the next
    page; ``null`` on the last page."""

    items: list[AuditEntry]
    next_cursor: str | None
