"""One visibility rule (``service.access``), checked against every read path.

* The SQL function ``staff_may_see`` agrees with :func:`service.access.may_see` on every
  combination of caller and record.
* The read matrix: a world of referrals, contacts, persons, hotspots, assignments and
  change-feed entries across several authorities and teams is built once; every read path
  (lists, details, tiles, exports, sync, run-sheets, hotspot members, assignments, figures,
  audit) is called as each of the six callers, and what comes back must be exactly what the
  rule admits, computed here in Python from the tables.
* Every GET operation of the OpenAPI document is in the matrix or named as public.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import itertools
import re
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import mapbox_vector_tile
import pytest
from litestar.testing import TestClient

from service import access
from service.access import Scope, StaffUser
from service.db.engine import positional
from tests.conftest import in_thread, run_sql, url_for_database, wait_for
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert

WHO = ("anonymous", "worker_mid", "worker_south", "coord_mid", "coord_south", "admin")
CHELMSFORD = (51.7366, 0.4693)
SOUTHEND = (51.5380, 0.7140)
ROCHFORD = (51.5820, 0.7070)
HARLOW = (51.7690, 0.0940)
LONDON = (51.5074, -0.1278)  # outside Greater Essex: no authority, no team


# --- the rule in SQL and in Python agree -----------------------------------------------------


SCOPES = [
    Scope(everything=everything, coordinator=coordinator, team_ids=teams, authority_codes=codes)
    for everything, coordinator, teams, codes in itertools.product(
        (False, True), (False, True), ((), (1,), (1, 2)), ((), ("A",), ("A", "B"))
    )
]
RECORDS = list(itertools.product((None, "A", "B", "C"), (None, 1, 2, 3)))


def test_the_sql_function_and_the_python_rule_agree_on_every_combination(template_db):
    async def answers() -> list[list[bool]]:
        conn = await asyncpg.connect(url_for_database(template_db))
        try:
            return [
                [
                    r["ok"]
                    for r in await conn.fetch(
                        "SELECT COALESCE(staff_may_see($1, $2, $3, $4, r.code, r.team), false) "
                        "AS ok FROM unnest($5::text[], $6::int[]) WITH ORDINALITY "
                        "AS r(code, team, n) ORDER BY n",
                        *access.params(scope).values(),
                        [code for code, _ in RECORDS],
                        [team for _, team in RECORDS],
                    )
                ]
                for scope in SCOPES
            ]
        finally:
            await conn.close()

    in_sql = in_thread(asyncio.run, answers())
    wrong = [
        (scope, record, in_sql[i][j])
        for i, scope in enumerate(SCOPES)
        for j, record in enumerate(RECORDS)
        if in_sql[i][j] != access.may_see(scope, *record)
    ]
    assert wrong == []
    assert any(any(row) for row in in_sql)
    assert not all(all(row) for row in in_sql)


# --- the world --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world_url(module_db_url) -> str:
    return module_db_url


@pytest.fixture(scope="module")
def wclient(module_client) -> TestClient[Any]:
    return module_client


@pytest.fixture(scope="module")
def wstaff(module_staff) -> dict[str, dict[str, str]]:
    return module_staff


def _sql(url: str) -> Callable[..., list[Any]]:
    return lambda statement, *args: run_sql(url, statement, *args)


def _team(sql, name: str) -> int:
    return sql("SELECT id FROM teams WHERE name = $1", name)[0]["id"]


def _near(point: tuple[float, float], k: int) -> tuple[float, float]:
    return point[0] + 0.0004 * k, point[1] + 0.0004 * k


@pytest.fixture(scope="module")
def world(wclient, wstaff, world_url) -> dict[str, Any]:
    """Records in five places, held by four teams, plus one with no place at all."""
    sql = _sql(world_url)
    for place in (CHELMSFORD, SOUTHEND, ROCHFORD, HARLOW, LONDON):
        for k in range(3):  # three close together: a hotspot where the place is routed
            lat, lon = _near(place, k)
            body = alert(lat=lat, lon=lon, appearance=f"near {place} #{k}")
            assert wclient.post("/v1/referrals", json=body).status_code == 201
    text_only = alert(
        lat=None, lon=None, accuracy_m=None, location_description="the bus shelter, somewhere"
    )
    assert wclient.post("/v1/referrals", json=text_only).status_code == 201
    mid, south = _team(sql, "Mid Essex Outreach"), _team(sql, "Southend Outreach")
    batches = {
        # one in another team's area, one outside Greater Essex (no authority, a team)
        "worker_mid": [CHELMSFORD, SOUTHEND, LONDON],
        "worker_south": [SOUTHEND, ROCHFORD, ROCHFORD],
    }
    for who, places in batches.items():
        items = [contact(lat=p[0] + 0.0003 * i, lon=p[1]) for i, p in enumerate(places)]
        response = wclient.post("/v1/contacts:batch", json={"items": items}, headers=wstaff[who])
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 3
    person_mid = wclient.post("/v1/persons", json={"known_as": "Al"}, headers=wstaff["worker_mid"])
    person_south = wclient.post(
        "/v1/persons", json={"known_as": "Alan"}, headers=wstaff["worker_south"]
    )
    assert person_mid.status_code == person_south.status_code == 201
    seen_in_southend = contact(lat=SOUTHEND[0], lon=SOUTHEND[1], person_id=person_mid.json()["id"])
    wclient.post(
        "/v1/contacts:batch", json={"items": [seen_in_southend]}, headers=wstaff["worker_mid"]
    )
    recompute = wclient.post("/v1/hotspots:recompute", headers=wstaff["admin"])
    assert recompute.status_code in (200, 201), recompute.text
    run = wclient.post("/v1/assignments:run", headers=wstaff["admin"])
    assert run.status_code in (200, 201), run.text
    assert wait_for(lambda: sql("SELECT 1 FROM hotspots WHERE status = 'active'"))
    return {"teams": {"mid": mid, "south": south}}


def _user(world_url: str, who: str) -> StaffUser:
    """The member of staff as the rule sees them, read from the tables here (not the app's
    query): ``area_team_ids`` from :func:`access.teams_within` over the teams' coverage."""
    row = run_sql(
        world_url,
        "SELECT u.id, u.username, u.role, "
        "COALESCE((SELECT array_agg(team_id) FROM user_teams WHERE user_id = u.id), "
        "         ARRAY[]::int[]) AS team_ids, "
        "COALESCE((SELECT array_agg(authority_code) FROM user_authorities "
        "          WHERE user_id = u.id), ARRAY[]::varchar[]) AS authority_codes "
        "FROM users u WHERE username = $1",
        who,
    )[0]
    codes = tuple(row["authority_codes"])
    within = access.teams_within(codes, _covers(_sql(world_url)))
    return StaffUser(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        team_ids=tuple(row["team_ids"]),
        authority_codes=codes,
        area_team_ids=tuple(sorted(within)) if row["role"] == "coordinator" else (),
    )


