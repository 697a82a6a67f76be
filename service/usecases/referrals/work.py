"""Outreach work on a referral: search attempts and outcomes, which drive its lifecycle
(received → assigned → attempted (n) → closed) and the referrer's public status."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.access import StaffUser, sees
from service.db import changes
from service.db import referrals as repo
from service.db.engine import transaction
from service.exceptions import ConflictError, NotFoundError
from service.runtime import Runtime
from service.schemas.referrals import AttemptIn, OutcomeIn, ReferralState
from service.usecases.messages import queue as messages


async def _locked(session: AsyncSession, user: StaffUser, referral_id: uuid.UUID) -> dict[str, Any]:
    await repo.lock(session, referral_id)
    row = await repo.get_state(session, referral_id)
    if row is None or not sees(user, row):
        raise NotFoundError("no such referral in your area")
    return row


async def _current(session: AsyncSession, referral_id: uuid.UUID) -> dict[str, Any]:
    row = await repo.get_state(session, referral_id)
    if row is None:  # cannot happen: the row is locked by this transaction
        raise NotFoundError("no such referral in your area")
    return row


def _state(row: dict[str, Any]) -> ReferralState:
    return ReferralState(
        id=row["id"],
        reference=row["reference"],
        status=row["status"],
        outcome=row["outcome"],
        attempts=row["attempts"],
        not_found_attempts=row["not_found_attempts"],
        closed_at=row["closed_at"],
    )


async def _close(session: AsyncSession, row: dict[str, Any], outcome: str, actor: str) -> None:
    await repo.close(session, row["id"], outcome)
    await repo.add_event(session, row["id"], "closed", actor=actor, data={"outcome": outcome})
    await messages.referrer_update(session, row["id"], "referral_outcome")
    await changes.append(
        session,
        team_id=row["team_id"],
        kind="referral_closed",
        entity_id=str(row["id"]),
        data={"outcome": outcome},
    )


async def record_attempt(
    runtime: Runtime, user: StaffUser, referral_id: uuid.UUID, attempt: AttemptIn
) -> ReferralState:
    """Record a search; the referral's SLA (and perhaps its state) changes: reassign soon."""
    state = await _record_attempt(runtime, user, referral_id, attempt)
    runtime.assignment_runs.request("referral_attempted", [f"referral:{referral_id}"])
    return state


async def _record_attempt(
    runtime: Runtime, user: StaffUser, referral_id: uuid.UUID, attempt: AttemptIn
) -> ReferralState:
    async with transaction(runtime.sessions) as session:
        row = await _locked(session, user, referral_id)
        inserted = await repo.add_attempt(
            session,
            attempt_id=attempt.id,
            referral_id=referral_id,
            worker_id=user.id,
            attempted_at=attempt.attempted_at,
            found=attempt.found,
            lon=attempt.lon,
            lat=attempt.lat,
            note=attempt.note,
        )
        if not inserted:  # the same attempt sent again
            return _state(row)
        if row["status"] == "closed":
            raise ConflictError("the referral is closed")
        await _after_attempt(runtime, session, user, row, attempt)
        return _state(await _current(session, referral_id))


async def _after_attempt(
    runtime: Runtime,
    session: AsyncSession,
    user: StaffUser,
    row: dict[str, Any],
    attempt: AttemptIn,
) -> None:
    await repo.mark_attempted(session, row["id"])
    await repo.add_event(
        session,
        row["id"],
        "attempt",
        actor=user.username,
        data={"found": attempt.found, "attempt_id": str(attempt.id)},
    )
    await changes.append(
        session,
        team_id=row["team_id"],
        kind="referral_attempted",
        entity_id=str(row["id"]),
        data={"found": attempt.found},
    )
    not_found = row["not_found_attempts"] + (0 if attempt.found else 1)
    if not attempt.found and not_found >= runtime.settings.not_found_attempts_to_close:
        await _close(session, row, "not_found", actor="system")


async def record_outcome(
    runtime: Runtime, user: StaffUser, referral_id: uuid.UUID, outcome: OutcomeIn
) -> ReferralState:
    """Close a referral; it leaves the open work: reassign soon."""
    state = await _record_outcome(runtime, user, referral_id, outcome)
    runtime.assignment_runs.request("referral_closed", [f"referral:{referral_id}"])
    return state


async def _record_outcome(
    runtime: Runtime, user: StaffUser, referral_id: uuid.UUID, outcome: OutcomeIn
) -> ReferralState:
    async with transaction(runtime.sessions) as session:
        row = await _locked(session, user, referral_id)
        if row["status"] == "closed":
            if row["outcome"] != outcome.outcome:
                raise ConflictError("the referral is already closed with another outcome")
            return _state(row)
        await _close(session, row, outcome.outcome, actor=user.username)
        return _state(await _current(session, referral_id))
