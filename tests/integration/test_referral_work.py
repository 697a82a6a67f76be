"""Attempts and outcomes close the loop: lifecycle, SLA and the referrer's public status."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.conftest import assert_problem
from tests.integration.test_referrals import alert


def referral(client, sql, **overrides):
    receipt = client.post("/v1/referrals", json=alert(**overrides)).json()
    rid = sql("SELECT id FROM referrals WHERE reference = $1", receipt["reference"])[0]["id"]
    return receipt, str(rid)


def attempt(found, **overrides):
    body = {
        "id": str(uuid.uuid4()),
        "attempted_at": dt.datetime.now(dt.UTC).isoformat(),
        "found": found,
        "lat": 51.7366,
        "lon": 0.4693,
    }
    body.update(overrides)
    return body


def test_three_not_found_attempts_close_the_referral(client, sql, staff):
    receipt, rid = referral(client, sql)
    for n in range(1, 4):
        state = client.post(
            f"/v1/referrals/{rid}/attempts", json=attempt(False), headers=staff["worker_mid"]
        )
        assert state.status_code == 200, state.text
        assert state.json()["not_found_attempts"] == n
    assert (state.json()["status"], state.json()["outcome"]) == ("closed", "not_found")
    public = client.get(receipt["status_url"]).json()
    assert public["stage"] == "closed"
    assert "could not find" in public["outcome_text"]


def test_a_resent_attempt_counts_once(client, sql, staff):
    _, rid = referral(client, sql)
    body = attempt(False)
    for _ in range(3):
        state = client.post(
            f"/v1/referrals/{rid}/attempts", json=body, headers=staff["worker_mid"]
        ).json()
    assert (state["attempts"], state["status"]) == (1, "attempted")


def test_an_outcome_closes_and_the_referrer_sees_it(client, sql, staff):
    receipt, rid = referral(client, sql)
    client.post(f"/v1/referrals/{rid}/attempts", json=attempt(True), headers=staff["worker_mid"])
    assert client.get(receipt["status_url"]).json()["stage"] == "being_looked_into"
    state = client.post(
        f"/v1/referrals/{rid}/outcome",
        json={"outcome": "found_accommodated"},
        headers=staff["worker_mid"],
    )
    assert state.json()["status"] == "closed"
    public = client.get(receipt["status_url"]).json()
    assert "accommodation" in public["outcome_text"]
    again = client.post(
        f"/v1/referrals/{rid}/outcome", json={"outcome": "not_found"}, headers=staff["worker_mid"]
    )
    assert_problem(again, 409)
    assert_problem(
        client.post(
            f"/v1/referrals/{rid}/attempts", json=attempt(False), headers=staff["worker_mid"]
        ),
        409,
    )


def test_an_unknown_outcome_code_is_refused(client, sql, staff):
    _, rid = referral(client, sql)
    problem = assert_problem(
        client.post(
            f"/v1/referrals/{rid}/outcome",
            json={"outcome": "vanished"},
            headers=staff["worker_mid"],
        ),
        400,
    )
    assert problem["errors"][0]["field"] == "$.outcome"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("worker_mid", 200),
        ("worker_south", 404),
        ("coord_mid", 200),
        ("coord_south", 404),
        ("admin", 200),
    ],
)
def test_who_may_record_work_on_a_chelmsford_referral(client, sql, staff, who, status):
    _, rid = referral(client, sql)
    response = client.post(
        f"/v1/referrals/{rid}/attempts", json=attempt(True), headers=staff[who] if who else {}
    )
    assert response.status_code == status, response.text


def test_staff_list_is_scoped_and_urgent_first_without_personal_detail(client, sql, staff):
    referral(client, sql)
    referral(client, sql, immediate_danger=True, appearance="urgent one")
    referral(client, sql, lat=51.538, lon=0.714)  # Southend
    rows = client.get("/v1/referrals", headers=staff["worker_mid"]).json()
    assert [r["urgent"] for r in rows] == [True, False]
    assert not {"appearance", "location_description", "lat", "lon"} & set(rows[0])
    assert len(client.get("/v1/referrals", headers=staff["coord_south"]).json()) == 1
    assert len(client.get("/v1/referrals", headers=staff["admin"]).json()) == 3
    assert_problem(client.get("/v1/referrals"), 401)


def test_reading_a_referral_is_audited_and_referrer_details_are_for_coordinators(
    client, sql, staff
):
    _, rid = referral(
        client,
        sql,
        referrer={"name": "Sam", "email": "sam@example.org", "consent_to_contact": True},
    )
    worker = client.get(f"/v1/referrals/{rid}", headers=staff["worker_mid"]).json()
    assert worker["appearance"] == "Grey beard, green sleeping bag"
    assert worker["referrer"] is None
    coordinator = client.get(f"/v1/referrals/{rid}", headers=staff["coord_mid"]).json()
    assert coordinator["referrer"]["email"] == "sam@example.org"
    audit = sql(
        "SELECT username, action, subject_type, subject_id, route FROM audit_log ORDER BY id"
    )
    assert [(a["username"], a["action"], a["subject_id"]) for a in audit] == [
        ("worker_mid", "read", rid),
        ("coord_mid", "read", rid),
    ]
    assert audit[0]["route"] == f"/v1/referrals/{rid}"
    assert_problem(client.get(f"/v1/referrals/{rid}", headers=staff["worker_south"]), 404)
