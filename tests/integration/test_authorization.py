"""The authorization matrix: every protected route x role x own/other scope → status.

Fixtures in Chelmsford (authority E07000070, team "Mid Essex Outreach"): ``worker_mid`` and
``coord_mid`` are in scope, ``worker_south`` and ``coord_south`` (Southend) are not. SWEP is
switched per authority, whose existence is public: out of scope is 403 there, not 404.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from functools import partial

import pytest

from tests.conftest import (
    make_settings,
    run_sql,
    staff_headers,
    started_client,
    url_for_database,
    wait_for,
)
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert

WHO = ("anonymous", "worker_mid", "worker_south", "coord_mid", "coord_south", "admin")


def expect(**overrides):
    """Statuses by caller; defaults: anonymous 401, everyone signed in 200."""
    table = dict.fromkeys(WHO, 200)
    table["anonymous"] = 401
    table.update(overrides)
    return table


SCOPED = expect(worker_south=404, coord_south=404)
COORDINATORS = expect(worker_mid=403, worker_south=403, coord_south=404)
# An unrouted referral (no place, or outside Greater Essex) waits for any coordinator.
COORDINATORS_AND_UNROUTED = expect(worker_mid=403, worker_south=403)
ADMIN_ONLY = expect(worker_mid=403, worker_south=403, coord_mid=403, coord_south=403)
MATRIX = [
    ("GET", "/v1/teams", None, expect()),
    ("GET", "/v1/referrals", None, expect()),
    ("GET", "/v1/referrals/{referral}", None, SCOPED),
    ("POST", "/v1/referrals/{referral}/attempts", "attempt", SCOPED),
    ("POST", "/v1/referrals/{referral}/outcome", "outcome", SCOPED),
    ("POST", "/v1/referrals/{referral2}/duplicate-of/{referral}", None, COORDINATORS),
    ("DELETE", "/v1/referrals/{referral2}/duplicate-of/{referral}", None, COORDINATORS),
    ("PUT", "/v1/referrals/{unplaced}/location", "place", COORDINATORS_AND_UNROUTED),
    ("POST", "/v1/referrals/{away}/forward", "forward", COORDINATORS_AND_UNROUTED),
    ("GET", "/v1/referral-queue", None, expect(worker_mid=403, worker_south=403)),
    ("GET", "/v1/referral-queue/version", None, expect(worker_mid=403, worker_south=403)),
    ("POST", "/v1/contacts:batch", "batch", expect()),
    ("GET", "/v1/contacts/{contact}", None, SCOPED),
    ("GET", "/v1/sync", None, expect()),
    ("GET", "/v1/persons", None, expect()),
    ("GET", "/v1/persons/{person}", None, SCOPED),
    ("PATCH", "/v1/persons/{person}", "patch", SCOPED),
    ("GET", "/v1/persons/{person}/possible-duplicates", None, SCOPED),
    (
        "POST",
        "/v1/persons",
        "person",
        expect(worker_mid=201, coord_mid=201, admin=201, worker_south=403, coord_south=403),
    ),
    ("POST", "/v1/persons/{person2}/merge-into/{person}", None, COORDINATORS),
    ("DELETE", "/v1/persons/{person3}/merge-into/{person4}", None, COORDINATORS),
    ("GET", "/v1/audit", None, ADMIN_ONLY),
    ("GET", "/v1/hotspots", None, expect()),
    ("GET", "/v1/hotspots/{hotspot}", None, SCOPED),
    ("POST", "/v1/hotspots:recompute", None, expect(worker_mid=403, worker_south=403)),
    ("GET", "/v1/assignments", None, expect()),
    ("POST", "/v1/assignments:run", None, expect(worker_mid=403, worker_south=403)),
    ("PUT", "/v1/assignments/{item}", "pin", COORDINATORS),
    ("DELETE", "/v1/assignments/{pinned_item}", None, COORDINATORS),
    ("GET", "/v1/teams/{team}/shift-plan", None, SCOPED),
    ("GET", "/v1/swep", None, expect()),
    (
        "PUT",
        "/v1/areas/{area}/swep",
        "swep",
        expect(worker_mid=403, worker_south=403, coord_south=403),
    ),
    ("GET", "/v1/stats", None, expect()),
    ("GET", "/v1/stats/weekly", None, expect()),
    ("GET", "/v1/exports/counts", None, expect()),
    ("GET", "/v1/exports/referrals.csv", None, expect()),
    ("GET", "/v1/exports/contacts.csv", None, expect()),
    ("GET", "/v1/exports/snapshot", None, expect(worker_mid=403, worker_south=403)),
    ("GET", "/v1/exports/snapshot.csv", None, expect(worker_mid=403, worker_south=403)),
    # Tiles answer everyone signed in; what is inside is scoped (tests/integration/test_tiles.py).
    ("GET", "/v1/tiles/{tile_z}/{tile_x}/{tile_y}", None, expect()),
    # Or the scrape token (tests/integration/test_openapi_security.py).
    ("GET", "/metrics", None, ADMIN_ONLY),
    ("GET", "/v1/outbox", None, ADMIN_ONLY),
    ("GET", "/v1/outbox/templates/{template}", None, ADMIN_ONLY),
    ("POST", "/v1/outbox/{outbox_message}/retry", None, {**ADMIN_ONLY, "admin": 404}),
    # Push is not configured in these tests: no key to give (tests/integration/test_messages.py).
    ("GET", "/v1/push/key", None, {**dict.fromkeys(WHO, 404), "anonymous": 401}),
    ("PUT", "/v1/push/subscription", "push_subscription", expect()),
    # Nobody registered that endpoint: the caller's own subscriptions only, none found.
    (
        "DELETE",
        "/v1/push/subscription",
        "push_endpoint",
        {**dict.fromkeys(WHO, 404), "anonymous": 401},
    ),
    (
        "POST",
        "/v1/devices",
        "device",
        expect(worker_mid=201, worker_south=201, coord_mid=201, coord_south=201, admin=201),
    ),
    ("GET", "/v1/devices", None, expect(worker_mid=403, worker_south=403)),
    (
        "DELETE",
        "/v1/devices/{device}",
        None,
        # worker_mid registered it: a worker may revoke their own phone
        expect(worker_mid=204, worker_south=404, coord_mid=204, coord_south=404, admin=204),
    ),
    ("GET", "/v1/me", None, expect()),
]
BODIES = {
    "attempt": lambda: {
        "id": str(uuid.uuid4()),
        "found": True,
        "attempted_at": dt.datetime.now(dt.UTC).isoformat(),
    },
    "outcome": lambda: {"outcome": "found_engaged"},
    "batch": lambda: {"items": [contact()]},
    "patch": lambda: {"consent_status": "given"},
    "person": lambda: {"known_as": "Jo", "team_id": MID_ESSEX_TEAM},
    "pin": lambda: {"team_id": 1, "note": "matrix"},
    "swep": lambda: {"active": True},
    "place": lambda: {"lon": 0.4693, "lat": 51.7366, "note": "matrix"},
    "forward": lambda: {"note": "sent to the London service"},
    "push_subscription": lambda: {
        "endpoint": "https://fcm.googleapis.com/fcm/send/matrix",
        "keys": {
            "p256dh": "BHjAqnLQEaQiwBmqluGM42J8S_1LbD2UBtN-huqHMKNO-7xs1Djw3qCp18j_"
            "it6-CSL73AYFXjzIBKnmr_nKyz4",
            "auth": "A" * 22,
        },
    },
    "push_endpoint": lambda: {"endpoint": "https://push.example.org/nobody"},
    "device": lambda: {"label": "matrix phone"},
}
MID_ESSEX_TEAM = 4  # checked against the seeded teams in the `world` fixture


@pytest.fixture(scope="module")
def world_template(clones, staff_ids):
    """The world that every write starts from, built once in a database of its own that each
    write's database is then cloned from (a clone takes a fifth of the time of a build)."""
    name = clones.take()
    settings = make_settings(url_for_database(name))
    with started_client(settings) as client:
        world = build_world(
            client, partial(run_sql, settings.database_url), staff_headers(settings, staff_ids)
        )
    yield name, world  # the client has stopped: nothing is connected to the template
    clones.give_back(name)


