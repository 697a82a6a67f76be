"""``GET /v1/stats``: figures per authority and team equal counts made here from the tables,
and small numbers are suppressed for wide audiences and outside the caller's area."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

import pytest

from service.usecases.persons import cohorts
from tests.conftest import assert_problem
from tests.integration.figures_data import END, FROM, PLACES, START, TO, seed_world

COUNTS = (
    "referrals_received",
    "referrals_closed",
    "referrals_searched",
    "referrals_found",
    "sla_breaches",
    "contacts",
    "verified_bedded_down_people",
)
FOUND = {
    "found_engaged",
    "found_accommodated",
    "found_declined",
    "already_known",
    "found_not_rough_sleeping",
}
NOT_SEARCHED = {"duplicate_merged", "out_of_area_forwarded", "closed_no_activity"}
PERIOD = {"from": FROM.isoformat(), "to": TO.isoformat()}
# Figures outside the caller's scope come only for one whole calendar month.
MONTH = {"from": "2025-01-01", "to": "2025-01-31"}
MONTH_END = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)  # London is on GMT in winter


@pytest.fixture
def world(staff, db_url):
    return seed_world(db_url)


def _referral_expectations(sql, column, key, end=END):
    rows = sql(
        f"SELECT r.outcome, r.received_at, r.closed_at, r.next_shift_due_at, r.outcome_due_at, "
        f"array(SELECT a.attempted_at FROM referral_attempts a WHERE a.referral_id = r.id) "
        f"AS attempts FROM referrals r WHERE r.{column} = $1",
        key,
    )
    rows = [r for r in rows if START <= r["received_at"] < end]
    now = dt.datetime.now(dt.UTC)
    closed = [r for r in rows if r["outcome"]]
    searched = [r for r in closed if r["outcome"] not in NOT_SEARCHED]
    attempted = [r for r in rows if r["attempts"]]

    def breached(r):
        actions = [*r["attempts"], *([r["closed_at"]] if r["closed_at"] else [])]
        first_action = min(actions) if actions else now
        late_search = r["next_shift_due_at"] is not None and first_action > r["next_shift_due_at"]
        return late_search or (r["closed_at"] or now) > r["outcome_due_at"]

    hours = [(min(r["attempts"]) - r["received_at"]).total_seconds() / 3600 for r in attempted]
    to_outcome = [(r["closed_at"] - r["received_at"]).total_seconds() / 3600 for r in closed]
    outcomes = defaultdict(int)
    for r in closed:
        outcomes[r["outcome"]] += 1
    return {
        "referrals_received": len(rows),
        "referrals_closed": len(closed),
        "referrals_searched": len(searched),
        "referrals_found": sum(r["outcome"] in FOUND for r in searched),
        "sla_breaches": sum(map(breached, rows)),
        "median_hours_to_first_attempt": statistics.median(hours) if hours else None,
        "attempted": len(attempted),
        "median_hours_to_outcome": statistics.median(to_outcome) if to_outcome else None,
        "outcomes": dict(outcomes),
    }


def _roots(sql):
    parent = {r["id"]: r["merged_into"] for r in sql("SELECT id, merged_into FROM persons")}

    def root(person_id):
        while parent[person_id] is not None:
            person_id = parent[person_id]
        return person_id

    return {person_id: root(person_id) for person_id in parent}


def _contact_expectations(sql, column, key, end=END):
    roots = _roots(sql)
    every = sql("SELECT person_id, observed_at, bedded_down, authority_code, team_id FROM contacts")
    here = [c for c in every if c[column] == key and START <= c["observed_at"] < end]
    history = defaultdict(list)
    for c in every:
        if c["person_id"] is not None:
            fact = cohorts.ContactFact(
                c["observed_at"], c["bedded_down"], c["authority_code"] is not None
            )
            history[roots[c["person_id"]]].append(fact)
    seen = {roots[c["person_id"]] for c in here if c["person_id"] is not None}
    cohort_counts = defaultdict(int)
    for person in seen:
        cohort_counts[cohorts.cohort_between(history[person], START, end)] += 1
    return {
        "contacts": len(here),
        "verified_bedded_down_people": len(
            {roots[c["person_id"]] for c in here if c["person_id"] and c["bedded_down"]}
        ),
        "cohorts": {
            name: cohort_counts[name] for name in ("new", "living_on_the_streets", "intermittent")
        },
    }


def expected(sql, kind, key, end=END):
    """What the tables say for the quarter (or, with ``end=MONTH_END``, for January)."""
    column = "authority_code" if kind == "authority" else "team_id"
    return _referral_expectations(sql, column, key, end) | _contact_expectations(
        sql, column, key, end
    )


def _row(body, kind, key):
    rows = body["authorities"] if kind == "authority" else body["teams"]
    field = "code" if kind == "authority" else "team_id"
    return next(r for r in rows if r[field] == key)


def _keys(world):
    return [("authority", code) for code in PLACES] + [
        ("team", world.teams[name]) for name in {team for team, _, _ in PLACES.values()}
    ]


def test_figures_equal_counts_made_from_the_tables(client, staff, sql, world):
    response = client.get("/v1/stats", params=PERIOD, headers=staff["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"]["start"] == START.isoformat().replace("+00:00", "Z")
    for kind, key in _keys(world):
        want, got = expected(sql, kind, key), _row(body, kind, key)
        assert got["exact"] is True
        for name in COUNTS:
            assert got[name] == want[name], (kind, key, name)
        for name in ("median_hours_to_first_attempt", "median_hours_to_outcome"):
            assert got[name] == pytest.approx(want[name], abs=0.006), (kind, key, name)
        searched = want["referrals_searched"]
        assert got["found_rate"] == pytest.approx(want["referrals_found"] / searched, abs=1e-4)
        assert {k: v["count"] for k, v in got["outcomes"].items() if v["count"]} == want["outcomes"]
        for code, n in want["outcomes"].items():
            share = n / want["referrals_closed"]
            assert got["outcomes"][code]["share"] == pytest.approx(share, abs=1e-4)
        assert got["cohorts"] == want["cohorts"]
    # the data has something to check: large and small numbers, every cohort, medians
    chelmsford = expected(sql, "authority", "E07000070")
    assert chelmsford["referrals_received"] >= 20
    assert 0 < expected(sql, "authority", "E07000067")["referrals_received"] < 5
    assert all(chelmsford["cohorts"].values())


def _assert_suppressed(got, want):
    """Every count under 5 is "<5", every other as it is; rates never reveal a small one."""
    assert got["exact"] is False
    for name in COUNTS:
        assert got[name] == ("<5" if want[name] < 5 else want[name]), name
    for name, n in want["cohorts"].items():
        assert got["cohorts"][name] == ("<5" if n < 5 else n)
    found, searched = want["referrals_found"], want["referrals_searched"]
    if min(found, searched, searched - found) < 5:
        assert got["found_rate"] in ("suppressed", None)
    else:
        assert got["found_rate"] == pytest.approx(found / searched, abs=1e-4)
    if want["attempted"] < 5:
        assert got["median_hours_to_first_attempt"] in ("suppressed", None)
    hidden = [k for k, v in got["outcomes"].items() if v["count"] == "<5"]
    assert len(hidden) != 1  # one hidden cell could be worked out from the total
    for code, cell in got["outcomes"].items():
        n = want["outcomes"].get(code, 0)
        assert cell["count"] in ("<5", n)
        if n < 5:
            assert cell["count"] == "<5"
        if cell["count"] == "<5" and want["referrals_closed"]:
            assert cell["share"] == "suppressed"


def test_the_public_audience_suppresses_small_numbers_even_for_admins(client, staff, sql, world):
    body = client.get(
        "/v1/stats", params={**MONTH, "audience": "public"}, headers=staff["admin"]
    ).json()
    assert body["audience"] == "public"
    assert body["outside_scope"] == "suppressed"
    assert body["teams"] == []  # teams cut across authorities: never given suppressed
    for code in PLACES:
        _assert_suppressed(
            _row(body, "authority", code), expected(sql, "authority", code, MONTH_END)
        )
    braintree = _row(body, "authority", "E07000067")
    assert braintree["referrals_received"] == "<5"
    assert "<5" in {v["count"] for v in _row(body, "authority", "E07000070")["outcomes"].values()}


def test_suppressed_figures_come_only_for_one_whole_month(client, staff):
    """Any other period could be subtracted from a month (or a month from it)."""
    for period in (PERIOD, {"from": "2025-01-01", "to": "2025-01-30"}, {}):
        public = client.get(
            "/v1/stats", params={**period, "audience": "public"}, headers=staff["admin"]
        )
        assert_problem(public, 400)
        body = client.get("/v1/stats", params=period, headers=staff["coord_south"]).json()
        assert body["outside_scope"] == "withheld"
        assert [r["code"] for r in body["authorities"]] == ["E06000033"]
        assert all(r["exact"] for r in body["authorities"] + body["teams"])
    body = client.get("/v1/stats", params=MONTH, headers=staff["coord_south"]).json()
    assert body["outside_scope"] == "suppressed"
    assert len(body["authorities"]) == 14


def test_staff_see_exact_numbers_for_their_own_area_only(client, staff, sql, world):
    mid = world.teams["Mid Essex Outreach"]
    south = world.teams["Southend Outreach"]
    coord = client.get("/v1/stats", params=MONTH, headers=staff["coord_mid"]).json()
    braintree = expected(sql, "authority", "E07000067", MONTH_END)
    assert (
        _row(coord, "authority", "E07000067")["referrals_received"]
        == (braintree["referrals_received"])
    )
    assert {r["code"] for r in coord["authorities"] if r["exact"]} == {
        "E07000070",
        "E07000067",
        "E07000074",
    }
    assert [r["team_id"] for r in coord["teams"]] == [mid]  # other teams are not given
    _assert_suppressed(
        _row(coord, "authority", "E06000033"), expected(sql, "authority", "E06000033", MONTH_END)
    )
    worker = client.get("/v1/stats", params=MONTH, headers=staff["worker_south"]).json()
    assert [r["team_id"] for r in worker["teams"]] == [south]
    assert worker["teams"][0]["exact"]
    assert not any(r["exact"] for r in worker["authorities"])
    _assert_suppressed(_row(worker, "authority", "E07000067"), braintree)
    # a team filter would narrow the suppressed rows to one team's part of them: left out
    narrowed = client.get(
        "/v1/stats", params={**MONTH, "team": mid}, headers=staff["coord_south"]
    ).json()
    assert narrowed["authorities"] == []
    assert narrowed["teams"] == []


def test_filters_narrow_the_rows_and_the_data(client, staff, sql, world):
    south = client.get(
        "/v1/stats", params={**PERIOD, "authority": "E06000033"}, headers=staff["admin"]
    ).json()
    assert [r["code"] for r in south["authorities"]] == ["E06000033"]
    assert world.teams["Southend Outreach"] in {r["team_id"] for r in south["teams"]}
    assert (
        _row(south, "authority", "E06000033")["referrals_received"]
        == (expected(sql, "authority", "E06000033")["referrals_received"])
    )
    mid = world.teams["Mid Essex Outreach"]
    team = client.get("/v1/stats", params={**PERIOD, "team": mid}, headers=staff["admin"]).json()
    assert [r["team_id"] for r in team["teams"]] == [mid]
    # the team covers these three, and worked nowhere else in Greater Essex
    assert {r["code"] for r in team["authorities"]} == {"E07000070", "E07000067", "E07000074"}
    chelmsford_contacts = sql(
        "SELECT count(*) AS n FROM contacts WHERE authority_code = 'E07000070' AND team_id = $1 "
        "AND observed_at >= $2 AND observed_at < $3",
        mid,
        START,
        END,
    )[0]["n"]
    assert _row(team, "authority", "E07000070")["contacts"] == chelmsford_contacts


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2025-02-01", "to": "2025-01-31"}, 422),
        ({"from": "2019-01-01", "to": "2025-01-31"}, 422),
        ({"authority": "E07999999"}, 422),
        ({"team": 999999}, 422),
        ({"audience": "everyone"}, 400),
        ({"from": "yesterday"}, 400),
    ],
)
def test_bad_filters_are_clear_problems(client, staff, params, status):
    response = client.get("/v1/stats", params=params, headers=staff["coord_mid"])
    assert_problem(response, status)


def test_by_default_the_last_90_days(client, staff):
    body = client.get("/v1/stats", headers=staff["worker_mid"]).json()
    period = body["period"]
    days = dt.date.fromisoformat(period["to"]) - dt.date.fromisoformat(period["from"])
    assert days == dt.timedelta(days=89)
    assert body["outside_scope"] == "withheld"  # not a whole month: only the worker's team
    assert body["authorities"] == []
    assert [r["name"] for r in body["teams"]] == ["Mid Essex Outreach"]


PERIOD_PATHS = (
    "/v1/stats",
    "/v1/stats/weekly",
    "/v1/exports/counts",
    "/v1/exports/snapshot",
    "/v1/exports/snapshot.csv",
    "/v1/exports/referrals.csv",
    "/v1/exports/contacts.csv",
)


@pytest.mark.parametrize("path", PERIOD_PATHS)
@pytest.mark.parametrize(
    "params",
    [
        {"to": "0001-01-03"},  # the default start, 89 days earlier, is before year 1
        {"from": "0001-01-01", "to": "0001-01-01"},  # the cohort look-back goes before year 1
        {"from": "9999-12-31", "to": "9999-12-31"},  # the period's end is past the calendar
        {"to": "9999-12-31"},
    ],
)
def test_days_off_the_calendar_are_refused_not_a_server_error(client, staff, path, params):
    body = assert_problem(client.get(path, params=params, headers=staff["admin"]), 422)
    assert "2000-01-01" in body["detail"]