def _scope(world_url: str, who: str) -> Scope:
    return access.scope_of(_user(world_url, who))


def _visible(scope: Scope, rows: list[Any], key: str = "id") -> set[str]:
    return {str(r[key]) for r in rows if access.may_see(scope, r["authority_code"], r["team_id"])}


def _covers(sql) -> dict[int, list[str]]:
    rows = sql("SELECT team_id, array_agg(authority_code) AS codes FROM team_areas GROUP BY 1")
    return {r["team_id"]: list(r["codes"]) for r in rows}


# --- the read paths: each returns (what the API said, what the rule admits) -------------------


def read_referral_list(client, headers, sql, scope):
    got = client.get("/v1/referrals?limit=500", headers=headers).json()
    return {r["id"] for r in got}, _visible(
        scope, sql("SELECT id, authority_code, team_id FROM referrals")
    )


def read_referral_details(client, headers, sql, scope):
    rows = sql("SELECT id, authority_code, team_id FROM referrals")
    got = {
        str(r["id"])
        for r in rows
        if client.get(f"/v1/referrals/{r['id']}", headers=headers).is_success
    }
    return got, _visible(scope, rows)


def read_contact_details(client, headers, sql, scope):
    rows = sql("SELECT id, authority_code, team_id FROM contacts")
    got = {
        str(r["id"])
        for r in rows
        if client.get(f"/v1/contacts/{r['id']}", headers=headers).is_success
    }
    return got, _visible(scope, rows)


