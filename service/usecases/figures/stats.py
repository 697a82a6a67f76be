"""Figures for a period per authority and per team, exact or suppressed.

Who sees exact numbers (everything else is suppressed, see :mod:`disclosure`):

* ``audience=public``: nobody; this is the view for anything shared widely (reports, board
  papers, the press), whoever asks for it;
* ``audience=staff``: administrators see every row exactly; a coordinator sees the rows of
  their authorities, and of teams that work only in their authorities; any member of staff
  sees the rows of their own teams. Other rows are suppressed, so everyone can compare
  areas without learning about small numbers elsewhere.

Suppressed figures are safe only if no two answers can be subtracted
(:mod:`disclosure`, "Figures outside the caller's scope"), so they are given

* only for one calendar month (Europe/London) that has ended: for any other period they are
  left out (``outside_scope="withheld"``), and ``audience=public`` (all suppressed) is a 400
  problem;
* only as authority rows: teams outside the caller's scope are left out (a team's row minus
  the rows of the authorities it covers would give what is suppressed in one of them), and
  so are suppressed authority rows narrowed by ``team`` (a team within an authority);
* with the month's secondary suppression, the same as the map's cells
  (:func:`months.month_figures`).

Figures are aggregates: reading them is not a read of personal data and is not audited.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from service import access
from service.access import StaffUser
from service.db import figures as repo
from service.db import teams as teams_repo
from service.db.engine import transaction
from service.exceptions import InvalidInputError, InvalidQueryError
from service.runtime import Runtime
from service.schemas import figures as wire
from service.usecases.figures import disclosure, months
from service.usecases.persons import cohorts
from service.usecases.referrals.sla import LONDON
from service.vocabularies import COHORTS, OUTCOME_CODES

MAX_PERIOD_DAYS = 3 * 366 + 1
DEFAULT_PERIOD_DAYS = 90
# The days a period may name: wide enough for any record (and its five-year cohort look-back),
# narrow enough that no day before or after it falls off the calendar.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
COHORT_RULE = cohorts.DEFAULT_RULE


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_period(from_date: dt.date | None, to_date: dt.date | None) -> wire.Period:
    """Whole London days, both ends included; by default the 90 days up to today.

    >>> p = make_period(dt.date(2025, 3, 30), dt.date(2025, 3, 30))  # the clocks go forward
    >>> p.start.isoformat(), p.end.isoformat()
    ('2025-03-30T00:00:00+00:00', '2025-03-30T23:00:00+00:00')
    >>> make_period(dt.date(2025, 2, 1), dt.date(2025, 1, 31))
    Traceback (most recent call last):
    ...
    service.exceptions.InvalidInputError: the period ends before it starts
    >>> make_period(None, dt.date(1, 1, 1))
    Traceback (most recent call last):
    ...
    service.exceptions.InvalidInputError: give a day from 2000-01-01 to 2099-12-31
    """
    for name, day in (("from", from_date), ("to", to_date)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInputError(f"give a day from {FIRST_DAY} to {LAST_DAY}", field=name)
    to_date = to_date or _now().astimezone(LONDON).date()
    from_date = from_date or max(FIRST_DAY, to_date - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    if to_date < from_date:
        raise InvalidInputError("the period ends before it starts", field="to")
    if (to_date - from_date).days >= MAX_PERIOD_DAYS:
        raise InvalidInputError(f"ask for at most {MAX_PERIOD_DAYS} days", field="from")
    return wire.Period(
        from_date=from_date,
        to_date=to_date,
        start=months.london_midnight(from_date),
        end=months.london_midnight(to_date + dt.timedelta(days=1)),
    )


@dataclass(slots=True)
class Tallies:
    """Everything counted for one authority or team."""

    referrals: Mapping[str, Any] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    contacts: Mapping[str, Any] = field(default_factory=dict)
    cohorts: Counter[str] = field(default_factory=Counter)


def figures(kind: str, key: str | int, name: str, tallies: Tallies, *, exact: bool) -> wire.Figures:
    """One row of figures, suppressed unless ``exact``."""
    ref = tallies.referrals
    n = disclosure.count
    closed = ref.get("closed", 0)
    shown = disclosure.partition(
        {code: tallies.outcomes[code] for code in OUTCOME_CODES}, exact=exact
    )
    outcomes: dict[str, wire.OutcomeFigure] = {
        code: wire.OutcomeFigure(
            count=shown[code],
            share=disclosure.WITHHELD
            if shown[code] == disclosure.SUPPRESSED and closed
            else disclosure.rate(tallies.outcomes[code], closed, exact=exact),
        )
        for code in OUTCOME_CODES
    }
    return wire.Figures(
        kind="authority" if kind == "authority" else "team",
        code=str(key) if kind == "authority" else None,
        team_id=int(key) if kind == "team" else None,
        name=name,
        exact=exact,
        referrals_received=n(ref.get("received", 0), exact=exact),
        referrals_closed=n(closed, exact=exact),
        referrals_searched=n(ref.get("searched", 0), exact=exact),
        referrals_found=n(ref.get("found", 0), exact=exact),
        found_rate=disclosure.rate(ref.get("found", 0), ref.get("searched", 0), exact=exact),
        outcomes=outcomes,
        median_hours_to_first_attempt=disclosure.median(
            ref.get("median_hours_to_first_attempt"), ref.get("attempted", 0), exact=exact
        ),
        median_hours_to_outcome=disclosure.median(
            ref.get("median_hours_to_outcome"), closed, exact=exact
        ),
        sla_breaches=n(ref.get("sla_breaches", 0), exact=exact),
        contacts=n(tallies.contacts.get("contacts", 0), exact=exact),
        verified_bedded_down_people=n(tallies.contacts.get("verified_people", 0), exact=exact),
        cohorts=wire.Cohorts(**{c: n(tallies.cohorts[c], exact=exact) for c in COHORTS}),
    )


def withhold(row: wire.Figures, *, referrals: bool, contacts: bool) -> wire.Figures:
    """A suppressed row with its referral or contact figures withheld whole: secondary
    suppression, where the month's pattern says a small number could be worked out."""
    gone = disclosure.SUPPRESSED
    changes: dict[str, Any] = {}
    if referrals:
        changes |= {name: gone for name in REFERRAL_COUNTS}
        changes |= {name: disclosure.WITHHELD for name in REFERRAL_DERIVED}
        changes["outcomes"] = {
            code: wire.OutcomeFigure(count=gone, share=disclosure.WITHHELD) for code in row.outcomes
        }
    if contacts:
        changes |= {"contacts": gone, "verified_bedded_down_people": gone}
        changes["cohorts"] = wire.Cohorts(**{c: gone for c in COHORTS})
    return msgspec.structs.replace(row, **changes)


