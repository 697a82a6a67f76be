"""The staff map's page shell: no data in it, no inline script, the configured base map."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from service.app import create_app
from tests.conftest import make_settings


def test_the_map_page_is_a_shell_without_inline_script(client):
    response = client.get("/map")
    assert response.status_code == 200
    html = response.text
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/vendor/maplibre-gl/maplibre-gl.js">',
        '<script src="/static/build/map.js">',
    ]
    assert 'data-style-url=""' in html  # a blank background when no base map is configured
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert client.get("/static/build/map.js").status_code == 200
    assert client.get("/static/vendor/maplibre-gl/maplibre-gl.js").status_code == 200


def test_the_base_map_style_is_configurable_and_allowed_by_the_csp(db_url):
    style = "https://tiles.example.org/styles/basic/style.json"
    with TestClient(app=create_app(make_settings(db_url, map_style_url=style))) as client:
        response = client.get("/map")
    assert f'data-style-url="{style}"' in response.text
    assert "https://tiles.example.org" in response.headers["content-security-policy"]
