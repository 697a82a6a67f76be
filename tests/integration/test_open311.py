"""Open311 GeoReport v2 at /open311/v2: the service, form-encoded requests over the same intake,
public read-back (no location, nothing personal) and errors in the specification's shape.

Most tests go through Litestar's TestClient; the last one runs the app under uvicorn on a
loopback port and talks to it with a third-party GeoReport v2 client (``georeport``).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import requests
import uvicorn
from georeport import GeoReport

from geo.projections import bng_to_wgs84, wgs84_to_bng
from service.app import create_app
from service.schemas.open311 import RequestForm
from service.usecases.referrals import open311 as open311_views
from service.usecases.referrals.public_status import OUTCOME_TEXT
from streetlink.guidance import URGENT_GUIDANCE_999
from tests.liveserver import free_port

BASE = "/open311/v2"
FORM = {"content-type": "application/x-www-form-urlencoded"}
CHELMSFORD_STATION = (51.7366, 0.4693)  # lat, long
PUBLIC_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "agency_responsible",
    "requested_datetime",
    "updated_datetime",
    "lat",
    "long",
}
PERSONAL = (
    "sam referrer",
    "sam@",
    "example.org",
    "07700",
    "grey beard",
    "green sleeping bag",
    "doorway of the bank",
    "51.736",
    "0.469",
)


def form(**overrides: Any) -> dict[str, str]:
    lat, lon = CHELMSFORD_STATION
    body = {
        "service_code": "rough-sleeping",
        "lat": str(lat),
        "long": str(lon),
        "address_string": "Doorway of the bank by the station",
        "description": "Grey beard, green sleeping bag",
        "attribute[site_type]": "Doorway",
        "attribute[seen_at]": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat(),
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def with_contact(**overrides: Any) -> dict[str, str]:
    contact = {
        "first_name": "Sam",
        "last_name": "Referrer",
        "email": "sam@example.org",
        "phone": "07700 900123",
        "attribute[consent_to_contact]": "true",
    }
    return form(**(contact | overrides))


def post(client: Any, data: dict[str, str], **headers: str) -> Any:
    return client.post(f"{BASE}/requests.json", data=data, headers=headers)


def created(client: Any, data: dict[str, str]) -> str:
    response = post(client, data)
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def assert_open311_error(response: Any, status: int, field: str | None = None) -> list[Any]:
    """The specification's error shape: a list of ``{code, description}``, never a problem."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list)
    assert body
    for error in body:
        assert set(error) == {"code", "description"}
        assert error["code"] == status
    if field is not None:
        assert any(e["description"].startswith(f"{field}: ") for e in body), body
    return body


def age(sql: Any) -> None:
    """Move every referral two days back in time, past the 24 h embargo."""
    sql(
        "UPDATE referrals SET received_at = received_at - interval '2 days', "
        "updated_at = updated_at - interval '2 days'"
    )


