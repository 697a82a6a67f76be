"""Abuse limits on public endpoints: per-client rate limit (shared between processes when
the PostgreSQL store is configured) and body size."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from litestar.testing import TestClient

from service.app import create_app
from tests.conftest import assert_problem, make_settings, started_client

STATUS = "/v1/referrals/ESX-2345-67/status?token=abcdef"


@pytest.mark.parametrize("store", ["memory", "postgres"])
def test_a_burst_of_200_requests_from_one_client_is_limited(db_url, store):
    settings = make_settings(db_url, public_rate_limit_per_minute=30, rate_limit_store=store)
    with TestClient(app=create_app(settings)) as client:
        statuses = [client.get(STATUS).status_code for _ in range(200)]
        limited = client.get(STATUS)
    assert statuses[:30] == [404] * 30
    assert statuses[30:] == [429] * 170
    problem = assert_problem(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) > 0
    assert "detail" in problem


def test_expired_counters_leave_the_memory_stores(db_url):
    """A memory store forgets an expired key only when that key is read again: without the
    sweep, a counter for every client that ever called would stay in the process's memory."""
    settings = make_settings(db_url, public_rate_limit_per_minute=30, counter_sweep_s=0.05)
    with started_client(settings) as client:
        assert client.get(STATUS).status_code == 404  # a live counter for this client
        stores = {
            "rate_limit": client.app.stores.get("rate_limit"),
            "login": client.app.state.login_throttle.store,
        }
        for store in stores.values():
            client.blocking_portal.call(
                lambda s=store: s.set("gone", b"1", expires_in=dt.timedelta(milliseconds=1))
            )
        deadline = time.monotonic() + 5  # MemoryStore keeps its entries in ``_store``
        while any("gone" in s._store for s in stores.values()) and time.monotonic() < deadline:
            time.sleep(0.02)
        kept = {name: sorted(store._store) for name, store in stores.items()}
    assert kept["login"] == []
    assert len(kept["rate_limit"]) == 1  # the live counter stays: its minute has not passed
    assert "gone" not in kept["rate_limit"]


def test_the_shared_store_holds_no_callers_address(db_url, sql):
    """Rate-limit counters are keyed by a keyed hash of the client, not by its address: the
    ``kv_store`` table (and a process's memory) keeps no record of who called."""
    settings = make_settings(db_url, public_rate_limit_per_minute=30, rate_limit_store="postgres")
    with started_client(settings) as client:
        assert client.get(STATUS).status_code == 404  # from the test client's "testclient"
    keys = [r["key"] for r in sql("SELECT key FROM kv_store WHERE namespace = 'rate_limit'")]
    assert len(keys) == 1
    assert "testclient" not in keys[0]


def test_the_postgres_store_shares_the_limit_between_app_processes(db_url):
    settings = make_settings(db_url, public_rate_limit_per_minute=30, rate_limit_store="postgres")
    with TestClient(app=create_app(settings)) as one, TestClient(app=create_app(settings)) as two:
        first = [one.get(STATUS).status_code for _ in range(20)]
        second = [two.get(STATUS).status_code for _ in range(20)]
    assert first == [404] * 20
    assert second == [404] * 10 + [429] * 10


def test_staff_routes_are_not_rate_limited_like_public_ones(db_url, staff, client):
    # The shared `client` fixture has a high limit; a low one must not touch signed-in routes.
    settings = make_settings(db_url, public_rate_limit_per_minute=2)
    with TestClient(app=create_app(settings)) as low:
        assert [low.get("/v1/teams", headers=staff["admin"]).status_code for _ in range(5)] == [
            200
        ] * 5


def test_a_large_body_is_refused_before_it_is_read(client, sql):
    response = client.post(
        "/report",
        content=b"a=" + b"x" * (64 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 413, "too-large")
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 0
