"""One calendar month's figures outside a caller's scope, as every output shows them.

``GET /v1/stats`` (authority rows) and the map's cell layers both ask :func:`month_figures`,
so a month's suppression pattern is the same wherever it is read (see
:mod:`service.usecases.figures.disclosure` for the rule and why it is safe).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from geo.tiles import tile_size_m
from service import access
from service.db import figures as repo
from service.usecases.figures import disclosure
from service.usecases.referrals.sla import LONDON

KINDS = ("referral", "contact")
"""What is counted: referrals (by ``received_at``) and contacts (by ``observed_at``)."""


def london_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), LONDON).astimezone(dt.UTC)


def month_bounds(first: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` of the calendar month starting on ``first``, in UTC.

    >>> [t.isoformat() for t in month_bounds(dt.date(2025, 3, 1))]
    ['2025-03-01T00:00:00+00:00', '2025-03-31T23:00:00+00:00']
    """
    return london_midnight(first), london_midnight(disclosure.next_month(first))


def cell_month(until: dt.datetime, now: dt.datetime) -> dt.date:
    """The month the map's cells count for a window ending at ``until``: the last calendar
    month (Europe/London) that has ended by ``until`` (and by now).

    >>> now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    >>> cell_month(dt.datetime(2025, 3, 10, tzinfo=dt.UTC), now)
    datetime.date(2025, 2, 1)
    >>> cell_month(dt.datetime(2025, 3, 31, 23, tzinfo=dt.UTC), now)  # 1 April in London
    datetime.date(2025, 3, 1)
    >>> cell_month(now, dt.datetime(2025, 3, 10, tzinfo=dt.UTC))  # not beyond now
    datetime.date(2025, 2, 1)
    """
    return disclosure.last_whole_month(min(until, now).astimezone(LONDON).date())


async def month_figures(
    session: AsyncSession,
    kind: str,
    *,
    month: dt.date,
    known: access.Scope,
    cells_count_known: bool,
    cell_zoom: int,
) -> disclosure.MonthFigures:
    """The month's authority rows and cells of ``kind`` as shown to a reader who may see the
    records of ``known``. ``cells_count_known``: the map's cells count the records the reader
    may see too (roles that get no points)."""
    start, end = month_bounds(month)
    rows = await repo.month_groups(
        session,
        kind,
        {"start": start, "end": end, "cell_m": tile_size_m(cell_zoom), **access.params(known)},
    )
    return disclosure.suppress_month(
        disclosure.Group(
            authority_code=r["authority_code"],
            cx=r["cx"],
            cy=r["cy"],
            records=r["records"],
            hidden=r["hidden"],
            counted=r["records"] if cells_count_known else r["hidden"],
        )
        for r in rows
    )
