"""Privacy under attack (issue 13): what one team's staff can learn about another team's
work in an authority both teams cover. The seed gives Harlow (E07000073) to Harlow Outreach
and West Essex Outreach, and Rochford (E07000075) to Southend Outreach and South Essex
Outreach, so these leaks need no special setup."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote, unquote

import pytest

from service.usecases.operations.cli_jobs import add_user
from tests.conftest import PASSWORD, in_thread
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
