"""A week-by-week series of referrals received and contacts observed for the console's chart.

Only what the caller may see is counted (``staff_may_see``), so the series is exact in the
same sense as the rows of their own area in ``GET /v1/stats``; a figure outside their scope
is never in it, so there is nothing to suppress. Every week of the period is listed.
"""

from __future__ import annotations

import datetime as dt

from service import access
from service.access import StaffUser
from service.db import figures as repo
from service.db import teams as teams_repo
from service.db.engine import transaction
from service.runtime import Runtime
from service.schemas.figures import WeekFigures, WeeklySeries
from service.usecases.figures.stats import check_filter, make_period


def mondays(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Mondays of the weeks that meet ``[first, last]``.

    >>> mondays(dt.date(2026, 11, 4), dt.date(2026, 11, 16))
    [datetime.date(2026, 11, 2), datetime.date(2026, 11, 9), datetime.date(2026, 11, 16)]
    """
    monday = first - dt.timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    return weeks


async def weekly(
    runtime: Runtime,
    user: StaffUser,
    *,
    from_date: dt.date | None,
    to_date: dt.date | None,
    authority: str | None,
    team_id: int | None,
) -> WeeklySeries:
    period = make_period(from_date, to_date)
    params = {
        "start": period.start,
        "end": period.end,
        "authority": authority,
        "team_id": team_id,
        **access.params_of(user),
    }
    async with transaction(runtime.sessions) as session:
        check_filter(
            await repo.authorities(session),
            await teams_repo.list_teams(session),
            authority,
            team_id,
        )
        rows = {r["week_start"]: r for r in await repo.weekly(session, params)}
    weeks = [
        WeekFigures(
            week_start=monday,
            referrals=int(rows[monday]["referrals"]) if monday in rows else 0,
            contacts=int(rows[monday]["contacts"]) if monday in rows else 0,
        )
        for monday in mondays(period.from_date, period.to_date)
    ]
    return WeeklySeries(period=period, weeks=weeks)
