"""The audit log for admins: filters, keyset pagination newest first, admin only."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import assert_problem


@pytest.fixture
def two_persons_read(client, staff):
    """Two persons created by worker_mid, each read once by worker_mid and by coord_mid."""
    ids = []
    for name in ("Ann", "Bea"):
        response = client.post("/v1/persons", json={"known_as": name}, headers=staff["worker_mid"])
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    for person_id in ids:
        for who in ("worker_mid", "coord_mid"):
            assert client.get(f"/v1/persons/{person_id}", headers=staff[who]).status_code == 200
    return ids


def entries(client, staff, **params):
    response = client.get("/v1/audit", params=params, headers=staff["admin"])
    assert response.status_code == 200, response.text
    return response.json()


def test_only_admins_read_the_audit_log(client, staff):
    assert_problem(client.get("/v1/audit"), 401)
    for who in ("worker_mid", "coord_mid", "coord_south"):
        assert_problem(client.get("/v1/audit", headers=staff[who]), 403, "forbidden")
    assert client.get("/v1/audit", headers=staff["admin"]).status_code == 200


def test_entries_carry_who_what_when_and_the_route(client, staff, sql, two_persons_read):
    first = two_persons_read[0]
    page = entries(client, staff, subject_id=first, action="read")
    worker_id = sql("SELECT id FROM users WHERE username = 'worker_mid'")[0]["id"]
    assert [e["username"] for e in page["items"]] == ["coord_mid", "worker_mid"]  # newest first
    entry = page["items"][1]
    assert entry["user_id"] == worker_id
    assert entry["subject_type"] == "person"
    assert entry["route"] == f"/v1/persons/{first}"
    assert entry["detail"] == {}
    assert dt.datetime.fromisoformat(entry["at"]) <= dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({}, 6),
        ({"action": "create"}, 2),
        ({"action": "read"}, 4),
        ({"username": "coord_mid"}, 2),
        ({"username": "coord_mid", "action": "create"}, 0),
        ({"subject_type": "person"}, 6),
        ({"subject_type": "referral"}, 0),
    ],
)
def test_filters_combine(client, staff, two_persons_read, params, count):
    assert len(entries(client, staff, **params)["items"]) == count


def test_filter_by_user_id_and_subject(client, staff, sql, two_persons_read):
    coord = sql("SELECT id FROM users WHERE username = 'coord_mid'")[0]["id"]
    items = entries(client, staff, user_id=coord, subject_id=two_persons_read[1])["items"]
    assert [(e["username"], e["action"]) for e in items] == [("coord_mid", "read")]


def test_since_is_inclusive_and_until_exclusive(client, staff, sql, two_persons_read):
    times = [r["at"] for r in sql("SELECT at FROM audit_log ORDER BY at, id")]
    middle = times[3]
    since = entries(client, staff, since=middle.isoformat())["items"]
    until = entries(client, staff, until=middle.isoformat())["items"]
    assert len(since) + len(until) == 6
    assert all(dt.datetime.fromisoformat(e["at"]) >= middle for e in since)
    assert all(dt.datetime.fromisoformat(e["at"]) < middle for e in until)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert entries(client, staff, since=future)["items"] == []
    wrong_way = client.get(
        "/v1/audit", params={"since": future, "until": middle.isoformat()}, headers=staff["admin"]
    )
    assert assert_problem(wrong_way, 422, "invalid-input")["errors"][0]["field"] == "since"


def test_keyset_pages_cover_everything_once_newest_first(client, staff, sql, two_persons_read):
    expected = [r["id"] for r in sql("SELECT id FROM audit_log ORDER BY at DESC, id DESC")]
    first = entries(client, staff, limit=4)
    assert first["next_cursor"]
    # A row written meanwhile is newer than the cursor: it never shifts the later pages.
    client.get(f"/v1/persons/{two_persons_read[0]}", headers=staff["worker_mid"])
    second = entries(client, staff, limit=4, cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    seen = first["items"] + second["items"]
    assert [e["id"] for e in seen] == expected
    assert len(expected) == 6
    assert len(entries(client, staff)["items"]) == 7


def test_a_tampered_cursor_is_a_problem(client, staff):
    for cursor in ("garbage", "e30", "W10"):
        response = client.get("/v1/audit", params={"cursor": cursor}, headers=staff["admin"])
        assert assert_problem(response, 422, "invalid-input")["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"since": "yesterday"},
        {"cursor": "not/base64!"},
        {"username": "nul\x00byte"},
        {"user_id": 2**31},
    ],
)
def test_bad_query_parameters_are_400(client, staff, params):
    assert_problem(client.get("/v1/audit", params=params, headers=staff["admin"]), 400)