@pytest.fixture
def db_url(clones, world_template):
    """This write's database: a copy of the world (writes change what the next caller would
    meet)."""
    name = clones.take(world_template[0])
    yield url_for_database(name)
    clones.give_back(name)


@pytest.fixture
def world(world_template):
    return world_template[1]


@pytest.fixture(scope="module")
def shared_world(module_client, module_sql, module_staff):
    """One world for every read: reading changes nothing another caller would see."""
    return build_world(module_client, module_sql, module_staff)


def build_world(client, sql, staff):
    """A referral pair, a contact and two persons in Chelmsford, made by staff in scope."""
    refs = [
        client.post("/v1/referrals", json=alert(lat=lat, appearance=str(lat))).json()
        for lat in (51.7366, 51.7370, 51.7368)
    ]
    ids = [
        str(sql("SELECT id FROM referrals WHERE reference = $1", r["reference"])[0]["id"])
        for r in refs
    ]
    item = contact()
    client.post("/v1/contacts:batch", json={"items": [item]}, headers=staff["worker_mid"])
    assert sql("SELECT id FROM teams WHERE name = 'Mid Essex Outreach'")[0]["id"] == MID_ESSEX_TEAM
    persons = [
        client.post("/v1/persons", json={"known_as": name}, headers=staff["worker_mid"]).json()[
            "id"
        ]
        for name in ("Al", "Alan", "Bea", "Beatrice")
    ]
    merged = client.post(
        f"/v1/persons/{persons[2]}/merge-into/{persons[3]}", headers=staff["coord_mid"]
    )
    assert merged.status_code == 200, merged.text
    unplaced, away = (
        client.post("/v1/referrals", json=alert(**where)).json()["reference"]
        for where in ({"lat": None, "lon": None, "accuracy_m": None}, {"lon": -0.1276, "lat": 51.5})
    )
    unplaced, away = (
        str(sql("SELECT id FROM referrals WHERE reference = $1", r)[0]["id"])
        for r in (unplaced, away)
    )
    assert wait_for(lambda: sql("SELECT id FROM hotspots"), timeout_s=10)
    pinned = client.put(
        f"/v1/assignments/referral:{ids[1]}", json={"team_id": 1}, headers=staff["coord_mid"]
    )
    assert pinned.status_code == 200, pinned.text
    device = client.post("/v1/devices", json={"label": "world"}, headers=staff["worker_mid"])
    assert device.status_code == 201, device.text
    return {
        "device": device.json()["device_id"],
        "hotspot": sql("SELECT id FROM hotspots")[0]["id"],
        "item": f"referral:{ids[0]}",
        "pinned_item": f"referral:{ids[1]}",
        "team": MID_ESSEX_TEAM,
        "area": "E07000070",
        "referral": ids[0],
        "referral2": ids[1],
        "unplaced": unplaced,
        "away": away,
        "contact": item["id"],
        "person": persons[0],
        "person2": persons[1],
        "person3": persons[2],
        "person4": persons[3],
        **{"tile_z": 7, "tile_x": 64, "tile_y": "42.mvt"},  # holds Chelmsford
        "template": "referral_outcome",
        "outbox_message": 999_999,
    }


