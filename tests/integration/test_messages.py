"""Messages: the transactional outbox, referrer emails over real SMTP (aiosmtpd on loopback),
Web Push alerts to a fake push service on loopback that decrypts what it receives with the
subscription's own keys, and the admin's view of it all.

Senders are driven by hand here (``drain``: a fresh runtime, one sender, until nothing is
due), except where the app's own background senders are the point (a restart, two
processes); backoff and poll intervals are made tiny so nothing waits.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import multiprocessing as mp
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar.testing import TestClient
from py_vapid import Vapid02

from bench.outbox import Inbox, drain_process, smtp_server
from service.app import create_app
from service.runtime import build_runtime
from service.usecases.messages.sender import Sender
from service.usecases.messages.transports import new_vapid_keys
from service.usecases.operations.retention import run_retention
from tests.conftest import assert_problem, in_thread, make_settings, wait_for, with_runtime
from tests.integration.test_referrals import alert

REFERRER = "walker@example.org"
SECRET_DESCRIPTION = "Grey beard, green sleeping bag"
SECRET_PLACE = "Doorway of the bank by the station"
VAPID_PRIVATE, VAPID_PUBLIC = new_vapid_keys()
FAST = {
    "outbox_backoff_base_s": 0.01,
    "outbox_backoff_max_s": 0.02,
    "outbox_poll_interval_s": 0,  # no background senders unless a test asks for them
    "assignment_auto_recompute": False,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp():
    """A real SMTP server on loopback that wants a login; ``smtp.port``, ``smtp.inbox``."""
    port, inbox = free_port(), Inbox()
    with smtp_server(port, inbox, credentials=("mailer", "s3cret")) as server:
        yield server


def smtp_url(port: int) -> str:
    return f"smtp://mailer:s3cret@127.0.0.1:{port}"


@pytest.fixture
def settings(db_url, smtp):
    return make_settings(db_url, smtp_url=smtp_url(smtp.port), **FAST)


def drain(settings, *, once: bool = False) -> int:
    """Deliver every due message with one sender, as an app process would (``once``: one
    claimed batch only); how many messages it handled."""

    async def go() -> int:
        runtime = build_runtime(settings)
        sender = Sender(runtime)
        try:
            return await (sender.run_once() if once else sender.drain())
        finally:
            await sender.close()
            await runtime.http.aclose()
            await runtime.engine.dispose()

    return in_thread(asyncio.run, go())


def token_of(receipt: dict[str, Any]) -> str:
    return parse_qs(urlsplit(receipt["status_url"]).query)["token"][0]


def refer(client, **overrides) -> dict[str, Any]:
    body = alert(
        referrer={"email": REFERRER, "consent_to_contact": True, "wants_update": True},
        **overrides,
    )
    response = client.post("/v1/referrals", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def referral_id(sql, reference: str):
    return sql("SELECT id FROM referrals WHERE reference = $1", reference)[0]["id"]


def bodies(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


# --- referrer emails ---------------------------------------------------------------------------


def test_an_outcome_sends_exactly_one_email_with_the_status_link_and_no_description(
    client, sql, staff, settings, smtp
):
    receipt = refer(client)
    assert drain(settings) == 1
    [(to, ack)] = smtp.inbox.messages
    assert to == [REFERRER]
    assert receipt["reference"] in ack["Subject"]
    rid = referral_id(sql, receipt["reference"])

    outcome = {"outcome": "found_engaged"}
    for _ in range(2):  # the same outcome sent again changes nothing
        response = client.post(
            f"/v1/referrals/{rid}/outcome", json=outcome, headers=staff["worker_mid"]
        )
        assert response.status_code == 200, response.text
    assert drain(settings) == 1
    assert drain(settings) == 0
    assert len(smtp.inbox.messages) == 2
    to, update = smtp.inbox.messages[1]
    assert to == [REFERRER]
    text, html = bodies(update)
    link = f"/report/status/{receipt['reference']}?token={token_of(receipt)}"
    assert f"{settings.public_base_url}{link}" in text
    assert "found the person and talked with them" in text
    for part in (text, html, update.as_string()):
        assert SECRET_DESCRIPTION not in part
        assert SECRET_PLACE not in part
    assert client.get(link).status_code == 200  # the link works
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Once sent, the outbox keeps neither the address nor the token.
    rows = sql("SELECT address, params, state FROM outbox_messages ORDER BY id")
    assert {r["state"] for r in rows} == {"sent"}
    assert all(r["address"] is None and "token" not in json.loads(r["params"]) for r in rows)


@pytest.mark.parametrize(
    "referrer",
    [
        None,
        {"phone": "07700 900123", "consent_to_contact": True, "wants_update": True},
        {"email": REFERRER, "consent_to_contact": True, "wants_update": False},
    ],
    ids=["no referrer", "no address", "no consent to updates"],
)
def test_a_referral_without_consent_or_address_sends_nothing(
    client, sql, staff, settings, smtp, referrer
):
    response = client.post("/v1/referrals", json=alert(referrer=referrer))
    assert response.status_code == 201, response.text
    rid = referral_id(sql, response.json()["reference"])
    closed = client.post(
        f"/v1/referrals/{rid}/outcome", json={"outcome": "not_found"}, headers=staff["coord_mid"]
    )
    assert closed.status_code == 200, closed.text
    assert sql("SELECT count(*) AS n FROM outbox_messages")[0]["n"] == 0
    assert drain(settings) == 0
    assert smtp.inbox.messages == []


def test_a_resent_referral_is_acknowledged_once(client, sql, settings, smtp):
    body = alert(referrer={"email": REFERRER, "consent_to_contact": True, "wants_update": True})
    key = {"Idempotency-Key": "resend-" + "k" * 20}
    first = client.post("/v1/referrals", json=body, headers=key)
    again = client.post("/v1/referrals", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert drain(settings) == 1
    assert len(smtp.inbox.messages) == 1


def test_the_smtp_server_down_for_a_while_loses_nothing_and_sends_nothing_twice(
    client, sql, settings, smtp
):
    smtp.stop()  # down
    references = [refer(client, lat=51.7366 + i / 1000)["reference"] for i in range(3)]
    for attempt in (1, 2):  # tried, failed, due again after a (tiny) backoff
        assert drain(settings, once=True) == 3
        failed = sql("SELECT attempts, state, last_error FROM outbox_messages")
        assert {(r["attempts"], r["state"]) for r in failed} == {(attempt, "queued")}
        assert all(r["last_error"].startswith("smtp:") for r in failed)
        time.sleep(0.03)
    smtp.start()  # back
    assert drain(settings) == 3
    assert drain(settings) == 0
    subjects = sorted(m["Subject"] for _, m in smtp.inbox.messages)
    assert subjects == sorted(f"We have received your alert {r}" for r in references)
    rows = sql("SELECT attempts, state FROM outbox_messages")
    assert {(r["attempts"], r["state"]) for r in rows} == {(3, "sent")}


def test_a_message_committed_while_no_sender_ran_goes_out_after_restart_once(db_url, sql, smtp):
    down = make_settings(db_url, **FAST)  # the process "dies" before any sender sends
    with TestClient(app=create_app(down)) as client:
        reference = refer(client)["reference"]
    assert sql("SELECT state FROM outbox_messages")[0]["state"] == "queued"

    restarted = make_settings(
        db_url, smtp_url=smtp_url(smtp.port), **{**FAST, "outbox_poll_interval_s": 0.02}
    )
    with TestClient(app=create_app(restarted)):  # its background senders deliver
        assert wait_for(lambda: len(smtp.inbox.messages) >= 1, timeout_s=15)
        time.sleep(0.2)  # several more polls: nothing more goes out
    assert [m["Subject"] for _, m in smtp.inbox.messages] == [
        f"We have received your alert {reference}"
    ]
    assert sql("SELECT state FROM outbox_messages")[0]["state"] == "sent"


def test_two_sender_processes_send_each_message_once(db_url, sql, smtp):
    n = 300
    sql(
        "INSERT INTO outbox_messages (message_key, recipient_key, template, channel, address, "
        "params) SELECT 'test:' || i, 'referrer', 'referral_acknowledged', 'email', "
        "'r' || i || '@example.org', jsonb_build_object('reference', 'ESX-' || i, 'token', 't') "
        "FROM generate_series(1, $1) AS i",
        n,
    )
    settings = make_settings(
        db_url, smtp_url=smtp_url(smtp.port), outbox_batch_size=5, db_pool_size=2, **FAST
    )
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=drain_process, args=(settings, start, results)) for _ in "ab"]
    for p in procs:
        p.start()
    time.sleep(1.0)
    start.set()
    handled = sorted(results.get(timeout=120)[0] for _ in procs)
    for p in procs:
        p.join(30)
    assert sum(handled) == n
    assert handled[0] > 0, "both processes took part"
    recipients = [to[0] for to, _ in smtp.inbox.messages]
    assert len(recipients) == n
    assert len(set(recipients)) == n
    assert len(set(smtp.inbox.ids)) == n
    assert sql("SELECT count(*) AS n FROM outbox_messages WHERE state = 'sent'")[0]["n"] == n


def test_retention_deletes_the_address_from_the_outbox_too(client, sql, staff, settings):
    receipt = refer(client)  # no sender ran: the acknowledgement still waits
    rid = referral_id(sql, receipt["reference"])
    client.post(
        f"/v1/referrals/{rid}/outcome",
        json={"outcome": "found_engaged"},
        headers=staff["worker_mid"],
    )
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    sql("UPDATE referrals SET closed_at = $2 WHERE id = $1", rid, long_ago)
    assert (
        sql("SELECT count(*) AS n FROM outbox_messages WHERE address = $1", REFERRER)[0]["n"] == 2
    )

    report = with_runtime(settings, run_retention)
    assert report.counts["referrer_contacts_closed"] == 1
    rows = sql("SELECT to_jsonb(o)::text AS row, state FROM outbox_messages o")
    assert len(rows) == 2
    assert all(REFERRER not in r["row"] and token_of(receipt) not in r["row"] for r in rows)
    assert {r["state"] for r in rows} == {"cancelled"}
    assert drain(settings) == 0


def test_the_unsubscribe_link_stops_every_email_about_the_alert(client, sql, staff, settings, smtp):
    receipt = refer(client)
    reference, token = receipt["reference"], token_of(receipt)
    assert drain(settings) == 1
    text, _ = bodies(smtp.inbox.messages[0][1])
    page = f"/report/unsubscribe/{reference}?token={token}"
    assert f"{settings.public_base_url}{page}" in text
    shown = client.get(page)
    assert shown.status_code == 200
    assert "<form" in shown.text
    assert sql("SELECT wants_update FROM referrer_contacts")[0]["wants_update"]  # not yet

    wrong = client.post(f"/v1/referrals/{reference}/unsubscribe", params={"token": "x" * 32})
    assert_problem(wrong, 404)
    done = client.post(f"/report/unsubscribe/{reference}", params={"token": token})
    assert done.status_code == 200
    assert "no more emails" in done.text
    again = client.post(f"/v1/referrals/{reference}/unsubscribe", params={"token": token})
    assert again.status_code == 200
    assert again.json() == {"reference": reference, "unsubscribed": True}

    rid = referral_id(sql, reference)
    client.post(
        f"/v1/referrals/{rid}/outcome", json={"outcome": "not_found"}, headers=staff["worker_mid"]
    )
    assert drain(settings) == 0
    assert len(smtp.inbox.messages) == 1
    contact = sql("SELECT wants_update, status_token, email FROM referrer_contacts")[0]
    assert tuple(contact.values()) == (False, None, None)  # as the page promised


# --- the admin's view ----------------------------------------------------------------------------


def test_dead_letters_are_listed_retried_and_counted_in_metrics(db_url, sql, staff_ids, smtp):
    from tests.conftest import mint_token

    settings = make_settings(db_url, smtp_url=smtp_url(smtp.port), outbox_max_attempts=2, **FAST)
    admin = {"Authorization": f"Bearer {mint_token(settings, staff_ids['admin'])}"}
    smtp.stop()
    with TestClient(app=create_app(settings)) as client:
        refer(client)
        for _ in range(2):  # two failed attempts: a dead letter
            assert drain(settings, once=True) == 1
            time.sleep(0.03)
        dead = client.get("/v1/outbox", params={"state": "dead"}, headers=admin)
        assert dead.status_code == 200, dead.text
        [item] = dead.json()["items"]
        assert (item["template"], item["attempts"]) == ("referral_acknowledged", 2)
        assert "address" not in item
        assert "params" not in item
        assert client.get("/v1/outbox", params={"state": "queued"}, headers=admin).json() == {
            "items": [],
            "has_more": False,
        }
        metrics = client.get("/metrics", headers=admin).text
        assert 'outreach_outbox_messages{state="dead"} 1.0' in metrics
        assert "outreach_outbox_oldest_queued_age_seconds 0.0" in metrics

        retried = client.post(f"/v1/outbox/{item['id']}/retry", headers=admin)
        assert retried.status_code == 200, retried.text
        assert (retried.json()["state"], retried.json()["attempts"]) == ("queued", 0)
        assert_problem(client.post(f"/v1/outbox/{item['id']}/retry", headers=admin), 409)
        metrics = client.get("/metrics", headers=admin).text
        assert 'outreach_outbox_messages{state="queued"} 1.0' in metrics
        assert "outreach_outbox_retrying_messages 0.0" in metrics  # attempts start afresh
        assert "outreach_outbox_oldest_queued_age_seconds 0.0" not in metrics
        smtp.start()
        assert drain(settings) == 1
        assert len(smtp.inbox.messages) == 1


def test_every_template_has_an_admin_preview_without_personal_data(client, staff):
    from service.vocabularies import MESSAGE_TEMPLATES

    for template in MESSAGE_TEMPLATES:
        response = client.get(f"/v1/outbox/templates/{template}", headers=staff["admin"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["email_subject"]
        assert body["email_text"]
        assert body["email_html"]
        assert len(body["email_text"]) < 800
        if template.startswith("referral_"):
            assert "/report/status/" in body["email_text"]
            assert body["push_payload"] is None
        else:
            assert set(body["push_payload"]) == {"kind", "reference", "reason"}
    preview = client.get("/v1/outbox/templates/referral_outcome", headers=staff["admin"]).json()
    assert "&lt;" not in preview["email_text"]
    assert preview["email_html"].startswith("<!doctype html>")
    assert client.get("/v1/outbox/templates/nope", headers=staff["admin"]).status_code == 400


# --- Web Push ------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class FakePushService:
    """A push service on loopback: each endpoint has the subscription's private keys, so it
    decrypts what it receives (RFC 8291) and checks the VAPID signature (RFC 8292)."""

    def __init__(self) -> None:
        self.devices: dict[str, tuple[Any, bytes, int]] = {}
        self.received: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key, auth, status = service.devices[self.path]
                assert Vapid02.verify(self.headers["Authorization"])
                plain = http_ece.decrypt(
                    body, private_key=key, auth_secret=auth, version="aes128gcm"
                )
                service.received.append((self.path, json.loads(plain), dict(self.headers)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def subscription(self, name: str, status: int = 201) -> dict[str, Any]:
        """A browser's PushSubscription JSON for a new device ``name``."""
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.devices[f"/push/{name}"] = (key, auth, status)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.base}/push/{name}",
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(auth)},
        }

    def to(self, name: str) -> list[dict[str, Any]]:
        return [payload for path, payload, _ in self.received if path == f"/push/{name}"]