def square_centre(lat: float, lon: float) -> tuple[float, float]:
    """(lat, long) of the centre of the 1 km BNG square holding this point."""
    e, n = wgs84_to_bng(lon, lat)
    centre_lon, centre_lat = bng_to_wgs84((e // 1000 + 0.5) * 1000, (n // 1000 + 0.5) * 1000)
    return round(centre_lat, 5), round(centre_lon, 5)


def count(sql: Any) -> int:
    return int(sql("SELECT count(*) AS n FROM referrals")[0]["n"])


# --- the service -------------------------------------------------------------------------------


def test_services_list_one_realtime_service_with_metadata(client):
    response = client.get(f"{BASE}/services.json")
    assert response.status_code == 200, response.text
    [service] = response.json()
    assert service["service_code"] == "rough-sleeping"
    assert service["service_name"] == "Person sleeping rough"
    assert (service["metadata"], service["type"]) == (True, "realtime")
    assert "rough sleeping" in service["keywords"]
    assert service["group"]
    assert "999" in service["description"]


def test_service_definition_lists_the_structured_fields_as_the_spec_defines(client):
    response = client.get(f"{BASE}/services/rough-sleeping.json")
    assert response.status_code == 200, response.text
    definition = response.json()
    assert definition["service_code"] == "rough-sleeping"
    attributes = {a["code"]: a for a in definition["attributes"]}
    for code in (
        "site_type",
        "gender",
        "age_band",
        "people_count",
        "immediate_danger",
        "appears_under_18",
        "self_referral",
        "seen_time_band",
    ):
        assert code in attributes
    assert [a["order"] for a in definition["attributes"]] == list(range(1, len(attributes) + 1))
    kinds = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
    for attribute in definition["attributes"]:
        assert attribute["variable"] is True
        assert attribute["datatype"] in kinds
        assert isinstance(attribute["required"], bool)
        assert attribute["description"]
        if attribute["datatype"].endswith("valuelist"):
            assert all(set(v) == {"key", "name"} for v in attribute["values"])
        else:
            assert "values" not in attribute
    assert {v["key"] for v in attributes["site_type"]["values"]} >= {"doorway", "tent"}
    assert {v["key"] for v in attributes["immediate_danger"]["values"]} == {"true", "false"}
    assert attributes["people_count"]["datatype"] == "number"
    # Every attribute can be posted as attribute[<code>].
    accepted = {f.encode_name for f in msgspec.structs.fields(RequestForm)}
    assert {f"attribute[{code}]" for code in attributes} <= accepted


def test_unknown_service_and_other_formats_are_open311_errors(client):
    assert_open311_error(client.get(f"{BASE}/services/potholes.json"), 404)
    assert_open311_error(client.get(f"{BASE}/services/rough-sleeping.xml"), 400, "format")
    assert_open311_error(client.get(f"{BASE}/services.xml"), 400, "format")
    assert_open311_error(client.get(f"{BASE}/requests.xml"), 400, "format")
    assert_open311_error(client.post(f"{BASE}/requests.xml", data=form()), 400, "format")
    assert_open311_error(client.get(f"{BASE}/discovery.json"), 404)


# --- creating requests -------------------------------------------------------------------------


def test_a_form_post_creates_a_referral_routed_like_the_json_api(client, sql):
    response = post(client, with_contact())
    assert response.status_code == 201, response.text
    [receipt] = response.json()
    assert set(receipt) == {"service_request_id", "service_notice", "account_id"}
    assert receipt["account_id"] is None
    assert receipt["service_request_id"].startswith("ESX-")
    assert "999" not in receipt["service_notice"]
    assert "token" not in response.text  # the JSON API's private status link is not given out
    row = sql(
        "SELECT r.id, r.authority_code, r.status, r.source, r.routing_reason, r.site_type, "
        "r.appearance, r.location_description, r.urgent, t.name AS team "
        "FROM referrals r LEFT JOIN teams t ON t.id = r.team_id WHERE r.reference = $1",
        receipt["service_request_id"],
    )[0]
    assert row["authority_code"] == "E07000070"
    assert row["team"] == "Mid Essex Outreach"
    assert (row["status"], row["source"], row["urgent"]) == ("assigned", "open311", False)
    assert "Chelmsford" in row["routing_reason"]
    assert row["site_type"] == "doorway"
    assert row["appearance"] == "Grey beard, green sleeping bag"
    assert row["location_description"] == "Doorway of the bank by the station"
    contact = sql(
        "SELECT name, email, phone FROM referrer_contacts WHERE referral_id = $1", row["id"]
    )
    assert [dict(c) for c in contact] == [
        {"name": "Sam Referrer", "email": "sam@example.org", "phone": "07700 900123"}
    ]
    events = sql(
        "SELECT kind, actor FROM referral_events WHERE referral_id = $1 ORDER BY id", row["id"]
    )
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("received", "public:open311"),
        ("routed", "system"),
    ]


def test_the_description_is_kept_beside_describing_attributes(client, sql):
    created(client, form(**{"attribute[gender]": "Male", "attribute[age_band]": "36_45"}))
    row = sql("SELECT appearance, gender, age_band FROM referrals")[0]
    assert dict(row) == {
        "appearance": "Grey beard, green sleeping bag",
        "gender": "male",
        "age_band": "36_45",
    }


def test_contact_details_without_consent_are_dropped(client, sql):
    created(client, with_contact(**{"attribute[consent_to_contact]": None}))
    assert count(sql) == 1
    assert sql("SELECT count(*) AS n FROM referrer_contacts")[0]["n"] == 0


@pytest.mark.parametrize("seen_at", [None, ""])
def test_without_a_time_seen_the_time_of_the_report_is_used(client, sql, seen_at):
    before = dt.datetime.now(dt.UTC)
    created(client, form(**{"attribute[seen_at]": seen_at}))
    row = sql("SELECT seen_at, seen_exact FROM referrals")[0]
    assert row["seen_exact"] is True
    assert before - dt.timedelta(seconds=5) <= row["seen_at"] <= dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    "flag",
    [
        {"attribute[immediate_danger]": "true"},
        {"attribute[appears_under_18]": "yes"},
        {"attribute[age_band]": "under_18"},
    ],
)
def test_urgent_flags_give_the_999_guidance_in_the_service_notice(client, sql, flag):
    response = post(client, form(**flag))
    assert response.status_code == 201, response.text
    [receipt] = response.json()
    assert URGENT_GUIDANCE_999 in receipt["service_notice"]
    row = sql("SELECT urgent FROM referrals WHERE reference = $1", receipt["service_request_id"])
    assert row[0]["urgent"] is True


