"""Vector tiles: layers decoded with mapbox-vector-tile, role scoping (workers never get another
team's points, only suppressed counts), caps, time windows, ETag/304 and bad addresses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import mapbox_vector_tile
import pytest
from litestar.testing import TestClient

from geo.tiles import tile_for_lonlat
from service.app import create_app
from tests.conftest import assert_problem, make_settings
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert

CHELMSFORD = (0.4693, 51.7366)
SOUTHEND = (0.7140, 51.5380)
ESSEX_Z7 = tile_for_lonlat(*CHELMSFORD, 7)  # holds both towns
assert tile_for_lonlat(*SOUTHEND, 7) == ESSEX_Z7
MVT = "application/vnd.mapbox-vector-tile"


def url(tile: Any = ESSEX_Z7, **query: Any) -> str:
    base = f"/v1/tiles/{tile.z}/{tile.x}/{tile.y}.mvt"
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{base}?{params}" if params else base


def decode(response: Any) -> dict[str, list[dict[str, Any]]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(MVT)
    layers = mapbox_vector_tile.decode(response.content)
    return {name: [f["properties"] for f in layer["features"]] for name, layer in layers.items()}


def refer(client: TestClient[Any], sql: Any, lonlat: tuple[float, float], **extra: Any) -> str:
    lon, lat = lonlat
    receipt = client.post("/v1/referrals", json=alert(lat=lat, lon=lon, **extra))
    assert receipt.status_code == 201, receipt.text
    rows = sql("SELECT id FROM referrals WHERE reference = $1", receipt.json()["reference"])
    return str(rows[0]["id"])


@pytest.fixture
def two_towns(client, sql, staff):
    """A referral and a contact in Chelmsford (Mid Essex team), the same in Southend."""
    ids = {
        "mid_referral": refer(client, sql, CHELMSFORD),
        "south_referral": refer(client, sql, SOUTHEND, appearance="tall"),
    }
    for who, (lon, lat) in (("worker_mid", CHELMSFORD), ("worker_south", SOUTHEND)):
        item = contact(lat=lat, lon=lon)
        sent = client.post("/v1/contacts:batch", json={"items": [item]}, headers=staff[who])
        assert sent.json()["created"] == 1, sent.text
        ids[who.replace("worker", "contact")] = item["id"]
    return ids


LAST_MONTH = (
    "(date_trunc('month', now() AT TIME ZONE 'Europe/London') - interval '10 days') "
    "AT TIME ZONE 'Europe/London'"
)


def into_last_month(sql: Any) -> str:
    """Move every referral and contact into last month (cells count only whole months that
    have ended); the month as cells name it."""
    sql(f"UPDATE referrals SET received_at = {LAST_MONTH}")
    sql(f"UPDATE contacts SET observed_at = {LAST_MONTH}")
    return str(
        sql(f"SELECT to_char({LAST_MONTH} AT TIME ZONE 'Europe/London', 'YYYY-MM') AS m")[0]["m"]
    )


def ids_in(layer: list[dict[str, Any]]) -> set[str]:
    return {f["id"] for f in layer}


def test_an_admin_gets_every_layer_and_points_carry_no_description(client, staff, two_towns):
    layers = decode(client.get(url(), headers=staff["admin"]))
    assert {"areas", "teams", "referrals", "contacts"} <= layers.keys()
    assert "referral_cells" not in layers  # an admin sees every point: nothing to aggregate
    assert {a["code"] for a in layers["areas"]} >= {"E07000070", "E06000033"}
    assert "Mid Essex Outreach" in {t["name"] for t in layers["teams"]}
    assert ids_in(layers["referrals"]) == {two_towns["mid_referral"], two_towns["south_referral"]}
    assert ids_in(layers["contacts"]) == {two_towns["contact_mid"], two_towns["contact_south"]}
    referral = layers["referrals"][0]
    assert referral["status"] in {"received", "assigned"}
    assert not {"appearance", "location_description", "notes"} & referral.keys()
    assert "notes" not in layers["contacts"][0]


@pytest.mark.parametrize(
    ("who", "own", "other"),
    [
        ("worker_mid", "mid", "south"),
        ("worker_south", "south", "mid"),
        ("coord_mid", "mid", "south"),
        ("coord_south", "south", "mid"),
    ],
)
def test_staff_get_points_only_in_their_scope_and_suppressed_counts_elsewhere(
    client, sql, staff, two_towns, who, own, other
):
    month = into_last_month(sql)
    response = client.get(url(), headers=staff[who])
    layers = decode(response)
    assert ids_in(layers["referrals"]) == {two_towns[f"{own}_referral"]}
    assert two_towns[f"{other}_referral"].encode() not in response.content
    if who.startswith("worker"):
        assert ids_in(layers["contacts"]) == {two_towns[f"contact_{own}"]}
        assert two_towns[f"contact_{other}"].encode() not in response.content
    # The other town's single referral is a cell with no number, only "<5", for last month.
    assert [(c.get("count"), c["label"]) for c in layers["referral_cells"]] == [(None, "<5")]
    assert layers["referral_cells"][0]["month"] == month
    code = {"mid": "E07000070", "south": "E06000033"}[other]
    assert layers["referral_cells"][0]["authority"] == code


def test_roles_not_allowed_points_get_cells_with_small_counts_suppressed(
    db_url, client, sql, staff
):
    for i in range(6):
        refer(client, sql, (SOUTHEND[0] + i * 0.0003, SOUTHEND[1]), appearance=f"n{i}")
    for i in range(2):
        refer(client, sql, (CHELMSFORD[0] + i * 0.0003, CHELMSFORD[1]), appearance=f"m{i}")
    into_last_month(sql)
    settings = make_settings(db_url, tile_point_roles=("admin",))
    with TestClient(app=create_app(settings)) as limited:
        response = limited.get(url(), headers=staff["coord_south"])
        layers = decode(response)
        admin_layers = decode(limited.get(url(), headers=staff["admin"]))
    assert "referrals" not in layers
    cells = sorted((c["label"], c.get("count")) for c in layers["referral_cells"])
    assert cells == [("6", 6), ("<5", None)]
    assert len(admin_layers["referrals"]) == 8


def test_cells_count_the_whole_cell_even_when_it_is_larger_than_the_tile(
    db_url, client, sql, staff
):
    """At zoom 16 a cell (a zoom-14 tile) covers 16 tiles: every one reports the same count."""
    for i in range(5):
        refer(client, sql, (SOUTHEND[0] + i * 0.002, SOUTHEND[1]), appearance=f"k{i}")
    into_last_month(sql)
    tile = tile_for_lonlat(*SOUTHEND, 16)
    layers = decode(client.get(url(tile), headers=staff["worker_mid"]))
    inside = sql(
        "SELECT count(*) AS n FROM referrals WHERE ST_Intersects(geom, "
        "ST_Transform(ST_TileEnvelope(14, $1, $2), 4326))",
        tile.x >> 2,
        tile.y >> 2,
    )[0]["n"]
    in_tile = sql(
        "SELECT count(*) AS n FROM referrals WHERE ST_Intersects(geom, "
        "ST_Transform(ST_TileEnvelope(16, $1, $2), 4326))",
        tile.x,
        tile.y,
    )[0]["n"]
    assert in_tile < inside  # the check below would not tell the two apart otherwise
    [cell] = layers["referral_cells"]
    assert cell["count"] == inside


def test_each_point_layer_is_capped_and_says_so(db_url, client, sql, staff):
    for i in range(4):
        refer(client, sql, (CHELMSFORD[0] + i * 0.001, CHELMSFORD[1]), appearance=f"c{i}")
    with TestClient(app=create_app(make_settings(db_url, tile_max_features=3))) as capped:
        response = capped.get(url(layers="referrals,areas"), headers=staff["admin"])
        layers = decode(response)
        assert response.headers["x-tile-capped"] == "referrals"
        assert len(layers["referrals"]) == 3
        assert not {"contacts", "teams"} & layers.keys()
        uncapped = capped.get(url(layers="areas"), headers=staff["admin"])
        assert "x-tile-capped" not in uncapped.headers


def test_the_time_window_filters_points(client, sql, staff, two_towns):
    sql(
        "UPDATE referrals SET received_at = now() - interval '10 days' WHERE id = $1",
        uuid.UUID(two_towns["south_referral"]),
    )
    week = decode(client.get(url(window_days=7, layers="referrals"), headers=staff["admin"]))
    assert ids_in(week["referrals"]) == {two_towns["mid_referral"]}
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = decode(
        client.get(url(since=since, until=until, layers="referrals"), headers=staff["admin"])
    )
    assert ids_in(old["referrals"]) == {two_towns["south_referral"]}


def test_etag_and_304_and_private_caching(client, sql, staff, two_towns):
    first = client.get(url(), headers=staff["coord_mid"])
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("private, max-age=")
    assert "public" not in first.headers["cache-control"]
    again = client.get(url(), headers={**staff["coord_mid"], "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    refer(client, sql, CHELMSFORD, appearance="another one")
    changed = client.get(url(), headers={**staff["coord_mid"], "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


def test_reading_points_is_audited_and_outlines_are_not(client, sql, staff, two_towns):
    client.get(url(layers="areas,teams"), headers=staff["worker_mid"])
    assert sql("SELECT count(*) AS n FROM audit_log WHERE subject_type = 'tile'")[0]["n"] == 0
    client.get(url(), headers=staff["worker_mid"])
    rows = sql("SELECT username, subject_id, detail FROM audit_log WHERE subject_type = 'tile'")
    assert [(r["username"], r["subject_id"]) for r in rows] == [
        ("worker_mid", f"{ESSEX_Z7.z}/{ESSEX_Z7.x}/{ESSEX_Z7.y}")
    ]
    assert '"referrals": 1' in rows[0]["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tiles/3/8/1.mvt",  # x beyond 2**z - 1
        "/v1/tiles/3/1/8.mvt",
        "/v1/tiles/23/0/0.mvt",  # deeper than the deepest zoom
        "/v1/tiles/1/0/0.png",
        "/v1/tiles/1/0/00.mvt",
        "/v1/tiles/a/0/0.mvt",
        "/v1/tiles/-1/0/0.mvt",
        "/v1/tiles/8/128/84.mvt?layers=areas,people",
        "/v1/tiles/8/128/84.mvt?window_days=7&since=2026-01-01T00:00:00Z",
        "/v1/tiles/8/128/84.mvt?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        "/v1/tiles/8/128/84.mvt?window_days=0",
    ],
)
def test_bad_requests_are_400_problems(client, staff, path):
    assert_problem(client.get(path, headers=staff["admin"]), 400)


def test_tiles_are_for_staff_only(client, two_towns):
    assert_problem(client.get(url()), 401)


def hotspot(sql, lonlat, *, team, code, members, status="active", days_ago=1, layer="all_contacts"):
    lon, lat = lonlat
    retired = "now()" if status == "retired" else "NULL"
    return sql(
        "INSERT INTO hotspots (layer, status, centroid, hull, authority_code, team_id, "
        "member_count, core_count, referral_count, contact_count, bedded_down_count, "
        "first_activity_at, last_activity_at, retired_at) VALUES ($1, $2, "
        "ST_SetSRID(ST_MakePoint($3, $4), 4326), ST_Buffer(ST_SetSRID(ST_MakePoint($3, $4), "
        "4326), 0.001), $5, (SELECT id FROM teams WHERE name = $6), $7, $7, 0, $7, 2, "
        f"now() - make_interval(days => $8 + 5), now() - make_interval(days => $8), {retired}) "
        "RETURNING id",
        layer,
        status,
        lon,
        lat,
        code,
        team,
        members,
        days_ago,
    )[0]["id"]


@pytest.fixture
def hotspots(sql):
    return {
        "mid": hotspot(sql, CHELMSFORD, team="Mid Essex Outreach", code="E07000070", members=12),
        "south": hotspot(sql, SOUTHEND, team="Southend Outreach", code="E06000033", members=7),
        "retired": hotspot(
            sql,
            CHELMSFORD,
            team="Mid Essex Outreach",
            code="E07000070",
            members=9,
            status="retired",
        ),
        "old": hotspot(
            sql, CHELMSFORD, team="Mid Essex Outreach", code="E07000070", members=5, days_ago=40
        ),
    }


def test_hotspots_are_active_in_the_window_and_scoped(client, staff, hotspots):
    admin = decode(client.get(url(layers="hotspots"), headers=staff["admin"]))["hotspots"]
    assert sorted((h["id"], h["member_count"]) for h in admin) == sorted(
        [(hotspots["mid"], 12), (hotspots["south"], 7), (hotspots["old"], 5)]
    )
    assert admin[0]["member_count"] == 12  # the largest first, so a cap keeps the biggest
    week = decode(client.get(url(layers="hotspots", window_days=7), headers=staff["admin"]))
    assert {h["id"] for h in week["hotspots"]} == {hotspots["mid"], hotspots["south"]}
    for who, own in (("worker_mid", "mid"), ("coord_south", "south")):
        mine = decode(client.get(url(layers="hotspots", window_days=7), headers=staff[who]))
        assert [h["id"] for h in mine["hotspots"]] == [hotspots[own]]


def test_roles_not_allowed_points_get_no_hotspots(db_url, staff, hotspots):
    settings = make_settings(db_url, tile_point_roles=("admin",))
    with TestClient(app=create_app(settings)) as limited:
        response = limited.get(url(layers="hotspots"), headers=staff["coord_mid"])
    assert decode(response) == {}