def read_hotspot_list(client, headers, sql, scope):
    got = client.get("/v1/hotspots", headers=headers).json()["features"]
    rows = sql("SELECT id, authority_code, team_id FROM hotspots WHERE status = 'active'")
    return {str(f["id"]) for f in got}, _visible(scope, rows)


def read_hotspot_members(client, headers, sql, scope):
    got, expected = set(), set()
    for h in sql("SELECT id, authority_code, team_id FROM hotspots WHERE status = 'active'"):
        response = client.get(f"/v1/hotspots/{h['id']}", headers=headers)
        if response.is_success:
            got |= {f"{h['id']}/{m['id']}" for m in response.json()["members"]}
        if access.may_see(scope, h["authority_code"], h["team_id"]):
            members = sql(
                "SELECT m.member_id AS id, COALESCE(r.authority_code, c.authority_code) "
                "AS authority_code, COALESCE(r.team_id, c.team_id) AS team_id "
                "FROM hotspot_members m "
                "LEFT JOIN referrals r ON m.member_kind = 'referral' AND r.id = m.member_id "
                "LEFT JOIN contacts c ON m.member_kind = 'contact' AND c.id = m.member_id "
                "WHERE m.hotspot_id = $1",
                h["id"],
            )
            expected |= {f"{h['id']}/{m}" for m in _visible(scope, members)}
    return got, expected


def read_assignments(client, headers, sql, scope):
    got = client.get("/v1/assignments?limit=1000", headers=headers).json()["items"]
    rows = sql("SELECT item_kind || ':' || item_id AS id, authority_code, team_id FROM assignments")
    return {a["item"] for a in got}, _visible(scope, rows)


def read_shift_plans(client, headers, sql, scope):
    got, expected = set(), set()
    covers = _covers(sql)
    for team in sql("SELECT id FROM teams ORDER BY id"):
        response = client.get(f"/v1/teams/{team['id']}/shift-plan", headers=headers)
        if access.may_read_team(scope, team["id"], covers.get(team["id"], [])):
            expected.add(f"team {team['id']}")
        if not response.is_success:
            continue
        got.add(f"team {team['id']}")
        plan = response.json()
        got |= {s["item"] for s in plan["stops"] + plan["dropped"]}
        rows = sql(
            "SELECT a.item_kind || ':' || a.item_id AS id, a.authority_code, a.team_id "
            "FROM assignments a "
            "LEFT JOIN referrals r ON a.item_kind = 'referral' AND r.id::text = a.item_id "
            "WHERE a.team_id = $1 AND a.shift_start = $2 "
            "AND (a.item_kind = 'hotspot' OR r.geom IS NOT NULL)",
            team["id"],
            dt.datetime.fromisoformat(plan["shift_start"]),
        )
        expected |= _visible(scope, rows)
    return got, expected