REFERRAL_COUNTS = (
    "referrals_received",
    "referrals_closed",
    "referrals_searched",
    "referrals_found",
    "sla_breaches",
)
REFERRAL_DERIVED = ("found_rate", "median_hours_to_first_attempt", "median_hours_to_outcome")


class _Tally:
    """Tallies per authority code and per team id, filled from grouped query rows."""

    def __init__(self) -> None:
        self.authorities: defaultdict[str, Tallies] = defaultdict(Tallies)
        self.teams: defaultdict[int, Tallies] = defaultdict(Tallies)

    def target(self, row: Mapping[str, Any]) -> Tallies | None:
        if row["by_authority"]:
            code = row["authority_code"]
            return None if code is None else self.authorities[code]
        team = row["team_id"]
        return None if team is None else self.teams[team]


def _tally(
    referrals: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Mapping[str, Any]],
    contacts: Iterable[Mapping[str, Any]],
) -> _Tally:
    tally = _Tally()
    for row in referrals:
        if (target := tally.target(row)) is not None:
            target.referrals = row
    for row in outcomes:
        if (target := tally.target(row)) is not None:
            target.outcomes[row["outcome"]] += row["n"]
    for row in contacts:
        if (target := tally.target(row)) is not None:
            target.contacts = row
    return tally


def _count_cohorts(
    tally: _Tally,
    seen: Iterable[Mapping[str, Any]],
    facts: Iterable[Mapping[str, Any]],
    period: wire.Period,
) -> None:
    """Each person seen in an authority (or by a team) counts once there, in their cohort."""
    history: defaultdict[Any, list[cohorts.ContactFact]] = defaultdict(list)
    for fact in facts:
        history[fact["root"]].append(
            cohorts.ContactFact(fact["observed_at"], fact["bedded_down"], fact["in_area"])
        )
    cohort_of = {
        root: cohorts.cohort_between(items, period.start, period.end, COHORT_RULE)
        for root, items in history.items()
    }
    by_authority = {(r["root"], r["authority_code"]) for r in seen if r["authority_code"]}
    by_team = {(r["root"], r["team_id"]) for r in seen}
    for root, code in by_authority:
        if name := cohort_of.get(root):
            tally.authorities[code].cohorts[name] += 1
    for root, team in by_team:
        if name := cohort_of.get(root):
            tally.teams[team].cohorts[name] += 1