def test_a_resend_with_the_same_idempotency_key_does_not_create_a_second_referral(client, sql):
    key = str(uuid.uuid4())
    first = post(client, form(), **{"Idempotency-Key": key})
    again = post(client, form(), **{"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()[0]["service_request_id"] == first.json()[0]["service_request_id"]
    assert "already have" in again.json()[0]["service_notice"]
    assert count(sql) == 1
    # A different key is a different request.
    assert post(client, form(), **{"Idempotency-Key": str(uuid.uuid4())}).status_code == 201
    assert count(sql) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lat": "95"}, "lat"),
        ({"long": "east"}, "long"),
        ({"service_code": None}, "service_code"),
        ({"service_code": "potholes"}, "service_code"),
        ({"nationality": "x"}, "nationality"),
        ({"attribute[site_type]": "castle"}, "attribute[site_type]"),
        ({"attribute[people_count]": "0"}, "attribute[people_count]"),
        ({"attribute[immediate_danger]": "perhaps"}, "attribute[immediate_danger]"),
        ({"lat": None, "long": None, "address_string": None}, "address_string"),
        ({"zipcode": "NOT A POSTCODE"}, "zipcode"),
        (
            {"attribute[seen_at]": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()},
            "attribute[seen_at]",
        ),
        (
            {"attribute[seen_at]": None, "attribute[seen_time_band]": "night"},
            "attribute[seen_date]",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(client, sql, overrides, field):
    assert_open311_error(post(client, form(**overrides)), 400, field)
    assert count(sql) == 0


def test_a_short_idempotency_key_is_a_400_naming_the_header(client, sql):
    assert_open311_error(
        post(client, form(), **{"Idempotency-Key": "short"}), 400, "Idempotency-Key"
    )
    assert count(sql) == 0


def test_a_body_over_the_public_limit_is_413_in_open311_shape(client, sql):
    response = client.post(
        f"{BASE}/requests.json", content=b"description=" + b"x" * (64 * 1024), headers=FORM
    )
    assert_open311_error(response, 413)
    assert count(sql) == 0


def test_an_unexpected_error_is_a_500_in_open311_shape_and_says_nothing(client, monkeypatch):
    def broken() -> None:
        raise RuntimeError("secret internals at /srv/app password=hunter2")

    monkeypatch.setattr(open311_views, "services", broken)
    body = assert_open311_error(client.get(f"{BASE}/services.json"), 500)
    assert body == [{"code": 500, "description": "Internal error"}]


# --- reading requests back ---------------------------------------------------------------------


def test_reading_back_shows_public_fields_only_and_no_location(client, sql):
    lat = CHELMSFORD_STATION[0]
    # Three requests in the same 1 km square (a few tens of metres apart), with personal data.
    refs = [
        created(client, with_contact(lat=str(lat + d), **{"attribute[appearance]": f"p{d}"}))
        for d in (0.0, 0.0004, 0.0008)
    ]
    age(sql)
    by_id = client.get(f"{BASE}/requests/{refs[0]}.json")
    assert by_id.status_code == 200, by_id.text
    [one] = by_id.json()
    listed = client.get(f"{BASE}/requests.json")
    assert listed.status_code == 200, listed.text
    assert {r["service_request_id"] for r in listed.json()} == set(refs)
    for response, request in [(by_id, one), *[(listed, r) for r in listed.json()]]:
        assert set(request) == PUBLIC_FIELDS
        assert (request["lat"], request["long"]) == (None, None)
        assert request["status"] == "open"
        assert request["service_code"] == "rough-sleeping"
        assert request["agency_responsible"] == "Street outreach in Chelmsford"
        assert request["requested_datetime"].endswith(":00:00Z")  # to the hour
        text = response.text.lower()
        for personal in PERSONAL:
            assert personal not in text, personal
    stored = sql("SELECT ST_Y(geom) AS lat FROM referrals WHERE reference = $1", refs[0])
    assert stored[0]["lat"] == pytest.approx(lat)  # stored precisely, never published


def test_fresh_requests_are_not_listed_and_none_has_a_location(client, sql):
    lat = CHELMSFORD_STATION[0]
    dense = [created(client, form(lat=str(lat + d), description=f"p{d}")) for d in (0, 4e-4, 8e-4)]
    urgent = created(client, form(**{"attribute[immediate_danger]": "true"}))
    lone = created(client, form(lat="51.8897", long="0.9027"))  # Colchester, alone in its square
    london = created(client, form(lat="51.5074", long="-0.1278"))
    age(sql)
    fresh = created(client, form(lat=str(lat + 2e-4), description="fresh"))
    listed = {r["service_request_id"]: r for r in client.get(f"{BASE}/requests.json").json()}
    assert set(listed) == {*dense, urgent, lone, london}  # the fresh one is not listed
    for ref in (*dense, urgent, lone, london):
        assert (listed[ref]["lat"], listed[ref]["long"]) == (None, None), ref
    assert listed[lone]["agency_responsible"] == "Street outreach in Colchester"
    assert listed[london]["agency_responsible"] == open311_views.COORDINATORS
    [by_id] = client.get(f"{BASE}/requests/{fresh}.json").json()
    assert (by_id["lat"], by_id["long"]) == (None, None)
    assert by_id["status"] == "open"


def _public_view(request: dict[str, Any]) -> dict[str, Any]:
    """A request as read back, without what differs between any two requests (id, times)."""
    skip = {"service_request_id", "requested_datetime", "updated_datetime"}
    return {key: value for key, value in request.items() if key not in skip}


def test_padding_a_square_reveals_nothing_about_a_lone_report(client, sql):
    """Two requests of an attacker in a lone real report's 1 km square: the real report reads
    back exactly like a report elsewhere in the same authority, and nothing in the answers
    points at its square."""
    lat, lon = CHELMSFORD_STATION
    real = created(client, form(description="real"))
    control = created(client, form(lat=str(lat + 0.03), description="elsewhere"))  # ~3.3 km
    age(sql)
    padding = [created(client, form(lat=str(lat + d), description=f"pad{d}")) for d in (3e-4, 6e-4)]
    sql(
        "UPDATE referrals SET received_at = received_at - interval '2 days' "
        "WHERE reference = ANY($1::varchar[])",
        padding,
    )
    places = sql(
        "SELECT reference, authority_code FROM referrals WHERE reference = ANY($1)", [real, control]
    )
    assert {p["authority_code"] for p in places} == {"E07000070"}
    listed = client.get(f"{BASE}/requests.json")
    requests_by_id = {r["service_request_id"]: r for r in listed.json()}
    assert set(requests_by_id) == {real, control, *padding}
    [by_id] = client.get(f"{BASE}/requests/{real}.json").json()
    assert _public_view(requests_by_id[real]) == _public_view(requests_by_id[control])
    assert _public_view(by_id) == _public_view(requests_by_id[control])
    square = square_centre(lat, lon)
    for number in (f"{square[0]:.3f}", f"{square[1]:.3f}", f"{lat:.3f}", f"{lon:.3f}"):
        assert number not in listed.text


def test_status_notes_say_what_happened_to_the_alert_not_to_the_person(client, sql):
    accommodated, merged = (created(client, form(description=d)) for d in ("a", "b"))
    age(sql)
    sql(
        "UPDATE referrals SET status = 'closed', closed_at = now(), "
        "outcome = CASE reference WHEN $1 THEN 'found_accommodated' ELSE 'duplicate_merged' END",
        accommodated,
    )
    listed = {r["service_request_id"]: r for r in client.get(f"{BASE}/requests.json").json()}
    assert {r["status"] for r in listed.values()} == {"closed"}
    assert "accommodation" not in listed[accommodated]["status_notes"]
    assert "finished" in listed[accommodated]["status_notes"]
    # a merge says that someone else reported the same place: it reads like any closure
    assert listed[merged]["status_notes"] == listed[accommodated]["status_notes"]
    assert "duplicate_merged" not in OUTCOME_TEXT


def test_list_filters_by_id_status_and_date_with_a_bounded_page(client, sql):
    refs = [created(client, form(description=f"r{i}")) for i in range(3)]
    age(sql)
    sql(
        "UPDATE referrals SET status = 'closed', outcome = 'not_found' WHERE reference = $1",
        refs[0],
    )

    def ids(**params: Any) -> list[str]:
        response = client.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert set(ids(service_request_id=f"{refs[0]}, {refs[2]},ESX-2345-67,junk")) == {
        refs[0],
        refs[2],
    }
    assert ids(status="closed") == [refs[0]]
    assert set(ids(status="open")) == {refs[1], refs[2]}
    assert len(ids(page_size=2)) == 2
    assert len(ids(page_size=2, page=2)) == 1
    now = dt.datetime.now(dt.UTC)
    assert len(ids(start_date=(now - dt.timedelta(days=3)).isoformat())) == 3
    assert ids(end_date=(now - dt.timedelta(days=5)).isoformat()) == []
    assert ids(service_code="potholes") == []
    assert len(ids(service_code="potholes,rough-sleeping")) == 3
    too_long = {
        "start_date": (now - dt.timedelta(days=200)).isoformat(),
        "end_date": now.isoformat(),
    }
    bad = client.get(f"{BASE}/requests.json", params=too_long)
    assert_open311_error(bad, 400, "end_date")
    assert_open311_error(client.get(f"{BASE}/requests.json", params={"status": "x"}), 400, "status")
    assert_open311_error(
        client.get(f"{BASE}/requests.json", params={"page_size": 1000}), 400, "page_size"
    )
    assert_open311_error(
        client.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}), 400, "start_date"
    )
    off_the_calendar = (  # a range around them would run past year 1 or 9999
        ("end_date", "0001-01-01T00:00:00Z"),
        ("start_date", "9999-12-31T23:59:59Z"),
        ("start_date", "0001-01-01T00:00:00+05:00"),
    )
    for name, value in off_the_calendar:
        far = client.get(f"{BASE}/requests.json", params={name: value})
        assert_open311_error(far, 400, name)


def test_unknown_requests_are_404_in_open311_shape(client):
    for document in ("ESX-2345-67.json", "not-a-reference.json"):
        body = assert_open311_error(client.get(f"{BASE}/requests/{document}"), 404)
        assert body == [{"code": 404, "description": "no such service request"}]
    assert_open311_error(client.get(f"{BASE}/requests/ESX-2345-67.xml"), 400, "format")


def test_rate_limited_open311_requests_get_429_in_open311_shape(db_url):
    from litestar.testing import TestClient

    from tests.conftest import make_settings

    settings = make_settings(db_url, public_rate_limit_per_minute=2)
    with TestClient(app=create_app(settings)) as limited:
        statuses = [limited.get(f"{BASE}/services.json").status_code for _ in range(3)]
        assert statuses[:2] == [200, 200]
        assert_open311_error(limited.get(f"{BASE}/services.json"), 429)


# --- a real third-party GeoReport v2 client over real HTTP -------------------------------------


@pytest.fixture
def live_url(settings) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, against this test's database."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-open311", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def test_a_third_party_georeport_client_works_against_the_endpoints(live_url, sql):
    client = GeoReport(f"{live_url}{BASE}")
    [service] = client.get_service_list()
    assert service["service_code"] == "rough-sleeping"
    definition = client.get_service_definition(service["service_code"])
    assert "site_type" in {a["code"] for a in definition["attributes"]}
    # The client has no POST: a plain form post, as the specification describes it.
    response = requests.post(f"{live_url}{BASE}/requests.json", data=with_contact(), timeout=10)
    assert response.status_code == 201, response.text
    reference = response.json()[0]["service_request_id"]
    assert sql("SELECT authority_code FROM referrals")[0]["authority_code"] == "E07000070"
    request = client.get_service_request(reference)
    assert set(request) == PUBLIC_FIELDS
    assert request["lat"] is None  # less than a day old
    [listed] = client.get_service_requests(service_request_id=reference)
    assert listed == request
    assert client.get_service_requests(status="open") == []  # fresh: not listed yet
    with pytest.raises(requests.HTTPError) as missing:
        client.get_service_request("ESX-2345-67")
    assert missing.value.response.status_code == 404
    assert missing.value.response.json() == [
        {"code": 404, "description": "no such service request"}
    ]
