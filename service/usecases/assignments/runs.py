"""Assignment runs: which team visits each open work item, on which shift, and why.

A run loads the open work (open referrals with a map pin in an authority; active hotspots of
the configured layers with recent activity), the active teams with their next shifts (their
daily shift times in Europe/London), the SWEP states and the coordinators' overrides. It runs
the pure :func:`geo.assignment.assign` in a worker thread and replaces every stored assignment
in one transaction, under an advisory lock: runs from several app processes take turns, and a
reader sees either the whole new run or the whole previous one.

Open referrals follow their assignment's team (``referrals.team_id``), so the workers of the
team that is to visit can open the referral from their run-sheet; each move is a referral event
and a change in both teams' feeds. Overflowed and unassigned items are counted in the run and
listed with their rule, never dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from geo.assignment import (
    Assignment,
    AssignmentResult,
    ShiftPattern,
    Team,
    WorkItem,
    WorkKind,
    assign,
    next_boundary,
    shifts_from_pattern,
)
from service import access
from service.access import StaffUser
from service.db import assignments as repo
from service.db import audit, changes
from service.db import referrals as referrals_repo
from service.db.engine import transaction
from service.exceptions import AccessDeniedError, NotFoundError
from service.runtime import Runtime
from service.schemas.assignments import (
    AssignmentOut,
    AssignmentPage,
    AssignmentRun,
    OverrideOut,
    Reasons,
    RunResult,
    SwepIn,
    SwepState,
)
from service.settings import Settings
from service.usecases.messages import queue as messages

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
ASSIGNED = frozenset(
    {"covering_team", "pinned_override", "overflow_next_shift", "overflow_other_team"}
)
OVERFLOW = frozenset({"overflow_next_shift", "overflow_other_team"})
ATTENTION = sorted(
    OVERFLOW | {"no_covering_team", "all_full", "pinned_team_unknown", "pinned_team_full"}
)
ATTENTION_LIMIT = 200
STALE_OVERRIDE = "system: the item is no longer open work"


def item_key(kind: str, item_id: object) -> str:
    """``referral:<uuid>`` or ``hotspot:<id>``.

    >>> item_key("hotspot", 12)
    'hotspot:12'
    """
    return f"{kind}:{item_id}"


def split_item(key: str) -> tuple[str, str]:
    """The kind and id of an item key (already checked against the API's pattern).

    >>> split_item("referral:7f0c1d9e-0000-4000-8000-000000000001")
    ('referral', '7f0c1d9e-0000-4000-8000-000000000001')
    """
    kind, _, item_id = key.partition(":")
    return kind, item_id.lower()


def link(kind: str, item_id: str) -> str:
    return f"/v1/{kind}s/{item_id}"


def shift_minutes(start: dt.time, end: dt.time) -> int:
    """Length of a daily shift; one ending at or before its start time ends the next day.

    >>> shift_minutes(dt.time(5, 30), dt.time(10, 0))
    270
    >>> shift_minutes(dt.time(22, 0), dt.time(2, 0))
    240
    >>> shift_minutes(dt.time(6, 0), dt.time(6, 0))
    1440
    """
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return minutes % 1440 or 1440


def shift_on(team: dict[str, Any], day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The team's shift starting on ``day`` (local date), in UTC; as ``shifts_from_pattern``.

    >>> team = {"shift_start": dt.time(5, 30), "shift_end": dt.time(10, 0)}
    >>> [t.isoformat() for t in shift_on(team, dt.date(2026, 7, 1))]  # BST
    ['2026-07-01T04:30:00+00:00', '2026-07-01T09:00:00+00:00']
    """
    start = dt.datetime.combine(day, team["shift_start"], tzinfo=LONDON).astimezone(dt.UTC)
    length = shift_minutes(team["shift_start"], team["shift_end"])
    return start, start + dt.timedelta(minutes=length)


def local_today(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(LONDON).date()


# --- loading the inputs of a run ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunInputs:
    items: list[WorkItem]
    teams: list[Team]
    swep: frozenset[str]
    stale_override_ids: list[int]


def geo_team(row: dict[str, Any], *, now: dt.datetime, horizon_shifts: int) -> Team:
    pattern = ShiftPattern(row["shift_start"], shift_minutes(row["shift_start"], row["shift_end"]))
    return Team(
        id=str(row["id"]),
        authority_codes=frozenset(row["covers"]),
        base_bng=(row["base_easting"], row["base_northing"]),
        capacity_visits_per_shift=row["shift_capacity"],
        shifts=shifts_from_pattern(pattern, now=now, count=horizon_shifts),
    )


def _pin(
    override: dict[str, Any] | None, teams: dict[int, dict[str, Any]]
) -> tuple[str | None, dt.datetime | None]:
    """The pinned team (as a geo id) and, when a shift date was given, that shift's start."""
    if override is None:
        return None, None
    team = teams.get(override["team_id"])
    start = None
    if team is not None and override["shift_date"] is not None:
        start = shift_on(team, override["shift_date"])[0]
    return str(override["team_id"]), start


def referral_item(
    row: dict[str, Any], override: dict[str, Any] | None, teams: dict[int, dict[str, Any]]
) -> WorkItem:
    """Before the first search the SLA is the next shift's end; after it, the outcome date."""
    due = row["outcome_due_at"]
    if row["attempts"] == 0 and row["next_shift_due_at"] is not None:
        due = row["next_shift_due_at"]
    pinned_team, pinned_start = _pin(override, teams)
    return WorkItem(
        id=item_key("referral", row["id"]),
        kind=WorkKind.URGENT_REFERRAL if row["urgent"] else WorkKind.REFERRAL,
        location_bng=(row["easting"], row["northing"]),
        authority_code=row["authority_code"],
        received_at=row["received_at"],
        sla_due_at=due,
        urgent_safety=row["urgent"],
        pinned_team_id=pinned_team,
        pinned_shift_start=pinned_start,
    )


def hotspot_item(
    row: dict[str, Any], override: dict[str, Any] | None, teams: dict[int, dict[str, Any]]
) -> WorkItem:
    """No SLA of its own: ranked after referrals by activity (member count), unless SWEP."""
    pinned_team, pinned_start = _pin(override, teams)
    return WorkItem(
        id=item_key("hotspot", row["id"]),
        kind=WorkKind.HOTSPOT,
        location_bng=(row["easting"], row["northing"]),
        authority_code=row["authority_code"],
        received_at=row["last_activity_at"],
        hotspot_activity_count=row["member_count"],
        pinned_team_id=pinned_team,
        pinned_shift_start=pinned_start,
    )


async def load_inputs(session: AsyncSession, settings: Settings, *, now: dt.datetime) -> RunInputs:
    team_rows = {r["id"]: r for r in await repo.active_teams(session)}
    overrides = {
        item_key(o["item_kind"], o["item_id"]): o for o in await repo.active_overrides(session)
    }
    items = [
        referral_item(r, overrides.get(item_key("referral", r["id"])), team_rows)
        for r in await repo.open_referrals(session)
    ]
    since = now - dt.timedelta(days=settings.assignment_hotspot_window_days)
    hotspots = await repo.active_hotspots(
        session, layers=settings.assignment_hotspot_layers, since=since
    )
    items += [
        hotspot_item(h, overrides.get(item_key("hotspot", h["id"])), team_rows) for h in hotspots
    ]
    open_keys = {i.id for i in items}
    return RunInputs(
        items=items,
        teams=[
            geo_team(r, now=now, horizon_shifts=settings.assignment_horizon_shifts)
            for r in team_rows.values()
        ],
        swep=await repo.swep_authorities(session),
        stale_override_ids=[o["id"] for k, o in overrides.items() if k not in open_keys],
    )


# --- storing a run --------------------------------------------------------------------------


def _reasons(a: Assignment, item: WorkItem) -> dict[str, Any]:
    return {
        "explain": a.explain(),
        "distance_m": None if a.distance_m is None else round(a.distance_m, 1),
        "capacity_visits": a.capacity_visits,
        "used_visits": a.used_visits,
        "left_visits": a.left_visits,
        "full_slots": [
            {"team_id": int(s.team_id), "shift_index": s.shift_index, "shift_start": s.shift_start}
            for s in a.full_slots
        ],
        "covering_team_ids": [int(t) for t in a.covering_team_ids],
        "pinned_team_id": None if item.pinned_team_id is None else int(item.pinned_team_id),
        "pinned_shift_start": item.pinned_shift_start,
    }


def item_inputs(item: WorkItem) -> dict[str, Any]:
    """A work item as JSON (stored with its assignment; :func:`item_from_inputs` reads it)."""
    return {
        "kind": item.kind.value,
        "location_bng": list(item.location_bng),
        "authority_code": item.authority_code,
        "received_at": item.received_at.isoformat(),
        "sla_due_at": None if item.sla_due_at is None else item.sla_due_at.isoformat(),
        "urgent_safety": item.urgent_safety,
        "hotspot_activity_count": item.hotspot_activity_count,
        "pinned_team_id": item.pinned_team_id,
        "pinned_shift_start": (
            None if item.pinned_shift_start is None else item.pinned_shift_start.isoformat()
        ),
    }


def item_from_inputs(key: str, inputs: dict[str, Any]) -> WorkItem:
    """The work item an assignment was computed for.

    >>> now = dt.datetime(2026, 1, 5, 6, tzinfo=dt.UTC)
    >>> item = WorkItem("referral:x", WorkKind.REFERRAL, (1.0, 2.0), "E1", now, sla_due_at=now)
    >>> encoded = msgspec.json.decode(msgspec.json.encode(item_inputs(item)))
    >>> item_from_inputs("referral:x", encoded) == item
    True
    """

    def when(value: str | None) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)

    east, north = inputs["location_bng"]
    return WorkItem(
        id=key,
        kind=WorkKind(inputs["kind"]),
        location_bng=(float(east), float(north)),
        authority_code=inputs["authority_code"],
        received_at=dt.datetime.fromisoformat(inputs["received_at"]),
        sla_due_at=when(inputs["sla_due_at"]),
        urgent_safety=inputs["urgent_safety"],
        hotspot_activity_count=inputs["hotspot_activity_count"],
        pinned_team_id=inputs["pinned_team_id"],
        pinned_shift_start=when(inputs["pinned_shift_start"]),
    )


def assignment_row(
    a: Assignment, item: WorkItem, *, run_id: int, computed_at: dt.datetime
) -> dict[str, Any]:
    kind, item_id = split_item(a.item_id)
    return {
        "item_kind": kind,
        "item_id": item_id,
        "work_kind": item.kind.value,
        "authority_code": a.authority_code,
        "team_id": None if a.team_id is None else int(a.team_id),
        "shift_start": a.shift.start if a.shift else None,
        "shift_end": a.shift.end if a.shift else None,
        "shift_index": a.shift_index,
        "rule": a.rule.value,
        "priority": a.priority,
        "urgent": a.urgent,
        "swep": a.swep,
        "due_at": a.due_at,
        "serve_at": a.serve_at,
        "within_sla": a.within_sla,
        "reasons": _reasons(a, item),
        "inputs": item_inputs(item),
        "computed_at": computed_at,
        "run_id": run_id,
    }


def inputs_digest(
    team_rows: Iterable[dict[str, Any]], swep: frozenset[str], settings: Settings
) -> str:
    """What every item's options depend on besides time: the teams (shifts, capacity, base,
    cover), SWEP and the settings. Incremental runs build on a full run with the same digest."""
    parts = [
        repr(
            (
                r["id"],
                r["shift_capacity"],
                r["shift_start"],
                r["shift_end"],
                r["base_easting"],
                r["base_northing"],
                list(r["covers"]),
            )
        )
        for r in sorted(team_rows, key=lambda r: r["id"])
    ]
    parts.append(repr(sorted(swep)))
    parts.append(
        repr(
            (
                settings.assignment_horizon_shifts,
                settings.swep_sla_hours,
                list(settings.assignment_hotspot_layers),
                settings.assignment_hotspot_window_days,
            )
        )
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def count_rules(rules: list[str]) -> dict[str, int]:
    """The run's counts from the rules of the items it placed."""
    assigned = sum(r in ASSIGNED for r in rules)
    return {
        "items": len(rules),
        "assigned": assigned,
        "unassigned": len(rules) - assigned,
        "overflowed": sum(r in OVERFLOW for r in rules),
        "pinned": sum(r == "pinned_override" for r in rules),
    }


async def move_referrals(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    placed = {
        r["item_id"]: r for r in rows if r["item_kind"] == "referral" and r["team_id"] is not None
    }
    moved = await repo.move_referrals(
        session, [(uuid.UUID(k), r["team_id"]) for k, r in placed.items()]
    )
    for m in moved:
        rule = placed[str(m["id"])]["rule"]
        data = {"from_team_id": m["from_team_id"], "to_team_id": m["to_team_id"], "rule": rule}
        await referrals_repo.add_event(session, m["id"], "reassigned", actor="system", data=data)
        await changes.append(
            session,
            team_id=m["to_team_id"],
            kind="referral_assigned",
            entity_id=str(m["id"]),
            data={"urgent": m["urgent"], "rule": rule},
        )
        if m["from_team_id"] is not None:
            await changes.append(
                session,
                team_id=m["from_team_id"],
                kind="referral_reassigned",
                entity_id=str(m["id"]),
                data={"to_team_id": m["to_team_id"]},
            )


async def alert_todays_run_sheets(
    session: AsyncSession, settings: Settings, rows: list[dict[str, Any]], *, now: dt.datetime
) -> None:
    """A referral placed on a team's shift starting today alerts that team (once); urgent
    ones alerted the team when they arrived."""
    today = local_today(now)
    placed = [
        (uuid.UUID(r["item_id"]), r["team_id"])
        for r in rows
        if r["item_kind"] == "referral"
        and r["team_id"] is not None
        and not r["urgent"]
        and r["shift_start"] is not None
        and r["shift_start"].astimezone(LONDON).date() == today
    ]
    await messages.run_sheet_alerts(session, settings, placed, day=today, now=now)


async def _store(
    session: AsyncSession,
    settings: Settings,
    inputs: RunInputs,
    result: AssignmentResult,
    run: dict[str, Any],
) -> AssignmentRun:
    run.update(
        count_rules([a.rule.value for a in result.assignments]),
        swep_authorities=sorted(inputs.swep),
    )
    run_id = await repo.add_run(session, run)
    by_id = {i.id: i for i in inputs.items}
    rows = [
        assignment_row(a, by_id[a.item_id], run_id=run_id, computed_at=run["started_at"])
        for a in result.assignments
    ]
    await repo.replace_assignments(session, rows)
    await move_referrals(session, rows)
    await alert_todays_run_sheets(session, settings, rows, now=run["started_at"])
    await repo.release_overrides(session, inputs.stale_override_ids, by=STALE_OVERRIDE)
    finished = dt.datetime.now(dt.UTC)
    duration_ms = (finished - run["started_at"]).total_seconds() * 1000
    await repo.finish_run(session, run_id, finished_at=finished, duration_ms=duration_ms)
    shown = {k: v for k, v in run.items() if k not in ("inputs_digest", "next_boundary_at")}
    return msgspec.convert(
        {**shown, "id": run_id, "finished_at": finished, "duration_ms": duration_ms},
        AssignmentRun,
    )


async def run(
    runtime: Runtime,
    *,
    trigger: str,
    requested_by: str | None = None,
    now: dt.datetime | None = None,
) -> AssignmentRun:
    """Recompute every open item's assignment and store it; returns the run's summary."""
    settings = runtime.settings
    async with transaction(runtime.sessions) as session:
        await repo.lock_runs(session)
        started = now or dt.datetime.now(dt.UTC)
        inputs = await load_inputs(session, settings, now=started)
        team_rows = await repo.active_teams(session)
        result = await anyio.to_thread.run_sync(
            partial(
                assign,
                inputs.items,
                inputs.teams,
                now=started,
                swep_authorities=inputs.swep,
                swep_sla_hours=settings.swep_sla_hours,
                horizon_shifts=settings.assignment_horizon_shifts,
            )
        )
        summary = await _store(
            session,
            settings,
            inputs,
            result,
            {
                "trigger": trigger[:200],
                "requested_by": requested_by,
                "started_at": started,
                "finished_at": started,
                "duration_ms": 0.0,
                "inputs_digest": inputs_digest(team_rows, inputs.swep, settings),
                "next_boundary_at": next_boundary(
                    inputs.teams, now=started, horizon_shifts=settings.assignment_horizon_shifts
                ),
            },
        )
    log.info(
        "assignment run %s (%s): %s items, %s unassigned, %s overflowed, %.0f ms",
        summary.id,
        trigger,
        summary.items,
        summary.unassigned,
        summary.overflowed,
        summary.duration_ms,
    )
    return summary


# --- reading --------------------------------------------------------------------------------


def assignment_out(row: dict[str, Any]) -> AssignmentOut:
    override = None
    if row["override_team_id"] is not None:
        override = OverrideOut(
            team_id=row["override_team_id"],
            shift_date=row["override_shift_date"],
            note=row["override_note"],
            created_by=row["override_by"],
            created_at=row["override_at"],
        )
    kind, item_id = row["item_kind"], row["item_id"]
    return AssignmentOut(
        item=item_key(kind, item_id),
        item_kind=kind,
        item_id=item_id,
        work_kind=row["work_kind"],
        reference=row["reference"],
        authority_code=row["authority_code"],
        rule=row["rule"],
        assigned=row["rule"] in ASSIGNED,
        overflow=row["rule"] in OVERFLOW,
        team_id=row["team_id"],
        team_name=row["team_name"],
        shift_start=row["shift_start"],
        shift_end=row["shift_end"],
        shift_index=row["shift_index"],
        rank=row["rank"],
        urgent=row["urgent"],
        swep=row["swep"],
        due_at=row["due_at"],
        serve_at=row["serve_at"],
        within_sla=row["within_sla"],
        reasons=msgspec.convert(row["reasons"], Reasons),
        override=override,
        computed_at=row["computed_at"],
        run_id=row["run_id"],
        link=link(kind, item_id),
    )


async def query_assignments(
    session: AsyncSession,
    user: StaffUser,
    *,
    limit: int,
    offset: int = 0,
    team_id: int | None = None,
    item_kind: str | None = None,
    rules: list[str] | None = None,
    item: str | None = None,
) -> list[AssignmentOut]:
    kind, item_id = split_item(item) if item else (item_kind, None)
    params = {
        **access.params_of(user),
        "team_id": team_id,
        "item_kind": kind,
        "rules": rules,
        "item_id": item_id,
        "limit": limit,
        "offset": offset,
    }
    return [assignment_out(r) for r in await repo.list_assignments(session, params)]


def _run_out(row: dict[str, Any] | None) -> AssignmentRun | None:
    return None if row is None else msgspec.convert(row, AssignmentRun)


async def list_assignments(
    runtime: Runtime,
    user: StaffUser,
    *,
    team_id: int | None,
    item_kind: str | None,
    rule: str | None,
    limit: int,
    offset: int,
) -> AssignmentPage:
    async with transaction(runtime.sessions) as session:
        items = await query_assignments(
            session,
            user,
            limit=limit + 1,
            offset=offset,
            team_id=team_id,
            item_kind=item_kind,
            rules=[rule] if rule else None,
        )
        latest = await repo.latest_run(session)
    return AssignmentPage(items=items[:limit], run=_run_out(latest), has_more=len(items) > limit)


async def run_on_demand(runtime: Runtime, user: StaffUser) -> RunResult:
    summary = await run(runtime, trigger="manual", requested_by=user.username)
    async with transaction(runtime.sessions) as session:
        attention = await query_assignments(session, user, limit=ATTENTION_LIMIT, rules=ATTENTION)
    return RunResult(run=summary, attention=attention)


# --- overrides ------------------------------------------------------------------------------


def can_manage(user: StaffUser, authority_code: str | None) -> bool:
    return user.is_admin or (user.role == "coordinator" and authority_code in user.authority_codes)


# --- SWEP -----------------------------------------------------------------------------------


async def set_swep(
    runtime: Runtime, user: StaffUser, code: str, data: SwepIn, *, route: str
) -> SwepState:
    """Switch SWEP on or off for one authority (its coordinators, admins); reassigns at once."""
    async with transaction(runtime.sessions) as session:
        name = await repo.authority_name(session, code)
        if name is None:
            raise NotFoundError("no such authority")
        if not can_manage(user, code):
            raise AccessDeniedError("you do not coordinate this authority")
        was_active = await repo.swep_was_active(session, code)
        row = await repo.set_swep(session, code=code, active=data.active, by=user.username)
        if data.active and not was_active:  # switched on: tell the teams on shift there
            await messages.team_alert(
                session,
                runtime.settings,
                message_key=f"swep_on:{code}:{row['changed_at'].isoformat()}",
                template="swep_on",
                team_ids=await repo.covering_team_ids(session, code),
                reference=name,
            )
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="swep_on" if data.active else "swep_off",
            subject_type="authority",
            subject_id=code,
            route=route,
        )
    await run(runtime, trigger="swep", requested_by=user.username)
    return SwepState(name=name, **row)


async def swep_states(runtime: Runtime) -> list[SwepState]:
    async with transaction(runtime.sessions) as session:
        rows = await repo.swep_states(session)
    return msgspec.convert(rows, list[SwepState])
