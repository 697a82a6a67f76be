"""Hotspots over HTTP and PostGIS: incremental updates at insert, full recomputes with stable
ids, merges, the rolling window, layers, filters, scope and audit."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import numpy as np
import pytest

from geo.clustering import dbscan
from geo.projections import bng_to_wgs84, wgs84_to_bng
from service.usecases.operations.cli_jobs import add_user
from tests.conftest import PASSWORD, assert_problem, in_thread, wait_for
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert

CHELMSFORD = wgs84_to_bng(0.4693, 51.7366)
SOUTHEND = wgs84_to_bng(0.714, 51.538)


def at(origin, dx_m, dy_m):
    """(lon, lat) of a point ``dx_m`` east and ``dy_m`` north of ``origin`` (BNG metres)."""
    return bng_to_wgs84(origin[0] + dx_m, origin[1] + dy_m)


def report(client, sql, origin, dx_m, dy_m=0.0, **overrides):
    """Post a public referral there; its (internal) id."""
    lon, lat = at(origin, dx_m, dy_m)
    response = client.post(
        "/v1/referrals", json=alert(lon=lon, lat=lat, appearance=f"{dx_m} {dy_m}", **overrides)
    )
    assert response.status_code == 201, response.text
    reference = response.json()["reference"]
    return str(sql("SELECT id FROM referrals WHERE reference = $1", reference)[0]["id"])


def hotspot_rows(sql, layer="public_reports"):
    return sql(
        "SELECT id, member_count, core_count, status, authority_code, team_id, successor_id "
        "FROM hotspots WHERE layer = $1 ORDER BY id",
        layer,
    )


def active(sql, layer="public_reports"):
    return [r for r in hotspot_rows(sql, layer) if r["status"] == "active"]


def members(sql, layer="public_reports"):
    rows = sql("SELECT member_id, hotspot_id, core FROM hotspot_members WHERE layer = $1", layer)
    return {str(r["member_id"]): (r["hotspot_id"], r["core"]) for r in rows}


def settled(sql, expected_members, layer="public_reports"):
    """Wait until the background updater has folded in this many memberships."""
    assert wait_for(lambda: len(members(sql, layer)) == expected_members, timeout_s=10)


def test_three_reports_make_a_hotspot_routed_to_the_covering_team(client, sql, staff):
    for dx in (0, 80, 160):
        report(client, sql, CHELMSFORD, dx)
    settled(sql, 3)
    [hotspot] = active(sql)
    assert hotspot["member_count"] == 3
    assert hotspot["authority_code"] == "E07000070"
    team = sql("SELECT id FROM teams WHERE name = 'Mid Essex Outreach'")[0]["id"]
    assert hotspot["team_id"] == team
    body = client.get("/v1/hotspots", headers=staff["coord_mid"]).json()
    assert body["type"] == "FeatureCollection"
    [feature] = body["features"]
    assert feature["id"] == hotspot["id"]
    props = feature["properties"]
    assert (props["referral_count"], props["contact_count"], props["layer"]) == (
        3,
        0,
        "public_reports",
    )
    lon, lat = feature["geometry"]["coordinates"]
    x, y = wgs84_to_bng(lon, lat)
    assert abs(x - (CHELMSFORD[0] + 80)) < 1
    assert abs(y - CHELMSFORD[1]) < 1
    hull_x = [wgs84_to_bng(*c)[0] for c in _positions(props["hull"])]
    assert abs(min(hull_x) - CHELMSFORD[0]) < 1
    assert abs(max(hull_x) - CHELMSFORD[0] - 160) < 1


def _positions(geometry):
    coords = geometry["coordinates"]
    while isinstance(coords[0][0], list):
        coords = [c for part in coords for c in part]
    return coords if isinstance(coords[0], list) else [coords]


def test_two_reports_are_noise_and_a_far_one_does_not_join(client, sql):
    report(client, sql, CHELMSFORD, 0)
    report(client, sql, CHELMSFORD, 100)
    report(client, sql, CHELMSFORD, 5_000)
    client.post("/v1/hotspots:recompute")  # anonymous: refused, nothing changes
    assert not wait_for(lambda: active(sql), timeout_s=1)
    assert members(sql) == {}


def test_a_hotspot_keeps_its_id_when_a_point_joins_and_across_recomputes(client, sql, staff):
    for dx in (0, 80, 160):
        report(client, sql, CHELMSFORD, dx)
    settled(sql, 3)
    [before] = active(sql)
    newcomer = report(client, sql, CHELMSFORD, 240)
    settled(sql, 4)
    [after] = active(sql)
    assert after["id"] == before["id"]
    assert after["member_count"] == 4
    assert members(sql)[newcomer][0] == before["id"]
    run = client.post("/v1/hotspots:recompute", headers=staff["coord_mid"])
    assert run.status_code == 200, run.text
    assert run.json()["ran"] is True
    assert run.json()["layers"]["public_reports"]["hotspots"] == 1
    [recomputed] = active(sql)
    assert recomputed["id"] == before["id"]
    assert recomputed["member_count"] == 4
    assert sql("SELECT count(*) AS n FROM hotspot_runs")[0]["n"] == 1


def test_a_bridging_report_merges_two_hotspots_and_the_bigger_keeps_its_id(client, sql):
    for dx in (0, 60, 120, 180):
        report(client, sql, CHELMSFORD, dx)
    for dx in (600, 660, 720):
        report(client, sql, CHELMSFORD, dx)
    settled(sql, 7)
    big, small = sorted(active(sql), key=lambda r: -r["member_count"])
    assert (big["member_count"], small["member_count"]) == (4, 3)
    report(client, sql, CHELMSFORD, 360)  # within 200 m of neither... so add two bridging points
    report(client, sql, CHELMSFORD, 450)
    settled(sql, 9)
    [merged] = active(sql)
    assert merged["id"] == big["id"]
    assert merged["member_count"] == 9
    retired = {r["id"]: r for r in hotspot_rows(sql)}[small["id"]]
    assert retired["status"] == "retired"
    assert retired["successor_id"] == big["id"]
    events = sql("SELECT kind, related FROM hotspot_events WHERE hotspot_id = $1", small["id"])
    assert [e["kind"] for e in events] == ["born", "merged"]


def test_points_leave_the_window_on_recompute_and_emptied_hotspots_retire(client, sql, staff):
    ids = [report(client, sql, CHELMSFORD, dx) for dx in (0, 80, 160)]
    settled(sql, 3)
    [hotspot] = active(sql)
    sql(
        "UPDATE referrals SET seen_at = now() - interval '40 days' WHERE id = $1",
        uuid.UUID(ids[0]),
    )
    client.post("/v1/hotspots:recompute", headers=staff["coord_mid"])
    assert active(sql) == []
    [row] = hotspot_rows(sql)
    assert row["id"] == hotspot["id"]
    assert row["status"] == "retired"
    assert members(sql) == {}


def test_incremental_state_equals_a_full_recompute(client, sql, staff):
    rng = np.random.default_rng(7)
    offsets = rng.integers(0, 1200, size=(40, 2))
    keys = [report(client, sql, CHELMSFORD, int(dx), int(dy)) for dx, dy in offsets]
    xy = np.array([[CHELMSFORD[0] + dx, CHELMSFORD[1] + dy] for dx, dy in offsets])
    batch = dbscan(xy, eps_m=200.0, min_samples=3)
    expected = int((batch.labels >= 0).sum())
    settled(sql, expected)
    incremental = members(sql)
    core_keys = {k for k, (_, core) in incremental.items() if core}
    assert core_keys == {k for k, c in zip(keys, batch.core, strict=True) if c}
    partition = {
        frozenset(k for k in core_keys if incremental[k][0] == h) for h, _ in incremental.values()
    } - {frozenset()}
    client.post("/v1/hotspots:recompute", headers=staff["coord_mid"])
    full = members(sql)
    assert {k for k, (_, core) in full.items() if core} == core_keys
    assert set(full) == set(incremental)
    assert {frozenset(k for k in core_keys if full[k][0] == h) for h, _ in full.values()} - {
        frozenset()
    } == partition
    # and the ids carried over: every core keeps the hotspot it had
    assert all(full[k][0] == incremental[k][0] for k in core_keys)


def test_contacts_feed_the_contact_layers_apart_from_public_reports(client, sql, staff):
    items = []
    for i, dx in enumerate((0, 70, 140, 210)):
        lon, lat = at(CHELMSFORD, dx, 0)
        items.append(contact(lon=lon, lat=lat, bedded_down=i < 3))
    response = client.post("/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"])
    assert response.json()["created"] == 4, response.text
    settled(sql, 4, "all_contacts")
    settled(sql, 3, "verified_bedded_down")
    assert active(sql) == []  # nothing in public reports
    [everyone] = active(sql, "all_contacts")
    [verified] = active(sql, "verified_bedded_down")
    assert everyone["member_count"] == 4
    assert verified["member_count"] == 3
    rows = sql(
        "SELECT layer, contact_count, bedded_down_count, referral_count FROM hotspots "
        "WHERE status = 'active' ORDER BY layer"
    )
    assert [tuple(r) for r in rows] == [
        ("all_contacts", 4, 3, 0),
        ("verified_bedded_down", 3, 3, 0),
    ]
    listed = client.get(
        "/v1/hotspots", params={"layer": "verified_bedded_down"}, headers=staff["coord_mid"]
    ).json()
    assert [f["id"] for f in listed["features"]] == [verified["id"]]


def test_filters_bbox_authority_team_size_and_window(client, sql, staff):
    for dx in (0, 80, 160, 240):
        report(client, sql, CHELMSFORD, dx)
    for dx in (0, 80, 160):
        report(client, sql, SOUTHEND, dx)
    settled(sql, 7)
    chelmsford, southend = sorted(active(sql), key=lambda r: -r["member_count"])

    def ids(**params):
        response = client.get("/v1/hotspots", params=params, headers=staff["admin"])
        assert response.status_code == 200, response.text
        return [f["id"] for f in response.json()["features"]]

    assert ids() == [chelmsford["id"], southend["id"]]
    assert ids(authority="E06000033") == [southend["id"]]
    assert ids(team=chelmsford["team_id"]) == [chelmsford["id"]]
    assert ids(min_size=4) == [chelmsford["id"]]
    w, s = at(CHELMSFORD, -500, -500)
    e, n = at(CHELMSFORD, 500, 500)
    assert ids(bbox=f"{w},{s},{e},{n}") == [chelmsford["id"]]
    assert ids(window_days=7) == [chelmsford["id"], southend["id"]]
    sql(
        "UPDATE hotspots SET last_activity_at = now() - interval '10 days' WHERE id = $1",
        southend["id"],
    )
    assert ids(window_days=7) == [chelmsford["id"]]
    assert ids(layer="all_contacts") == []


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"bbox": "1,2,3"}, 400),
        ({"bbox": "a,b,c,d"}, 400),
        ({"bbox": "0.5,51,0.4,52"}, 400),  # well formed, but west is east of east
        ({"bbox": "0,0,0,0"}, 400),
        ({"authority": "X"}, 400),
        ({"layer": "everything"}, 400),
        ({"min_size": "0"}, 400),
        ({"window_days": "-1"}, 400),
    ],
)
def test_bad_filters_are_problem_details(client, staff, params, status):
    assert_problem(client.get("/v1/hotspots", params=params, headers=staff["admin"]), status)


def test_scope_members_and_audit(client, sql, staff):
    for dx in (0, 80, 160):
        report(client, sql, CHELMSFORD, dx)
    settled(sql, 3)
    [hotspot] = active(sql)
    assert client.get("/v1/hotspots", headers=staff["coord_south"]).json()["features"] == []
    assert client.get("/v1/hotspots", headers=staff["worker_south"]).json()["features"] == []
    assert len(client.get("/v1/hotspots", headers=staff["worker_mid"]).json()["features"]) == 1
    assert_problem(client.get("/v1/hotspots"), 401)
    assert_problem(client.get(f"/v1/hotspots/{hotspot['id']}", headers=staff["coord_south"]), 404)
    assert_problem(client.get("/v1/hotspots/999999", headers=staff["admin"]), 404)
    detail = client.get(f"/v1/hotspots/{hotspot['id']}", headers=staff["worker_mid"])
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["feature"]["id"] == hotspot["id"]
    assert len(body["members"]) == 3
    assert body["hidden_members"] == 0
    assert {m["kind"] for m in body["members"]} == {"referral"}
    assert all(m["href"].startswith("/v1/referrals/") for m in body["members"])
    assert [h["kind"] for h in body["history"]] == ["born"]
    audit = sql(
        "SELECT username, action, subject_type, subject_id FROM audit_log "
        "WHERE subject_type LIKE 'hotspot%' ORDER BY id"
    )
    assert [(a["username"], a["action"], a["subject_type"]) for a in audit] == [
        ("coord_south", "list", "hotspots"),
        ("worker_south", "list", "hotspots"),
        ("worker_mid", "list", "hotspots"),
        ("worker_mid", "read", "hotspot"),
    ]


def test_list_and_detail_apply_one_scope_rule(client, sql, staff, settings):
    """A Southend coordinator who also works in the Mid Essex team sees that team's hotspot
    in the list as well as on its own, as on the map tiles."""
    for dx in (0, 80, 160):
        report(client, sql, CHELMSFORD, dx)
    settled(sql, 3)
    [hotspot] = active(sql)
    in_thread(
        asyncio.run,
        add_user(
            settings,
            username="coord_both",
            display_name="coord_both",
            password=PASSWORD,
            role="coordinator",
            teams=["Mid Essex Outreach"],
            authorities=["E06000033"],
        ),
    )
    token = client.post(
        "/v1/auth/token", json={"username": "coord_both", "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/v1/hotspots", headers=headers).json()["features"]
    assert [f["id"] for f in listed] == [hotspot["id"]]
    assert client.get(f"/v1/hotspots/{hotspot['id']}", headers=headers).status_code == 200


def test_members_of_other_teams_are_counted_not_shown(client, sql, staff):
    """A Southend worker's contacts just inside Chelmsford's hotspot stay hidden from Mid
    Essex workers, who see the count only."""
    for dx in (0, 80, 160):
        report(client, sql, CHELMSFORD, dx)
    lon, lat = at(CHELMSFORD, 40, 0)
    theirs = client.post(
        "/v1/contacts:batch",
        json={"items": [contact(lon=lon, lat=lat) for _ in range(3)]},
        headers=staff["worker_south"],
    )
    assert theirs.json()["created"] == 3, theirs.text
    settled(sql, 3, "all_contacts")
    [hotspot] = active(sql, "all_contacts")
    detail = client.get(f"/v1/hotspots/{hotspot['id']}", headers=staff["coord_mid"]).json()
    # the coordinator of the authority sees contacts in it, whoever recorded them
    assert len(detail["members"]) == 3
    assert hotspot["team_id"] in _team_ids(sql, "worker_mid")
    as_worker = client.get(f"/v1/hotspots/{hotspot['id']}", headers=staff["worker_mid"]).json()
    assert as_worker["members"] == []
    assert as_worker["hidden_members"] == 3


def _team_ids(sql, username):
    rows = sql(
        "SELECT ut.team_id FROM user_teams ut JOIN users u ON u.id = ut.user_id "
        "WHERE u.username = $1",
        username,
    )
    return {r["team_id"] for r in rows}


def test_recompute_is_for_coordinators(client, staff):
    assert_problem(client.post("/v1/hotspots:recompute", headers=staff["worker_mid"]), 403)
    assert client.post("/v1/hotspots:recompute", headers=staff["admin"]).status_code == 200


def test_old_points_sent_late_stay_out_of_the_window(client, sql, staff):
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=60)).isoformat()
    items = []
    for dx in (0, 50, 100):
        lon, lat = at(CHELMSFORD, dx, 0)
        items.append(contact(lon=lon, lat=lat, observed_at=old))
    client.post("/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"])
    assert not wait_for(lambda: members(sql, "all_contacts"), timeout_s=1)


def test_a_split_keeps_the_id_on_the_bigger_part_and_records_the_new_one(client, sql, staff):
    for dx in (0, 60, 120, 180, 400, 480, 560):
        report(client, sql, CHELMSFORD, dx)
    bridge = report(client, sql, CHELMSFORD, 290)
    settled(sql, 8)
    [whole] = active(sql)
    sql(
        "UPDATE referrals SET seen_at = now() - interval '40 days' WHERE id = $1", uuid.UUID(bridge)
    )
    run = client.post("/v1/hotspots:recompute", headers=staff["coord_mid"]).json()
    assert run["layers"]["public_reports"]["splits"] == 1
    left, right = sorted(active(sql), key=lambda r: -r["member_count"])
    assert (left["id"], left["member_count"], right["member_count"]) == (whole["id"], 4, 3)
    [split] = sql(
        "SELECT related, run_id FROM hotspot_events WHERE kind = 'split' AND hotspot_id = $1",
        whole["id"],
    )
    assert json.loads(split["related"]) == [whole["id"], right["id"]]
    assert split["run_id"] == run["run_id"]
