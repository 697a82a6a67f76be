"""Phones registered by staff: a refresh token bound to the device (stored as its SHA-256,
rotated at every use), short access tokens that name the device, revocation by a coordinator
(audited), and ``/v1/me``.

A refresh answers with a new refresh token. When the phone loses that answer (the network
drops after the server rotated), the token it still holds is the *previous* one: it is
accepted once more until the new one is used, so a flaky network never signs a worker out
in the middle of a shift. A revoked device, or a deactivated user, gets 401 for either."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Any

import msgspec
from litestar.security.jwt import JWTAuth, Token

from service import access
from service.access import SPECIAL_CATEGORY_ROLES, StaffUser
from service.auth import DEVICE_CLAIM, device_of_token
from service.db import assignments as teams_repo
from service.db import audit
from service.db import devices as repo
from service.db import users as users_repo
from service.db.engine import transaction
from service.exceptions import AuthenticationError, NotFoundError
from service.runtime import Runtime
from service.schemas.staff import AuthorityName, DeviceOut, DeviceTokens, Me, TeamShift
from service.usecases.assignments.runs import local_today, shift_on

_REFUSED = "this device is not signed in (revoked or unknown): sign in again"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _new_refresh_token(device_id: uuid.UUID) -> str:
    return f"{device_id.hex}.{secrets.token_urlsafe(32)}"


def _device_of(token: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=token.split(".", 1)[0])
    except ValueError:
        raise AuthenticationError(_REFUSED) from None


def _tokens(
    runtime: Runtime,
    jwt_auth: JWTAuth[StaffUser, Token],
    user: tuple[int, str],
    device_id: uuid.UUID,
    refresh_token: str,
) -> DeviceTokens:
    lifetime = dt.timedelta(minutes=runtime.settings.device_access_token_minutes)
    access_token = jwt_auth.create_token(
        identifier=str(user[0]),
        token_expiration=lifetime,
        token_extras={DEVICE_CLAIM: str(device_id)},
    )
    return DeviceTokens(
        device_id=device_id,
        access_token=access_token,
        token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
        expires_in=int(lifetime.total_seconds()),
        refresh_token=refresh_token,
        role=user[1],
    )


async def register(
    runtime: Runtime, jwt_auth: JWTAuth[StaffUser, Token], user: StaffUser, label: str
) -> DeviceTokens:
    device_id = uuid.uuid4()
    refresh_token = _new_refresh_token(device_id)
    async with transaction(runtime.sessions) as session:
        await repo.add(
            session,
            device_id=device_id,
            user_id=user.id,
            label=label,
            refresh_hash=_hash(refresh_token),
        )
    return _tokens(runtime, jwt_auth, (user.id, user.role), device_id, refresh_token)


def _matches(presented: bytes, row: dict[str, Any]) -> bytes | None:
    """The hash to keep as the previous one after this refresh, or ``None`` when the token
    is neither the current nor the previous one."""
    if hmac.compare_digest(presented, row["refresh_hash"]):
        return presented
    previous = row["previous_refresh_hash"]
    if previous is not None and hmac.compare_digest(presented, previous):
        return bytes(previous)
    return None


async def refresh(
    runtime: Runtime, jwt_auth: JWTAuth[StaffUser, Token], refresh_token: str
) -> DeviceTokens:
    device_id = _device_of(refresh_token)
    async with transaction(runtime.sessions) as session:
        row = await repo.lock_for_refresh(session, device_id)
        if row is None or row["revoked_at"] is not None or not row["active"]:
            raise AuthenticationError(_REFUSED)
        keep = _matches(_hash(refresh_token), row)
        if keep is None:
            raise AuthenticationError(_REFUSED)
        new_token = _new_refresh_token(device_id)
        await repo.rotate(session, device_id, new_hash=_hash(new_token), previous_hash=keep)
        user = await users_repo.get(session, row["user_id"])
    if user is None:
        raise AuthenticationError(_REFUSED)
    return _tokens(runtime, jwt_auth, (user["id"], user["role"]), device_id, new_token)


def _scope(user: StaffUser) -> dict[str, Any]:
    return {**access.params_of(user), "me": user.id}


async def list_devices(runtime: Runtime, user: StaffUser) -> list[DeviceOut]:
    async with transaction(runtime.sessions) as session:
        rows = await repo.list_visible(session, _scope(user))
    return [msgspec.convert(row, DeviceOut) for row in rows]


async def revoke(runtime: Runtime, user: StaffUser, device_id: uuid.UUID, *, route: str) -> None:
    """Revoke the caller's own device, or (coordinators) one of someone in their teams; its
    next call gets 401."""
    async with transaction(runtime.sessions) as session:
        row = await repo.get_visible(session, device_id, _scope(user))
        if row is None:
            raise NotFoundError("no such device in your teams")
        await repo.revoke(session, device_id, user.id)
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="revoke",
            subject_type="device",
            subject_id=str(device_id),
            route=route,
            detail={"owner_id": row["user_id"], "label": row["label"]},
        )


def current_shift(
    team: dict[str, Any], today: dt.date, now: dt.datetime
) -> tuple[dt.date, tuple[dt.datetime, dt.datetime]]:
    """The team's shift that is under way or comes next (by its local start date): last
    night's while it lasts, then today's, then tomorrow's once today's has ended.

    >>> team = {"shift_start": dt.time(22, 0), "shift_end": dt.time(6, 0)}
    >>> day, (start, end) = current_shift(
    ...     team, dt.date(2026, 1, 10), dt.datetime(2026, 1, 10, 3, tzinfo=dt.UTC))
    >>> day.isoformat(), start.isoformat()
    ('2026-01-09', '2026-01-09T22:00:00+00:00')
    >>> current_shift(team, dt.date(2026, 1, 10), dt.datetime(2026, 1, 10, 7, tzinfo=dt.UTC))[0]
    datetime.date(2026, 1, 10)
    >>> early = {"shift_start": dt.time(5, 0), "shift_end": dt.time(9, 0)}
    >>> current_shift(early, dt.date(2026, 1, 10), dt.datetime(2026, 1, 10, 10, tzinfo=dt.UTC))[0]
    datetime.date(2026, 1, 11)
    """
    for offset in (-1, 0, 1):
        day = today + dt.timedelta(days=offset)
        start, end = shift_on(team, day)
        if end > now:
            return day, (start, end)
    return day, (start, end)


async def me(runtime: Runtime, user: StaffUser, token: Token | None) -> Me:
    today = local_today()
    async with transaction(runtime.sessions) as session:
        profile = await users_repo.profile(session, user.id)
        teams = [await teams_repo.team(session, team_id) for team_id in user.team_ids]
        codes = (
            list(user.authority_codes)
            if user.role == "coordinator"
            else sorted(profile["team_authorities"] if profile else [])
        )
        names = await users_repo.authority_names(session, codes)
    shifts = []
    for team in teams:
        if team is None:
            continue
        day, (start, end) = current_shift(team, today, dt.datetime.now(dt.UTC))
        shifts.append(
            TeamShift(
                team_id=team["id"],
                team_name=team["name"],
                date=day,
                shift_start=start,
                shift_end=end,
            )
        )
    return Me(
        id=user.id,
        username=user.username,
        display_name=profile["display_name"] if profile else user.username,
        role=user.role,
        special_category=user.role in SPECIAL_CATEGORY_ROLES,
        teams=shifts,
        authorities=[AuthorityName(code=c, name=names.get(c, c)) for c in codes],
        device_id=_device_or_none(token),
        lock_after_minutes=runtime.settings.app_lock_minutes,
    )


def _device_or_none(token: Token | None) -> uuid.UUID | None:
    try:
        return device_of_token(token)
    except ValueError:  # cannot happen: such a token was refused when the user was loaded
        return None