def _rows_wanted(
    authorities: Sequence[Mapping[str, Any]],
    teams: Sequence[Mapping[str, Any]],
    tally: _Tally,
    *,
    authority: str | None,
    team_id: int | None,
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Every authority and team matching the filter, and any with figures."""
    team_covers = {t["id"]: set(t["covers"]) for t in teams}
    wanted_codes = set(tally.authorities)
    wanted_teams = set(tally.teams)
    for a in authorities:
        code = a["code"]
        if (authority in (None, code)) and (team_id is None or code in team_covers[team_id]):
            wanted_codes.add(code)
    for t in teams:
        in_filter = team_id in (None, t["id"])
        if in_filter and (authority is None or authority in t["covers"]) and t["active"]:
            wanted_teams.add(t["id"])
    return (
        [a for a in authorities if a["code"] in wanted_codes],
        [t for t in teams if t["id"] in wanted_teams],
    )


def check_filter(
    authorities: Sequence[Mapping[str, Any]],
    teams: Sequence[Mapping[str, Any]],
    authority: str | None,
    team_id: int | None,
) -> None:
    if authority is not None and authority not in {a["code"] for a in authorities}:
        raise InvalidInputError("there is no such authority", field="authority")
    if team_id is not None and team_id not in {t["id"] for t in teams}:
        raise InvalidInputError("there is no such team", field="team")


OUTSIDE_SCOPE_PERIOD = (
    "figures for everyone (audience=public) are given only for one calendar month that has "
    "ended: ask for from=<its first day>&to=<its last day>"
)


async def report(
    runtime: Runtime,
    user: StaffUser,
    *,
    from_date: dt.date | None,
    to_date: dt.date | None,
    authority: str | None,
    team_id: int | None,
    audience: wire.Audience,
) -> wire.StatsReport:
    period = make_period(from_date, to_date)
    now = _now()
    whole_month = disclosure.is_whole_month(
        period.from_date, period.to_date, today=now.astimezone(LONDON).date()
    )
    if audience == "public" and not whole_month:
        raise InvalidQueryError(OUTSIDE_SCOPE_PERIOD, field="from")
    params = {
        "start": period.start,
        "end": period.end,
        "authority": authority,
        "team_id": team_id,
    }
    async with transaction(runtime.sessions) as session:
        await repo.consistent_snapshot(session)
        authorities = await repo.authorities(session)
        teams = await teams_repo.list_teams(session)
        check_filter(authorities, teams, authority, team_id)
        tally = _tally(
            await repo.referral_figures(session, {**params, "now": now}),
            await repo.outcome_counts(session, params),
            await repo.contact_figures(session, params),
        )
        seen = await repo.people_seen(session, params)
        facts = await repo.cohort_facts(
            session,
            sorted({r["root"] for r in seen}),
            since=cohorts.months_before(period.start, COHORT_RULE.lookback_months),
            end=period.end,
        )
        exact = access.exact_figures(user, public=audience == "public")
        month = (
            await _month_patterns(runtime, session, user, period.from_date)
            if whole_month and not exact.everything
            else None
        )
    _count_cohorts(tally, seen, facts, period)
    area_rows, team_rows = _rows_wanted(
        authorities, teams, tally, authority=authority, team_id=team_id
    )
    names = {a["code"]: a["name"] for a in authorities}
    return wire.StatsReport(
        period=period,
        audience=audience,
        suppression_threshold=disclosure.THRESHOLD,
        outside_scope="suppressed" if whole_month else "withheld",
        generated_at=now,
        authorities=[
            row
            for a in area_rows
            if (row := _authority_row(a["code"], names, tally, exact, month, team_id))
        ],
        teams=[
            figures("team", t["id"], t["name"], tally.teams[t["id"]], exact=True)
            for t in team_rows
            if exact.team(t["id"])
        ],
    )


async def _month_patterns(
    runtime: Runtime, session: Any, user: StaffUser, first: dt.date
) -> dict[str, disclosure.MonthFigures]:
    """The month's suppression of referrals and of contacts, as the map's cells have it."""
    return {
        kind: await months.month_figures(
            session,
            kind,
            month=first,
            known=access.scope_of(user),
            cells_count_known=user.role not in runtime.settings.tile_point_roles,
            cell_zoom=runtime.settings.tile_cell_zoom,
        )
        for kind in months.KINDS
    }


def _authority_row(
    code: str,
    names: Mapping[str, str],
    tally: _Tally,
    exact: access.FigureScope,
    month: Mapping[str, disclosure.MonthFigures] | None,
    team_id: int | None,
) -> wire.Figures | None:
    """An authority's row: exact in the caller's scope; elsewhere suppressed, and only for a
    whole month and when ``team`` does not narrow it (``None`` otherwise)."""
    if exact.authority(code):
        return figures("authority", code, names[code], tally.authorities[code], exact=True)
    if month is None or team_id is not None:
        return None
    row = figures("authority", code, names[code], tally.authorities[code], exact=False)
    return withhold(
        row,
        referrals=not month["referral"].authorities.get(code, True),
        contacts=not month["contact"].authorities.get(code, True),
    )
