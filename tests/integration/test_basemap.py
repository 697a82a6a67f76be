"""The base map: the default public style, the CSP allowing exactly the style's origins, and
the self-hosted PMTiles archive served by byte ranges with its own style and glyphs."""

from __future__ import annotations

import json
import os
import re

import pytest
from litestar.testing import TestClient

from service.app import create_app, security_headers
from service.settings import Settings
from tests.conftest import assert_problem, make_settings, wait_for
from tests.styleserver import style_server

OPENFREEMAP = "https://tiles.openfreemap.org/styles/liberty"


def csp_sources(headers, directive):
    policy = headers["content-security-policy"]
    found = re.search(rf"{directive} ([^;]*)", policy)
    assert found, policy
    return set(found.group(1).split())


def test_the_default_base_map_is_openfreemap_and_its_origin_is_allowed():
    settings = Settings(database_url="postgresql://a@b/c", jwt_secret="x" * 40)
    assert settings.map_style_url == OPENFREEMAP
    headers = {k.lower(): v for k, v in security_headers(settings)}
    assert csp_sources(headers, "connect-src") == {"'self'", "https://tiles.openfreemap.org"}


def test_with_no_base_map_the_csp_allows_nothing_else_and_the_pages_say_blank(client):
    response = client.get("/report")
    assert csp_sources(response.headers, "connect-src") == {"'self'"}
    assert csp_sources(response.headers, "img-src") == {"'self'", "data:", "blob:"}
    assert 'data-style-url=""' in response.text
    note = re.search(r'<p id="basemap-note" class="hint"( hidden)?>([^<]*)', response.text)
    assert note is not None
    assert note.group(1) is None  # shown
    assert "blank" in note.group(2)
    map_page = client.get("/map").text
    assert re.search(r'<p id="basemap-note" class="hint">[^<]*blank', map_page)


def test_the_csp_allows_exactly_the_origins_the_style_references(db_url):
    with style_server() as tilejson_server, style_server() as server:
        sprite_origin, tiles_origin = "http://127.0.0.1:9", "http://127.0.0.1:11"
        tilejson_server.extra["/planet.json"] = (
            "application/json",
            json.dumps({"tiles": [f"{tiles_origin}/{{z}}/{{x}}/{{y}}.pbf"]}).encode(),
        )
        style = {
            "version": 8,
            "sprite": f"{sprite_origin}/sprite",
            "glyphs": f"{server.base}/fonts/{{fontstack}}/{{range}}.pbf",
            "sources": {"planet": {"type": "vector", "url": f"{tilejson_server.base}/planet.json"}},
            "layers": [],
        }
        server.extra["/other.json"] = ("application/json", json.dumps(style).encode())
        settings = make_settings(
            db_url,
            map_style_url=f"{server.base}/other.json",
            map_extra_origins=("https://extra.example",),
        )
        expected = {
            "'self'",
            server.base,
            tilejson_server.base,
            sprite_origin,
            tiles_origin,
            "https://extra.example",
        }
        with TestClient(app=create_app(settings)) as client:
            assert wait_for(
                lambda: csp_sources(client.get("/healthz").headers, "connect-src") == expected
            ), client.get("/healthz").headers["content-security-policy"]
            page = client.get("/map")
            assert f'data-style-url="{server.base}/other.json"' in page.text
            assert csp_sources(page.headers, "img-src") == expected | {"data:", "blob:"}
            assert re.search(r'<p id="basemap-note" class="hint" hidden>', page.text)


def test_an_unreachable_style_leaves_only_its_own_origin_allowed(db_url):
    settings = make_settings(db_url, map_style_url="http://127.0.0.1:9/style.json")
    with TestClient(app=create_app(settings)) as client:
        headers = client.get("/report").headers
    assert csp_sources(headers, "connect-src") == {"'self'", "http://127.0.0.1:9"}


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "essex.pmtiles"
    path.write_bytes(os.urandom(200_000))
    return path


@pytest.fixture
def self_hosted(db_url, archive, tmp_path):
    fonts = tmp_path / "fonts" / "Noto Sans Regular"
    fonts.mkdir(parents=True)
    (fonts / "0-255.pbf").write_bytes(b"glyphs")
    settings = make_settings(
        db_url,
        map_style_url="https://tiles.openfreemap.org/styles/liberty",  # overridden by the file
        basemap_pmtiles=str(archive),
        basemap_glyphs_dir=str(tmp_path / "fonts"),
    )
    with TestClient(app=create_app(settings)) as client:
        yield client


def test_the_self_hosted_archive_is_served_by_byte_ranges(self_hosted, archive):
    data = archive.read_bytes()
    response = self_hosted.get("/basemap/basemap.pmtiles", headers={"Range": "bytes=0-16383"})
    assert response.status_code == 206
    assert response.content == data[:16384]
    assert response.headers["content-range"] == f"bytes 0-16383/{len(data)}"
    assert response.headers["accept-ranges"] == "bytes"
    etag = response.headers["etag"]
    tail = self_hosted.get("/basemap/basemap.pmtiles", headers={"Range": "bytes=199990-"})
    assert (tail.status_code, tail.content, tail.headers["etag"]) == (206, data[199990:], etag)
    whole = self_hosted.get("/basemap/basemap.pmtiles")
    assert (whole.status_code, whole.content) == (200, data)
    for bad in ("bytes=300000-", "lines=1-2", "bytes=5-1"):
        assert_problem(self_hosted.get("/basemap/basemap.pmtiles", headers={"Range": bad}), 400)


def test_the_self_hosted_style_points_at_the_archive_and_glyphs_and_nothing_else(self_hosted):
    page = self_hosted.get("/report")
    assert 'data-style-url="/basemap/style.json"' in page.text
    assert csp_sources(page.headers, "connect-src") == {"'self'"}  # no third party at all
    style = self_hosted.get("/basemap/style.json").json()
    assert style["sources"]["protomaps"]["url"] == (
        "pmtiles://http://testserver.local/basemap/basemap.pmtiles"
    )
    assert style["glyphs"] == "http://testserver.local/basemap/fonts/{fontstack}/{range}.pbf"
    assert {"roads-minor", "road-names", "place-names"} <= {
        layer["id"] for layer in style["layers"]
    }
    glyphs = self_hosted.get("/basemap/fonts/Noto Sans Regular/0-255.pbf")
    assert (glyphs.status_code, glyphs.content) == (200, b"glyphs")
    assert self_hosted.get("/basemap/fonts/../0-255.pbf").status_code == 404
    assert self_hosted.get("/basemap/fonts/..%2F..%2Fetc/passwd.pbf").status_code == 404


def test_without_a_self_hosted_archive_its_routes_are_404(client):
    assert_problem(client.get("/basemap/style.json"), 404)
    assert_problem(client.get("/basemap/basemap.pmtiles", headers={"Range": "bytes=0-1"}), 404)
    assert client.get("/basemap/fonts/Noto Sans Regular/0-255.pbf").status_code == 404
