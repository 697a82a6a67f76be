"""Pseudonymised persons: scope, audited reads, cohorts from contacts, possible duplicates,
and reversible merges — real PostGIS, real HTTP."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.conftest import assert_problem

MID = "Mid Essex Outreach"
SOUTH = "Southend Outreach"
CHELMSFORD = (0.4790, 51.7360)  # lon, lat
SOUTHEND = (0.7140, 51.5380)


def create(client, headers, **body):
    response = client.post("/v1/persons", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def team_id(sql, name):
    return sql("SELECT id FROM teams WHERE name = $1", name)[0]["id"]


def add_contact(
    sql,
    person_id,
    *,
    days_ago,
    bedded=True,
    at=CHELMSFORD,
    north_m=0.0,
    authority="E07000070",
    team=MID,
    worker="worker_mid",
):
    """A contact inserted directly; ``north_m`` moves it north (about 111 km a degree)."""
    sql(
        "INSERT INTO contacts (id, content_hash, team_id, worker_id, observed_at, geom, "
        "authority_code, person_id, bedded_down, contact_type, engagement) VALUES "
        "(gen_random_uuid(), 'test', (SELECT id FROM teams WHERE name = $1), "
        "(SELECT id FROM users WHERE username = $2), now() - make_interval(secs => $3), "
        "ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8, 'street_outreach', 'engaged')",
        team,
        worker,
        float(days_ago) * 86400,
        at[0],
        at[1] + north_m / 111_320,
        authority,
        uuid.UUID(person_id),
        bedded,
    )


def audit_rows(sql, person_id, action=None):
    rows = sql(
        "SELECT user_id, username, action, subject_type, subject_id, route, detail, at "
        "FROM audit_log WHERE subject_type = 'person' AND subject_id = $1 "
        "AND ($2::text IS NULL OR action = $2) ORDER BY id",
        person_id,
        action,
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


# --- create, read, patch ----------------------------------------------------------------------


def test_create_read_and_patch_a_person(client, staff, sql):
    person = create(client, staff["worker_mid"], known_as="Dave", age_band="36_45", gender="male")
    assert re.fullmatch(r"P-[2-9A-HJKMNP-Z]{6}", person["pseudonym"])
    assert person["team_id"] == team_id(sql, MID)
    assert person["consent_status"] == "unknown"
    assert person["cohort"] is None
    assert person["contact_count"] == 0
    assert person["surviving_id"] == person["id"]

    read = client.get(f"/v1/persons/{person['id']}", headers=staff["worker_mid"])
    assert read.status_code == 200, read.text
    assert read.json()["known_as"] == "Dave"

    patched = client.patch(
        f"/v1/persons/{person['id']}",
        json={"consent_status": "given", "age_band": "46_55"},
        headers=staff["worker_mid"],
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["consent_status"], body["age_band"], body["known_as"]) == (
        "given",
        "46_55",
        "Dave",
    )
    cleared = client.patch(
        f"/v1/persons/{person['id']}", json={"known_as": None}, headers=staff["worker_mid"]
    )
    assert cleared.json()["known_as"] is None
    assert sql("SELECT known_as FROM persons")[0]["known_as"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"nationality": "x"},
        {"consent_status": "maybe"},
        {"known_as": ""},
        {"known_as": "nul\u0000byte"},
        {"team_id": 0},
        {"team_id": 2**31},
    ],
)
def test_bad_patches_are_problems(client, staff, body):
    person = create(client, staff["worker_mid"])
    response = client.patch(f"/v1/persons/{person['id']}", json=body, headers=staff["worker_mid"])
    assert_problem(response, 400)


def test_an_empty_patch_is_refused(client, staff):
    person = create(client, staff["worker_mid"])
    response = client.patch(f"/v1/persons/{person['id']}", json={}, headers=staff["worker_mid"])
    assert_problem(response, 422, "invalid-input")


def test_owning_team_rules(client, staff, sql):
    mid, south = team_id(sql, MID), team_id(sql, SOUTH)
    assert_problem(client.post("/v1/persons", json={}, headers=staff["coord_mid"]), 422)
    refused = client.post("/v1/persons", json={"team_id": south}, headers=staff["coord_mid"])
    assert_problem(refused, 403, "forbidden")
    refused = client.post("/v1/persons", json={"team_id": south}, headers=staff["worker_mid"])
    assert_problem(refused, 403, "forbidden")
    assert create(client, staff["coord_mid"], team_id=mid)["team_id"] == mid
    assert create(client, staff["admin"], team_id=south)["team_id"] == south
    unknown = client.post("/v1/persons", json={"team_id": 99_999}, headers=staff["admin"])
    assert assert_problem(unknown, 422, "invalid-input")["errors"][0]["field"] == "team_id"
    person = create(client, staff["worker_mid"])
    moved = client.patch(
        f"/v1/persons/{person['id']}", json={"team_id": south}, headers=staff["worker_mid"]
    )
    assert_problem(moved, 403)


def test_signing_in_is_required(client):
    some_id = uuid.uuid4()
    for response in (
        client.get("/v1/persons"),
        client.get(f"/v1/persons/{some_id}"),
        client.post("/v1/persons", json={}),
        client.post(f"/v1/persons/{some_id}/merge-into/{uuid.uuid4()}"),
    ):
        assert_problem(response, 401)


# --- scope and audit --------------------------------------------------------------------------


def test_persons_outside_the_scope_look_missing(client, staff):
    person = create(client, staff["worker_mid"], known_as="Dave")
    url = f"/v1/persons/{person['id']}"
    missing = assert_problem(client.get(f"/v1/persons/{uuid.uuid4()}", headers=staff["admin"]), 404)
    for who in ("worker_south", "coord_south"):
        hidden = assert_problem(client.get(url, headers=staff[who]), 404, "not-found")
        assert hidden["detail"] == missing["detail"]
        assert_problem(client.patch(url, json={"gender": "male"}, headers=staff[who]), 404)
    for who in ("worker_mid", "coord_mid", "admin"):
        assert client.get(url, headers=staff[who]).status_code == 200, who


def test_every_read_of_a_person_is_audited(client, staff, sql):
    person = create(client, staff["worker_mid"], known_as="Dave")
    url = f"/v1/persons/{person['id']}"
    for who in ("worker_mid", "coord_mid", "worker_mid"):
        assert client.get(url, headers=staff[who]).status_code == 200
    assert client.get(url, headers=staff["worker_south"]).status_code == 404
    reads = audit_rows(sql, person["id"], "read")
    assert [r["username"] for r in reads] == ["worker_mid", "coord_mid", "worker_mid"]
    user_ids = {
        r["username"]: r["id"]
        for r in sql("SELECT id, username FROM users WHERE username LIKE '%_mid'")
    }
    for row in reads:
        assert row["user_id"] == user_ids[row["username"]]
        assert row["subject_type"] == "person"
        assert row["subject_id"] == person["id"]
        assert row["route"] == url
        assert row["at"] is not None
    assert [r["action"] for r in audit_rows(sql, person["id"])] == [
        "create",
        "read",
        "read",
        "read",
    ]


def test_lists_are_scoped_paginated_audited_and_hide_names_from_coordinators(client, staff, sql):
    mine = [create(client, staff["worker_mid"], known_as=f"Mid {i}") for i in range(3)]
    create(client, staff["worker_south"], known_as="South")
    first = client.get("/v1/persons", params={"limit": 2}, headers=staff["worker_mid"])
    assert first.status_code == 200, first.text
    page1 = first.json()
    assert page1["next_cursor"]
    page2 = client.get(
        "/v1/persons",
        params={"limit": 2, "cursor": page1["next_cursor"]},
        headers=staff["worker_mid"],
    ).json()
    assert page2["next_cursor"] is None
    listed = [p["id"] for p in page1["items"] + page2["items"]]
    assert listed == [p["id"] for p in reversed(mine)]  # newest first, nothing twice
    assert all(p["known_as"].startswith("Mid") for p in page1["items"] + page2["items"])

    coordinator = client.get("/v1/persons", headers=staff["coord_mid"]).json()
    assert {p["id"] for p in coordinator["items"]} == {p["id"] for p in mine}
    assert all("known_as" not in p for p in coordinator["items"])
    everyone = client.get("/v1/persons", headers=staff["admin"]).json()["items"]
    assert len(everyone) == 4
    assert all("known_as" not in p for p in everyone)

    listed_rows = sql(
        "SELECT username, subject_id, route FROM audit_log WHERE action = 'list' "
        "AND username = 'worker_mid'"
    )
    assert sorted(r["subject_id"] for r in listed_rows) == sorted(p["id"] for p in mine)
    assert {r["route"] for r in listed_rows} == {"/v1/persons"}
    bad = client.get("/v1/persons", params={"cursor": "nonsense"}, headers=staff["admin"])
    assert assert_problem(bad, 422)["errors"][0]["field"] == "cursor"


def test_list_filters_by_team(client, staff, sql):
    create(client, staff["worker_mid"])
    south = create(client, staff["worker_south"])
    items = client.get(
        "/v1/persons", params={"team_id": team_id(sql, SOUTH)}, headers=staff["admin"]
    ).json()["items"]
    assert [p["id"] for p in items] == [south["id"]]


def test_search_by_pseudonym_and_for_workers_by_name(client, staff):
    """The phone app's person search: a substring of the pseudonym, or (workers only, who
    see names in lists) of the name known by; ``%`` and ``_`` are plain characters."""
    red = create(client, staff["worker_mid"], known_as="Red Jacket")
    other = create(client, staff["worker_mid"], known_as="Bluebell")
    create(client, staff["worker_south"], known_as="Red Hat")  # out of scope

    def found(headers, q):
        response = client.get("/v1/persons", params={"q": q}, headers=headers)
        assert response.status_code == 200, response.text
        return {p["id"] for p in response.json()["items"]}

    assert found(staff["worker_mid"], "red jac") == {red["id"]}
    assert found(staff["worker_mid"], "RED") == {red["id"]}
    assert found(staff["worker_mid"], red["pseudonym"][2:].lower()) == {red["id"]}
    assert found(staff["coord_mid"], "Red Jacket") == set()  # names are not for coordinators
    assert found(staff["coord_mid"], other["pseudonym"]) == {other["id"]}
    assert found(staff["worker_mid"], "%") == set()
    assert (
        client.get("/v1/persons", params={"q": ""}, headers=staff["worker_mid"]).status_code == 400
    )


# --- cohorts ----------------------------------------------------------------------------------


@pytest.fixture
def person_with(client, staff, sql):
    """``person_with((days_ago, bedded), ...)``: a Mid Essex person with these contacts."""

    def make(*contacts, **fields):
        person = create(client, staff["worker_mid"], **fields)
        for days_ago, bedded in contacts:
            add_contact(sql, person["id"], days_ago=days_ago, bedded=bedded)
        return person

    return make


def read(client, headers, person_id):
    response = client.get(f"/v1/persons/{person_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("contacts", "cohort"),
    [
        ((), None),
        (((5, False),), "new"),
        (((400, True), (10, False)), "intermittent"),
        (((400, False), (10, False)), "new"),  # seen before, but never bedded down
        (((400, True), (30, True), (20, True), (9, True)), "living_on_the_streets"),
        (((400, True), (30, True), (20, True), (10, True)), "intermittent"),  # 20 days
        (((200, True),), None),  # not seen in the last 90 days
        (((30, True), (20, True), (5, True)), "new"),
    ],
)
def test_cohort_is_derived_from_contact_history(client, staff, person_with, contacts, cohort):
    person = person_with(*contacts)
    body = read(client, staff["worker_mid"], person["id"])
    assert body["cohort"] == cohort
    assert body["contact_count"] == len(contacts)
    if contacts:
        assert body["first_seen"] < body["last_seen"] or len(contacts) == 1
    else:
        assert body["first_seen"] is None
        assert body["last_seen"] is None


def test_a_coordinator_sees_a_person_once_they_have_a_contact_in_their_area(client, staff, sql):
    person = create(client, staff["worker_mid"])
    url = f"/v1/persons/{person['id']}"
    assert client.get(url, headers=staff["coord_south"]).status_code == 404
    add_contact(sql, person["id"], days_ago=1, at=SOUTHEND, authority="E06000033")
    assert client.get(url, headers=staff["coord_south"]).status_code == 200
    assert client.get(url, headers=staff["worker_south"]).status_code == 404


# --- possible duplicates ----------------------------------------------------------------------


def test_possible_duplicates_score_names_places_and_attributes(client, staff, sql):
    me = dict(age_band="36_45", gender="male")
    subject = create(client, staff["worker_mid"], known_as="Dave", **me)
    add_contact(sql, subject["id"], days_ago=3)
    david = create(client, staff["worker_mid"], known_as="david", **me)
    add_contact(sql, david["id"], days_ago=2, north_m=100)
    stranger = create(client, staff["worker_mid"], known_as="Bob", gender="male")
    add_contact(sql, stranger["id"], days_ago=2, north_m=300)
    far_namesake = create(client, staff["worker_mid"], known_as="DAVE", age_band="46_55")
    add_contact(sql, far_namesake["id"], days_ago=2, north_m=5000)
    woman = create(client, staff["worker_mid"], known_as="Dave", gender="female")
    add_contact(sql, woman["id"], days_ago=2, north_m=50)
    too_old = create(client, staff["worker_mid"], known_as="Dave", age_band="over_65")
    unrelated = create(client, staff["worker_mid"], known_as="Zed", **me)
    add_contact(sql, unrelated["id"], days_ago=2, north_m=2000)
    elsewhere = create(client, staff["worker_south"], known_as="Dave", **me)
    add_contact(sql, elsewhere["id"], days_ago=2, north_m=10, team=SOUTH, worker="worker_south")

    response = client.get(
        f"/v1/persons/{subject['id']}/possible-duplicates", headers=staff["worker_mid"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["radius_m"] == 500
    found = {c["id"]: c for c in body["candidates"]}
    assert set(found) == {david["id"], stranger["id"], far_namesake["id"]}
    assert body["candidates"][0]["id"] == david["id"]
    assert found[david["id"]]["reasons"][0].startswith("similar known-as")
    assert "same gender" in found[david["id"]]["reasons"]
    assert 80 < found[david["id"]]["distance_m"] < 120
    assert found[stranger["id"]]["reasons"] == ["contacts 300 m apart", "same gender"]
    assert found[far_namesake["id"]]["reasons"] == ["same known-as"]
    assert found[far_namesake["id"]]["distance_m"] is None
    for excluded in (woman, too_old, unrelated, elsewhere):
        assert excluded["id"] not in found

    assert [r["action"] for r in audit_rows(sql, subject["id"])][-1] == "read"
    shown = audit_rows(sql, david["id"], "list")
    assert shown[0]["detail"] == {"view": "possible_duplicates", "of": subject["id"]}


def test_possible_duplicates_follow_the_list_rule_for_names(client, staff, sql):
    """Candidates are a list: ``known_as`` goes to workers only, as in ``GET /v1/persons``."""
    me = dict(age_band="36_45", gender="male")
    subject = create(client, staff["worker_mid"], known_as="Dave", **me)
    add_contact(sql, subject["id"], days_ago=3)
    namesake = create(client, staff["worker_mid"], known_as="Davey Jones", **me)
    add_contact(sql, namesake["id"], days_ago=2, north_m=100)
    url = f"/v1/persons/{subject['id']}/possible-duplicates"

    as_worker = client.get(url, headers=staff["worker_mid"]).json()["candidates"]
    assert [c["known_as"] for c in as_worker] == ["Davey Jones"]
    listed = client.get("/v1/persons", headers=staff["coord_mid"]).json()["items"]
    assert namesake["id"] in {p["id"] for p in listed}
    assert all("known_as" not in p for p in listed)
    for role in ("coord_mid", "admin"):
        response = client.get(url, headers=staff[role])
        assert response.status_code == 200, response.text
        [candidate] = response.json()["candidates"]
        assert candidate["id"] == namesake["id"]
        assert "known_as" not in candidate
        assert "Davey" not in response.text


# --- merges -----------------------------------------------------------------------------------


def merge_url(source, target):
    return f"/v1/persons/{source['id']}/merge-into/{target['id']}"


def test_merge_and_undo_round_trip(client, staff, sql, person_with):
    survivor = person_with((400, True), (30, True), (20, True), known_as="Dave")
    merged = person_with((9, True), (2, False), known_as="David")
    before = read(client, staff["coord_mid"], survivor["id"])
    assert (before["cohort"], before["contact_count"]) == ("intermittent", 3)

    response = client.post(merge_url(merged, survivor), headers=staff["coord_mid"])
    assert response.status_code == 200, response.text
    merge = response.json()
    assert (merge["from_person"], merge["into_person"]) == (merged["id"], survivor["id"])
    assert merge["undone_at"] is None

    after = read(client, staff["coord_mid"], survivor["id"])
    assert after["contact_count"] == 5
    assert after["cohort"] == "living_on_the_streets"  # 30 → 9 days ago: three weeks
    assert after["merged_from"] == [{"id": merged["id"], "pseudonym": merged["pseudonym"]}]
    assert after["last_seen"] > before["last_seen"]
    old = read(client, staff["worker_mid"], merged["id"])
    assert old["merged_into"] == old["surviving_id"] == survivor["id"]
    assert audit_rows(sql, merged["id"], "read")[-1]["detail"] == {"surviving_id": survivor["id"]}
    # Contacts are never rewritten: the merge can be undone.
    owners = sql("SELECT person_id::text AS p, count(*) AS n FROM contacts GROUP BY 1")
    assert {r["p"]: r["n"] for r in owners} == {survivor["id"]: 3, merged["id"]: 2}
    listed = client.get("/v1/persons", headers=staff["worker_mid"]).json()["items"]
    assert [p["id"] for p in listed] == [survivor["id"]]
    everything = client.get(
        "/v1/persons", params={"include_merged": True}, headers=staff["worker_mid"]
    ).json()["items"]
    assert len(everything) == 2

    undone = client.delete(merge_url(merged, survivor), headers=staff["coord_mid"])
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] is not None
    assert undone.json()["id"] == merge["id"]
    restored = read(client, staff["coord_mid"], survivor["id"])
    assert (restored["cohort"], restored["contact_count"]) == ("intermittent", 3)
    assert restored["merged_from"] == []
    assert read(client, staff["coord_mid"], merged["id"])["merged_into"] is None

    rows = sql("SELECT merged_by, undone_by, undone_at FROM person_merges")
    coord_id = sql("SELECT id FROM users WHERE username = 'coord_mid'")[0]["id"]
    assert [(r["merged_by"], r["undone_by"]) for r in rows] == [(coord_id, coord_id)]
    assert [r["action"] for r in audit_rows(sql, merged["id"]) if "merge" in r["action"]] == [
        "merge",
        "unmerge",
    ]
    assert audit_rows(sql, survivor["id"], "merge")[0]["detail"] == {"from": merged["id"]}
    assert_problem(client.delete(merge_url(merged, survivor), headers=staff["coord_mid"]), 404)


def test_merges_chain_and_the_survivor_sees_the_whole_family(client, staff, person_with):
    x = person_with((5, True))
    a = person_with((6, True))
    b = person_with((7, True))
    assert client.post(merge_url(x, a), headers=staff["coord_mid"]).status_code == 200
    assert client.post(merge_url(a, b), headers=staff["coord_mid"]).status_code == 200
    assert read(client, staff["coord_mid"], b["id"])["contact_count"] == 3
    assert read(client, staff["coord_mid"], x["id"])["surviving_id"] == b["id"]
    assert client.delete(merge_url(a, b), headers=staff["coord_mid"]).status_code == 200
    assert read(client, staff["coord_mid"], b["id"])["contact_count"] == 1
    assert read(client, staff["coord_mid"], a["id"])["contact_count"] == 2


def test_merges_need_a_coordinator(client, staff):
    a = create(client, staff["worker_mid"])
    b = create(client, staff["worker_mid"])
    assert_problem(client.post(merge_url(a, b), headers=staff["worker_mid"]), 403, None)
    assert_problem(client.delete(merge_url(a, b), headers=staff["worker_mid"]), 403, None)
    assert client.post(merge_url(a, b), headers=staff["admin"]).status_code == 200


def test_merges_that_make_no_sense_are_refused(client, staff, sql):
    a, b, c = (create(client, staff["worker_mid"]) for _ in range(3))
    south = create(client, staff["worker_south"])
    coord = staff["coord_mid"]
    assert_problem(client.post(merge_url(a, a), headers=coord), 422, "invalid-input")
    assert_problem(client.post(merge_url(a, south), headers=coord), 404, "not-found")
    assert client.post(merge_url(a, b), headers=coord).status_code == 200
    cycle = assert_problem(client.post(merge_url(b, a), headers=coord), 409, "conflict")
    assert "cycle" in cycle["detail"]
    into_merged = assert_problem(client.post(merge_url(c, a), headers=coord), 409, "conflict")
    assert "survivor" in into_merged["detail"]
    assert_problem(client.post(merge_url(a, c), headers=coord), 409, "conflict")
    assert_problem(client.delete(merge_url(a, c), headers=coord), 404)
    patched = client.patch(f"/v1/persons/{a['id']}", json={"gender": "male"}, headers=coord)
    assert_problem(patched, 409, "conflict")
    assert sql("SELECT count(*) AS n FROM person_merges")[0]["n"] == 1
