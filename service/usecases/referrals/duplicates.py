"""Coordinators confirm or reject possible duplicates. Nothing is ever deleted: a confirmed
duplicate closes as ``duplicate_merged``, both records stay, and the decision is audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.access import StaffUser, sees
from service.db import audit
from service.db import referrals as repo
from service.db.engine import transaction
from service.exceptions import ConflictError, InvalidInputError, NotFoundError
from service.runtime import Runtime
from service.schemas.referrals import DuplicateDecision
from service.vocabularies import DuplicateVerdict


async def _load_pair(
    session: AsyncSession, user: StaffUser, referral_id: uuid.UUID, other_id: uuid.UUID
) -> dict[uuid.UUID, dict[str, Any]]:
    rows = await repo.lock_many(session, [referral_id, other_id])
    found = {r["id"]: r for r in rows}
    if len(found) != 2 or not all(sees(user, r) for r in found.values()):
        raise NotFoundError("no such pair of referrals in your area")
    return found


async def decide(
    runtime: Runtime,
    user: StaffUser,
    referral_id: uuid.UUID,
    other_id: uuid.UUID,
    *,
    confirm: bool,
    route: str,
) -> DuplicateDecision:
    if referral_id == other_id:
        raise InvalidInputError("a referral cannot duplicate itself", field="other_id")
    async with transaction(runtime.sessions) as session:
        pair = await _load_pair(session, user, referral_id, other_id)
        referral = pair[referral_id]
        state: DuplicateVerdict = "confirmed" if confirm else "rejected"
        await _record_decision(session, user, referral_id, other_id, state)
        if confirm:
            referral = await _close_as_merged(session, referral)
        for subject, partner in ((referral_id, other_id), (other_id, referral_id)):
            await repo.add_event(
                session,
                subject,
                f"duplicate_{state}",
                actor=user.username,
                data={"other_id": str(partner)},
            )
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action=f"duplicate_{state}",
            subject_type="referral",
            subject_id=str(referral_id),
            route=route,
            detail={"other_id": str(other_id)},
        )
    if confirm:
        runtime.assignment_runs.request(
            "duplicate_confirmed", [f"referral:{referral_id}", f"referral:{other_id}"]
        )
    return DuplicateDecision(
        referral_id=referral_id,
        other_id=other_id,
        state=state,
        referral_status=referral["status"],
        referral_outcome=referral["outcome"],
    )


async def _record_decision(
    session: AsyncSession, user: StaffUser, referral_id: uuid.UUID, other_id: uuid.UUID, state: str
) -> None:
    await repo.upsert_duplicate_decision(
        session, referral_id, other_id, state=state, decided_by=user.id
    )


async def _close_as_merged(session: AsyncSession, referral: dict[str, Any]) -> dict[str, Any]:
    if referral["status"] == "closed":
        if referral["outcome"] != "duplicate_merged":
            raise ConflictError("the referral is already closed with another outcome")
        return referral
    return await repo.mark_duplicate_merged(session, referral["id"])
