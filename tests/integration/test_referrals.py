"""Public referral intake, routing, receipts, status and duplicates."""

from __future__ import annotations

import csv
import datetime as dt
import uuid

import pytest

from tests.conftest import PASSWORD, REFERENCE, assert_problem

PLACES = REFERENCE / "hotspot_places.csv"


def alert(**overrides):
    seen = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    body = {
        "lat": 51.7366,
        "lon": 0.4693,
        "accuracy_m": 20,
        "seen_at": seen,
        "location_description": "Doorway of the bank by the station",
        "gender": "male",
        "age_band": "36_45",
        "site_type": "doorway",
        "appearance": "Grey beard, green sleeping bag",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_a_referral_is_routed_and_gets_a_reference_and_private_status_link(client, sql):
    response = client.post("/v1/referrals", json=alert())
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["reference"].startswith("ESX-")
    assert receipt["urgent"] is False
    assert receipt["urgent_guidance"] is None
    row = sql(
        "SELECT authority_code, team_id, status, routing_reason, boundary_version_id, "
        "outcome_due_at - received_at AS outcome_window, next_shift_due_at, "
        "status_token_hash FROM referrals WHERE reference = $1",
        receipt["reference"],
    )[0]
    assert row["authority_code"] == "E07000070"
    team = sql("SELECT name FROM teams WHERE id = $1", row["team_id"])[0]["name"]
    assert team == "Mid Essex Outreach"
    assert row["status"] == "assigned"
    assert "Chelmsford" in row["routing_reason"]
    assert (
        row["boundary_version_id"]
        == sql("SELECT id FROM boundary_versions WHERE is_current")[0]["id"]
    )
    assert row["outcome_window"] == dt.timedelta(days=14)
    assert row["next_shift_due_at"] is not None
    token = receipt["status_url"].split("token=")[1]
    assert token.encode() not in bytes(row["status_token_hash"])  # only a hash is stored
    events = sql(
        "SELECT kind FROM referral_events r JOIN referrals x ON x.id = r.referral_id "
        "WHERE x.reference = $1 ORDER BY r.id",
        receipt["reference"],
    )
    assert [e["kind"] for e in events] == ["received", "routed"]


@pytest.mark.parametrize(
    "flag", [{"immediate_danger": True}, {"appears_under_18": True}, {"age_band": "under_18"}]
)
def test_safety_flags_make_it_urgent_with_999_guidance(client, sql, flag):
    receipt = client.post("/v1/referrals", json=alert(**flag)).json()
    assert receipt["urgent"] is True
    assert "999" in receipt["urgent_guidance"]
    assert (
        sql("SELECT urgent FROM referrals WHERE reference = $1", receipt["reference"])[0]["urgent"]
        is True
    )


def test_a_reference_already_taken_is_drawn_again(client, sql, monkeypatch):
    """Two referrals drawing the same reference: the database refuses the second (unique
    constraint), and intake draws again instead of failing or overwriting."""
    from service.usecases.referrals import intake

    first = client.post("/v1/referrals", json=alert())
    assert first.status_code == 201, first.text
    taken = first.json()["reference"]
    draws = iter([taken, taken])
    fresh = intake.generate_reference
    monkeypatch.setattr(intake, "generate_reference", lambda: next(draws, None) or fresh())
    second = client.post("/v1/referrals", json=alert(appearance="Red coat"))
    assert second.status_code == 201, second.text
    assert second.json()["reference"] not in (taken, None)
    rows = sql("SELECT reference, appearance FROM referrals ORDER BY received_at")
    assert [(r["reference"] == taken, r["appearance"]) for r in rows] == [
        (True, "Grey beard, green sleeping bag"),
        (False, "Red coat"),
    ]


def test_status_shows_the_lifecycle_and_nothing_personal(client):
    receipt = client.post(
        "/v1/referrals",
        json=alert(
            referrer={
                "name": "Sam Referrer",
                "email": "sam@example.org",
                "consent_to_contact": True,
                "wants_update": True,
            }
        ),
    ).json()
    response = client.get(receipt["status_url"])
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["stage"] == "being_looked_into"
    assert set(status) == {
        "reference",
        "stage",
        "stage_text",
        "outcome_text",
        "received_at",
        "last_update_at",
    }
    text = response.text.lower()
    for personal in ("sam", "example.org", "grey beard", "doorway", "51.73", "0.469"):
        assert personal not in text


def test_wrong_token_and_unknown_reference_look_the_same(client):
    receipt = client.post("/v1/referrals", json=alert()).json()
    wrong = client.get(f"/v1/referrals/{receipt['reference']}/status", params={"token": "x" * 32})
    unknown = client.get("/v1/referrals/ESX-2345-67/status", params={"token": "x" * 32})
    garbage = client.get("/v1/referrals/not-a-ref/status", params={"token": "x"})
    bodies = [assert_problem(r, 404, "not-found") for r in (wrong, unknown, garbage)]
    assert bodies[0]["detail"] == bodies[1]["detail"] == bodies[2]["detail"]


def test_a_resend_with_the_same_key_returns_the_same_receipt(client, sql):
    key = str(uuid.uuid4())
    first = client.post("/v1/referrals", json=alert(), headers={"Idempotency-Key": key})
    again = client.post("/v1/referrals", json=alert(), headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["reference"] == first.json()["reference"]
    assert again.json()["status_url"] == first.json()["status_url"]
    assert again.json()["replayed"] is True
    assert client.get(again.json()["status_url"]).status_code == 200
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 1


def test_a_resend_without_a_key_is_linked_as_a_possible_duplicate(client, sql):
    seen = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).isoformat()
    first = client.post("/v1/referrals", json=alert(seen_at=seen)).json()
    second = client.post("/v1/referrals", json=alert(seen_at=seen)).json()
    assert "possible_duplicate" not in first
    assert second.keys() == first.keys()
    links = sql("SELECT reason, state FROM referral_duplicates")
    # One link per pair, with the strongest reason.
    assert [(r["reason"], r["state"]) for r in links] == [("identical_content", "suggested")]


def test_nearby_referrals_within_250m_and_72h_are_suggested_as_duplicates(client, sql):
    base = client.post("/v1/referrals", json=alert()).json()
    # ~150 m north: a possible duplicate.
    near = client.post("/v1/referrals", json=alert(lat=51.7380, appearance="someone")).json()
    # ~1.1 km away: not one.
    far = client.post("/v1/referrals", json=alert(lat=51.7466, appearance="other")).json()
    # Same place, seen four days earlier: outside the window.
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=4, hours=2)).isoformat()
    early = client.post("/v1/referrals", json=alert(seen_at=old, appearance="x")).json()
    assert all("possible_duplicate" not in r for r in (base, near, far, early))
    pairs = sql(
        "SELECT a.reference AS a, b.reference AS b, d.distance_m FROM referral_duplicates d "
        "JOIN referrals a ON a.id = d.referral_id JOIN referrals b ON b.id = d.other_id"
    )
    assert [(p["a"], p["b"]) for p in pairs] == [(near["reference"], base["reference"])]
    assert 100 < pairs[0]["distance_m"] < 250


