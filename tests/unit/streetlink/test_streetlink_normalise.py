"""normalise(): location, postcode, time bands, urgency, referrer consent, text cleaning."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from streetlink.errors import ReferralValidationError
from streetlink.normalise import (
    DEFAULT_CLOCK_SKEW,
    band_of,
    band_window_utc,
    clean_text,
    normalise,
    normalise_postcode,
)
from streetlink.schema import (
    AgeBand,
    LocationQuality,
    NormalisedReferral,
    ReferrerContact,
    StreetLinkAlert,
    TimeBand,
)

NOW = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)
CHELMSFORD = {"lat": 51.7366, "lon": 0.4693}


def _alert(**fields: Any) -> StreetLinkAlert:
    base: dict[str, Any] = {**CHELMSFORD, "seen_at": datetime(2024, 11, 20, 23, 0, tzinfo=UTC)}
    return StreetLinkAlert(**(base | fields))


def _norm(now: datetime = NOW, **fields: Any) -> NormalisedReferral:
    return normalise(_alert(**fields), now=now)


def _error_field(**fields: Any) -> str:
    with pytest.raises(ReferralValidationError) as caught:
        _norm(**fields)
    return caught.value.field


# -- location -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"lat": None, "lon": None}, "$.location_description"),
        ({"lat": None, "lon": None, "location_description": " \n\t "}, "$.location_description"),
        ({"lon": None}, "$.lon"),
        ({"lat": None}, "$.lat"),
        ({"lat": None, "lon": None, "location_description": "x", "accuracy_m": 5}, "$.accuracy_m"),
        ({"lat": 0.4693, "lon": 51.7366}, "$.lat"),  # swapped
        ({"lat": -33.86, "lon": 151.2}, "$.lat"),
    ],
)
def test_location_rules_name_the_field(fields: dict[str, Any], path: str) -> None:
    assert _error_field(**fields) == path


def test_pin_gets_bng_coordinates() -> None:
    ref = _norm()
    assert ref.bng_e is not None
    assert ref.bng_n is not None
    assert abs(ref.bng_e - 570_600) < 50
    assert abs(ref.bng_n - 207_100) < 50
    assert ref.location_quality is LocationQuality.PIN


@pytest.mark.parametrize(
    ("accuracy_m", "quality"),
    [(None, "pin"), (0.0, "pin"), (500.0, "pin"), (500.5, "pin_coarse"), (5000.0, "pin_coarse")],
)
def test_location_quality_from_accuracy(accuracy_m: float | None, quality: str) -> None:
    assert _norm(accuracy_m=accuracy_m).location_quality == quality


def test_text_only_location() -> None:
    ref = _norm(lat=None, lon=None, location_description="  Behind  the\nlibrary ")
    assert ref.location_quality is LocationQuality.TEXT_ONLY
    assert ref.location_description == "Behind the library"
    assert (ref.lat, ref.lon, ref.bng_e, ref.bng_n) == (None, None, None, None)


# -- postcode -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cm1 1aa", "CM1 1AA"),
        ("CM11AA", "CM1 1AA"),
        ("  ss1   2aa ", "SS1 2AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("w1a0ax", "W1A 0AX"),
        ("m11ae", "M1 1AE"),
        ("DN55 1PT", "DN55 1PT"),
        ("co15 2ls", "CO15 2LS"),
        ("gir0aa", "GIR 0AA"),
        (None, None),
        ("", None),
    ],
)
def test_postcode_normalisation(raw: str | None, expected: str | None) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    "raw", ["CM1", "12345", "CM1 1A", "CM1 AAA", "CMM1 1AA", "C1 1CA1", "CM1-1AA", "ÇM1 1AA"]
)
def test_invalid_postcode_names_the_field(raw: str) -> None:
    assert _error_field(postcode=raw) == "$.postcode"


def test_postcode_is_stored_normalised() -> None:
    assert _norm(postcode="cm1 1aa").postcode == "CM1 1AA"


# -- urgency --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("danger", "under_18", "age_band", "urgent"),
    [
        (False, False, AgeBand.UNKNOWN, False),
        (False, False, AgeBand.AGE_18_25, False),
        (True, False, AgeBand.UNKNOWN, True),
        (False, True, AgeBand.UNKNOWN, True),
        (False, False, AgeBand.UNDER_18, True),
        (False, True, AgeBand.OVER_65, True),
    ],
)
def test_urgent_derivation(danger: bool, under_18: bool, age_band: AgeBand, urgent: bool) -> None:
    ref = _norm(immediate_danger=danger, appears_under_18=under_18, age_band=age_band)
    assert ref.urgent is urgent
    assert (ref.immediate_danger, ref.appears_under_18, ref.age_band) == (
        danger,
        under_18,
        age_band,
    )


# -- seen time ------------------------------------------------------------------------------------


def test_naive_seen_at_is_london_time_in_summer() -> None:
    now = datetime(2024, 7, 2, 9, 0, tzinfo=UTC)
    ref = _norm(now=now, seen_at=datetime(2024, 7, 1, 23, 0))
    assert ref.seen_at == datetime(2024, 7, 1, 22, 0, tzinfo=UTC)
    assert ref.seen_at.utcoffset() == timedelta(0)
    assert (ref.seen_date, ref.seen_time_band, ref.seen_exact) == (
        date(2024, 7, 1),
        TimeBand.NIGHT,
        True,
    )


def test_naive_seen_at_is_gmt_in_winter() -> None:
    ref = _norm(seen_at=datetime(2024, 11, 20, 23, 0))
    assert ref.seen_at == datetime(2024, 11, 20, 23, 0, tzinfo=UTC)


def test_aware_seen_at_is_converted_to_utc() -> None:
    seen = datetime(2024, 11, 21, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    ref = _norm(seen_at=seen)
    assert ref.seen_at == seen
    assert ref.seen_at.tzinfo is UTC


def test_after_midnight_belongs_to_previous_night() -> None:
    ref = _norm(seen_at=datetime(2024, 11, 21, 2, 30))
    assert (ref.seen_date, ref.seen_time_band) == (date(2024, 11, 20), TimeBand.NIGHT)


def test_future_seen_at_is_rejected_beyond_clock_skew() -> None:
    assert _norm(seen_at=NOW + DEFAULT_CLOCK_SKEW).seen_at == NOW + DEFAULT_CLOCK_SKEW
    assert _error_field(seen_at=NOW + DEFAULT_CLOCK_SKEW + timedelta(seconds=1)) == "$.seen_at"


def test_old_seen_at_is_rejected_after_thirty_days() -> None:
    assert _norm(seen_at=NOW - timedelta(days=30)).seen_exact
    assert _error_field(seen_at=NOW - timedelta(days=30, seconds=1)) == "$.seen_at"


def test_max_age_is_a_parameter() -> None:
    alert = _alert(seen_at=NOW - timedelta(days=3))
    with pytest.raises(ReferralValidationError):
        normalise(alert, now=NOW, max_age=timedelta(days=2))


WINTER_DAY = date(2024, 11, 19)
SUMMER_DAY = date(2024, 7, 1)


@pytest.mark.parametrize(
    ("day", "band", "expected_utc"),
    [
        (WINTER_DAY, TimeBand.EARLY_MORNING, datetime(2024, 11, 19, 6, 0, tzinfo=UTC)),
        (WINTER_DAY, TimeBand.MORNING, datetime(2024, 11, 19, 10, 0, tzinfo=UTC)),
        (WINTER_DAY, TimeBand.AFTERNOON, datetime(2024, 11, 19, 14, 30, tzinfo=UTC)),
        (WINTER_DAY, TimeBand.EVENING, datetime(2024, 11, 19, 19, 0, tzinfo=UTC)),
        (WINTER_DAY, TimeBand.NIGHT, datetime(2024, 11, 20, 0, 30, tzinfo=UTC)),
        (SUMMER_DAY, TimeBand.EARLY_MORNING, datetime(2024, 7, 1, 5, 0, tzinfo=UTC)),
        (SUMMER_DAY, TimeBand.NIGHT, datetime(2024, 7, 1, 23, 30, tzinfo=UTC)),
    ],
)
def test_time_band_becomes_the_middle_of_its_window(
    day: date, band: TimeBand, expected_utc: datetime
) -> None:
    now = datetime.combine(day + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    ref = _norm(now=now, seen_at=None, seen_date=day, seen_time_band=band)
    assert ref.seen_at == expected_utc
    assert (ref.seen_date, ref.seen_time_band, ref.seen_exact) == (day, band, False)


def test_running_band_resolves_to_now() -> None:
    now = datetime(2024, 11, 20, 22, 15, tzinfo=UTC)  # night began 21:00 GMT
    ref = _norm(now=now, seen_at=None, seen_date=date(2024, 11, 20), seen_time_band=TimeBand.NIGHT)
    assert ref.seen_at == now


def test_band_starting_within_clock_skew_resolves_to_its_start() -> None:
    now = datetime(2024, 11, 20, 20, 58, tzinfo=UTC)
    ref = _norm(now=now, seen_at=None, seen_date=date(2024, 11, 20), seen_time_band=TimeBand.NIGHT)
    assert ref.seen_at == datetime(2024, 11, 20, 21, 0, tzinfo=UTC)


def test_band_not_started_is_rejected() -> None:
    path = _error_field(seen_at=None, seen_date=date(2024, 11, 21), seen_time_band=TimeBand.EVENING)
    assert path == "$.seen_date"


def test_band_too_old_is_rejected() -> None:
    day = NOW.date() - timedelta(days=31)
    assert _error_field(seen_at=None, seen_date=day, seen_time_band=TimeBand.NIGHT) == "$.seen_date"


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"seen_at": None}, "$.seen_at"),
        ({"seen_at": None, "seen_date": date(2024, 11, 20)}, "$.seen_time_band"),
        ({"seen_at": None, "seen_time_band": TimeBand.NIGHT}, "$.seen_date"),
        ({"seen_time_band": TimeBand.NIGHT}, "$.seen_time_band"),
        ({"seen_date": date(2024, 11, 20)}, "$.seen_date"),
    ],
)
def test_seen_time_combinations(fields: dict[str, Any], path: str) -> None:
    assert _error_field(**fields) == path


def test_band_window_on_the_night_clocks_go_forward_is_six_hours() -> None:
    start, end = band_window_utc(date(2024, 3, 30), TimeBand.NIGHT)
    assert end - start == timedelta(hours=6)
    assert start == datetime(2024, 3, 30, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local_hour", "band", "day_offset"),
    [
        (3, TimeBand.NIGHT, -1),
        (4, TimeBand.EARLY_MORNING, 0),
        (7, TimeBand.EARLY_MORNING, 0),
        (8, TimeBand.MORNING, 0),
        (12, TimeBand.AFTERNOON, 0),
        (16, TimeBand.AFTERNOON, 0),
        (17, TimeBand.EVENING, 0),
        (21, TimeBand.NIGHT, 0),
        (23, TimeBand.NIGHT, 0),
    ],
)
def test_band_of_local_hours(local_hour: int, band: TimeBand, day_offset: int) -> None:
    instant = datetime(2024, 1, 10, local_hour, 30, tzinfo=UTC)  # GMT = London in January
    assert band_of(instant) == (date(2024, 1, 10) + timedelta(days=day_offset), band)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        normalise(_alert(), now=datetime(2024, 11, 21, 9, 0))


# -- referrer consent -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "path"),
    [
        (ReferrerContact(email="jo@example.org"), "$.referrer.consent_to_contact"),
        (ReferrerContact(name="Jo"), "$.referrer.consent_to_contact"),
        (ReferrerContact(phone="01245 000000"), "$.referrer.consent_to_contact"),
        (ReferrerContact(wants_update=True), "$.referrer.wants_update"),
        (
            ReferrerContact(name="Jo", consent_to_contact=True, wants_update=True),
            "$.referrer.email",
        ),
    ],
)
def test_contact_rules(contact: ReferrerContact, path: str) -> None:
    assert _error_field(referrer=contact) == path


def test_contact_with_consent_is_kept_and_cleaned() -> None:
    contact = ReferrerContact(
        name="  Jo \t Bloggs ",
        email=" jo@example.org ",
        phone="+44 1245  000000",
        consent_to_contact=True,
        wants_update=True,
    )
    ref = _norm(referrer=contact)
    assert ref.referrer == ReferrerContact(
        name="Jo Bloggs",
        email="jo@example.org",
        phone="+44 1245 000000",
        consent_to_contact=True,
        wants_update=True,
    )


@pytest.mark.parametrize(
    "contact",
    [None, ReferrerContact(), ReferrerContact(consent_to_contact=True), ReferrerContact(name=" ")],
)
def test_empty_contact_becomes_none(contact: ReferrerContact | None) -> None:
    assert _norm(referrer=contact).referrer is None


# -- free text ------------------------------------------------------------------------------------


def test_free_text_is_cleaned_but_not_escaped() -> None:
    ref = _norm(
        appearance="<script>alert(1)</script>  &amp;\x07",
        clothing="Red\r\ncoat\u200b\u202e",
        belongings="\u00a0 trolley  ",
    )
    assert ref.appearance == "<script>alert(1)</script> &amp;"
    assert ref.clothing == "Red coat"
    assert ref.belongings == "trolley"


def test_free_text_is_nfc() -> None:
    assert clean_text("Cafe\u0301") == "Caf\u00e9"


def test_blank_text_becomes_none() -> None:
    assert _norm(appearance=" \u200b\n").appearance is None


def test_source_ref_is_kept() -> None:
    assert normalise(_alert(), now=NOW, source_ref=" SL-1 ").source_ref == "SL-1"
