"""Coordinators' overrides: pin an item to a team (optionally a day's shift) or release it.

Either is applied at once, incrementally (:mod:`.incremental`): the pinned item and the items it
displaces move, nothing else; the answer is the item's new assignment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.access import StaffUser
from service.db import assignments as repo
from service.db import audit
from service.db.engine import transaction
from service.exceptions import ConflictError, NotFoundError, OutOfRangeError
from service.runtime import Runtime
from service.schemas.assignments import AssignmentOut, OverrideIn
from service.settings import Settings
from service.usecases.assignments import incremental
from service.usecases.assignments.runs import (
    can_manage,
    item_key,
    local_today,
    query_assignments,
    split_item,
)


async def _one(runtime: Runtime, user: StaffUser, item: str) -> AssignmentOut:
    async with transaction(runtime.sessions) as session:
        found = await query_assignments(session, user, limit=1, item=item)
    if not found:
        raise NotFoundError("the item has no current assignment")
    return found[0]


async def _subject(session: AsyncSession, user: StaffUser, item: str) -> dict[str, Any]:
    subject = await repo.item_subject(session, *split_item(item))
    if subject is None or not can_manage(user, subject["authority_code"]):
        raise NotFoundError("no such work item in your area")
    return subject


def _check_shift_date(settings: Settings, day: dt.date | None) -> None:
    today = local_today()
    last = today + dt.timedelta(days=settings.assignment_horizon_shifts)
    if day is not None and not today <= day <= last:
        raise OutOfRangeError(
            f"shift_date must be between {today} and {last} (the shifts being assigned)",
            field="shift_date",
        )


async def pin(
    runtime: Runtime, user: StaffUser, item: str, data: OverrideIn, *, route: str
) -> AssignmentOut:
    """Pin an item to a team until released; recomputes at once and returns the result."""
    _check_shift_date(runtime.settings, data.shift_date)
    kind, item_id = split_item(item)
    async with transaction(runtime.sessions) as session:
        subject = await _subject(session, user, item)
        if not subject["workable"]:
            raise ConflictError("the item is not open work (closed, retired or not in an area)")
        if await repo.team(session, data.team_id) is None:
            raise NotFoundError("no such active team")
        await repo.release_override(session, kind, item_id, user_id=user.id, by=user.username)
        await repo.add_override(
            session,
            {
                "item_kind": kind,
                "item_id": item_id,
                "team_id": data.team_id,
                "shift_date": data.shift_date,
                "note": data.note,
                "created_by": user.id,
                "created_by_name": user.username,
            },
        )
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="assignment_pinned",
            subject_type="work_item",
            subject_id=item_key(kind, item_id),
            route=route,
            detail={
                "team_id": data.team_id,
                "shift_date": data.shift_date,
                "note": bool(data.note),
            },
        )
    await incremental.apply(
        runtime, {item_key(kind, item_id)}, trigger="override", requested_by=user.username
    )
    return await _one(runtime, user, item)


async def release(runtime: Runtime, user: StaffUser, item: str, *, route: str) -> AssignmentOut:
    """Release an item's override; recomputes at once and returns the new assignment."""
    kind, item_id = split_item(item)
    async with transaction(runtime.sessions) as session:
        await _subject(session, user, item)
        released = await repo.release_override(
            session, kind, item_id, user_id=user.id, by=user.username
        )
        if released is None:
            raise NotFoundError("the item has no override to release")
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="assignment_released",
            subject_type="work_item",
            subject_id=item_key(kind, item_id),
            route=route,
            detail={"team_id": released["team_id"]},
        )
    await incremental.apply(
        runtime,
        {item_key(kind, item_id)},
        trigger="override_released",
        requested_by=user.username,
    )
    return await _one(runtime, user, item)
