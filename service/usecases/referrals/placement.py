"""Coordinators' triage of a referral: place one that came with only a description on the
map (re-routed, re-clustered and re-assigned at once), or forward one that lies outside
Greater Essex to the service that covers it (closed as ``out_of_area_forwarded``).
Both are audited and leave an event in the referral's history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.access import StaffUser, sees
from service.db import audit, changes
from service.db import hotspots as hotspots_repo
from service.db import referrals as repo
from service.db.engine import transaction
from service.exceptions import ConflictError, NotFoundError
from service.runtime import Runtime
from service.schemas.referrals import ForwardIn, LocationIn, Placement, ReferralState
from service.usecases.areas.sync import ensure_loaded
from service.usecases.assignments import incremental
from service.usecases.referrals.intake import Routing, route_point
from service.usecases.referrals.sla import next_shift_end

FORWARDED = "out_of_area_forwarded"


async def _open(session: AsyncSession, user: StaffUser, referral_id: uuid.UUID) -> dict[str, Any]:
    row = await repo.get_flags(session, referral_id)  # locks the row
    if row is None or not sees(user, row):
        raise NotFoundError("no such referral in your area")
    if row["status"] == "closed":
        raise ConflictError("the referral is closed")
    return row


def _routing_values(routing: Routing, data: LocationIn, now: dt.datetime) -> dict[str, Any]:
    due = None
    if routing.shift_start and routing.shift_end:
        due = next_shift_end(now, routing.shift_start, routing.shift_end)
    return {
        "lon": data.lon,
        "lat": data.lat,
        "authority_code": routing.authority_code,
        "boundary_version_id": routing.boundary_version_id,
        "team_id": routing.team_id,
        "routing_reason": routing.reason,
        "out_of_area": routing.out_of_area,
        "next_shift_due_at": due,
    }


async def place(
    runtime: Runtime, user: StaffUser, referral_id: uuid.UUID, data: LocationIn, *, route: str
) -> Placement:
    """Put the referral where the coordinator says; route it by the current boundaries, fold
    it into the hotspots and place it among the assignments before answering."""
    await ensure_loaded(runtime)
    async with transaction(runtime.sessions) as session:
        row = await _open(session, user, referral_id)
        routing = await route_point(runtime, session, lon=data.lon, lat=data.lat)
        values = _routing_values(routing, data, dt.datetime.now(dt.UTC))
        await repo.place(session, referral_id, values)
        await hotspots_repo.queue_points(session, "public_reports", [("referral", referral_id)])
        await _record_placement(session, user, row, routing, data, route)
    runtime.hotspots.add_referral()
    # Placed now, incrementally (only what this referral displaces moves), so the answer
    # already shows its team's queue.
    await incremental.apply(
        runtime,
        {f"referral:{referral_id}"},
        trigger="referral_located",
        requested_by=user.username,
    )
    async with transaction(runtime.sessions) as session:
        placed = await repo.get_placement(session, referral_id)
    if placed is None:  # deleted in between (retention): as if it never was
        raise NotFoundError("no such referral in your area")
    return Placement(**placed, previously_located=row["located"])


async def _record_placement(
    session: AsyncSession,
    user: StaffUser,
    row: dict[str, Any],
    routing: Routing,
    data: LocationIn,
    route: str,
) -> None:
    placed = {
        "placed_by": user.username,
        "placed_by_id": user.id,
        "authority_code": routing.authority_code,
        "team_id": routing.team_id,
        "boundary_version_id": routing.boundary_version_id,
        "reason": routing.reason,
        "out_of_area": routing.out_of_area,
        "previously_located": row["located"],
    }
    await repo.add_event(
        session, row["id"], "located", actor=user.username, data={**placed, "note": data.note}
    )
    if routing.team_id is not None:
        await changes.append(
            session,
            team_id=routing.team_id,
            kind="referral_assigned",
            entity_id=str(row["id"]),
            data={"located_by": "coordinator"},
        )
    await audit.record(
        session,
        user_id=user.id,
        username=user.username,
        action="referral_located",
        subject_type="referral",
        subject_id=str(row["id"]),
        route=route,
        detail={**placed, "note": data.note is not None},
    )


async def forward(
    runtime: Runtime, user: StaffUser, referral_id: uuid.UUID, data: ForwardIn, *, route: str
) -> ReferralState:
    """Close an out-of-area referral as forwarded; the note says where it was sent."""
    async with transaction(runtime.sessions) as session:
        row = await _open(session, user, referral_id)
        if not row["out_of_area"]:
            raise ConflictError("only a referral outside Greater Essex can be forwarded")
        await repo.close(session, referral_id, FORWARDED)
        await repo.add_event(
            session,
            referral_id,
            "closed",
            actor=user.username,
            data={"outcome": FORWARDED, "forwarded_to": data.note},
        )
        await changes.append(
            session,
            team_id=row["team_id"],
            kind="referral_closed",
            entity_id=str(referral_id),
            data={"outcome": FORWARDED},
        )
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="referral_forwarded",
            subject_type="referral",
            subject_id=str(referral_id),
            route=route,
            detail={"outcome": FORWARDED},
        )
        state = await repo.get_state(session, referral_id)
    runtime.assignment_runs.request("referral_closed", [f"referral:{referral_id}"])
    assert state is not None  # locked by this transaction
    return ReferralState(
        id=state["id"],
        reference=state["reference"],
        status=state["status"],
        outcome=state["outcome"],
        attempts=state["attempts"],
        not_found_attempts=state["not_found_attempts"],
        closed_at=state["closed_at"],
    )