@pytest.fixture
def push():
    service = FakePushService()
    yield service
    service.server.shutdown()


@pytest.fixture
def push_settings(db_url, smtp):
    return make_settings(
        db_url,
        smtp_url=smtp_url(smtp.port),
        vapid_private_key=VAPID_PRIVATE,
        push_services=("http://127.0.0.1",),  # the fake push service
        **FAST,
    )


@pytest.fixture
def push_client(push_settings):
    with TestClient(app=create_app(push_settings)) as client:
        yield client


def on_shift(sql, team: str, on: bool = True) -> None:
    """Make ``team``'s daily shift cover now (the whole day) or not (a minute long, 12 hours
    from now)."""
    if on:
        sql("UPDATE teams SET shift_start = '00:00', shift_end = '00:00' WHERE name = $1", team)
        return
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).time().replace(second=0)
    end = (dt.datetime.combine(dt.date.today(), later) + dt.timedelta(minutes=1)).time()
    sql("UPDATE teams SET shift_start = $2, shift_end = $3 WHERE name = $1", team, later, end)


def test_an_urgent_referral_reaches_the_on_shift_teams_device_and_not_another_teams(
    push_client, push_settings, sql, staff, push
):
    for team in ("Mid Essex Outreach", "Southend Outreach"):
        on_shift(sql, team)
    for who in ("worker_mid", "worker_south"):
        subscribed = push_client.put(
            "/v1/push/subscription", json=push.subscription(who), headers=staff[who]
        )
        assert subscribed.status_code == 200, subscribed.text
    key = push_client.get("/v1/push/key", headers=staff["worker_mid"])
    assert key.json() == {"public_key": VAPID_PUBLIC}

    receipt = push_client.post("/v1/referrals", json=alert(immediate_danger=True)).json()
    assert receipt["urgent"]
    assert drain(push_settings) == 1
    assert push.to("worker_south") == []
    [payload] = push.to("worker_mid")
    assert payload == {
        "kind": "urgent_referral",
        "reference": receipt["reference"],
        "reason": "Urgent referral for your team",
    }
    headers = push.received[0][2]
    assert (headers["Urgency"], headers["Content-Encoding"]) == ("high", "aes128gcm")
    raw = json.dumps(push.received[0][1])
    assert SECRET_DESCRIPTION not in raw
    assert "51.73" not in raw


