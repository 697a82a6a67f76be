"""Staff views of referrals: a scoped list without personal detail, and an audited detail."""

from __future__ import annotations

import uuid

import msgspec

from service import access
from service.access import StaffUser
from service.db import audit
from service.db import referrals as repo
from service.db.engine import transaction
from service.exceptions import NotFoundError
from service.runtime import Runtime
from service.schemas.referrals import (
    QueueRow,
    QueueVersion,
    ReferralDetail,
    ReferralSummary,
    ReferrerContactOut,
)


async def list_referrals(
    runtime: Runtime,
    user: StaffUser,
    *,
    status: str | None,
    team_id: int | None,
    limit: int,
    offset: int,
) -> list[ReferralSummary]:
    filters = {"status": status, "team_id": team_id, "limit": limit, "offset": offset}
    async with transaction(runtime.sessions) as session:
        rows = await repo.list_for_staff(session, access.params_of(user), filters)
    return msgspec.convert(rows, list[ReferralSummary])


async def referral_detail(
    runtime: Runtime, user: StaffUser, referral_id: uuid.UUID, *, route: str
) -> ReferralDetail:
    """The whole referral; reading it is audited. Referrer contact only for coordinators."""
    async with transaction(runtime.sessions) as session:
        detail = await repo.get_whole(session, referral_id)
        if detail is None or not access.sees(user, detail):
            raise NotFoundError("no such referral in your area")
        if user.role in access.REFERRER_CONTACT_ROLES:
            contact = await repo.get_referrer_contact(session, referral_id)
            detail["referrer"] = (
                msgspec.convert(dict(contact), ReferrerContactOut) if contact else None
            )
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="read",
            subject_type="referral",
            subject_id=str(referral_id),
            route=route,
            detail={"referrer": detail.get("referrer") is not None},
        )
    detail.pop("geom", None)
    detail.pop("geom_bng", None)
    detail.pop("geom_mercator", None)
    return msgspec.convert(detail, ReferralDetail)


class QueueFilter(msgspec.Struct, frozen=True, kw_only=True):
    """The queue's filters; each flag is ``None`` (ignored) or ``True`` (only those)."""

    authority: str | None = None
    team_id: int | None = None
    stage: str | None = None
    urgent: bool | None = None
    swep: bool | None = None
    past_sla: bool | None = None
    no_location: bool | None = None
    possible_duplicate: bool | None = None
    out_of_area: bool | None = None
    limit: int = 200


def _flag(value: bool | None) -> bool | None:
    return True if value else None


async def queue(
    runtime: Runtime, user: StaffUser, filters: QueueFilter, *, route: str
) -> list[QueueRow]:
    """Open referrals in the caller's scope with their triage flags. The rows carry what the
    referrer wrote about the place, so each read is audited (once, with the row count)."""
    params = msgspec.structs.asdict(filters)
    for flag in ("urgent", "swep", "past_sla", "no_location", "possible_duplicate", "out_of_area"):
        params[flag] = _flag(params[flag])
    async with transaction(runtime.sessions) as session:
        rows = await repo.queue(session, access.params_of(user), params)
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="list",
            subject_type="referral_queue",
            subject_id="queue",
            route=route,
            detail={"rows": len(rows)},
        )
    return msgspec.convert(rows, list[QueueRow])


async def queue_version(runtime: Runtime, user: StaffUser) -> QueueVersion:
    async with transaction(runtime.sessions) as session:
        row = await repo.queue_version(session, access.params_of(user))
    return msgspec.convert(row, QueueVersion)