def read_sync(client, headers, sql, scope):
    got = client.get("/v1/sync?limit=1000", headers=headers).json()
    assert not got["has_more"]
    rows = sql(
        "SELECT ch.id, COALESCE(r.authority_code, k.authority_code) AS authority_code, "
        "ch.team_id, ch.kind || ':' || ch.entity_id || ':' || ch.team_id AS key "
        "FROM changes ch "
        "LEFT JOIN referrals r ON ch.kind LIKE 'referral%' AND r.id::text = ch.entity_id "
        "LEFT JOIN contacts k ON ch.kind LIKE 'contact%' AND k.id::text = ch.entity_id"
    )
    return (
        {f"{c['kind']}:{c['entity_id']}:{c['team_id']}" for c in got["changes"]},
        _visible(scope, rows, key="key"),
    )


def _persons_seen(sql, scope) -> set[str]:
    return {
        str(p["id"])
        for p in sql("SELECT id, team_id FROM persons")
        if access.may_see_person(
            scope,
            p["team_id"],
            sql("SELECT authority_code, team_id FROM contacts WHERE person_id = $1", p["id"]),
        )
    }


def read_persons(client, headers, sql, scope):
    listed = client.get("/v1/persons?limit=100&include_merged=true", headers=headers).json()
    got = {f"list {p['id']}" for p in listed["items"]}
    got |= {
        f"read {p['id']}"
        for p in sql("SELECT id FROM persons")
        if client.get(f"/v1/persons/{p['id']}", headers=headers).is_success
    }
    seen = _persons_seen(sql, scope)
    return got, {f"list {p}" for p in seen} | {f"read {p}" for p in seen}


def read_possible_duplicates(client, headers, sql, scope):
    """Opens for the persons the caller may see; every candidate is one of those."""
    seen = _persons_seen(sql, scope)
    got, shown = set(), set()
    for p in sql("SELECT id FROM persons"):
        response = client.get(f"/v1/persons/{p['id']}/possible-duplicates", headers=headers)
        if response.is_success:
            got.add(str(p["id"]))
            shown |= {c["id"] for c in response.json()["candidates"]}
    return got | shown, seen | (shown & seen)


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def read_referral_export(client, headers, sql, scope):
    rows = _csv(client.get("/v1/exports/referrals.csv", headers=headers))
    return {r["reference"] for r in rows}, _visible(
        scope, sql("SELECT reference, authority_code, team_id FROM referrals"), key="reference"
    )


def read_contact_export(client, headers, sql, scope):
    rows = _csv(client.get("/v1/exports/contacts.csv", headers=headers))
    return {r["id"] for r in rows}, _visible(
        scope, sql("SELECT id, authority_code, team_id FROM contacts")
    )


TILES = ((7, 63, 42), (7, 64, 42))  # London's edge and the whole of Essex


def read_tiles(client, headers, sql, scope):
    got = set()
    for z, x, y in TILES:
        response = client.get(f"/v1/tiles/{z}/{x}/{y}.mvt", headers=headers)
        assert response.status_code == 200, response.text
        for layer, data in mapbox_vector_tile.decode(response.content).items():
            if layer in ("referrals", "contacts", "hotspots"):
                got |= {f"{layer}:{f['properties']['id']}" for f in data["features"]}
    expected = {
        f"{layer}:{key}"
        for layer, query in (
            (
                "referrals",
                "SELECT id, authority_code, team_id FROM referrals WHERE geom IS NOT NULL",
            ),
            ("contacts", "SELECT id, authority_code, team_id FROM contacts"),
            (
                "hotspots",
                "SELECT id, authority_code, team_id FROM hotspots WHERE status = 'active'",
            ),
        )
        for key in _visible(scope, sql(query))
    }
    return got, expected