def test_a_team_without_a_device_on_shift_gets_the_alert_at_its_email_address(
    push_client, push_settings, sql, staff, push, smtp
):
    on_shift(sql, "Mid Essex Outreach", on=False)
    sql("UPDATE teams SET alert_email = 'mid@outreach.example' WHERE name = 'Mid Essex Outreach'")
    push_client.put(
        "/v1/push/subscription", json=push.subscription("mid"), headers=staff["worker_mid"]
    )
    receipt = push_client.post("/v1/referrals", json=alert(immediate_danger=True)).json()
    assert drain(push_settings) == 1
    assert push.received == []
    [(to, message)] = smtp.inbox.messages
    assert to == ["mid@outreach.example"]
    assert receipt["reference"] in message["Subject"]
    assert SECRET_DESCRIPTION not in message.as_string()


def test_a_gone_subscription_is_deleted_and_the_team_email_takes_the_alert(
    push_client, push_settings, sql, staff, push, smtp
):
    on_shift(sql, "Mid Essex Outreach")
    sql("UPDATE teams SET alert_email = 'mid@outreach.example' WHERE name = 'Mid Essex Outreach'")
    push_client.put(
        "/v1/push/subscription", json=push.subscription("old", 410), headers=staff["worker_mid"]
    )
    push_client.post("/v1/referrals", json=alert(immediate_danger=True))
    assert drain(push_settings) == 2  # the push (gone), then the email that replaces it
    assert len(push.to("old")) == 1
    assert sql("SELECT count(*) AS n FROM push_subscriptions")[0]["n"] == 0
    states = {r["channel"]: r["state"] for r in sql("SELECT channel, state FROM outbox_messages")}
    assert states == {"push": "cancelled", "email": "sent"}
    assert [to for to, _ in smtp.inbox.messages] == [["mid@outreach.example"]]


