"""Wire types for the audit log: who read or changed what, when, and through which route."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

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


# --- devices (phones) and the caller ---------------------------------------------------------

DeviceLabel = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]*$")]
RefreshToken = Annotated[str, msgspec.Meta(min_length=40, max_length=200)]


class DeviceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A phone the signed-in member of staff registers: a label they will recognise."""

    label: DeviceLabel


class DeviceTokens(msgspec.Struct, frozen=True, kw_only=True):
    """A short access token bound to the device, and the device's refresh token (shown once;
    each refresh replaces it)."""

    device_id: uuid.UUID
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    refresh_token: str
    role: str


class RefreshIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    refresh_token: RefreshToken


class DeviceOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: int
    username: str
    display_name: str
    team_ids: list[int]
    label: str
    created_at: dt.datetime
    last_seen_at: dt.datetime | None
    """The last registration or refresh (access tokens are not tracked)."""
    revoked_at: dt.datetime | None


class TeamShift(msgspec.Struct, frozen=True, kw_only=True):
    """The team's shift under way, or the next one (``date`` is its local start date: pass
    it to the run-sheet)."""

    team_id: int
    team_name: str
    date: dt.date
    shift_start: dt.datetime
    shift_end: dt.datetime


class AuthorityName(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str


class Me(msgspec.Struct, frozen=True, kw_only=True):
    """The caller: who, role, teams and authorities, each team's current or next shift, the
    device the token is bound to (``null`` for a password token)."""

    id: int
    username: str
    display_name: str
    role: str
    special_category: bool
    """Whether this role may record and read special-category fields (health, support needs)."""
    teams: list[TeamShift]
    authorities: list[AuthorityName]
    device_id: uuid.UUID | None
    lock_after_minutes: float
    """How long the phone app may stay unlocked while idle."""
