"""Wire types for period figures (``GET /v1/stats``) and the snapshot-style return."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Count = Annotated[
    int | Literal["<5"],
    msgspec.Meta(description='A count; "<5" where a small number is suppressed'),
]
Derived = Annotated[
    float | Literal["suppressed"] | None,
    msgspec.Meta(
        description=(
            'A rate, share or median; "suppressed" where it could reveal a small number, '
            "null where there is nothing to compute it from"
        )
    ),
]
Audience = Literal["staff", "public"]


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """Whole days in Europe/London time, both ends included."""

    from_date: dt.date = msgspec.field(name="from")
    to_date: dt.date = msgspec.field(name="to")
    start: dt.datetime
    """The first moment of the period (UTC)."""
    end: dt.datetime
    """The moment just after the period (UTC, exclusive)."""


class OutcomeFigure(msgspec.Struct, frozen=True, kw_only=True):
    count: Count
    share: Derived
    """Of the closed referrals."""


class Cohorts(msgspec.Struct, frozen=True, kw_only=True):
    """People with a contact in the period, by CHAIN cohort (see ``usecases/cohorts.py``)."""

    new: Count
    living_on_the_streets: Count
    intermittent: Count


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """One authority's or team's figures for the period.

    Referrals count by the time they were received. ``found_rate`` is the share of searched
    referrals (closed, other than duplicates, forwarded ones and those closed for lack of
    activity) where the person was found (engaged, accommodated, declined, already known, not
    rough sleeping). Medians are hours from receipt. A referral breached its SLA when the
    first search (or the closure) came after the end of the next shift, or the outcome came
    after it was due (open ones judged now). Contacts count by the time they were observed;
    ``verified_bedded_down_people`` are distinct people seen bedded down.
    """

    kind: Literal["authority", "team"]
    code: str | None = None
    """The authority's ONS code (authority rows)."""
    team_id: int | None = None
    """The team's id (team rows)."""
    name: str
    exact: bool
    """Whether these figures are exact (your own area, for staff) or suppressed."""
    referrals_received: Count
    referrals_closed: Count
    referrals_searched: Count
    referrals_found: Count
    found_rate: Derived
    outcomes: dict[str, OutcomeFigure]
    median_hours_to_first_attempt: Derived
    median_hours_to_outcome: Derived
    sla_breaches: Count
    contacts: Count
    verified_bedded_down_people: Count
    cohorts: Cohorts


class StatsReport(msgspec.Struct, frozen=True, kw_only=True):
    period: Period
    audience: Audience
    suppression_threshold: int
    """Counts under this are shown as "<5" where figures are suppressed."""
    outside_scope: Literal["suppressed", "withheld"]
    """Figures outside your own scope (every row with ``audience=public``) are given only for
    one calendar month (Europe/London) that has ended, and only as authority rows not narrowed
    by ``team``: "suppressed" when this report holds them (small numbers suppressed, and more
    where one could be worked out from others), "withheld" when the period is not such a
    month and they are left out."""
    generated_at: dt.datetime
    authorities: list[Figures]
    teams: list[Figures]


class SnapshotArea(msgspec.Struct, frozen=True, kw_only=True):
    """People seen bedded down in the period whose last such contact was in this authority,
    by gender, age band and (administrators only) nationality band."""

    code: str
    name: str
    total: Count
    gender: dict[str, Count]
    age_band: dict[str, Count]
    nationality: dict[str, Count] | msgspec.UnsetType = msgspec.UNSET


class SnapshotReturn(msgspec.Struct, frozen=True, kw_only=True):
    period: Period
    suppression_threshold: int
    generated_at: dt.datetime
    authorities: list[SnapshotArea]


class WeekFigures(msgspec.Struct, frozen=True, kw_only=True):
    week_start: dt.date
    """The Monday (Europe/London) the week starts on."""
    referrals: int
    contacts: int


class WeeklySeries(msgspec.Struct, frozen=True, kw_only=True):
    """Referrals received and contacts observed per week, counting only what you may see
    (so exact, like the rows of your own area in ``GET /v1/stats``), every week of the period
    listed (zero where nothing happened)."""

    period: Period
    weeks: list[WeekFigures]


class ExportCounts(msgspec.Struct, frozen=True, kw_only=True):
    """How many rows each CSV export would hold now for these filters (nothing is exported
    and nothing personal is read)."""

    referrals: int
    contacts: int
