"""Areas, lookup and teams against the seeded official (ONS) Greater Essex boundaries."""

from __future__ import annotations

import asyncio
import csv

import pytest

from service.usecases.operations.cli_jobs import seed
from tests.conftest import REFERENCE, assert_problem, in_thread, make_settings

OGL = "Open Government Licence v.3.0"
PLACES = REFERENCE / "hotspot_places.csv"

CHELMSFORD_STATION = {"lat": 51.7366, "lon": 0.4693}
NORTH_SEA = {"lat": 52.3, "lon": 2.2}


def test_lookup_chelmsford_station_answers_chelmsford(client):
    response = client.get("/v1/areas/lookup", params=CHELMSFORD_STATION)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["authority"] == {"code": "E07000070", "name": "Chelmsford", "kind": "district"}
    assert body["approximate"] is False
    assert OGL in body["attribution"]
    assert "Office for National Statistics" in body["attribution"]
    assert body["boundary_version"] is not None
    assert [t["name"] for t in body["teams"]] == ["Mid Essex Outreach"]


def test_lookup_in_the_north_sea_is_a_404_problem(client):
    body = assert_problem(
        client.get("/v1/areas/lookup", params=NORTH_SEA), 404, "outside-greater-essex"
    )
    assert "outside" in body["detail"]


def test_lookup_rejects_bad_coordinates_naming_the_field(client):
    body = assert_problem(client.get("/v1/areas/lookup", params={"lat": 91, "lon": 0.4}), 400)
    assert [e["field"] for e in body["errors"]] == ["lat"]
    body = assert_problem(client.get("/v1/areas/lookup", params={"lat": 51.7}), 400)
    assert body["errors"][0]["field"] == "lon"


def test_areas_geojson_has_the_fourteen_authorities(client):
    response = client.get("/v1/areas")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    codes = {f["properties"]["code"] for f in body["features"]}
    assert len(codes) == 14
    assert {"E06000033", "E06000034", "E07000066", "E07000077"} <= codes
    for feature in body["features"]:
        assert feature["geometry"]["type"] == "MultiPolygon"
        assert feature["properties"]["approximate"] is False
        assert OGL in feature["properties"]["attribution"]
        assert feature["properties"]["team_ids"], feature["properties"]["code"]


def _vertex_count(body):
    return sum(
        len(ring)
        for f in body["features"]
        for polygon in f["geometry"]["coordinates"]
        for ring in polygon
    )


def test_simplify_m_reduces_vertices(client, sql):
    # Densify one boundary so that simplification has something to remove.
    sql(
        "UPDATE authorities SET geom = ST_Multi(ST_Segmentize(geom::geography, 200)::geometry) "
        "WHERE code = 'E07000070'"
    )
    full = client.get("/v1/areas").json()
    simple = client.get("/v1/areas", params={"simplify_m": 500}).json()
    assert _vertex_count(simple) < _vertex_count(full)


def test_every_seeded_authority_has_an_active_covering_team(client, staff):
    teams = client.get("/v1/teams", headers=staff["admin"]).json()
    covered = {code for t in teams if t["active"] for code in t["covers"]}
    areas = client.get("/v1/areas").json()
    assert {f["properties"]["code"] for f in areas["features"]} <= covered
    assert all(t["shift_capacity"] > 0 for t in teams)


def test_the_seed_is_the_official_boundaries_with_islands_and_estuaries(sql):
    versions = sql("SELECT label, approximate, attribution FROM boundary_versions")
    assert [(v["label"], v["approximate"]) for v in versions] == [("ons-lad-dec-2022-bgc", False)]
    assert OGL in versions[0]["attribution"]
    # Canvey Island (Castle Point) and Foulness (Rochford) are parts of their own.
    parts = sql(
        "SELECT code, ST_NumGeometries(geom) AS n FROM authorities "
        "WHERE code IN ('E07000069', 'E07000075')"
    )
    assert all(p["n"] > 1 for p in parts)


@pytest.mark.parametrize(
    ("place", "lat", "lon", "code"),
    [
        # Where the approximate partition went wrong (tried as a new user would, issue 15).
        ("Witham station", 51.806, 0.639, "E07000067"),  # Braintree, not Chelmsford/Maldon
        ("Rayleigh station", 51.5893, 0.6004, "E07000075"),  # Rochford, not Castle Point
        ("Canvey Island", 51.52, 0.58, "E07000069"),
    ],
)
def test_towns_the_approximate_partition_misrouted_route_to_their_own_authority(
    module_client, place, lat, lon, code
):
    body = module_client.get("/v1/areas/lookup", params={"lat": lat, "lon": lon}).json()
    assert body["authority"]["code"] == code, place


def test_the_thames_estuary_is_outside_every_authority(module_client):
    # Between Canvey Island and Kent: water, outside the official land boundaries.
    response = module_client.get("/v1/areas/lookup", params={"lat": 51.49, "lon": 0.62})
    assert response.status_code == 404


@pytest.mark.reference
@pytest.mark.skipif(not PLACES.exists(), reason="../shared/reference is absent")
def test_every_reference_place_routes_to_its_own_authority_without_any_import(
    module_client, module_sql
):
    """From a fresh seed (no `outreach areas import`), each of the 38 reference town and
    station points is routed to its own authority by the shipped ONS boundaries."""
    assert module_sql("SELECT count(*) AS n FROM boundary_versions")[0]["n"] == 1
    with PLACES.open(newline="", encoding="utf-8") as handle:
        places = list(csv.DictReader(handle))
    assert len(places) == 38
    wrong = []
    for place in places:
        response = module_client.get(
            "/v1/areas/lookup", params={"lat": place["lat"], "lon": place["lon"]}
        )
        assert response.status_code == 200, (place["place"], response.text)
        body = response.json()
        if body["authority"]["code"] != place["authority_code"] or not body["teams"]:
            wrong.append((place["place"], body["authority"]["code"], place["authority_code"]))
        assert body["approximate"] is False
    assert wrong == []


def test_seed_replaces_an_approximate_seed_left_by_an_older_version(db_url, sql):
    sql("UPDATE boundary_versions SET approximate = true, label = 'approximate-seed-v1'")
    report = in_thread(asyncio.run, seed(make_settings(db_url)))
    assert report.boundary_version is not None
    versions = sql("SELECT label, approximate, is_current FROM boundary_versions ORDER BY id")
    assert [(v["approximate"], v["is_current"]) for v in versions] == [(True, False), (False, True)]
    again = in_thread(asyncio.run, seed(make_settings(db_url)))
    assert again.boundary_version is None  # official boundaries are kept as they are
