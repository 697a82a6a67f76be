"""Privacy under attack (issue 13): what one team's staff can learn about another team's
work in an authority both teams cover. The seed gives Harlow (E07000073) to Harlow Outreach
and West Essex Outreach, and Rochford (E07000075) to Southend Outreach and South Essex
Outreach, so these leaks need no special setup."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
from urllib.parse import quote, unquote

import mapbox_vector_tile
import pytest

from geo.projections import bng_to_wgs84, wgs84_to_bng
from geo.tiles import tile_for_lonlat
from service.usecases.operations.cli_jobs import add_user
from tests.conftest import PASSWORD, in_thread, wait_for
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert

HARLOW = (0.094, 51.769)  # lon, lat: Harlow Outreach's base, inside E07000073

# username: (role, teams, authorities)
SHARED_AREA_STAFF = {
    "coord_harlow": ("coordinator", ["Harlow Outreach"], ["E07000073"]),
    "worker_harlow": ("worker", ["Harlow Outreach"], []),
    "worker_west": ("worker", ["West Essex Outreach"], []),
}


@pytest.fixture
def shared(client, settings):
    """Signed-in staff of two teams that share Harlow: ``shared["worker_west"]`` is headers."""

    async def create() -> None:
        for username, (role, teams, authorities) in SHARED_AREA_STAFF.items():
            await add_user(
                settings,
                username=username,
                display_name=username,
                password=PASSWORD,
                role=role,
                teams=teams,
                authorities=authorities,
            )

    in_thread(asyncio.run, create())
    headers = {}
    for username in SHARED_AREA_STAFF:
        response = client.post("/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        headers[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return headers


def team_id(sql, name):
    return sql("SELECT id FROM teams WHERE name = $1", name)[0]["id"]


# --- item 5: claiming another team's person ----------------------------------------------------


def test_a_contact_cannot_link_a_person_outside_the_senders_scope(client, sql, shared):
    """A Harlow coordinator names a West Essex person in a contact in Harlow: refused exactly
    like an id that does not exist, so they cannot come to read the person, nor move it."""
    west = client.post("/v1/persons", json={"known_as": "Ann"}, headers=shared["worker_west"])
    assert west.status_code == 201, west.text
    person_id = west.json()["id"]
    url = f"/v1/persons/{person_id}"
    assert client.get(url, headers=shared["coord_harlow"]).status_code == 404

    lon, lat = HARLOW
    claim = contact(lon=lon, lat=lat, person_id=person_id)
    missing = contact(lon=lon, lat=lat, person_id="00000000-0000-4000-8000-000000000000")
    response = client.post(
        "/v1/contacts:batch", json={"items": [claim, missing]}, headers=shared["coord_harlow"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 0, body
    out_of_scope, unknown = (r["problem"] for r in body["results"])
    assert out_of_scope == unknown  # out of scope looks missing
    assert unknown["errors"][0]["field"] == "person_id"
    assert sql("SELECT count(*) AS n FROM contacts")[0]["n"] == 0

    assert client.get(url, headers=shared["coord_harlow"]).status_code == 404
    harlow = team_id(sql, "Harlow Outreach")
    moved = client.patch(url, json={"team_id": harlow}, headers=shared["coord_harlow"])
    assert moved.status_code == 404
    assert client.get(url, headers=shared["worker_west"]).status_code == 200
    # the owning team still links its own person
    own = client.post("/v1/contacts:batch", json={"items": [claim]}, headers=shared["worker_west"])
    assert own.json()["created"] == 1, own.text


def test_a_person_moves_only_to_a_team_whose_persons_the_mover_sees(client, sql, shared):
    """A coordinator who sees a West Essex person through a contact in their area may not give
    their own team's records to West Essex, whose persons they do not see."""
    mine = client.post("/v1/persons", json={}, headers=shared["coord_harlow"])
    assert mine.status_code == 201, mine.text
    west = team_id(sql, "West Essex Outreach")
    moved = client.patch(
        f"/v1/persons/{mine.json()['id']}", json={"team_id": west}, headers=shared["coord_harlow"]
    )
    assert moved.status_code == 403, moved.text


# --- item 3: public answers never depend on other people's reports ------------------------------


