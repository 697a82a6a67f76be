"""`outreach areas import`: official boundaries, versions, reprojection, repair, routing."""

from __future__ import annotations

import csv
import json

import pytest
from shapely.geometry import mapping, shape

from geo.projections import geometry_to_bng
from service.cli import main
from tests.conftest import REFERENCE
from tests.integration.test_health import wait_for

LAD = REFERENCE / "essex_lad.geojson"
PLACES = REFERENCE / "hotspot_places.csv"
needs_reference = pytest.mark.skipif(
    not (LAD.exists() and PLACES.exists()), reason="../shared/reference is absent"
)


def import_file(monkeypatch, db_url, path, *extra):
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    return main(
        ["areas", "import", str(path), "--code-field", "code", "--name-field", "name", *extra]
    )


def wait_for_current_version(client, sql):
    """The app reloads its index on NOTIFY; wait until it serves the newest version."""
    newest = sql("SELECT max(id) AS v FROM boundary_versions")[0]["v"]
    assert wait_for(lambda: client.get("/readyz").json()["boundary_version"] == newest)


@needs_reference
@pytest.mark.reference
def test_import_official_boundaries_then_every_town_routes_to_its_own_authority(
    client, db_url, monkeypatch, sql
):
    before = client.get("/readyz").json()["boundary_version"]
    assert import_file(monkeypatch, db_url, LAD) == 0
    wait_for_current_version(client, sql)
    versions = sql("SELECT id, approximate, is_current FROM boundary_versions ORDER BY id")
    assert [v["is_current"] for v in versions] == [False, True]
    current = versions[-1]["id"]
    assert current != before
    assert versions[-1]["approximate"] is False
    # Islands are kept as their own parts (Canvey Island in Castle Point, Foulness in Rochford).
    parts = sql(
        "SELECT code, ST_NumGeometries(geom) AS n FROM authorities "
        "WHERE version_id = $1 AND code IN ('E07000069', 'E07000075')",
        current,
    )
    assert all(p["n"] > 1 for p in parts)
    with PLACES.open(newline="", encoding="utf-8") as handle:
        places = list(csv.DictReader(handle))
    assert len(places) >= 30
    for place in places:
        response = client.get("/v1/areas/lookup", params={"lat": place["lat"], "lon": place["lon"]})
        assert response.status_code == 200, (place["place"], response.text)
        body = response.json()
        assert body["authority"]["code"] == place["authority_code"], place["place"]
        assert body["boundary_version"] == current
        assert body["approximate"] is False
        assert body["teams"], place["place"]


def bowtie_collection(srid_name=None):
    # Chelmsford-ish square drawn as a self-intersecting bow-tie plus a separate island square.
    bowtie = [[0.40, 51.70], [0.50, 51.78], [0.50, 51.70], [0.40, 51.78], [0.40, 51.70]]
    island = [[0.60, 51.70], [0.62, 51.70], [0.62, 51.72], [0.60, 51.72], [0.60, 51.70]]
    geometry = {"type": "MultiPolygon", "coordinates": [[bowtie], [island]]}
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "E07000070", "name": "Chelmsford"},
                "geometry": geometry,
            },
            {
                "type": "Feature",
                "properties": {"code": "E09000001", "name": "City of London"},
                "geometry": {"type": "Polygon", "coordinates": [island]},
            },
        ],
    }
    if srid_name:
        collection["crs"] = {"type": "name", "properties": {"name": srid_name}}
    return collection


def test_import_repairs_invalid_rings_and_keeps_only_greater_essex(
    client, db_url, monkeypatch, sql, tmp_path
):
    path = tmp_path / "bowtie.geojson"
    path.write_text(json.dumps(bowtie_collection()))
    assert import_file(monkeypatch, db_url, path) == 0
    wait_for_current_version(client, sql)
    rows = sql(
        "SELECT a.code, ST_IsValid(a.geom) AS valid, ST_NumGeometries(a.geom) AS n "
        "FROM authorities a JOIN boundary_versions v ON v.id = a.version_id "
        "WHERE v.is_current"
    )
    assert [(r["code"], r["valid"], r["n"]) for r in rows] == [("E07000070", True, 3)]
    # Inside one lobe of the bow-tie, and on the island.
    for lat, lon in ((51.74, 0.43), (51.71, 0.61)):
        body = client.get("/v1/areas/lookup", params={"lat": lat, "lon": lon}).json()
        assert body["authority"]["code"] == "E07000070"


def test_import_reprojects_from_british_national_grid(client, db_url, monkeypatch, tmp_path, sql):
    collection = bowtie_collection("urn:ogc:def:crs:EPSG::27700")
    for feature in collection["features"]:
        feature["geometry"] = mapping(geometry_to_bng(shape(feature["geometry"])))
    path = tmp_path / "bng.geojson"
    path.write_text(json.dumps(collection))
    assert import_file(monkeypatch, db_url, path) == 0
    wait_for_current_version(client, sql)
    body = client.get("/v1/areas/lookup", params={"lat": 51.71, "lon": 0.61}).json()
    assert body["authority"]["code"] == "E07000070"
    # A point of the old seed that the imported file does not cover is now outside.
    assert client.get("/v1/areas/lookup", params={"lat": 51.889, "lon": 0.901}).status_code == 404


def test_import_refuses_projected_coordinates_without_a_crs(
    client, db_url, monkeypatch, tmp_path, sql, capsys
):
    collection = bowtie_collection()
    for feature in collection["features"]:
        feature["geometry"] = mapping(geometry_to_bng(shape(feature["geometry"])))
    path = tmp_path / "nocrs.geojson"
    path.write_text(json.dumps(collection))
    before = sql("SELECT count(*) AS n FROM boundary_versions")[0]["n"]
    assert import_file(monkeypatch, db_url, path) == 2
    assert "27700" in capsys.readouterr().err
    assert sql("SELECT count(*) AS n FROM boundary_versions")[0]["n"] == before
    # The explicit --srid makes the same file acceptable.
    assert import_file(monkeypatch, db_url, path, "--srid", "27700") == 0


def test_import_of_a_file_with_no_greater_essex_authority_changes_nothing(
    db_url, monkeypatch, tmp_path, sql
):
    collection = bowtie_collection()
    collection["features"] = collection["features"][1:]
    path = tmp_path / "london.geojson"
    path.write_text(json.dumps(collection))
    assert import_file(monkeypatch, db_url, path) == 2
    assert sql("SELECT count(*) AS n FROM boundary_versions")[0]["n"] == 1
