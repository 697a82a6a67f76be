"""Staff views of referrals: a scoped list without personal detail, and an audited detail."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import text

from service.auth import StaffUser
from service.db import audit
from service.db.engine import transaction
from service.exceptions import NotFoundError
from service.schemas.referrals import ReferralDetail, ReferralSummary, ReferrerContactOut
from service.state import Runtime
from service.usecases.scope import can_see_referral

LIST_SQL = text(
    "SELECT id, reference, status, outcome, urgent, authority_code, team_id, received_at, "
    "seen_at, site_type, location_quality, attempts, next_shift_due_at, outcome_due_at, "
    "(status <> 'closed' AND (now() > outcome_due_at OR (attempts = 0 AND now() > "
    " next_shift_due_at))) AS sla_breached "
    "FROM referrals WHERE (CAST(:all AS boolean) "
    "   OR team_id = ANY(:teams) OR authority_code = ANY(:codes) "
    "   OR (CAST(:coordinator AS boolean) AND authority_code IS NULL)) "
    "AND (CAST(:status AS text) IS NULL OR status = :status) "
    "AND (CAST(:team_id AS integer) IS NULL OR team_id = :team_id) "
    "ORDER BY urgent DESC, received_at DESC LIMIT :limit OFFSET :offset"
)
DETAIL_SQL = text("SELECT *, ST_Y(geom) AS lat, ST_X(geom) AS lon FROM referrals WHERE id = :id")
REFERRER_ROLES = frozenset({"coordinator", "admin"})


async def list_referrals(
    runtime: Runtime,
    user: StaffUser,
    *,
    status: str | None,
    team_id: int | None,
    limit: int,
    offset: int,
) -> list[ReferralSummary]:
    coordinator = user.role == "coordinator"
    params: dict[str, Any] = {
        "all": user.is_admin,
        "teams": list(user.team_ids) if not coordinator else [],
        "codes": list(user.authority_codes) if coordinator else [],
        "coordinator": coordinator,
        "status": status,
        "team_id": team_id,
        "limit": limit,
        "offset": offset,
    }
    async with transaction(runtime.sessions) as session:
        rows = (await session.execute(LIST_SQL, params)).mappings().all()
    return msgspec.convert([dict(r) for r in rows], list[ReferralSummary])


async def referral_detail(
    runtime: Runtime, user: StaffUser, referral_id: uuid.UUID, *, route: str
) -> ReferralDetail:
    """The whole referral; reading it is audited. Referrer contact only for coordinators."""
    async with transaction(runtime.sessions) as session:
        row = (await session.execute(DETAIL_SQL, {"id": referral_id})).mappings().first()
        if row is None or not can_see_referral(user, dict(row)):
            raise NotFoundError("no such referral in your area")
        detail = dict(row)
        if user.role in REFERRER_ROLES:
            contact = (
                (
                    await session.execute(
                        text(
                            "SELECT name, email, phone, wants_update FROM referrer_contacts "
                            "WHERE referral_id = :id"
                        ),
                        {"id": referral_id},
                    )
                )
                .mappings()
                .first()
            )
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
