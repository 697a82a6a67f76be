"""The run-sheet for a team's shift: its assigned visits in a short order from the base and
back, with what to look for at each stop, estimated times, and the visits that do not fit.

The order comes from :func:`geo.routing.plan_shift_route` (optimal for small shifts) on road
travel times when a routing server answers, otherwise on straight-line BNG distance. Reading a
run-sheet shows referrals' descriptions and locations: each referral on it is audited as read.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import anyio.to_thread

from geo.routing import DropReason, RoutePlan, Stop, plan_shift_route
from service import access
from service.access import StaffUser
from service.db import assignments as repo
from service.db import audit
from service.db.engine import transaction
from service.exceptions import NotFoundError, OutOfRangeError
from service.runtime import Runtime
from service.schemas.assignments import (
    DroppedStop,
    HotspotToLookFor,
    PlannedStop,
    Point,
    ReferralToLookFor,
    ShiftPlan,
    TeamRef,
)
from service.settings import Settings
from service.usecases.assignments.runs import item_key, link, local_today, shift_on
from service.usecases.assignments.travel_times import TravelTimes, travel_minutes

DROP_TEXT = {
    DropReason.UNREACHABLE_IN_SHIFT: "too far to reach, visit and return within the shift",
    DropReason.SHIFT_FULL: "does not fit in the shift after the higher-priority visits",
}


def _check_date(settings: Settings, day: dt.date) -> None:
    today = local_today()
    first, last = (
        today - dt.timedelta(days=1),
        today + dt.timedelta(days=settings.shift_plan_days_ahead),
    )
    if not first <= day <= last:
        raise OutOfRangeError(f"date must be between {first} and {last}", field="date")


def _referral(row: dict[str, Any]) -> ReferralToLookFor | None:
    if row["referral_id"] is None:
        return None
    return ReferralToLookFor(
        id=row["referral_id"],
        reference=row["reference"],
        link=link("referral", str(row["referral_id"])),
        location_description=row["location_description"],
        appearance=row["appearance"],
        clothing=row["clothing"],
        belongings=row["belongings"],
        site_type=row["site_type"],
        gender=row["gender"],
        age_band=row["age_band"],
        people_count=row["people_count"],
        seen_at=row["seen_at"],
        seen_time_band=row["seen_time_band"],
        status=row["referral_status"],
        attempts=row["attempts"],
    )


def _hotspot(row: dict[str, Any]) -> HotspotToLookFor | None:
    if row["hotspot_id"] is None:
        return None
    return HotspotToLookFor(
        id=row["hotspot_id"],
        link=link("hotspot", str(row["hotspot_id"])),
        layer=row["layer"],
        member_count=row["member_count"],
        referral_count=row["referral_count"],
        contact_count=row["contact_count"],
        bedded_down_count=row["bedded_down_count"],
        last_activity_at=row["last_activity_at"],
    )


def _stops(rows: list[dict[str, Any]]) -> list[Stop]:
    """Higher priority (a lower rank) is kept longest when the shift is too short."""
    return [
        Stop(
            item_key(r["item_kind"], r["item_id"]), (r["easting"], r["northing"]), -float(r["rank"])
        )
        for r in rows
    ]


async def _read(
    runtime: Runtime, user: StaffUser, team_id: int, day: dt.date, route: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dt.datetime | None]:
    async with transaction(runtime.sessions) as session:
        scope = access.scope_of(user)
        team = await repo.team(session, team_id)
        if team is None or not access.may_read_team(scope, team_id, team["covers"]):
            raise NotFoundError("no such team in your area")
        rows = await repo.shift_visits(
            session,
            team_id=team_id,
            shift_start=shift_on(team, day)[0],
            scope=access.params(scope),
        )
        latest = await repo.latest_run(session)
        for row in rows:
            if row["referral_id"] is not None:
                await audit.record(
                    session,
                    user_id=user.id,
                    username=user.username,
                    action="read",
                    subject_type="referral",
                    subject_id=str(row["referral_id"]),
                    route=route,
                    detail={"via": "shift_plan", "team_id": team_id, "date": day.isoformat()},
                )
    return team, rows, latest["started_at"] if latest else None


def _planned(
    plan: RoutePlan, rows: dict[str, dict[str, Any]], start: dt.datetime
) -> list[PlannedStop]:
    stops, previous_leave = [], 0.0
    for n, visit in enumerate(plan.visits, start=1):
        row = rows[visit.stop_id]
        stops.append(
            PlannedStop(
                sequence=n,
                item=visit.stop_id,
                work_kind=row["work_kind"],
                urgent=row["urgent"],
                swep=row["swep"],
                due_at=row["due_at"],
                location=Point(lat=row["lat"], lon=row["lon"]),
                arrive_at=start + dt.timedelta(minutes=visit.arrive_minutes),
                leave_at=start + dt.timedelta(minutes=visit.leave_minutes),
                travel_minutes_from_previous=round(visit.arrive_minutes - previous_leave, 2),
                referral=_referral(row),
                hotspot=_hotspot(row),
            )
        )
        previous_leave = visit.leave_minutes
    return stops


def _dropped(plan: RoutePlan, rows: dict[str, dict[str, Any]]) -> list[DroppedStop]:
    return [
        DroppedStop(
            item=d.stop_id,
            work_kind=rows[d.stop_id]["work_kind"],
            urgent=rows[d.stop_id]["urgent"],
            reason=d.reason.value,
            reason_text=DROP_TEXT[d.reason],
            referral=_referral(rows[d.stop_id]),
            hotspot=_hotspot(rows[d.stop_id]),
        )
        for d in plan.dropped
    ]


async def shift_plan(
    runtime: Runtime, user: StaffUser, team_id: int, day: dt.date | None, *, route: str
) -> ShiftPlan:
    """The run-sheet of ``team_id`` for its shift starting on ``day`` (default: today, London).

    A coordinator of one of the team's areas who is not on the team sees the visits in their
    own area only, planned as a route of their own (``service.access``)."""
    settings = runtime.settings
    day = day or local_today()
    _check_date(settings, day)
    team, rows, computed_at = await _read(runtime, user, team_id, day, route)
    start, end = shift_on(team, day)
    points = [(team["base_lon"], team["base_lat"]), *((r["lon"], r["lat"]) for r in rows)]
    travel: TravelTimes = await travel_minutes(runtime, points)
    plan = await anyio.to_thread.run_sync(
        partial(
            plan_shift_route,
            (team["base_easting"], team["base_northing"]),
            _stops(rows),
            shift_minutes=(end - start).total_seconds() / 60,
            dwell_minutes=settings.route_dwell_minutes,
            speed_kmh=settings.route_speed_kmh,
            detour_factor=settings.route_detour_factor,
            travel_minutes_matrix=travel.minutes,
        )
    )
    by_item = {item_key(r["item_kind"], r["item_id"]): r for r in rows}
    return ShiftPlan(
        team=TeamRef(id=team["id"], name=team["name"]),
        date=day,
        shift_start=start,
        shift_end=end,
        base=Point(lat=team["base_lat"], lon=team["base_lon"]),
        stops=_planned(plan, by_item, start),
        dropped=_dropped(plan, by_item),
        travel_minutes=round(plan.travel_minutes, 2),
        dwell_minutes=round(plan.dwell_minutes, 2),
        total_minutes=round(plan.total_minutes, 2),
        shift_minutes=plan.shift_minutes,
        return_at=start + dt.timedelta(minutes=plan.total_minutes),
        route_method=plan.method,
        travel_source=travel.source,
        travel_fallback_reason=travel.fallback_reason,
        assignments_computed_at=computed_at,
    )