READS = [row for row in MATRIX if row[0] == "GET"]
WRITES = [row for row in MATRIX if row[0] != "GET"]


def _call(client, headers, world, method, path, body):
    content = json.dumps(BODIES[body]()) if body else None
    return client.request(
        method,
        path.format(**world),
        content=content,
        headers={**headers, "content-type": "application/json"},
    )


def _check(response, expected):
    assert response.status_code == expected, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("method", "path", "body", "statuses"), READS, ids=[f"{m} {p}" for m, p, _, _ in READS]
)
@pytest.mark.parametrize("who", WHO)
def test_authorization_matrix_reads(
    module_client, module_staff, shared_world, method, path, body, statuses, who
):
    headers = {} if who == "anonymous" else module_staff[who]
    _check(_call(module_client, headers, shared_world, method, path, body), statuses[who])


@pytest.mark.parametrize(
    ("method", "path", "body", "statuses"), WRITES, ids=[f"{m} {p}" for m, p, _, _ in WRITES]
)
@pytest.mark.parametrize("who", WHO)
def test_authorization_matrix_writes(client, staff, world, method, path, body, statuses, who):
    headers = {} if who == "anonymous" else staff[who]
    _check(_call(client, headers, world, method, path, body), statuses[who])


def _shape(path):
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_protected_operation_is_in_the_matrix(client):
    document = client.get("/openapi/openapi.json").json()
    public = {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/v1/areas"),
        ("GET", "/v1/areas/lookup"),
        ("GET", "/v1/places/search"),
        ("POST", "/v1/auth/token"),
        ("POST", "/v1/auth/refresh"),
        ("POST", "/v1/referrals"),
        ("GET", "/v1/referrals/{}/status"),
        ("POST", "/v1/referrals/{}/unsubscribe"),
    }
    in_matrix = {(m, _shape(p)) for m, p, _, _ in MATRIX}
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if not path.startswith("/open311/")
        and (method.upper(), _shape(path)) not in in_matrix | public
    ]
    assert missing == [], "add these operations to MATRIX"