def _masked(text, reference, token):
    """An answer with what always differs between two reports (reference, token, times)
    replaced by placeholders."""
    text = text.replace(reference, "REF").replace(token, "TOKEN").replace(quote(token), "TOKEN")
    text = re.sub(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?", "TIME", text)
    return re.sub(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2}", "TIME", text)


def _public_answers(client, lat):
    """Every public answer about one new report at ``lat`` (JSON, pages and Open311)."""
    receipt = client.post("/v1/referrals", json=alert(lat=lat))
    assert receipt.status_code == 201, receipt.text
    reference = receipt.json()["reference"]
    token = unquote(receipt.json()["status_url"].split("token=")[1])
    answers = {
        "receipt": receipt.text,
        "status": client.get(receipt.json()["status_url"]).text,
        "status page": client.get(receipt.json()["status_page_url"]).text,
    }
    form = {"service_code": "rough-sleeping", "lat": str(lat + 0.0002), "long": "0.4693"}
    created = client.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]
    answers["open311 post"] = created.text.replace(request_id, reference)
    read = client.get(f"/open311/v2/requests/{request_id}.json")
    answers["open311 read"] = read.text.replace(request_id, reference)
    return {name: _masked(text, reference, token) for name, text in answers.items()}


def test_public_answers_do_not_depend_on_a_report_150_m_away(client, sql):
    """Anyone may report: what they get back must not say whether someone else was reported
    near the same place (possible_duplicate was true within 250 m and 72 h)."""
    lat = 51.7366
    first = _public_answers(client, lat)
    second = _public_answers(client, lat + 150 / 111_320)  # 150 m north
    assert sql("SELECT count(*) AS n FROM referral_duplicates")[0]["n"] > 0  # staff still see it
    for name, answer in first.items():
        assert second[name] == answer, name


# --- item 1: hotspot outlines, centres and times from visible members only -------------------


def _near(lonlat_a, lonlat_b, metres):
    (ax, ay), (bx, by) = wgs84_to_bng(*lonlat_a), wgs84_to_bng(*lonlat_b)
    return math.hypot(ax - bx, ay - by) < metres


def _coordinates(geometry):
    if geometry is None:
        return []
    coords = geometry["coordinates"]
    while coords and isinstance(coords[0], list) and isinstance(coords[0][0], list):
        coords = [c for part in coords for c in part]
    return coords if coords and isinstance(coords[0], list) else [coords]


def _post_contacts(client, headers, items):
    sent = client.post("/v1/contacts:batch", json={"items": items}, headers=headers)
    assert sent.json()["created"] == len(items), sent.text


