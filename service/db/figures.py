"""Repository for period figures: referrals, outcomes, contacts and people, grouped per
authority and per team in one pass each (``GROUPING SETS``); the SQL is in ``sql/stats_*``.

Every query takes the same filter: ``start``/``end`` (timestamps, end exclusive) and the
optional ``authority`` (ONS code) and ``team_id``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import CUSTOM_PLANS, sql

AUTHORITIES_SQL = text(
    "SELECT a.code, a.name FROM authorities a "
    "JOIN boundary_versions v ON v.id = a.version_id AND v.is_current ORDER BY a.code"
)


async def consistent_snapshot(session: AsyncSession) -> None:
    """Make the figures of one report agree with each other: every query of this (fresh)
    transaction sees the same snapshot. Must come first in the transaction."""
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    await session.execute(CUSTOM_PLANS)  # per-authority figures: no generic plans


async def authorities(session: AsyncSession) -> list[dict[str, Any]]:
    """The current authorities (code, name), by code."""
    return [dict(r) for r in (await session.execute(AUTHORITIES_SQL)).mappings()]


async def _rows(session: AsyncSession, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in (await session.execute(sql(name), params)).mappings()]


async def referral_figures(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Counts, medians and SLA breaches; ``by_authority`` tells the grouping of each row.
    Needs ``now`` besides the filter (when unfinished referrals are judged)."""
    return await _rows(session, "stats_referrals", params)


async def outcome_counts(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    return await _rows(session, "stats_outcomes", params)


async def contact_figures(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    return await _rows(session, "stats_contacts", params)


async def people_seen(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``(root, authority_code, team_id)`` for every person with a contact in the period."""
    return await _rows(session, "stats_people_seen", params)


async def cohort_facts(
    session: AsyncSession, roots: Sequence[uuid.UUID], *, since: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    """``(root, observed_at, bedded_down, in_area)`` of these people's families."""
    if not roots:
        return []
    return await _rows(
        session, "stats_cohort_facts", {"roots": list(roots), "since": since, "end": end}
    )


async def month_groups(
    session: AsyncSession, kind: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """``(authority_code, cx, cy, records, hidden)`` for the referrals (``kind="referral"``)
    or contacts (``"contact"``) of one period; ``params``: ``start``, ``end``, ``cell_m`` and
    the caller's scope (``service.access.params``)."""
    return await _rows(session, "figures_groups", {**params, "kind": kind})


async def weekly(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``(week_start, referrals, contacts)`` per week with any, in the caller's scope."""
    return await _rows(session, "figures_weekly", params)