def test_swep_switched_on_alerts_the_covering_teams_on_shift_once(
    push_client, push_settings, sql, staff, push
):
    on_shift(sql, "Mid Essex Outreach")
    on_shift(sql, "Southend Outreach")
    for who in ("worker_mid", "worker_south"):
        push_client.put("/v1/push/subscription", json=push.subscription(who), headers=staff[who])
    for active in (True, True, False):  # switching on twice is one switch
        response = push_client.put(
            "/v1/areas/E07000070/swep", json={"active": active}, headers=staff["coord_mid"]
        )
        assert response.status_code == 200, response.text
    assert drain(push_settings) == 1
    assert push.to("worker_mid") == [
        {"kind": "swep_on", "reference": "Chelmsford", "reason": "SWEP is on"}
    ]
    assert push.to("worker_south") == []


def test_push_subscriptions_are_per_user_and_removable(push_client, sql, staff, push):
    mine = push.subscription("phone")
    first = push_client.put(
        "/v1/push/subscription", json={**mine, "device_id": "dev-1"}, headers=staff["worker_mid"]
    )
    assert first.status_code == 200, first.text
    again = push_client.put("/v1/push/subscription", json=mine, headers=staff["worker_mid"])
    assert again.json()["id"] == first.json()["id"]
    bad = push_client.put(
        "/v1/push/subscription",
        json={**mine, "keys": {"p256dh": "x", "auth": "y"}},
        headers=staff["worker_mid"],
    )
    assert bad.status_code == 400
    off_curve = {**mine, "keys": {**mine["keys"], "p256dh": "B" + "A" * 86}}
    refused = push_client.put("/v1/push/subscription", json=off_curve, headers=staff["worker_mid"])
    assert_problem(refused, 422)
    for elsewhere in (
        "http://169.254.169.254/latest/meta-data",
        "https://intranet.local/x",
        "https://[fcm.googleapis.com/x",  # found by the fuzzer: urlsplit raised, a 500
    ):
        inside = push_client.put(
            "/v1/push/subscription",
            json={**mine, "endpoint": elsewhere},
            headers=staff["worker_mid"],
        )
        assert_problem(inside, 422)
    other = push_client.request(
        "DELETE",
        "/v1/push/subscription",
        json={"endpoint": mine["endpoint"]},
        headers=staff["worker_south"],
    )
    assert_problem(other, 404)
    gone = push_client.request(
        "DELETE",
        "/v1/push/subscription",
        json={"endpoint": mine["endpoint"]},
        headers=staff["worker_mid"],
    )
    assert gone.status_code == 204
    assert sql("SELECT count(*) AS n FROM push_subscriptions")[0]["n"] == 0


