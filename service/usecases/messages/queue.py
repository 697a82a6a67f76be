"""Putting messages in the outbox, always inside the transaction of the change that causes
them (so a rolled-back change sends nothing and a committed one cannot lose its message).

- a new referral: the referrer's acknowledgement and an urgent alert to its team are written
  by the intake statement itself (``referral_intake.sql``), with :func:`intake_params`;
- an outcome: :func:`referrer_update`;
- SWEP switched on, a referral new on today's run-sheet: :func:`team_alert`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import messages as repo
from service.settings import Settings
from streetlink.schema import ReferrerContact


def push_on(settings: Settings) -> bool:
    """Whether alerts may go by Web Push (a VAPID key is configured)."""
    return bool(settings.vapid_private_key)


SILENT_SOURCES = frozenset({"csv"})
"""Intake sources that send nothing: an imported file holds old alerts whose referrers were
never given a link by this service, and whose urgency is long past."""


def intake_params(
    settings: Settings,
    referrer: ReferrerContact | None,
    token: str,
    now: dt.datetime,
    *,
    source: str,
) -> dict[str, Any]:
    """Parameters of the intake statement's outbox rows. The status token is kept (with the
    referrer's details) only when they want updates by email: the updates carry the link."""
    live = source not in SILENT_SOURCES
    wants_email = bool(live and referrer and referrer.wants_update and referrer.email)
    return {
        "update_token": token if wants_email else None,
        "alert_team": live,
        "now": now,
        "push_on": push_on(settings),
    }


async def referrer_update(session: AsyncSession, referral_id: uuid.UUID, template: str) -> None:
    """Tell the referrer (if they asked to be told, by email) about their referral."""
    await repo.queue_referrer_update(session, referral_id, template)


async def team_alert(
    session: AsyncSession,
    settings: Settings,
    *,
    message_key: str,
    template: str,
    team_ids: list[int],
    reference: str,
    referral_id: uuid.UUID | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Alert the workers on shift of these teams (their devices, else the team's email
    address); ``message_key`` names the event, so the same event never alerts twice."""
    if not team_ids:
        return 0
    return await repo.queue_team_alert(
        session,
        message_key=message_key,
        template=template,
        team_ids=team_ids,
        params={"reference": reference},
        referral_id=referral_id,
        now=now or dt.datetime.now(dt.UTC),
        push_on=push_on(settings),
    )


async def run_sheet_alerts(
    session: AsyncSession,
    settings: Settings,
    placed: list[tuple[uuid.UUID, int]],
    *,
    day: dt.date,
    now: dt.datetime,
) -> int:
    """Alert each team of the referrals ``(referral id, team id)`` placed on its run-sheet for
    ``day``; a referral already on it alerts nobody again."""
    return await repo.queue_run_sheet_alerts(
        session, placed=placed, day=day, now=now, push_on=push_on(settings)
    )
