"""Open311 GeoReport v2 mapping: shape, tolerance, round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from streetlink.errors import ReferralValidationError
from streetlink.normalise import normalise
from streetlink.open311 import SERVICE_CODE, from_open311, open311_request_id, to_open311
from streetlink.schema import (
    AgeBand,
    Gender,
    NormalisedReferral,
    ReferrerContact,
    SiteType,
    StreetLinkAlert,
    TimeBand,
)

NOW = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)

ALERTS = [
    StreetLinkAlert(
        lat=51.538,
        lon=0.714,
        accuracy_m=800.0,
        location_description="Seafront shelter",
        postcode="ss1 2aa",
        seen_date=date(2024, 11, 20),
        seen_time_band=TimeBand.NIGHT,
        gender=Gender.FEMALE,
        age_band=AgeBand.AGE_26_35,
        appearance="Short, dark hair",
        clothing="Red coat",
        belongings="Dog",
        site_type=SiteType.BUS_SHELTER,
        people_count=2,
        immediate_danger=True,
        referrer=ReferrerContact(
            name="Mary Ann Smith",
            email="mas@example.org",
            phone="07700 900123",
            consent_to_contact=True,
            wants_update=True,
        ),
    ),
    StreetLinkAlert(
        location_description="Woods behind the leisure centre",
        seen_at=datetime(2024, 11, 21, 5, 40, tzinfo=UTC),
        self_referral=True,
        referrer=ReferrerContact(name="Madonna", consent_to_contact=True),
    ),
    StreetLinkAlert(lat=51.789, lon=1.156, seen_at=datetime(2024, 11, 20, 22, 0, tzinfo=UTC)),
]


def _referrals() -> list[NormalisedReferral]:
    return [normalise(a, now=NOW, source_ref=f"req-{i}") for i, a in enumerate(ALERTS)]


def test_to_open311_standard_fields() -> None:
    request = to_open311(
        _referrals()[0], service_request_id="req-0", requested_at=NOW, status="closed"
    )
    assert request["service_code"] == SERVICE_CODE == "rough-sleeping"
    assert (request["lat"], request["long"]) == (51.538, 0.714)
    assert request["address_string"] == "Seafront shelter"
    assert request["zipcode"] == "SS1 2AA"
    assert request["status"] == "closed"
    assert request["service_request_id"] == "req-0"
    assert request["requested_datetime"] == "2024-11-21T09:00:00Z"
    assert request["description"] == (
        "2 people, bus_shelter. Appearance: Short, dark hair Clothing: Red coat Belongings: Dog"
    )
    assert request["attributes"]["seen_time_band"] == "night"
    assert "seen_at" not in request["attributes"]
    json.dumps(request)  # JSON-ready


def test_to_open311_leaves_out_contact_unless_asked() -> None:
    referral = _referrals()[0]
    assert not {"email", "phone", "first_name", "last_name"} & to_open311(referral).keys()
    assert "consent_to_contact" not in to_open311(referral)["attributes"]
    request = to_open311(referral, include_referrer=True)
    assert (request["first_name"], request["last_name"]) == ("Mary Ann", "Smith")
    assert request["email"] == "mas@example.org"


@pytest.mark.parametrize("include_referrer", [True, False])
def test_round_trip(include_referrer: bool) -> None:
    for referral in _referrals():
        request = to_open311(
            referral, service_request_id=referral.source_ref, include_referrer=include_referrer
        )
        wire = json.loads(json.dumps(request))
        again = normalise(from_open311(wire), now=NOW, source_ref=open311_request_id(wire))
        expected_referrer = referral.referrer if include_referrer else None
        assert again.referrer == expected_referrer
        assert _without_referrer(again) == _without_referrer(referral)


def _without_referrer(referral: NormalisedReferral) -> dict[str, Any]:
    return {n: getattr(referral, n) for n in referral.__struct_fields__ if n != "referrer"}


def test_form_encoded_request_with_flat_attributes() -> None:
    alert = from_open311(
        {
            "service_code": "rough-sleeping",
            "lat": "51.736",
            "long": "0.479",
            "address": "Bus station",
            "attribute[seen_date]": "20/11/2024",
            "attribute[seen_time_band]": "Evening",
            "attribute[people_count]": "3",
            "attribute[appears_under_18]": "yes",
            "attribute[gender]": "M",
            "attribute[appearance]": "",
            "email": "someone@example.org",
        }
    )
    assert (alert.lat, alert.lon, alert.location_description) == (51.736, 0.479, "Bus station")
    assert (alert.seen_date, alert.seen_time_band) == (date(2024, 11, 20), TimeBand.EVENING)
    assert alert.people_count == 3
    assert alert.appears_under_18
    assert alert.gender is Gender.MALE
    assert alert.referrer is None  # email without consent is dropped
    assert normalise(alert, now=NOW).urgent


def test_requested_datetime_and_description_are_fallbacks() -> None:
    alert = from_open311(
        {
            "lat": 51.7,
            "long": 0.4,
            "requested_datetime": "2024-11-20T21:30:00+00:00",
            "description": "Older man,\n  grey blanket " + "x" * 600,
        }
    )
    assert alert.seen_at == datetime(2024, 11, 20, 21, 30, tzinfo=UTC)
    assert alert.appearance is not None
    assert alert.appearance.startswith("Older man, grey blanket x")
    assert len(alert.appearance) == 500


def test_description_is_not_used_when_person_attributes_exist() -> None:
    alert = from_open311(
        {"lat": 51.7, "long": 0.4, "description": "summary", "attributes": {"clothing": "Hat"}}
    )
    assert alert.appearance is None
    assert alert.clothing == "Hat"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"lat": "51.5", "long": "200"}, "$.long"),
        ({"lat": "north", "long": "0.4"}, "$.lat"),
        ({"address_string": "x" * 1001}, "$.address_string"),
        ({"zipcode": "x" * 17}, "$.zipcode"),
        ({"attributes": {"site_type": "castle"}}, "$.attributes.site_type"),
        ({"attributes": {"immediate_danger": "maybe"}}, "$.attributes.immediate_danger"),
        ({"attributes": {"seen_at": "soon"}}, "$.attributes.seen_at"),
        ({"requested_datetime": "soon"}, "$.requested_datetime"),
        ({"attributes": {"people_count": 99}}, "$.attributes.people_count"),
        ({"attribute[seen_date]": "32/11/2024"}, "$.attributes.seen_date"),
        (
            {"email": "nope", "attributes": {"consent_to_contact": True}},
            "$.email",
        ),
    ],
)
def test_errors_use_open311_names(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ReferralValidationError) as caught:
        from_open311(data)
    assert caught.value.field == path


def test_request_id() -> None:
    assert open311_request_id({"service_request_id": 42}) == "42"
    assert open311_request_id({"service_request_id": ""}) is None
    assert open311_request_id({}) is None