def test_the_push_key_is_a_404_problem_when_push_is_not_configured(client, staff):
    assert_problem(client.get("/v1/push/key", headers=staff["worker_mid"]), 404)


def test_a_referral_new_on_todays_run_sheet_alerts_the_team_once(
    push_client, push_settings, sql, staff, push
):
    on_shift(sql, "Mid Essex Outreach")
    push_client.put(
        "/v1/push/subscription", json=push.subscription("mid"), headers=staff["worker_mid"]
    )
    receipt = push_client.post("/v1/referrals", json=alert()).json()
    assert not receipt["urgent"]
    for _ in range(2):  # a second run places it on the same run-sheet: no second alert
        run = push_client.post("/v1/assignments:run", headers=staff["coord_mid"])
        assert run.status_code == 200, run.text
    placed = sql("SELECT team_id, shift_index FROM assignments WHERE item_kind = 'referral'")
    assert placed[0]["shift_index"] == 0, placed
    assert drain(push_settings) == 1
    assert push.to("mid") == [
        {
            "kind": "run_sheet_item",
            "reference": receipt["reference"],
            "reason": "New on today's run-sheet",
        }
    ]


def self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_email_goes_over_starttls_with_a_login(client, sql, db_url, tmp_path):
    import ssl

    from bench.outbox import LoopbackSmtp

    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port, inbox = free_port(), Inbox()
    server = LoopbackSmtp(port, inbox, credentials=("mailer", "s3cret"), tls_context=context)
    server.start()
    try:
        receipt = refer(client)
        settings = make_settings(
            db_url,
            smtp_url=f"smtp+starttls://mailer:s3cret@127.0.0.1:{port}",
            smtp_ca_file=cert,
            **FAST,
        )
        assert drain(settings) == 1
    finally:
        server.stop()
    [(to, message)] = inbox.messages
    assert to == [REFERRER]
    assert receipt["reference"] in message["Subject"]
    assert sql("SELECT state FROM outbox_messages")[0]["state"] == "sent"


