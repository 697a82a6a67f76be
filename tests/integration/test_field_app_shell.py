"""The field app's shell as the service serves it: the page, its service worker (allowed to
control /app, never cached by HTTP) and its manifest, all without a token."""

from __future__ import annotations

import re

from service.usecases.staff.field_app import MANIFEST, NOT_OFFERED_BY_THE_APP
from service.vocabularies import OUTCOME_CODES, SUPPORT_NEEDS
from tests.conftest import ROOT


def test_the_page_loads_only_its_own_scripts_under_the_strict_policy(client):
    page = client.get("/app")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/vendor/maplibre-gl/maplibre-gl.js">',
        '<script src="/static/build/app.js">',
    ]
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)  # no inline handlers
    assert '<link rel="manifest" href="/app/manifest.webmanifest">' in html
    # The choices come from the vocabularies; retention's own outcome is not offered.
    for need in SUPPORT_NEEDS:
        assert f'value="{need}"' in html
    offered = set(re.findall(r'<option value="([a-z_]+)">', html)) & set(OUTCOME_CODES)
    assert offered == set(OUTCOME_CODES) - NOT_OFFERED_BY_THE_APP


def test_the_service_worker_may_control_the_app_and_is_always_revalidated(client):
    worker = client.get("/app/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/app"
    assert worker.headers["cache-control"] == "no-cache"
    # Its precache list names the shell, each with a revision.
    for url in ("/app", "/static/build/app.js", "/static/vendor/maplibre-gl/maplibre-gl.js"):
        assert f'url:"{url}",revision:"' in worker.text


def test_the_manifest_makes_the_app_installable(client):
    response = client.get("/app/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest == MANIFEST
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == manifest["scope"] == "/app"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        path = ROOT / "service" / "web" / icon["src"].lstrip("/")
        assert path.read_bytes().startswith(b"\x89PNG"), icon["src"]
        assert client.get(icon["src"]).status_code == 200
