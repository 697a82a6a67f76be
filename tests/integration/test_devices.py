"""Phones: registration, refresh-token rotation, revocation (audited, immediate) and /v1/me."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import assert_problem
from tests.integration.test_contacts import contact


def register(client, headers, label="Pixel 7"):
    response = client.post("/v1/devices", json={"label": label}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(tokens):
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def refresh(client, refresh_token):
    return client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


def test_a_registered_phone_gets_a_short_token_and_a_refresh_token_stored_hashed(
    client, staff, sql, settings
):
    tokens = register(client, staff["worker_mid"])
    assert tokens["expires_in"] == settings.device_access_token_minutes * 60 <= 3600
    assert tokens["role"] == "worker"
    row = sql("SELECT * FROM devices WHERE id = $1", uuid.UUID(tokens["device_id"]))[0]
    assert row["label"] == "Pixel 7"
    assert tokens["refresh_token"].encode() not in bytes(row["refresh_hash"])
    assert len(row["refresh_hash"]) == 32  # SHA-256, never the token itself
    me = client.get("/v1/me", headers=bearer(tokens))
    assert me.status_code == 200, me.text
    assert me.json()["device_id"] == tokens["device_id"]
    # The device token works on the work routes too.
    sent = client.post("/v1/contacts:batch", json={"items": [contact()]}, headers=bearer(tokens))
    assert sent.status_code == 200, sent.text


def test_refresh_rotates_and_an_old_token_is_refused_once_the_new_one_was_used(client, staff):
    tokens = register(client, staff["worker_mid"])
    first = refresh(client, tokens["refresh_token"])
    assert first.status_code == 200, first.text
    second_token = first.json()["refresh_token"]
    assert second_token != tokens["refresh_token"]
    assert client.get("/v1/me", headers=bearer(first.json())).status_code == 200
    # The answer was lost: the phone still holds the first token, which works once more ...
    again = refresh(client, tokens["refresh_token"])
    assert again.status_code == 200, again.text
    # ... and once the newest is used, every older one is refused.
    newest = refresh(client, again.json()["refresh_token"])
    assert newest.status_code == 200
    for old in (tokens["refresh_token"], second_token):
        assert_problem(refresh(client, old), 401)


UNKNOWN_DEVICE = "df7f7b6bdd1c40b0b208c2ebd0fa6c3b"  # fixed: xdist workers must collect alike


@pytest.mark.parametrize(
    "token", ["x" * 40, UNKNOWN_DEVICE + "." + "a" * 43, "not-a-uuid." + "a" * 43]
)
def test_unknown_refresh_tokens_are_refused(client, token):
    assert_problem(refresh(client, token), 401)


def test_a_revoked_device_gets_401_on_its_next_call_and_the_revocation_is_audited(
    client, staff, sql, staff_ids
):
    tokens = register(client, staff["worker_mid"])
    device = tokens["device_id"]
    listed = client.get("/v1/devices", headers=staff["coord_mid"])
    assert listed.status_code == 200
    assert device in {d["id"] for d in listed.json()}
    assert client.get("/v1/devices", headers=staff["coord_south"]).json() == []
    assert_problem(client.delete(f"/v1/devices/{device}", headers=staff["coord_south"]), 404)
    assert client.get("/v1/me", headers=bearer(tokens)).status_code == 200

    revoked = client.delete(f"/v1/devices/{device}", headers=staff["coord_mid"])
    assert revoked.status_code == 204, revoked.text
    assert_problem(client.get("/v1/me", headers=bearer(tokens)), 401)
    assert_problem(
        client.post("/v1/contacts:batch", json={"items": [contact()]}, headers=bearer(tokens)),
        401,
    )
    assert_problem(refresh(client, tokens["refresh_token"]), 401)
    # The same person's password token and other phones are untouched.
    assert client.get("/v1/me", headers=staff["worker_mid"]).status_code == 200
    audit = sql("SELECT * FROM audit_log WHERE subject_type = 'device' AND subject_id = $1", device)
    assert [(a["action"], a["user_id"]) for a in audit] == [("revoke", staff_ids["coord_mid"])]
    shown = {d["id"]: d for d in client.get("/v1/devices", headers=staff["admin"]).json()}
    assert shown[device]["revoked_at"] is not None


def test_a_deactivated_user_cannot_refresh(client, staff, sql, staff_ids):
    tokens = register(client, staff["worker_south"])
    sql("UPDATE users SET active = false WHERE id = $1", staff_ids["worker_south"])
    assert_problem(refresh(client, tokens["refresh_token"]), 401)


def test_a_token_naming_another_users_device_is_refused(client, staff, settings, staff_ids):
    from service.auth import build_jwt_auth
    from service.runtime import build_runtime

    mine = register(client, staff["worker_mid"])
    jwt_auth = build_jwt_auth(build_runtime(settings))
    forged = jwt_auth.create_token(
        identifier=str(staff_ids["worker_south"]), token_extras={"device": mine["device_id"]}
    )
    assert_problem(client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401)
    bad = jwt_auth.create_token(
        identifier=str(staff_ids["worker_mid"]), token_extras={"device": "nonsense"}
    )
    assert_problem(client.get("/v1/me", headers={"Authorization": f"Bearer {bad}"}), 401)


def test_me_says_who_teams_authorities_and_todays_shift(client, staff):
    me = client.get("/v1/me", headers=staff["worker_mid"]).json()
    assert me["username"] == "worker_mid"
    assert me["role"] == "worker"
    assert me["special_category"] is True
    assert me["device_id"] is None
    assert [t["team_name"] for t in me["teams"]] == ["Mid Essex Outreach"]
    shift = me["teams"][0]
    assert shift["shift_start"] < shift["shift_end"]
    assert "E07000070" in {a["code"] for a in me["authorities"]}
    assert me["lock_after_minutes"] == 15
    coord = client.get("/v1/me", headers=staff["coord_mid"]).json()
    names = {a["code"]: a["name"] for a in coord["authorities"]}
    assert names["E07000070"] == "Chelmsford"
    admin = client.get("/v1/me", headers=staff["admin"]).json()
    assert admin["special_category"] is False


def test_bad_device_labels_are_refused(client, staff):
    for label in ("", "x" * 101, "a\nb"):
        response = client.post("/v1/devices", json={"label": label}, headers=staff["worker_mid"])
        assert_problem(response, 400)


def test_a_worker_may_revoke_their_own_phone_only(client, staff):
    mine = register(client, staff["worker_mid"])
    theirs = register(client, staff["worker_south"])
    assert_problem(client.delete(f"/v1/devices/{theirs['device_id']}", headers=bearer(mine)), 404)
    assert (
        client.delete(f"/v1/devices/{mine['device_id']}", headers=bearer(mine)).status_code == 204
    )
    assert_problem(client.get("/v1/me", headers=bearer(mine)), 401)
    assert client.get("/v1/me", headers=bearer(theirs)).status_code == 200