def test_a_message_that_cannot_be_built_fails_alone(sql, settings, smtp):
    sql(
        "INSERT INTO outbox_messages (message_key, recipient_key, template, channel, address, "
        "params) VALUES ('bad', 'referrer', 'referral_acknowledged', 'email', 'a@example.org', "
        "'{}'), ('good', 'referrer', 'referral_acknowledged', 'email', 'b@example.org', "
        '\'{"reference": "ESX-1", "token": "t"}\')'
    )
    assert drain(settings, once=True) == 2
    time.sleep(0.03)
    assert drain(settings, once=True) == 1  # only the bad one is due again
    assert [to for to, _ in smtp.inbox.messages] == [["b@example.org"]]
    bad = sql("SELECT state, attempts, last_error FROM outbox_messages WHERE message_key = 'bad'")
    assert (bad[0]["state"], bad[0]["attempts"], bad[0]["last_error"]) == (
        "queued",
        2,
        "error: KeyError",
    )


class StallingInbox(Inbox):
    """Holds the first delivery attempt at DATA (without accepting it) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if not self.stalled.is_set():
            self.stalled.set()
            await asyncio.to_thread(self.release.wait, 60)
            return "451 try again later"  # never accepted: the sender was killed meanwhile
        return await super().handle_DATA(server, session, envelope)


def test_a_sender_killed_mid_send_releases_the_message_which_goes_out_once(client, sql, db_url):
    from bench.outbox import LoopbackSmtp

    port, inbox = free_port(), StallingInbox()
    server = LoopbackSmtp(port, inbox)
    server.start()
    try:
        reference = refer(client)["reference"]
        settings = make_settings(db_url, smtp_url=f"smtp://127.0.0.1:{port}", **FAST)
        ctx = mp.get_context("spawn")
        start, results = ctx.Event(), ctx.Queue()
        doomed = ctx.Process(target=drain_process, args=(settings, start, results))
        doomed.start()
        start.set()
        assert inbox.stalled.wait(60), "the first sender never reached DATA"
        assert sql("SELECT state FROM outbox_messages")[0]["state"] == "queued"
        doomed.kill()  # SIGKILL while it holds the row and waits for the server
        doomed.join(10)
        inbox.release.set()
        # Its connection is gone, so is its lock: another sender takes the message.
        assert wait_for(lambda: drain(settings) == 1, timeout_s=20)
        assert drain(settings) == 0
    finally:
        server.stop()
    assert [m["Subject"] for _, m in inbox.messages] == [f"We have received your alert {reference}"]
    row = sql("SELECT state, attempts FROM outbox_messages")[0]
    assert (row["state"], row["attempts"]) == ("sent", 1)  # the killed attempt left no trace


def test_an_imported_file_sends_nothing(monkeypatch, db_url, sql, tmp_path, capsys):
    """Old alerts from another system: their referrers never had a link from this service,
    and their urgency is long past."""
    from tests.integration.test_referral_import import run_import, seen, write_csv

    on_shift(sql, "Mid Essex Outreach")
    header = [
        "Alert ID",
        "Date and time seen",
        "Latitude",
        "Longitude",
        "Location",
        "Danger",
        "Email",
        "Consent to contact",
        "Wants update",
    ]
    rows = [["A-1", seen(3), "51.7366", "0.4693", "bank doorway", "yes", REFERRER, "yes", "yes"]]
    assert run_import(monkeypatch, db_url, write_csv(tmp_path / "e.csv", rows, header)) == 0
    stored = sql(
        "SELECT r.urgent, c.email, c.wants_update FROM referrals r "
        "JOIN referrer_contacts c ON c.referral_id = r.id"
    )
    assert [tuple(r.values()) for r in stored] == [(True, REFERRER, True)]
    assert sql("SELECT count(*) AS n FROM outbox_messages")[0]["n"] == 0
