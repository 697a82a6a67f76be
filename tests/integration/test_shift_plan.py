"""Run-sheets over HTTP: the order of visits, what to look for, dropped visits, scope, audit."""

from __future__ import annotations

import datetime as dt

import numpy as np

from geo.routing import exact_tour, straight_line_matrix_m, tour_cost
from tests.conftest import assert_problem
from tests.integration.test_assignments import (
    LONDON,
    MID_ESSEX,
    listed,
    local_date,
    referral,
    run,
    team_id,
)


def bng(sql, key: str) -> tuple[float, float]:
    row = sql(
        "SELECT ST_X(geom_bng) AS e, ST_Y(geom_bng) AS n FROM referrals WHERE id = $1",
        key.split(":")[1],
    )[0]
    return row["e"], row["n"]


def base_bng(sql, tid: int) -> tuple[float, float]:
    row = sql("SELECT ST_X(base_bng) AS e, ST_Y(base_bng) AS n FROM teams WHERE id = $1", tid)[0]
    return row["e"], row["n"]


def plan_for(client, headers, tid: int, day: dt.date):
    response = client.get(
        f"/v1/teams/{tid}/shift-plan", params={"date": day.isoformat()}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def scattered(client, sql, n: int, seed: int) -> list[str]:
    """``n`` referrals at random points around Chelmsford (all in its authority)."""
    rng = np.random.default_rng(seed)
    return [
        referral(client, sql, lat=float(lat), lon=float(lon), appearance=f"stop {k}")
        for k, (lat, lon) in enumerate(
            zip(rng.uniform(51.71, 51.76, n), rng.uniform(0.42, 0.52, n), strict=True)
        )
    ]


def test_the_run_sheet_order_is_within_two_percent_of_the_optimum(client, sql, staff):
    mid = team_id(sql, MID_ESSEX)
    keys = scattered(client, sql, 8, seed=7)
    run(client, staff["admin"])
    day = local_date(listed(client, staff["worker_mid"])[keys[0]]["shift_start"])
    plan = plan_for(client, staff["worker_mid"], mid, day)
    order = [s["item"] for s in plan["stops"]]
    assert sorted(order) == sorted(keys)
    assert plan["dropped"] == []
    points = [base_bng(sql, mid), *(bng(sql, k) for k in keys)]
    cost = straight_line_matrix_m(np.asarray(points))
    optimum = exact_tour(cost).cost
    got = tour_cost(cost, [keys.index(k) + 1 for k in order])
    assert got <= optimum * 1.02, (got, optimum)
    assert plan["travel_source"] == "straight_line"
    assert plan["travel_fallback_reason"] is None
    assert [s["sequence"] for s in plan["stops"]] == list(range(1, 9))
    arrivals = [dt.datetime.fromisoformat(s["arrive_at"]) for s in plan["stops"]]
    assert arrivals == sorted(arrivals)
    assert dt.datetime.fromisoformat(plan["shift_start"]) < arrivals[0]
    assert arrivals[-1] < dt.datetime.fromisoformat(plan["return_at"])
    assert dt.datetime.fromisoformat(plan["return_at"]) <= dt.datetime.fromisoformat(
        plan["shift_end"]
    )
    assert plan["total_minutes"] == round(plan["travel_minutes"] + plan["dwell_minutes"], 2)


def test_each_stop_says_what_to_look_for_and_the_read_is_audited(client, sql, staff):
    mid = team_id(sql, MID_ESSEX)
    key = referral(
        client,
        sql,
        appearance="Red coat",
        clothing="Grey hoodie",
        belongings="Shopping trolley",
        site_type="car_park",
        location_description="Level 2 of the car park",
    )
    run(client, staff["admin"])
    day = local_date(listed(client, staff["admin"])[key]["shift_start"])
    stop = plan_for(client, staff["coord_mid"], mid, day)["stops"][0]
    look = stop["referral"]
    assert (look["appearance"], look["clothing"], look["belongings"]) == (
        "Red coat",
        "Grey hoodie",
        "Shopping trolley",
    )
    assert (look["site_type"], look["location_description"]) == (
        "car_park",
        "Level 2 of the car park",
    )
    referral_id = key.split(":")[1]
    assert look["link"] == f"/v1/referrals/{referral_id}"
    assert look["seen_at"]
    assert look["reference"].startswith("ESX-")
    assert stop["hotspot"] is None
    assert stop["urgent"] is False
    audit = sql(
        "SELECT username, action, detail FROM audit_log WHERE subject_type = 'referral' "
        "AND subject_id = $1",
        referral_id,
    )
    assert [(a["username"], a["action"]) for a in audit] == [("coord_mid", "read")]
    assert '"shift_plan"' in audit[0]["detail"]


def test_visits_that_cannot_fit_are_dropped_with_a_reason(client, sql, staff):
    mid = team_id(sql, MID_ESSEX)
    sql("UPDATE teams SET shift_start = '06:00', shift_end = '06:45' WHERE id = $1", mid)
    near = [referral(client, sql, lat=51.7366 + k / 2000, appearance=f"n{k}") for k in range(3)]
    far = referral(client, sql, lat=51.8780, lon=0.5530, appearance="Braintree")
    run(client, staff["admin"])
    items = listed(client, staff["admin"])
    assert {items[k]["team_id"] for k in [*near, far]} == {mid}
    day = local_date(items[far]["shift_start"])
    plan = plan_for(client, staff["worker_mid"], mid, day)
    dropped = {d["item"]: d for d in plan["dropped"]}
    assert dropped[far]["reason"] == "unreachable_in_shift"
    assert dropped[far]["referral"]["appearance"] == "Braintree"
    full = [d for d in plan["dropped"] if d["reason"] == "shift_full"]
    assert len(full) == 1
    assert full[0]["reason_text"]
    assert len(plan["stops"]) == 2
    assert plan["total_minutes"] <= plan["shift_minutes"] == 45
    kept = {s["item"] for s in plan["stops"]} | {full[0]["item"]}
    assert kept == set(near)


def test_who_may_read_a_run_sheet_and_bad_dates(client, sql, staff):
    mid = team_id(sql, MID_ESSEX)
    today = dt.datetime.now(LONDON).date()
    for who in ("worker_mid", "coord_mid", "admin"):
        plan = client.get(f"/v1/teams/{mid}/shift-plan", headers=staff[who])
        assert plan.status_code == 200, plan.text
        assert plan.json()["date"] == today.isoformat()  # default: today in London
    for who in ("worker_south", "coord_south"):
        assert_problem(client.get(f"/v1/teams/{mid}/shift-plan", headers=staff[who]), 404)
    assert_problem(client.get("/v1/teams/99999/shift-plan", headers=staff["admin"]), 404)
    far = (today + dt.timedelta(days=60)).isoformat()
    body = assert_problem(
        client.get(f"/v1/teams/{mid}/shift-plan", params={"date": far}, headers=staff["admin"]),
        400,
        "out-of-range",
    )
    assert body["errors"][0]["field"] == "date"
    bad = client.get(f"/v1/teams/{mid}/shift-plan", params={"date": "soon"}, headers=staff["admin"])
    assert_problem(bad, 400)
    sql("UPDATE teams SET active = false WHERE id = $1", mid)
    assert_problem(client.get(f"/v1/teams/{mid}/shift-plan", headers=staff["admin"]), 404)
    assert_problem(client.get(f"/v1/teams/{mid}/shift-plan"), 401)


def test_a_hotspot_stop_shows_its_counts_and_link(client, sql, staff):
    from tests.integration.test_assignments import _hotspot

    mid = team_id(sql, MID_ESSEX)
    spot = _hotspot(sql, layer="verified_bedded_down", lat=51.735, lon=0.47, members=6, days_ago=1)
    run(client, staff["admin"])
    day = local_date(listed(client, staff["admin"])[f"hotspot:{spot}"]["shift_start"])
    stop = plan_for(client, staff["worker_mid"], mid, day)["stops"][0]
    assert stop["referral"] is None
    assert (stop["hotspot"]["id"], stop["hotspot"]["member_count"]) == (spot, 6)
    assert stop["hotspot"]["link"] == f"/v1/hotspots/{spot}"
    assert stop["work_kind"] == "hotspot"
