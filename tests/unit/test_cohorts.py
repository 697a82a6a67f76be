"""The CHAIN-style cohort rule, without a database: boundaries of the 60-month look-back, of
the three-week span and of the current period."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest

from service.usecases.persons import cohorts
from service.usecases.persons import records as persons
from service.usecases.persons.cohorts import CohortRule, ContactFact, cohort, months_before
from service.usecases.staff import audit as audit_views

NOW = dt.datetime(2025, 6, 30, 7, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def bedded(at: dt.datetime, *, in_area: bool = True) -> ContactFact:
    return ContactFact(observed_at=at, bedded_down=True, in_area=in_area)


def contact(at: dt.datetime) -> ContactFact:
    return ContactFact(observed_at=at, bedded_down=False)


@pytest.mark.parametrize("module", [cohorts, persons, audit_views], ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_no_contacts_or_none_in_the_period_has_no_cohort():
    assert cohort([], NOW) is None
    assert cohort([bedded(NOW - 91 * DAY)], NOW) is None


def test_the_period_includes_its_first_instant():
    assert cohort([bedded(NOW - 90 * DAY)], NOW) == "new"


def test_a_bedded_down_contact_exactly_60_months_before_the_first_contact_is_not_new():
    first = NOW - 10 * DAY
    history = [contact(first), bedded(months_before(first, 60))]
    assert cohort(history, NOW) == "intermittent"


def test_one_microsecond_more_than_60_months_before_is_new():
    first = NOW - 10 * DAY
    earlier = months_before(first, 60) - dt.timedelta(microseconds=1)
    assert cohort([contact(first), bedded(earlier)], NOW) == "new"


def test_only_bedded_down_contacts_in_greater_essex_count_as_seen_before():
    first = NOW - 10 * DAY
    assert cohort([bedded(first), contact(first - 365 * DAY)], NOW) == "new"
    assert cohort([bedded(first), bedded(first - 365 * DAY, in_area=False)], NOW) == "new"
    assert cohort([bedded(first), bedded(first - 365 * DAY)], NOW) == "intermittent"


def test_the_look_back_is_from_the_first_contact_in_the_period_not_from_now():
    # Seen 5 years and 2 months ago: more than 60 months before now, but the first contact
    # of the period was 80 days ago, so the earlier contact is within its 60 months.
    first = NOW - 80 * DAY
    earlier = months_before(first, 60) + DAY
    assert earlier < months_before(NOW, 60)
    assert cohort([bedded(first), bedded(earlier)], NOW) == "intermittent"


def _known_for_years(*days_ago: float) -> list[ContactFact]:
    return [bedded(NOW - 400 * DAY), *(bedded(NOW - d * DAY) for d in days_ago)]


def test_three_bedded_down_contacts_exactly_three_weeks_apart_are_living_on_the_streets():
    assert cohort(_known_for_years(30, 20, 9), NOW) == "living_on_the_streets"


def test_the_three_week_span_boundary_to_the_second():
    one_second = dt.timedelta(seconds=1)
    history = [*_known_for_years(30, 20), bedded(NOW - 9 * DAY - one_second)]
    assert cohort(history, NOW) == "intermittent"  # 21 days less a second
    history = [*_known_for_years(30, 20), bedded(NOW - 9 * DAY + one_second)]
    assert cohort(history, NOW) == "living_on_the_streets"


def test_contacts_that_are_not_bedded_down_do_not_make_someone_live_on_the_streets():
    history = [bedded(NOW - 400 * DAY), *(contact(NOW - d * DAY) for d in (60, 40, 20, 5))]
    assert cohort(history, NOW) == "intermittent"


def test_new_takes_precedence_over_living_on_the_streets():
    assert cohort([bedded(NOW - d * DAY) for d in (60, 40, 20, 5)], NOW) == "new"


def test_the_rule_is_tunable():
    rule = CohortRule(period_days=30, lookback_months=12, min_bedded_down=2, min_span_days=7)
    history = [bedded(NOW - 500 * DAY), bedded(NOW - 20 * DAY), bedded(NOW - 10 * DAY)]
    assert cohort(history, NOW, rule) == "new"  # 500 days ago is beyond 12 months
    history = [bedded(NOW - 200 * DAY), bedded(NOW - 20 * DAY), bedded(NOW - 10 * DAY)]
    assert cohort(history, NOW, rule) == "living_on_the_streets"


def test_order_of_contacts_does_not_matter():
    history = _known_for_years(9, 30, 20)
    assert cohort(reversed(history), NOW) == cohort(history, NOW) == "living_on_the_streets"


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (dt.datetime(2025, 3, 31), 1, dt.datetime(2025, 2, 28)),
        (dt.datetime(2024, 2, 29), 12, dt.datetime(2023, 2, 28)),
        (dt.datetime(2024, 2, 29), 48, dt.datetime(2020, 2, 29)),
        (dt.datetime(2025, 1, 15), 13, dt.datetime(2023, 12, 15)),
    ],
)
def test_months_before_clamps_to_the_end_of_the_month(moment, months, expected):
    assert months_before(moment, months) == expected


def test_history_since_covers_the_look_back_of_the_earliest_possible_first_contact():
    rule = cohorts.DEFAULT_RULE
    since = cohorts.history_since(NOW, rule)
    assert since == months_before(NOW - 90 * DAY, 60)
