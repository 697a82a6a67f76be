"""CHAIN-style cohorts from a person's contact history: a pure rule, no database, no web.

A person seen in the *current period* (the last ``period_days`` days, 90 by default) falls in
exactly one cohort, checked in this order:

``new``
    Not seen rough sleeping (a bedded-down contact) in Greater Essex in the
    ``lookback_months`` (60, five years) before their first contact of the current period.
    The window is inclusive at its start: a bedded-down contact exactly 60 months before
    the first contact means they were seen, so they are not new.
``living_on_the_streets``
    At least ``min_bedded_down`` (3) bedded-down contacts in the current period, the first
    and last of them at least ``min_span_days`` (21, three weeks) apart (inclusive).
``intermittent``
    Everyone else seen in the period.

Someone with no contact in the current period has no cohort (``None``). Contacts outside
Greater Essex (no authority code) count as contacts but never as "seen rough sleeping in
the area". A contact exactly ``period_days`` ago is inside the period.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.vocabularies import Cohort


@dataclass(frozen=True, slots=True)
class CohortRule:
    """The tunable numbers of the rule (CHAIN's defaults)."""

    period_days: int = 90
    lookback_months: int = 60
    min_bedded_down: int = 3
    min_span_days: int = 21


DEFAULT_RULE = CohortRule()


@dataclass(frozen=True, slots=True)
class ContactFact:
    """What the rule needs of one contact."""

    observed_at: dt.datetime
    bedded_down: bool
    in_area: bool = True


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time ``months`` calendar months earlier, clamped to the month's end.

    >>> months_before(dt.datetime(2025, 3, 15, 6, 30), 60)
    datetime.datetime(2020, 3, 15, 6, 30)
    >>> months_before(dt.datetime(2024, 2, 29), 60)  # no 29 February in 2019
    datetime.datetime(2019, 2, 28, 0, 0)
    >>> months_before(dt.datetime(2025, 1, 31), 1)
    datetime.datetime(2024, 12, 31, 0, 0)
    """
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def history_since(now: dt.datetime, rule: CohortRule = DEFAULT_RULE) -> dt.datetime:
    """The oldest contact the rule can ever look at: load contacts from here on.

    >>> history_since(dt.datetime(2025, 6, 30), CohortRule(period_days=30, lookback_months=12))
    datetime.datetime(2024, 5, 31, 0, 0)
    """
    return months_before(now - dt.timedelta(days=rule.period_days), rule.lookback_months)


def cohort(
    contacts: Iterable[ContactFact], now: dt.datetime, rule: CohortRule = DEFAULT_RULE
) -> Cohort | None:
    """The person's cohort on ``now``, or ``None`` when not seen in the current period.

    >>> now = dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
    >>> def seen(days_ago, bedded=True, in_area=True):
    ...     return ContactFact(now - dt.timedelta(days=days_ago), bedded, in_area)
    >>> cohort([], now) is None
    True
    >>> cohort([seen(200)], now) is None  # seen, but not in the current period
    True
    >>> cohort([seen(5)], now)
    'new'
    >>> cohort([seen(5), seen(400)], now)  # seen rough sleeping a year before
    'intermittent'
    >>> cohort([seen(5), seen(400, in_area=False)], now)  # ... but outside Greater Essex
    'new'
    >>> cohort([seen(5), seen(400, bedded=False)], now)  # a contact, not bedded down
    'new'
    >>> cohort([seen(400), seen(40), seen(30), seen(19)], now)  # 21 days apart
    'living_on_the_streets'
    >>> cohort([seen(400), seen(40), seen(30), seen(20)], now)  # 20 days apart
    'intermittent'
    >>> cohort([seen(400), seen(40), seen(19)], now)  # only two bedded down
    'intermittent'
    >>> cohort([seen(40), seen(30), seen(19)], now)  # new wins over living on the streets
    'new'
    """
    return cohort_between(contacts, now - dt.timedelta(days=rule.period_days), None, rule)


def cohort_between(
    contacts: Iterable[ContactFact],
    start: dt.datetime,
    end: dt.datetime | None,
    rule: CohortRule = DEFAULT_RULE,
) -> Cohort | None:
    """The person's cohort for the reporting period ``[start, end)`` (``end`` ``None``: open),
    as in a CHAIN quarterly or annual report; contacts from ``end`` on are ignored.
    ``rule.period_days`` is not used: the period is given.

    >>> start = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)
    >>> end = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    >>> def on(month, day, bedded=True):
    ...     return ContactFact(dt.datetime(2025, month, day, tzinfo=dt.UTC), bedded)
    >>> cohort_between([on(3, 31)], start, end) is None  # the day before the period
    True
    >>> cohort_between([on(4, 1)], start, end)  # the period's first moment is inside
    'new'
    >>> cohort_between([on(7, 1)], start, end) is None  # its end is not
    True
    >>> cohort_between([on(1, 5), on(5, 1)], start, end)  # seen rough sleeping in January
    'intermittent'
    >>> cohort_between([on(1, 5), on(4, 2), on(4, 20), on(6, 30)], start, end)
    'living_on_the_streets'
    >>> cohort_between([on(1, 5), on(4, 2), on(4, 20), on(7, 30)], start, end)  # late one out
    'intermittent'
    """
    facts = sorted(
        (c for c in contacts if end is None or c.observed_at < end), key=lambda c: c.observed_at
    )
    current = [c for c in facts if c.observed_at >= start]
    if not current:
        return None
    if _is_new(facts, current[0].observed_at, rule):
        return "new"
    if _living_on_the_streets(current, rule):
        return "living_on_the_streets"
    return "intermittent"


def _is_new(facts: Sequence[ContactFact], first_in_period: dt.datetime, rule: CohortRule) -> bool:
    """No bedded-down contact in the area in ``[first - lookback, first)``.

    >>> first = dt.datetime(2025, 6, 1)
    >>> at_boundary = ContactFact(dt.datetime(2020, 6, 1), bedded_down=True)
    >>> just_before = ContactFact(dt.datetime(2020, 5, 31, 23, 59), bedded_down=True)
    >>> _is_new([at_boundary], first, DEFAULT_RULE)  # exactly 60 months before: seen
    False
    >>> _is_new([just_before], first, DEFAULT_RULE)  # a minute earlier: too long ago
    True
    """
    window_start = months_before(first_in_period, rule.lookback_months)
    return not any(
        c.bedded_down and c.in_area and window_start <= c.observed_at < first_in_period
        for c in facts
    )


def _living_on_the_streets(current: Sequence[ContactFact], rule: CohortRule) -> bool:
    bedded = [c.observed_at for c in current if c.bedded_down]
    if len(bedded) < max(rule.min_bedded_down, 1):
        return False
    return bedded[-1] - bedded[0] >= dt.timedelta(days=rule.min_span_days)
