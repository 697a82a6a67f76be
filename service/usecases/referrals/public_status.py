"""The referrer's view of their referral: the lifecycle in plain words, nothing personal.

Nothing in it depends on other people's reports: a referral that staff merged into another
as a duplicate reads as closed with no outcome text (saying "someone else reported the same
person" would confirm that someone was reported near the referrer's pin).
"""

from __future__ import annotations

from service.db import referrals as repo
from service.db.engine import transaction
from service.exceptions import NotFoundError
from service.runtime import Runtime
from service.schemas.referrals import PublicStatus, Stage
from service.usecases.referrals.intake import token_matches
from streetlink.errors import InvalidReferenceError
from streetlink.references import parse_reference

STAGES: dict[str, Stage] = {
    "received": "received",
    "assigned": "being_looked_into",
    "attempted": "being_looked_into",
    "closed": "closed",
}
STAGE_TEXT: dict[Stage, str] = {
    "received": "We have received your alert and it is waiting for the local outreach team.",
    "being_looked_into": "The local outreach team is looking into your alert.",
    "closed": "The outreach team has finished looking into your alert.",
}
OUTCOME_TEXT: dict[str, str] = {
    "found_engaged": "The outreach team found the person and talked with them about support.",
    "found_accommodated": "The outreach team found the person and helped them into accommodation.",
    "found_declined": "The outreach team found the person and offered support.",
    "already_known": "The person is already known to the outreach team, who are working with them.",
    "found_not_rough_sleeping": "The team found that the person was not sleeping rough.",
    "not_found": "The outreach team looked but could not find anyone sleeping rough there.",
    "insufficient_information": "There was not enough detail for the team to find the person.",
    "out_of_area_forwarded": "The location is outside Greater Essex; your alert was passed on.",
    "closed_no_activity": "The alert was closed because no outcome was recorded for it in time.",
}
"""Outcome texts shown to the referrer; every outcome code is here or in :data:`UNTOLD`."""
UNTOLD = frozenset({"duplicate_merged"})
"""Outcomes that depend on other people's reports: the referrer sees only "closed"."""
NOT_FOUND = "no referral with that reference and token"
LONDON_FORMAT = "%d %B %Y, %H:%M"


async def public_status(runtime: Runtime, reference: str, token: str) -> PublicStatus:
    """Unknown reference and wrong token look the same: existence is never revealed."""
    status, _ = await load_public_status(runtime, reference, token)
    return status


async def load_public_status(
    runtime: Runtime, reference: str, token: str
) -> tuple[PublicStatus, bool]:
    """The public status and whether the alert was urgent (the referrer sees 999 guidance)."""
    try:
        canonical = parse_reference(reference)
    except InvalidReferenceError:
        raise NotFoundError(NOT_FOUND) from None
    async with transaction(runtime.sessions) as session:
        row = await repo.get_public(session, canonical)
    if row is None or not token_matches(row, token):
        raise NotFoundError(NOT_FOUND)
    stage = STAGES[row["status"]]
    status = PublicStatus(
        reference=row["reference"],
        stage=stage,
        stage_text=STAGE_TEXT[stage],
        outcome_text=OUTCOME_TEXT.get(row["outcome"] or ""),
        received_at=row["received_at"],
        last_update_at=row["updated_at"],
    )
    return status, bool(row["urgent"])