def test_outside_greater_essex_is_kept_and_marked_out_of_area(client, sql):
    response = client.post("/v1/referrals", json=alert(lat=51.5074, lon=-0.1278))  # London
    assert response.status_code == 201, response.text
    assert response.json()["out_of_area"] is True
    row = sql("SELECT out_of_area, authority_code, team_id, routing_reason, status FROM referrals")[
        0
    ]
    assert row["out_of_area"] is True
    assert row["authority_code"] is None
    assert row["team_id"] is None
    assert "outside Greater Essex" in row["routing_reason"]
    assert row["status"] == "received"


def test_text_only_referral_is_accepted_for_triage(client, sql):
    response = client.post(
        "/v1/referrals",
        json=alert(
            lat=None,
            lon=None,
            accuracy_m=None,
            postcode="cm1 1aa",
            location_description="Behind the library on the high street",
        ),
    )
    assert response.status_code == 201, response.text
    row = sql("SELECT location_quality, postcode, status, routing_reason FROM referrals")[0]
    assert (row["location_quality"], row["postcode"], row["status"]) == (
        "text_only",
        "CM1 1AA",
        "received",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lat": 95}, "$.lat"),
        ({"people_count": 0}, "$.people_count"),
        ({"site_type": "castle"}, "$.site_type"),
        ({"nationality": "x"}, "$"),
        ({"appearance": "x" * 5000}, "$.appearance"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field_and_stores_nothing(client, sql, body, field):
    before = client.post("/v1/referrals", json=alert()).json()
    response = client.post("/v1/referrals", json=alert(**body))
    problem = assert_problem(response, 400)
    assert problem["errors"][0]["field"] == field
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 1
    assert client.get(before["status_url"]).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"lat": None, "lon": None, "accuracy_m": None, "location_description": None},
            "$.location_description",
        ),
        ({"postcode": "NOT A POSTCODE"}, "$.postcode"),
        ({"seen_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()}, "$.seen_at"),
        ({"seen_at": "0001-01-01T00:00:00+05:00"}, "$.seen_at"),  # its UTC day is year 0
        ({"seen_at": "9999-12-31T23:00:00-05:00"}, "$.seen_at"),  # and this one's year 10000
        ({"referrer": {"email": "a@b.org"}}, "$.referrer.consent_to_contact"),
    ],
)
def test_domain_rules_are_422_problems_naming_the_field(client, sql, body, field):
    problem = assert_problem(
        client.post("/v1/referrals", json=alert(**body)), 422, "invalid-referral"
    )
    assert problem["errors"][0]["field"] == field
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 0


