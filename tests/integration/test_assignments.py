"""Assignments over HTTP: coverage, priority, overflow, overrides, SWEP, hotspots, concurrent
runs and the debounced background recompute."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from service.db.assignments import ASSIGNMENT_LOCK
from service.runtime import Runtime, build_runtime
from service.usecases.assignments import incremental
from service.usecases.assignments import runs as assignment
from tests.conftest import assert_problem, in_thread, with_runtime
from tests.integration.test_health import wait_for
from tests.integration.test_referrals import alert

LONDON = ZoneInfo("Europe/London")
CHELMSFORD = "E07000070"
MID_ESSEX = "Mid Essex Outreach"


def team_id(sql, name: str) -> int:
    return sql("SELECT id FROM teams WHERE name = $1", name)[0]["id"]


def referral(client, sql, **overrides) -> str:
    """A public referral (Chelmsford unless told otherwise); its item key."""
    body = alert(**overrides)
    response = client.post("/v1/referrals", json=body)
    assert response.status_code == 201, response.text
    reference = response.json()["reference"]
    return f"referral:{sql('SELECT id FROM referrals WHERE reference = $1', reference)[0]['id']}"


def run(client, headers) -> dict[str, Any]:
    response = client.post("/v1/assignments:run", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def listed(client, headers, **params) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/assignments", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return {a["item"]: a for a in response.json()["items"]}


def local_date(iso: str) -> dt.date:
    return dt.datetime.fromisoformat(iso).astimezone(LONDON).date()


def test_every_seeded_authority_has_a_covering_team_and_every_routed_referral_a_reason(
    client, sql, staff
):
    points = sql(
        "SELECT a.code, ST_Y(ST_PointOnSurface(a.geom)) AS lat, "
        "ST_X(ST_PointOnSurface(a.geom)) AS lon FROM authorities a "
        "JOIN boundary_versions v ON v.id = a.version_id AND v.is_current ORDER BY a.code"
    )
    assert len(points) == 14
    for p in points:
        referral(client, sql, lat=p["lat"], lon=p["lon"], appearance=f"seen in {p['code']}")
    referral(client, sql, lat=51.5074, lon=-0.1278, appearance="in London")  # out of area
    summary = run(client, staff["admin"])["run"]
    routed = sql("SELECT id, authority_code FROM referrals WHERE authority_code IS NOT NULL")
    assert summary["items"] == len(routed) == 14
    assert summary["unassigned"] == 0
    covers = {
        (r["team_id"], r["authority_code"])
        for r in sql("SELECT team_id, authority_code FROM team_areas")
    }
    items = listed(client, staff["admin"])
    for r in routed:
        a = items[f"referral:{r['id']}"]
        assert (a["assigned"], a["rule"]) == (True, "covering_team"), a
        assert (a["team_id"], r["authority_code"]) in covers
        assert a["team_id"] == a["reasons"]["covering_team_ids"][0]
        assert a["reasons"]["explain"].startswith(a["item"])
        assert a["reasons"]["used_visits"] <= a["reasons"]["capacity_visits"]
    assert {a["authority_code"] for a in items.values()} == {p["code"] for p in points}


def test_an_urgent_referral_jumps_the_queue_and_the_full_shift_overflows_visibly(
    client, sql, staff
):
    mid = team_id(sql, MID_ESSEX)
    sql("UPDATE teams SET shift_capacity = 2 WHERE id = $1", mid)
    ordinary = [referral(client, sql, lat=51.7366 + k / 1000, appearance=f"o{k}") for k in (1, 2)]
    run(client, staff["coord_mid"])
    before = listed(client, staff["coord_mid"])
    assert [before[k]["shift_index"] for k in ordinary] == [0, 0]
    urgent = referral(client, sql, lat=51.74, immediate_danger=True, appearance="urgent")
    result = run(client, staff["coord_mid"])
    after = listed(client, staff["coord_mid"])
    first = after[urgent]
    assert (first["rule"], first["team_id"], first["shift_index"], first["rank"]) == (
        "covering_team",
        mid,
        0,
        0,
    )
    assert first["urgent"]
    assert first["work_kind"] == "urgent_referral"
    moved = [after[k] for k in ordinary if after[k]["shift_index"] != 0]
    assert len(moved) == 1
    bumped = moved[0]
    assert bumped["rule"] == "overflow_next_shift"
    assert bumped["overflow"]
    assert (bumped["team_id"], bumped["shift_index"]) == (mid, 1)
    assert {"team_id": mid, "shift_index": 0} in [
        {k: s[k] for k in ("team_id", "shift_index")} for s in bumped["reasons"]["full_slots"]
    ]
    assert result["run"]["overflowed"] == 1
    assert [a["item"] for a in result["attention"]] == [bumped["item"]]
    only = listed(client, staff["coord_mid"], rule="overflow_next_shift")
    assert list(only) == [bumped["item"]]


def test_when_every_shift_is_full_the_item_is_reported_unassigned_not_dropped(client, sql, staff):
    mid = team_id(sql, MID_ESSEX)
    sql("UPDATE teams SET shift_capacity = 1 WHERE id = $1", mid)
    keys = [referral(client, sql, lat=51.73 + k / 1000, appearance=f"p{k}") for k in range(4)]
    result = run(client, staff["admin"])
    items = listed(client, staff["coord_mid"])
    assert set(keys) <= set(items)
    full = [items[k] for k in keys if items[k]["rule"] == "all_full"]
    assert len(full) == 1
    assert full[0]["team_id"] is None
    assert not full[0]["assigned"]
    assert len(full[0]["reasons"]["full_slots"]) == 3  # every shift in the horizon was full
    assert sorted(items[k]["shift_index"] for k in keys if items[k]["assigned"]) == [0, 1, 2]
    assert result["run"]["unassigned"] == 1
    assert full[0]["item"] in [a["item"] for a in result["attention"]]


def test_an_override_survives_a_recompute_and_is_gone_after_release(client, sql, staff):
    key = referral(client, sql)
    southend = team_id(sql, "Southend Outreach")
    mid = team_id(sql, MID_ESSEX)
    run(client, staff["admin"])
    pinned = client.put(
        f"/v1/assignments/{key}",
        json={"team_id": southend, "note": "known to the Southend team"},
        headers=staff["coord_mid"],
    )
    assert pinned.status_code == 200, pinned.text
    body = pinned.json()
    assert (body["rule"], body["team_id"]) == ("pinned_override", southend)
    assert body["override"]["note"] == "known to the Southend team"
    assert body["override"]["created_by"] == "coord_mid"
    run(client, staff["admin"])
    assert listed(client, staff["coord_mid"])[key]["rule"] == "pinned_override"
    assert listed(client, staff["coord_mid"])[key]["team_id"] == southend
    # the referral follows its assignment: the Southend team can now open it
    referral_id = key.split(":")[1]
    assert (
        client.get(f"/v1/referrals/{referral_id}", headers=staff["worker_south"]).status_code == 200
    )
    kinds = [
        r["kind"]
        for r in sql(
            "SELECT kind FROM referral_events WHERE referral_id = $1 ORDER BY id", key.split(":")[1]
        )
    ]
    assert "reassigned" in kinds
    released = client.delete(f"/v1/assignments/{key}", headers=staff["coord_mid"])
    assert released.status_code == 200, released.text
    assert (released.json()["rule"], released.json()["team_id"]) == ("covering_team", mid)
    assert released.json()["override"] is None
    run(client, staff["admin"])
    assert listed(client, staff["coord_mid"])[key]["team_id"] == mid
    assert_problem(client.delete(f"/v1/assignments/{key}", headers=staff["coord_mid"]), 404)
    rows = sql("SELECT released_by_name FROM assignment_overrides WHERE item_id = $1", key[9:])
    assert [r["released_by_name"] for r in rows] == ["coord_mid"]
    actions = [
        r["action"]
        for r in sql("SELECT action FROM audit_log WHERE subject_id = $1 ORDER BY id", key)
    ]
    assert actions == ["assignment_pinned", "assignment_released"]


def test_a_pin_can_name_the_day_of_the_teams_shift(client, sql, staff):
    key = referral(client, sql)
    run(client, staff["admin"])
    first = listed(client, staff["admin"])[key]
    day = local_date(first["shift_start"]) + dt.timedelta(days=1)
    response = client.put(
        f"/v1/assignments/{key}",
        json={"team_id": first["team_id"], "shift_date": day.isoformat()},
        headers=staff["admin"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rule"], body["shift_index"]) == ("pinned_override", 1)
    assert local_date(body["shift_start"]) == day
    assert body["override"]["shift_date"] == day.isoformat()


def test_bad_overrides_are_refused_and_store_nothing(client, sql, staff):
    key = referral(client, sql)
    run(client, staff["admin"])
    url = f"/v1/assignments/{key}"
    assert_problem(client.put(url, json={"team_id": 99999}, headers=staff["coord_mid"]), 404)
    assert_problem(client.put(url, json={"team_id": 1}, headers=staff["coord_south"]), 404)
    assert_problem(client.put(url, json={"team_id": 1}, headers=staff["worker_mid"]), 403)
    assert_problem(client.put(url, json={"team_id": 1, "x": 1}, headers=staff["coord_mid"]), 400)
    far = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    body = assert_problem(
        client.put(url, json={"team_id": 1, "shift_date": far}, headers=staff["coord_mid"]),
        400,
        "out-of-range",
    )
    assert body["errors"][0]["field"] == "shift_date"
    assert_problem(
        client.put("/v1/assignments/referral:nope", json={"team_id": 1}, headers=staff["admin"]),
        400,
    )
    unknown = "referral:00000000-0000-4000-8000-000000000000"
    assert_problem(
        client.put(f"/v1/assignments/{unknown}", json={"team_id": 1}, headers=staff["admin"]), 404
    )
    sql("UPDATE referrals SET status = 'closed', outcome = 'not_found', closed_at = now()")
    assert_problem(client.put(url, json={"team_id": 1}, headers=staff["coord_mid"]), 409)
    assert sql("SELECT count(*) AS n FROM assignment_overrides")[0]["n"] == 0
    assert sql("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'assignment%'")[0]["n"] == 0


def test_an_override_of_an_item_that_closes_is_released_by_the_next_run(client, sql, staff):
    key = referral(client, sql)
    pinned = client.put(f"/v1/assignments/{key}", json={"team_id": 1}, headers=staff["admin"])
    assert pinned.status_code == 200, pinned.text
    sql("UPDATE referrals SET status = 'closed', outcome = 'not_found', closed_at = now()")
    run(client, staff["admin"])
    assert key not in listed(client, staff["admin"])
    row = sql("SELECT released_at, released_by_name FROM assignment_overrides")[0]
    assert row["released_at"] is not None
    assert row["released_by_name"].startswith("system")


def test_swep_raises_priority_and_shortens_the_sla_in_the_stored_assignment(client, sql, staff):
    southend = referral(client, sql, lat=51.5390, lon=0.7110, appearance="southend")
    chelmsford = referral(client, sql, appearance="chelmsford")
    for key, hours in ((southend, 40), (chelmsford, 48)):
        sql(
            "UPDATE referrals SET next_shift_due_at = received_at + make_interval(hours => $2) "
            "WHERE id = $1",
            key.split(":")[1],
            hours,
        )
    run(client, staff["admin"])
    items = listed(client, staff["admin"])
    assert items[southend]["rank"] < items[chelmsford]["rank"]
    assert items[chelmsford]["swep"] is False
    on = client.put(
        f"/v1/areas/{CHELMSFORD}/swep", json={"active": True}, headers=staff["coord_mid"]
    )
    assert on.status_code == 200, on.text
    assert (on.json()["active"], on.json()["changed_by"]) == (True, "coord_mid")
    items = listed(client, staff["admin"])
    raised = items[chelmsford]
    assert raised["swep"] is True
    assert raised["rank"] < items[southend]["rank"]
    received = sql("SELECT received_at FROM referrals WHERE id = $1", chelmsford.split(":")[1])[0]
    assert dt.datetime.fromisoformat(raised["due_at"]) == received["received_at"] + dt.timedelta(
        hours=12
    )
    assert items[southend]["swep"] is False
    listing = {
        s["authority_code"]: s for s in client.get("/v1/swep", headers=staff["worker_mid"]).json()
    }
    assert listing[CHELMSFORD]["active"]
    assert listing[CHELMSFORD]["changed_by"] == "coord_mid"
    assert not listing["E06000033"]["active"]
    public = {f["id"]: f["properties"] for f in client.get("/v1/areas").json()["features"]}
    assert public[CHELMSFORD]["swep_active"] is True
    assert public["E06000033"]["swep_active"] is False
    assert "changed_by" not in public[CHELMSFORD]
    run_row = sql("SELECT swep_authorities FROM assignment_runs ORDER BY id DESC LIMIT 1")[0]
    assert CHELMSFORD in run_row["swep_authorities"]
    audit = sql("SELECT action, username FROM audit_log WHERE subject_id = $1", CHELMSFORD)
    assert [(a["action"], a["username"]) for a in audit] == [("swep_on", "coord_mid")]
    off = client.put(f"/v1/areas/{CHELMSFORD}/swep", json={"active": False}, headers=staff["admin"])
    assert off.status_code == 200
    assert listed(client, staff["admin"])[chelmsford]["swep"] is False


def test_swep_switch_is_for_the_authoritys_coordinators(client, staff):
    body = {"active": True}
    assert_problem(
        client.put(f"/v1/areas/{CHELMSFORD}/swep", json=body, headers=staff["coord_south"]), 403
    )
    assert_problem(
        client.put(f"/v1/areas/{CHELMSFORD}/swep", json=body, headers=staff["worker_mid"]), 403
    )
    assert_problem(client.put("/v1/areas/E07999999/swep", json=body, headers=staff["admin"]), 404)
    assert_problem(client.put("/v1/areas/nonsense/swep", json=body, headers=staff["admin"]), 400)
    assert_problem(
        client.put(f"/v1/areas/{CHELMSFORD}/swep", json={"active": "yes"}, headers=staff["admin"]),
        400,
    )
    assert_problem(client.get("/v1/swep"), 401)


def test_the_list_is_scoped_and_filtered(client, sql, staff):
    chelmsford = referral(client, sql, appearance="chelmsford")
    southend = referral(client, sql, lat=51.5390, lon=0.7110, appearance="southend")
    run(client, staff["admin"])
    assert set(listed(client, staff["worker_mid"])) == {chelmsford}
    assert set(listed(client, staff["worker_south"])) == {southend}
    assert set(listed(client, staff["coord_mid"])) == {chelmsford}
    assert set(listed(client, staff["coord_south"])) == {southend}
    assert set(listed(client, staff["admin"])) == {chelmsford, southend}
    mid = team_id(sql, MID_ESSEX)
    assert set(listed(client, staff["admin"], team_id=mid)) == {chelmsford}
    assert listed(client, staff["admin"], kind="hotspot") == {}
    assert set(listed(client, staff["admin"], kind="referral")) == {chelmsford, southend}
    assert listed(client, staff["admin"], rule="all_full") == {}
    page = client.get("/v1/assignments", params={"limit": 1}, headers=staff["admin"]).json()
    assert len(page["items"]) == 1
    assert page["has_more"] is True
    assert page["run"]["items"] == 2
    assert_problem(
        client.get("/v1/assignments", params={"rule": "whatever"}, headers=staff["admin"]), 400
    )


def _hotspot(sql, *, layer: str, lat: float, lon: float, members: int, days_ago: float) -> int:
    last = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return sql(
        "INSERT INTO hotspots (layer, centroid, hull, authority_code, member_count, core_count, "
        "referral_count, contact_count, bedded_down_count, first_activity_at, last_activity_at) "
        "VALUES ($1, ST_SetSRID(ST_MakePoint($3, $2), 4326), "
        "ST_Buffer(ST_SetSRID(ST_MakePoint($3, $2), 4326), 0.001), $4, $5, $5, 0, $5, $5, "
        "CAST($6 AS timestamptz) - interval '10 days', $6) RETURNING id",
        layer,
        lat,
        lon,
        CHELMSFORD,
        members,
        last,
    )[0]["id"]


def test_active_hotspots_are_work_items_after_the_referrals(client, sql, staff):
    key = referral(client, sql)
    busy = _hotspot(sql, layer="verified_bedded_down", lat=51.735, lon=0.47, members=9, days_ago=1)
    quiet = _hotspot(sql, layer="verified_bedded_down", lat=51.74, lon=0.48, members=5, days_ago=2)
    _hotspot(sql, layer="verified_bedded_down", lat=51.73, lon=0.46, members=12, days_ago=60)
    _hotspot(sql, layer="public_reports", lat=51.733, lon=0.465, members=7, days_ago=1)
    retired = _hotspot(
        sql, layer="verified_bedded_down", lat=51.731, lon=0.47, members=8, days_ago=1
    )
    sql("UPDATE hotspots SET status = 'retired', retired_at = now() WHERE id = $1", retired)
    run(client, staff["admin"])
    items = listed(client, staff["worker_mid"])
    assert set(items) == {key, f"hotspot:{busy}", f"hotspot:{quiet}"}
    spot = items[f"hotspot:{busy}"]
    assert (spot["work_kind"], spot["rule"], spot["link"]) == (
        "hotspot",
        "covering_team",
        f"/v1/hotspots/{busy}",
    )
    assert items[key]["rank"] < spot["rank"] < items[f"hotspot:{quiet}"]["rank"]
    assert listed(client, staff["admin"], kind="hotspot").keys() == {
        f"hotspot:{busy}",
        f"hotspot:{quiet}",
    }
    pinned = client.put(
        f"/v1/assignments/hotspot:{busy}", json={"team_id": 1}, headers=staff["coord_mid"]
    )
    assert (pinned.status_code, pinned.json()["rule"]) == (200, "pinned_override")


def test_concurrent_runs_from_several_processes_take_turns(client, sql, staff, settings):
    for k in range(6):
        referral(client, sql, lat=51.73 + k / 500, appearance=f"c{k}")

    async def many() -> list[int]:
        runtimes = [build_runtime(settings) for _ in range(2)]
        try:
            done = await asyncio.gather(
                *(assignment.run(runtimes[k % 2], trigger=f"test{k}") for k in range(6))
            )
        finally:
            for rt in runtimes:
                await rt.engine.dispose()
                await rt.http.aclose()
        return [r.id for r in done]

    ids = in_thread(asyncio.run, many())
    assert len(set(ids)) == 6
    runs = sql("SELECT id, started_at, finished_at FROM assignment_runs ORDER BY started_at")
    for before, after in itertools.pairwise(runs):
        assert before["finished_at"] <= after["started_at"], "two runs overlapped"
    stored = sql("SELECT run_id, count(*) AS n FROM assignments GROUP BY run_id")
    assert len(stored) == 1
    assert stored[0]["n"] == 6
    assert stored[0]["run_id"] == max(r["id"] for r in runs)


def test_an_incremental_pass_begins_when_its_turn_comes(client, sql, staff, settings, db_url):
    """A pass that waits for another run records the time it got the lock, as a full run does:
    its record never overlaps the run it waited for."""
    key = referral(client, sql)
    run(client, staff["admin"])  # the reference an incremental pass builds on

    async def go(runtime: Runtime) -> tuple[dt.datetime, dt.datetime]:
        other = await asyncpg.connect(db_url)  # another process's run, holding the lock
        try:
            await other.execute("SELECT pg_advisory_lock($1)", ASSIGNMENT_LOCK)
            waiting = asyncio.create_task(incremental.apply(runtime, {key}, trigger="test"))
            await asyncio.sleep(0.5)
            released = dt.datetime.now(dt.UTC)
            await other.execute("SELECT pg_advisory_unlock($1)", ASSIGNMENT_LOCK)
            done = await waiting
        finally:
            await other.close()
        return released, done.started_at

    released, started = with_runtime(settings, go)
    assert started >= released
    [row] = sql("SELECT incremental FROM assignment_runs ORDER BY id DESC LIMIT 1")
    assert row["incremental"]


def test_an_override_of_an_item_closed_through_the_api_is_released_incrementally(
    quick_client, sql, staff
):
    client = quick_client
    key = referral(client, sql)
    pinned = client.put(f"/v1/assignments/{key}", json={"team_id": 1}, headers=staff["admin"])
    assert pinned.status_code == 200, pinned.text
    run(client, staff["admin"])  # the reference the incremental pass builds on
    closed = client.post(
        f"/v1/referrals/{key[9:]}/outcome",
        json={"outcome": "found_declined"},
        headers=staff["admin"],
    )
    assert closed.status_code == 200, closed.text
    released = "SELECT released_by_name FROM assignment_overrides WHERE released_at IS NOT NULL"
    assert wait_for(lambda: sql(released), timeout_s=10)
    assert [r["released_by_name"] for r in sql(released)] == [assignment.STALE_OVERRIDE]
    runs = sql("SELECT incremental FROM assignment_runs ORDER BY id DESC LIMIT 1")
    assert [r["incremental"] for r in runs] == [True]


def test_work_arriving_is_assigned_in_one_debounced_background_run(quick_client, sql):
    keys = [referral(quick_client, sql, lat=51.73 + k / 500, appearance=f"b{k}") for k in range(4)]
    assert wait_for(lambda: sql("SELECT count(*) AS n FROM assignments")[0]["n"] == 4)
    runs = sql("SELECT trigger FROM assignment_runs")
    assert 1 <= len(runs) < len(keys)
    assert all(r["trigger"] == "referral_created" for r in runs)


def test_a_failing_background_run_never_fails_the_referral(quick_client, sql):
    sql("ALTER TABLE assignment_runs ADD CONSTRAINT ck_test_refuse CHECK (false) NOT VALID")
    recompute = quick_client.app.state.runtime.assignment_runs
    referral(quick_client, sql)
    assert wait_for(lambda: recompute.failed >= 1)
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 1
    sql("ALTER TABLE assignment_runs DROP CONSTRAINT ck_test_refuse")
    referral(quick_client, sql, appearance="second")
    assert wait_for(lambda: sql("SELECT count(*) AS n FROM assignments")[0]["n"] == 2)


def test_the_assignments_command_runs_once_and_reports(client, sql, db_url, monkeypatch, capsys):
    from service.cli import main

    key = referral(client, sql)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    assert in_thread(main, ["assignments", "run"]) == 0
    assert "1 open items, 1 assigned" in capsys.readouterr().out
    runs = sql("SELECT items, assigned FROM assignment_runs WHERE trigger = 'command'")
    assert [(r["items"], r["assigned"]) for r in runs] == [(1, 1)]
    assert sql("SELECT item_id FROM assignments")[0]["item_id"] == key.split(":")[1]


def test_a_hotspot_born_from_contacts_is_assigned_in_the_background(quick_client, sql, staff):
    from tests.integration.test_contacts import contact

    client = quick_client
    items = [contact(lat=51.7366 + k / 10_000, bedded_down=True) for k in range(3)]
    sent = client.post("/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"])
    assert sent.json()["created"] == 3
    assert wait_for(lambda: sql("SELECT id FROM hotspots WHERE layer = 'verified_bedded_down'"))
    spot = sql("SELECT id FROM hotspots WHERE layer = 'verified_bedded_down'")[0]["id"]
    assert wait_for(lambda: sql("SELECT 1 FROM assignments WHERE item_id = $1", str(spot)))
    row = sql(
        "SELECT a.rule, a.work_kind, r.trigger FROM assignments a "
        "JOIN assignment_runs r ON r.id = a.run_id WHERE a.item_id = $1",
        str(spot),
    )[0]
    assert (row["rule"], row["work_kind"]) == ("covering_team", "hotspot")
    assert "hotspot_update" in row["trigger"]


def test_arrivals_after_the_first_full_run_are_placed_incrementally(quick_client, sql):
    referral(quick_client, sql, appearance="first")
    assert wait_for(lambda: sql("SELECT count(*) AS n FROM assignments")[0]["n"] == 1)
    for k in range(3):
        referral(quick_client, sql, lat=51.73 + k / 500, appearance=f"later {k}")
    assert wait_for(lambda: sql("SELECT count(*) AS n FROM assignments")[0]["n"] == 4)
    runs = sql("SELECT incremental, items FROM assignment_runs ORDER BY id")
    assert not runs[0]["incremental"], "no full run to build on yet: the first is full"
    assert runs[1:]
    assert all(r["incremental"] for r in runs[1:])
    assert sum(r["items"] for r in runs[1:]) == 3  # nothing displaced: only the arrivals
