"""Areas, lookup and teams against the seeded (approximate) Greater Essex boundaries."""

from __future__ import annotations

from tests.conftest import assert_problem

CHELMSFORD_STATION = {"lat": 51.7366, "lon": 0.4693}
NORTH_SEA = {"lat": 52.3, "lon": 2.2}


def test_lookup_chelmsford_station_answers_chelmsford(client):
    response = client.get("/v1/areas/lookup", params=CHELMSFORD_STATION)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["authority"] == {"code": "E07000070", "name": "Chelmsford", "kind": "district"}
    assert body["approximate"] is True
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
        assert feature["properties"]["approximate"] is True
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