def test_a_five_megabyte_body_is_refused_with_413(client, sql):
    response = client.post(
        "/v1/referrals",
        content=b"{" + b" " * (5 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 413, "too-large")
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 0


def test_referrer_contact_is_kept_apart(client, sql):
    client.post(
        "/v1/referrals",
        json=alert(referrer={"name": "Sam", "phone": "07700 900123", "consent_to_contact": True}),
    )
    columns = {
        r["column_name"]
        for r in sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'referrals'"
        )
    }
    assert not {"name", "email", "phone"} & columns
    assert sql("SELECT phone FROM referrer_contacts")[0]["phone"] == "07700 900123"


needs_places = pytest.mark.skipif(not PLACES.exists(), reason="../shared/reference is absent")


@needs_places
@pytest.mark.reference
def test_town_centre_referrals_route_to_their_authority_after_the_official_import(
    client, db_url, monkeypatch, sql
):
    from tests.integration.test_area_import import LAD, import_file, wait_for_current_version

    assert import_file(monkeypatch, db_url, LAD) == 0
    wait_for_current_version(client, sql)
    with PLACES.open(newline="", encoding="utf-8") as handle:
        places = list(csv.DictReader(handle))
    for place in places:
        receipt = client.post(
            "/v1/referrals",
            json=alert(lat=float(place["lat"]), lon=float(place["lon"]), appearance=place["place"]),
        )
        assert receipt.status_code == 201, receipt.text
        row = sql(
            "SELECT authority_code, team_id FROM referrals WHERE reference = $1",
            receipt.json()["reference"],
        )[0]
        assert row["authority_code"] == place["authority_code"], place["place"]
        assert row["team_id"] is not None, place["place"]


def _pair(client):
    first = client.post("/v1/referrals", json=alert()).json()
    second = client.post("/v1/referrals", json=alert(lat=51.7375, appearance="b")).json()
    return first, second


def _ids(sql, *references):
    return [sql("SELECT id FROM referrals WHERE reference = $1", r)[0]["id"] for r in references]


def test_coordinator_confirms_a_duplicate_both_are_kept_and_audited(client, sql, staff):
    first, second = _pair(client)
    old_id, new_id = _ids(sql, first["reference"], second["reference"])
    response = client.post(
        f"/v1/referrals/{new_id}/duplicate-of/{old_id}", headers=staff["coord_mid"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["referral_outcome"] == "duplicate_merged"
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 2
    assert sql("SELECT state FROM referral_duplicates")[0]["state"] == "confirmed"
    audit = sql("SELECT username, action, subject_id FROM audit_log")
    assert [(a["username"], a["action"]) for a in audit] == [("coord_mid", "duplicate_confirmed")]
    status = client.get(second["status_url"]).json()
    assert status["stage"] == "closed"
    assert status["outcome_text"] is None  # a merge would tell the referrer of another report
    assert client.get(first["status_url"]).json()["stage"] == "being_looked_into"


def test_rejecting_a_duplicate_keeps_both_open(client, sql, staff):
    first, second = _pair(client)
    old_id, new_id = _ids(sql, first["reference"], second["reference"])
    response = client.delete(
        f"/v1/referrals/{new_id}/duplicate-of/{old_id}", headers=staff["coord_mid"]
    )
    assert response.status_code == 200, response.text
    assert sql("SELECT state FROM referral_duplicates")[0]["state"] == "rejected"
    assert {r["status"] for r in sql("SELECT status FROM referrals")} == {"assigned"}


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("worker_mid", 403), ("coord_south", 404), ("coord_mid", 200), ("admin", 200)],
)
def test_duplicate_decisions_need_a_coordinator_of_that_area(client, sql, staff, who, status):
    first, second = _pair(client)
    old_id, new_id = _ids(sql, first["reference"], second["reference"])
    headers = staff[who] if who else {}
    response = client.post(f"/v1/referrals/{new_id}/duplicate-of/{old_id}", headers=headers)
    assert response.status_code == status, response.text
    if status != 200:
        assert_problem(response, status)
        assert sql("SELECT count(*) AS n FROM referrals WHERE status = 'closed'")[0]["n"] == 0


def test_sign_in_with_a_wrong_password_is_401(client, staff):
    response = client.post("/v1/auth/token", json={"username": "admin", "password": "nope"})
    assert_problem(response, 401, "unauthorized")
    unknown = client.post("/v1/auth/token", json={"username": "ghost", "password": PASSWORD})
    assert assert_problem(unknown, 401)["detail"] == response.json()["detail"]


def test_teams_need_sign_in(client, staff):
    assert_problem(client.get("/v1/teams"), 401)
    assert client.get("/v1/teams", headers=staff["worker_mid"]).status_code == 200
