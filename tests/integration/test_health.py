"""Liveness, readiness, and recovery when the database goes away and comes back."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.db.revisions import migration_head
from tests.conftest import assert_problem, make_settings, wait_for
from tests.dbproxy import DatabaseProxy, via_proxy


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_migration_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["migration"] == migration_head() != ""
    assert body["boundary_version"] is not None


def test_readyz_is_503_when_the_database_is_behind_the_code(client, sql):
    sql("UPDATE alembic_version SET version_num = 'old'")
    body = assert_problem(client.get("/readyz"), 503, "not-ready")
    assert "old" in body["detail"]


@pytest.fixture
def proxy(db_url):
    parts = urlsplit(db_url)
    db_proxy = DatabaseProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    db_proxy.up()
    yield db_proxy, urlunsplit(parts._replace(netloc=via_proxy(parts, db_proxy.port)))
    db_proxy.close()


def test_database_outage_gives_503_then_recovers_without_restart(proxy):
    db_proxy, url = proxy
    settings = make_settings(url, db_connect_timeout_s=1.0)
    with TestClient(app=create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        db_proxy.down()
        started = time.monotonic()
        response = client.get("/readyz")
        assert time.monotonic() - started < 8, "readiness must not hang on a dead database"
        assert_problem(response, 503, "not-ready")
        down = client.get("/v1/areas")
        assert_problem(down, 503, "database-unavailable")
        assert int(down.headers["retry-after"]) > 0
        assert "sql" not in down.text.lower()
        assert client.get("/healthz").status_code == 200
        db_proxy.up()
        assert wait_for(lambda: client.get("/readyz").status_code == 200)
        assert client.get("/v1/areas").status_code == 200


def test_a_server_freezes_what_it_loaded_once_started(db_url, monkeypatch):
    """The uvicorn factory's app puts its startup objects out of the cycle collector's reach
    (a full collection walked ~175,000 of them, ~95 ms, with every request waiting)."""
    import gc

    import service.app

    monkeypatch.setattr(service.app, "configure_logging", lambda *a, **k: None)
    for name, value in {
        "DATABASE_URL": db_url,
        "OUTREACH_HOTSPOT_RECOMPUTE_INTERVAL_S": "0",
        "OUTREACH_RETENTION_INTERVAL_S": "0",
        "OUTREACH_MAP_STYLE_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    gc.unfreeze()
    app = service.app.create_app_from_env()
    assert gc.get_freeze_count() == 0, "nothing is frozen before the server starts"
    try:
        with TestClient(app=app) as started:
            assert started.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 50_000
    finally:
        gc.unfreeze()  # the test process's objects go back to the collector
