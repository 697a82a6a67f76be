"""Operations: request ids, JSON log lines without personal data, Prometheus metrics behind a
token (one count across several workers), and a graceful shutdown that finishes the request
in flight."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import httpx
from litestar.testing import TestClient

from service.app import create_app
from service.usecases.operations.cli_jobs import add_user
from tests.conftest import PASSWORD, assert_problem, in_thread, make_settings
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert
from tests.liveserver import METRICS_TOKEN, LiveServer

MARKER = "Zebra-striped umbrella 4711"  # personal data that must never reach a log


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text output (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample))
        if sample.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def add_staff(db_url: str, username: str, role: str, teams: list[str]) -> None:
    in_thread(
        asyncio.run,
        add_user(
            make_settings(db_url),
            username=username,
            display_name=username,
            password=PASSWORD,
            role=role,
            teams=teams,
            authorities=[],
        ),
    )


def test_a_valid_request_id_is_echoed_and_an_unsafe_one_replaced(client):
    mine = client.get("/v1/areas", headers={"X-Request-ID": "trace-abc.123"})
    assert mine.headers["x-request-id"] == "trace-abc.123"
    unsafe = client.get("/v1/areas", headers={"X-Request-ID": "bad id <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    missing = client.get("/no/such/page", headers={"X-Request-ID": "trace-404"})
    body = assert_problem(missing, 404)
    assert body["request_id"] == missing.headers["x-request-id"] == "trace-404"


def test_metrics_need_the_scrape_token_or_an_admin(client, staff):
    assert_problem(client.get("/metrics"), 401)
    assert_problem(client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401)
    assert_problem(client.get("/metrics", headers=staff["worker_mid"]), 403)
    assert client.get("/metrics", headers=staff["admin"]).status_code == 200


def test_metrics_count_ingest_and_time_requests_by_route_template(db_url, staff):
    settings = make_settings(db_url, metrics_token=METRICS_TOKEN)
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    with TestClient(app=create_app(settings)) as client:
        before = client.get("/metrics", headers=scrape).text
        assert client.post("/v1/referrals", json=alert()).status_code == 201
        client.get("/v1/referrals/ESX-2345-67/status", params={"token": "x"})
        batch = {"items": [contact(), contact(lat=31.9, lon=-93.4)]}
        response = client.post("/v1/contacts:batch", json=batch, headers=staff["worker_mid"])
        assert response.status_code == 200
        after = client.get("/metrics", headers=scrape)
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def delta(name: str, **labels: str) -> float:
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert delta("outreach_referrals_created_total", source="api") == 1
    assert delta("outreach_contacts_total", result="created") == 1
    assert delta("outreach_contacts_total", result="rejected") == 1
    template = "/v1/referrals/{reference}/status"
    assert delta("outreach_request_duration_seconds_count", path=template, status_code="404") == 1
    assert "ESX-2345-67" not in text  # raw paths are never labels
    assert "outreach_clustering_run_seconds" in text


def test_json_logs_with_request_ids_and_metrics_summed_over_two_workers(db_url):
    add_staff(db_url, "ops_worker", "worker", ["Mid Essex Outreach"])
    with LiveServer(db_url, workers=2) as server, httpx.Client(base_url=server.url) as http:
        signed_in = http.post(
            "/v1/auth/token", json={"username": "ops_worker", "password": PASSWORD}
        )
        token = signed_in.json()["access_token"]
        receipts = [
            http.post("/v1/referrals", json=alert(appearance=MARKER, lat=51.7366 + i / 1000))
            for i in range(6)
        ]
        assert [r.status_code for r in receipts] == [201] * 6
        status_url = receipts[0].json()["status_url"]
        http.get(status_url, headers={"X-Request-ID": "trace-status-1"})
        scraped = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200
        # Each worker counts what it served; the scrape adds every worker's count up.
        assert metric(scraped.text, "outreach_referrals_created_total", source="api") == 6
        assert server.stop() == 0
        records = server.log_records()  # every line parses as one JSON object
        raw = server.log()
    access = [r for r in records if r["logger"] == "service.access"]
    assert {"time", "level", "logger", "message", "request_id"} <= records[0].keys()
    mine = [r for r in access if r["request_id"] == "trace-status-1"]
    assert len(mine) == 1
    assert mine[0]["method"] == "GET"
    assert mine[0]["status"] == 200
    assert mine[0]["duration_ms"] >= 0
    assert mine[0]["path"] == status_url.split("?")[0]  # never the query (the status token)
    assert len({r["request_id"] for r in access}) == len(access)
    for secret in (MARKER, PASSWORD, token, status_url.split("token=")[1], METRICS_TOKEN):
        assert secret not in raw


def test_sigterm_finishes_the_request_in_flight_then_exits_0(db_url, sql):
    add_staff(db_url, "shutdown_worker", "worker", ["Mid Essex Outreach"])
    items = [contact(support_needs=["alcohol"], health_notes="n") for _ in range(500)]
    result: dict[str, object] = {}
    with LiveServer(db_url) as server:
        token = httpx.post(
            f"{server.url}/v1/auth/token",
            json={"username": "shutdown_worker", "password": PASSWORD},
        ).json()["access_token"]

        def post_batch() -> None:
            response = httpx.post(
                f"{server.url}/v1/contacts:batch",
                json={"items": items},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            result.update(status=response.status_code, body=response.json(), at=time.monotonic())

        sender = threading.Thread(target=post_batch)
        sender.start()
        assert wait_for_open_transaction(sql), "the batch never reached the database"
        signalled_at = time.monotonic()
        exit_code = server.stop(timeout_s=30)
        stopped_at = time.monotonic()
        sender.join(timeout=30)
        log = server.log()
    assert result["at"] > signalled_at, "the request was not in flight at SIGTERM"
    assert result["status"] == 200
    assert result["body"]["created"] == 500
    assert sql("SELECT count(*) AS n FROM contacts")[0]["n"] == 500
    assert exit_code == 0
    assert stopped_at - signalled_at < 25
    assert "Traceback" not in log
    assert '"level":"ERROR"' not in log


def wait_for_open_transaction(sql, timeout_s: float = 20.0) -> bool:
    """Whether an app connection (not this probe) is inside a transaction, within the time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = sql(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'essex-outreach' AND xact_start IS NOT NULL "
            "AND pid <> pg_backend_pid()"
        )[0]["n"]
        if busy:
            return True
        time.sleep(0.02)
    return False