@pytest.fixture
def mixed_hotspot(client, sql, shared):
    """Four West Essex contacts and one Harlow Outreach contact clustered in Harlow, near the
    corner of a 1 km grid square (so that square's centre is far from all of them)."""
    e, n = wgs84_to_bng(*HARLOW)
    origin = (e // 1000 * 1000 + 100, n // 1000 * 1000 + 100)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    hidden = []
    for i, (dx, hours) in enumerate(((0, 30), (70, 20), (140, 9), (210, 2))):
        lon, lat = bng_to_wgs84(origin[0] + dx, origin[1] + 20 * i)
        seen = now - dt.timedelta(hours=hours, minutes=7 * i)
        hidden.append(contact(lon=lon, lat=lat, observed_at=seen.isoformat(), bedded_down=True))
    lon, lat = bng_to_wgs84(origin[0] + 60, origin[1] + 40)
    visible_at = now - dt.timedelta(hours=5)
    visible = contact(lon=lon, lat=lat, observed_at=visible_at.isoformat(), bedded_down=False)
    _post_contacts(client, shared["worker_west"], hidden)
    _post_contacts(client, shared["worker_harlow"], [visible])
    assert wait_for(
        lambda: sql("SELECT count(*) AS n FROM hotspot_members")[0]["n"] == 9, timeout_s=10
    )
    rows = sql("SELECT id, layer, authority_code, team_id FROM hotspots WHERE status = 'active'")
    ids = {r["layer"]: r["id"] for r in rows}
    assert {r["authority_code"] for r in rows} == {"E07000073"}
    assert {r["team_id"] for r in rows} == {team_id(sql, "Harlow Outreach")}
    return {
        "all": ids["all_contacts"],  # five members, one of them visible to Harlow workers
        "bedded": ids["verified_bedded_down"],  # the four hidden ones only
        "hidden": [((c["lon"], c["lat"]), c["observed_at"]) for c in hidden],
        "visible": ((visible["lon"], visible["lat"]), visible_at),
        "square_centre": bng_to_wgs84(origin[0] + 400, origin[1] + 400),
    }


def _assert_reveals_no_hidden_member(feature, hidden, text):
    props = feature["properties"]
    for position, at in hidden:
        for point in _coordinates(feature["geometry"]) + _coordinates(props["hull"]):
            assert not _near(point, position, 100), (point, position)
        assert at.replace("+00:00", "") not in text
    for name in ("first_activity_at", "last_activity_at"):
        assert props[name] is None or props[name].endswith("T00:00:00Z"), props[name]


def test_hotspots_show_a_worker_nothing_of_another_teams_members(client, shared, mixed_hotspot):
    hidden = mixed_hotspot["hidden"]
    response = client.get("/v1/hotspots", headers=shared["worker_harlow"])
    assert response.status_code == 200, response.text
    features = {f["id"]: f for f in response.json()["features"]}
    assert set(features) == {mixed_hotspot["all"], mixed_hotspot["bedded"]}
    for feature in features.values():
        _assert_reveals_no_hidden_member(feature, hidden, response.text)

    mixed = features[mixed_hotspot["all"]]
    props = mixed["properties"]
    assert (props["member_count"], props["hidden_members"]) == (5, 4)
    assert (props["contact_count"], props["bedded_down_count"], props["hull"]) == (1, 0, None)
    _, at = mixed_hotspot["visible"]
    centre = mixed_hotspot["square_centre"]
    assert mixed["geometry"]["coordinates"] == pytest.approx(centre, abs=1e-5)
    day = at.strftime("%Y-%m-%dT00:00:00Z")
    assert props["first_activity_at"] == props["last_activity_at"] == day
    only_hidden = features[mixed_hotspot["bedded"]]
    assert only_hidden["geometry"] is None
    assert only_hidden["properties"]["hidden_members"] == 4

    detail = client.get(f"/v1/hotspots/{mixed_hotspot['all']}", headers=shared["worker_harlow"])
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["feature"] == mixed
    assert (len(body["members"]), body["hidden_members"]) == (1, 4)
    _assert_reveals_no_hidden_member(body["feature"], hidden, detail.text)

    # the filters compare what the caller sees: no binary search over them finds more
    e, n = wgs84_to_bng(*hidden[0][0])
    w, s = bng_to_wgs84(e - 50, n - 50)
    east, north = bng_to_wgs84(e + 300, n + 150)
    boxed = client.get(
        "/v1/hotspots", params={"bbox": f"{w},{s},{east},{north}"}, headers=shared["worker_harlow"]
    )
    assert boxed.json()["features"] == []
    recent = client.get(
        "/v1/hotspots", params={"window_days": 0.125}, headers=shared["worker_harlow"]
    )
    assert recent.json()["features"] == []  # a hidden member was 2 h ago, the visible one 5 h


def test_hotspot_tiles_show_a_worker_only_the_coarse_centre(client, sql, shared, mixed_hotspot):
    [stored] = sql(
        "SELECT ST_X(centroid) AS lon, ST_Y(centroid) AS lat FROM hotspots WHERE id = $1",
        mixed_hotspot["all"],
    )
    exact = tile_for_lonlat(stored["lon"], stored["lat"], 17)
    coarse = tile_for_lonlat(*mixed_hotspot["square_centre"], 17)
    assert exact != coarse
    for tile, expected in ((exact, []), (coarse, [mixed_hotspot["all"]])):
        response = client.get(
            f"/v1/tiles/{tile.z}/{tile.x}/{tile.y}.mvt?layers=hotspots",
            headers=shared["worker_harlow"],
        )
        assert response.status_code == 200, response.text
        layers = mapbox_vector_tile.decode(response.content)
        shown = [f["properties"] for f in layers.get("hotspots", {}).get("features", [])]
        assert [p["id"] for p in shown] == expected, tile
        for props in shown:
            assert props["last_activity_at"].endswith("T00:00:00Z")
            assert props["hidden_members"] == 4


def test_who_sees_every_member_gets_the_exact_hotspot(client, staff, shared, mixed_hotspot):
    """The Harlow coordinator (the authority is theirs) and admins see all five: exact."""
    for headers in (shared["coord_harlow"], staff["admin"]):
        features = {
            f["id"]: f for f in client.get("/v1/hotspots", headers=headers).json()["features"]
        }
        props = features[mixed_hotspot["all"]]["properties"]
        assert props["hidden_members"] == 0
        assert len(_coordinates(props["hull"])) >= 4
        assert props["contact_count"] == 5
        corner = mixed_hotspot["hidden"][0][0]
        assert any(_near(point, corner, 1) for point in _coordinates(props["hull"]))
