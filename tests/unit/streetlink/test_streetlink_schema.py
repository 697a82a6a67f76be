"""Strict decoding of the API input: every rule names its field."""

from __future__ import annotations

import json

import pytest

from streetlink.errors import ReferralValidationError
from streetlink.schema import (
    AgeBand,
    Gender,
    SiteType,
    StreetLinkAlert,
    TimeBand,
    decode_alert,
)


def _body(**fields: object) -> bytes:
    return json.dumps({"lat": 51.7366, "lon": 0.4693, **fields}).encode()


def test_minimal_alert_gets_defaults() -> None:
    alert = decode_alert(_body(seen_at="2024-11-20T23:10:00"))
    assert alert.gender is Gender.UNKNOWN
    assert alert.age_band is AgeBand.UNKNOWN
    assert alert.people_count == 1
    assert (alert.immediate_danger, alert.appears_under_18, alert.self_referral) == (
        False,
        False,
        False,
    )
    assert alert.seen_at is not None
    assert alert.seen_at.tzinfo is None


def test_full_alert_decodes_enums_and_contact() -> None:
    alert = decode_alert(
        _body(
            seen_date="2024-11-20",
            seen_time_band="early_morning",
            gender="non_binary",
            age_band="18_25",
            site_type="bus_shelter",
            people_count=2,
            referrer={"name": "Jo", "email": "jo@example.org", "consent_to_contact": True},
        )
    )
    assert alert.seen_time_band is TimeBand.EARLY_MORNING
    assert alert.site_type is SiteType.BUS_SHELTER
    assert alert.age_band is AgeBand.AGE_18_25
    assert alert.referrer is not None
    assert alert.referrer.email == "jo@example.org"


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"lat": 90.5}, "$.lat"),
        ({"lat": -91}, "$.lat"),
        ({"lon": 180.01}, "$.lon"),
        ({"lon": "0.4"}, "$.lon"),
        ({"accuracy_m": -1}, "$.accuracy_m"),
        ({"accuracy_m": 50_001}, "$.accuracy_m"),
        ({"people_count": 0}, "$.people_count"),
        ({"people_count": 51}, "$.people_count"),
        ({"location_description": "x" * 1001}, "$.location_description"),
        ({"appearance": "x" * 501}, "$.appearance"),
        ({"clothing": "x" * 501}, "$.clothing"),
        ({"belongings": "x" * 501}, "$.belongings"),
        ({"postcode": "x" * 17}, "$.postcode"),
        ({"site_type": "palace"}, "$.site_type"),
        ({"gender": "Female"}, "$.gender"),
        ({"seen_time_band": "midnight"}, "$.seen_time_band"),
        ({"seen_at": "yesterday"}, "$.seen_at"),
        ({"immediate_danger": "yes"}, "$.immediate_danger"),
        ({"referrer": {"email": "not-an-email"}}, "$.referrer.email"),
        ({"referrer": {"phone": "call me"}}, "$.referrer.phone"),
        ({"referrer": {"name": "x" * 201}}, "$.referrer.name"),
        ({"referrer": {"nationality": "x"}}, "$.referrer"),
        ({"nationality": "x"}, "$"),
    ],
)
def test_strict_validation_names_the_field(fields: dict[str, object], path: str) -> None:
    with pytest.raises(ReferralValidationError) as caught:
        decode_alert(_body(**fields))
    assert caught.value.field == path
    assert " - at " not in caught.value.message


def test_bounds_are_inclusive() -> None:
    alert = decode_alert(_body(lat=90, lon=-180, accuracy_m=50_000, people_count=50))
    assert (alert.lat, alert.lon, alert.accuracy_m, alert.people_count) == (90, -180, 50_000, 50)


def test_malformed_json_is_a_validation_error_at_the_root() -> None:
    with pytest.raises(ReferralValidationError) as caught:
        decode_alert(b'{"lat": NaN}')
    assert caught.value.field == "$"


def test_alert_is_immutable() -> None:
    alert = StreetLinkAlert(location_description="Bench")
    with pytest.raises(AttributeError):
        alert.location_description = "other"  # type: ignore[misc]