def read_stats(client, headers, sql, scope):
    report = client.get("/v1/stats", headers=headers).json()
    user = StaffUser(
        id=0,
        username="x",
        role="admin" if scope.everything else "coordinator" if scope.coordinator else "worker",
        team_ids=scope.team_ids,
        authority_codes=scope.authority_codes,
    )
    exact = access.exact_figures(user, public=False)
    got = {f"a {r['code']}" for r in report["authorities"] if r["exact"]}
    got |= {f"t {r['team_id']}" for r in report["teams"] if r["exact"]}
    expected = {f"a {r['code']}" for r in report["authorities"] if exact.authority(r["code"])}
    expected |= {f"t {r['team_id']}" for r in report["teams"] if exact.team(r["team_id"])}
    # audience=public is given only for a calendar month that has ended: last month
    this_month = dt.datetime.now(dt.UTC).date().replace(day=1)
    last_day = this_month - dt.timedelta(days=1)
    month = {"from": last_day.replace(day=1).isoformat(), "to": last_day.isoformat()}
    public = client.get("/v1/stats", params={**month, "audience": "public"}, headers=headers)
    public = public.json()
    got |= {
        f"public {r.get('code') or r['team_id']}"
        for r in public["authorities"] + public["teams"]
        if r["exact"]
    }
    return got, expected


def read_audit(client, headers, sql, scope):
    response = client.get("/v1/audit", headers=headers)
    return {response.status_code}, {200 if scope.everything else 403}


def read_snapshot(client, headers, sql, scope):
    response = client.get("/v1/exports/snapshot", headers=headers)
    if not response.is_success:
        return {response.status_code}, {403} if not (scope.everything or scope.coordinator) else {
            200
        }
    got = {a["code"] for a in response.json()["authorities"]}
    codes = {r["code"] for r in sql("SELECT code FROM authorities")}
    return got, codes if scope.everything else codes & set(scope.authority_codes)


def read_referral_queue(client, headers, sql, scope):
    """Coordinators and admins: the open referrals they may see; workers: 403."""
    response = client.get("/v1/referral-queue?limit=500", headers=headers)
    version = client.get("/v1/referral-queue/version", headers=headers)
    if not (scope.everything or scope.coordinator):
        return {response.status_code, version.status_code}, {403}
    open_rows = sql("SELECT id, authority_code, team_id FROM referrals WHERE status <> 'closed'")
    expected = _visible(scope, open_rows)
    got = {row["id"] for row in response.json()}
    shown = {d for row in response.json() for d in row["possible_duplicates"]}
    assert shown <= expected, "a possible duplicate outside the caller's scope"
    assert version.json()["open_referrals"] == len(expected)
    return got, expected


def read_weekly_and_counts(client, headers, sql, scope):
    """The weekly series and the export counts count exactly what the caller may see."""
    weeks = client.get("/v1/stats/weekly", headers=headers).json()["weeks"]
    counts = client.get("/v1/exports/counts", headers=headers).json()
    referrals = _visible(scope, sql("SELECT id, authority_code, team_id FROM referrals"))
    contacts = _visible(scope, sql("SELECT id, authority_code, team_id FROM contacts"))
    got = {
        ("weekly", sum(w["referrals"] for w in weeks), sum(w["contacts"] for w in weeks)),
        ("counts", counts["referrals"], counts["contacts"]),
    }
    return got, {(k, len(referrals), len(contacts)) for k in ("weekly", "counts")}


READS: dict[str, tuple[tuple[str, str], ...]] = {
    # name: the GET operations it covers (OpenAPI path, templated)
    "read_referral_list": (("GET", "/v1/referrals"),),
    "read_referral_details": (("GET", "/v1/referrals/{}"),),
    "read_contact_details": (("GET", "/v1/contacts/{}"),),
    "read_hotspot_list": (("GET", "/v1/hotspots"),),
    "read_hotspot_members": (("GET", "/v1/hotspots/{}"),),
    "read_assignments": (("GET", "/v1/assignments"),),
    "read_shift_plans": (("GET", "/v1/teams/{}/shift-plan"),),
    "read_sync": (("GET", "/v1/sync"),),
    "read_persons": (("GET", "/v1/persons"), ("GET", "/v1/persons/{}")),
    "read_possible_duplicates": (("GET", "/v1/persons/{}/possible-duplicates"),),
    "read_referral_export": (("GET", "/v1/exports/referrals.csv"),),
    "read_contact_export": (("GET", "/v1/exports/contacts.csv"),),
    "read_tiles": (("GET", "/v1/tiles/{}/{}/{}"),),
    "read_stats": (("GET", "/v1/stats"),),
    "read_audit": (("GET", "/v1/audit"),),
    "read_snapshot": (("GET", "/v1/exports/snapshot"), ("GET", "/v1/exports/snapshot.csv")),
    "read_referral_queue": (("GET", "/v1/referral-queue"), ("GET", "/v1/referral-queue/version")),
    "read_weekly_and_counts": (("GET", "/v1/stats/weekly"), ("GET", "/v1/exports/counts")),
}
NOT_PERSONAL = {
    # GET operations that show nothing about a person or a report (public or reference data)
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/areas"),
    ("GET", "/v1/areas/lookup"),
    ("GET", "/v1/places/search"),  # the gazetteer only, never anyone's reports
    ("GET", "/v1/referrals/{}/status"),  # the referrer's own receipt, by its private token
    ("GET", "/v1/teams"),
    ("GET", "/v1/swep"),
    # Admins only: message states and keys, never an address or a text.
    ("GET", "/v1/outbox"),
    ("GET", "/v1/outbox/templates/{}"),  # sample values only
    ("GET", "/v1/push/key"),  # the VAPID public key
    ("GET", "/v1/devices"),  # staff phones: labels and times, nothing about the public
    ("GET", "/v1/me"),
}


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("who", WHO)
def test_every_read_path_answers_exactly_what_the_rule_admits(
    wclient, wstaff, world, world_url, read, who
):
    sql = _sql(world_url)
    if who == "anonymous":
        for method, path in READS[read]:
            some_id = str(uuid.uuid4()) if re.search(r"referrals|contacts|persons", path) else "1"
            concrete = path.replace("{}", some_id)
            response = wclient.request(method, concrete)
            assert response.status_code == 401, (path, response.text)
        return
    got, expected = globals()[read](wclient, wstaff[who], sql, _scope(world_url, who))
    assert got == expected, f"{who} {read}: extra {got - expected}, missing {expected - got}"


def test_a_coordinator_is_loaded_with_the_teams_working_only_inside_their_area(world_url):
    """``user_get.sql`` computes ``area_team_ids`` as :func:`access.teams_within` says."""
    statement, names = positional("user_get")
    for who in WHO[1:]:
        expected = _user(world_url, who)
        given = {"id": expected.id, "device_id": None}
        [row] = run_sql(world_url, statement, *(given[n] for n in names))
        assert tuple(row["area_team_ids"]) == expected.area_team_ids, who
    assert _user(world_url, "coord_mid").area_team_ids  # Mid Essex works only in their area
    assert not _user(world_url, "coord_south").area_team_ids  # Southend's team covers Rochford


def test_the_world_has_records_each_caller_may_not_see(world, world_url):
    """The matrix means something only if every caller but the admin is refused something."""
    sql = _sql(world_url)
    rows = sql("SELECT id, authority_code, team_id FROM referrals")
    contacts = sql("SELECT id, authority_code, team_id FROM contacts")
    for who in WHO[1:-1]:
        scope = _scope(world_url, who)
        assert 0 < len(_visible(scope, rows)) < len(rows), who
        assert len(_visible(scope, contacts)) < len(contacts), who
    assert any(r["authority_code"] is None and r["team_id"] is None for r in rows)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_get_operation_is_in_the_read_matrix(wclient):
    document = wclient.get("/openapi/openapi.json").json()
    covered = {op for ops in READS.values() for op in ops} | NOT_PERSONAL
    missing = [
        f"GET {path}"
        for path, operations in document["paths"].items()
        if "get" in operations
        and not path.startswith("/open311/")
        and ("GET", _shape(path)) not in covered
    ]
    assert missing == [], "add these read paths to READS (or NOT_PERSONAL)"
