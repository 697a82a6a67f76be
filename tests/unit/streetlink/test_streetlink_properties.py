"""Hypothesis properties: cleaning, postcodes, time bands, CSV and Open311 round trips."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streetlink.csv_io import export_csv, import_csv
from streetlink.errors import ReferralValidationError
from streetlink.normalise import band_of, band_window_utc, clean_text, normalise, normalise_postcode
from streetlink.open311 import from_open311, open311_request_id, to_open311
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


@given(st.text())
def test_clean_text_is_tidy_and_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    if cleaned is None:
        return
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in cleaned)
    assert clean_text(cleaned) == cleaned


postcodes = st.builds(
    lambda area, district, sector, unit: f"{area}{district}{sector}{unit}",
    st.sampled_from(["CM", "SS", "CO", "RM", "E", "M", "B"]),
    st.integers(min_value=1, max_value=20).map(str),
    st.integers(min_value=0, max_value=9).map(str),
    st.text(alphabet="ABDEFGHJLNPQRSTUWXYZ", min_size=2, max_size=2),
)


@given(postcodes, st.lists(st.sampled_from([" ", "  ", "\t"]), max_size=2), st.booleans())
def test_postcode_any_spacing_or_case(postcode: str, spaces: list[str], lower: bool) -> None:
    typed = "".join(spaces) + (postcode.lower() if lower else postcode) + "".join(spaces)
    normalised = normalise_postcode(typed)
    assert normalised is not None
    assert normalised.replace(" ", "") == postcode
    assert normalised[-4] == " "
    assert normalised.count(" ") == 1
    assert normalise_postcode(normalised) == normalised


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)), st.sampled_from(TimeBand)
)
def test_band_window_contains_and_maps_back(day: date, band: TimeBand) -> None:
    start, end = band_window_utc(day, band)
    assert start < end
    assert band_of(start) == (day, band)
    assert band_of(start + (end - start) / 2) == (day, band)
    assert band_of(end - timedelta(seconds=1)) == (day, band)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)))
def test_every_instant_is_inside_the_window_of_its_band(naive: datetime) -> None:
    instant = naive.replace(tzinfo=UTC)
    day, band = band_of(instant)
    start, end = band_window_utc(day, band)
    assert start <= instant < end


free_text = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.sampled_from(["=1+1", "+44", "-x", "@a", "'=b", "''", "a,b", 'say "hi"', "x\r\ny"]),
)
people_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
contacts = st.one_of(
    st.none(),
    st.builds(
        ReferrerContact,
        name=st.one_of(st.none(), people_text),
        email=st.one_of(st.none(), st.just("jo@example.org")),
        phone=st.one_of(st.none(), st.sampled_from(["+44 7700 900123", "(01245) 000000"])),
        consent_to_contact=st.just(True),
        wants_update=st.just(False),
    ),
)
seen = st.one_of(
    st.fixed_dictionaries(
        {
            "seen_at": st.datetimes(
                min_value=datetime(2024, 10, 23), max_value=datetime(2024, 11, 21, 8, 0)
            ).map(lambda d: d.replace(tzinfo=UTC))
        }
    ),
    st.fixed_dictionaries(
        {
            "seen_date": st.dates(min_value=date(2024, 10, 23), max_value=date(2024, 11, 20)),
            "seen_time_band": st.sampled_from(TimeBand),
        }
    ),
)
location = st.one_of(
    st.fixed_dictionaries(
        {
            "lat": st.floats(min_value=51.4, max_value=52.1),
            "lon": st.floats(min_value=-0.1, max_value=1.3),
            "accuracy_m": st.one_of(st.none(), st.floats(min_value=0, max_value=50_000)),
            "location_description": free_text,
        }
    ),
    st.fixed_dictionaries({"location_description": st.text(min_size=1, max_size=80)}),
)


@st.composite
def _maybe_referral(draw: st.DrawFn) -> NormalisedReferral | None:
    fields = draw(location) | draw(seen)
    alert = StreetLinkAlert(
        **fields,
        postcode=draw(st.one_of(st.none(), postcodes)),
        gender=draw(st.sampled_from(Gender)),
        age_band=draw(st.sampled_from(AgeBand)),
        appearance=draw(free_text),
        clothing=draw(free_text),
        belongings=draw(free_text),
        site_type=draw(st.one_of(st.none(), st.sampled_from(SiteType))),
        people_count=draw(st.integers(min_value=1, max_value=50)),
        immediate_danger=draw(st.booleans()),
        appears_under_18=draw(st.booleans()),
        self_referral=draw(st.booleans()),
        referrer=draw(contacts),
    )
    source_ref = draw(st.one_of(st.none(), st.text(max_size=20)))
    try:
        return normalise(alert, now=NOW, source_ref=source_ref)
    except ReferralValidationError as exc:  # only whitespace as a location description
        if exc.field != "$.location_description":
            raise
        return None


def referrals() -> st.SearchStrategy[NormalisedReferral]:
    return _maybe_referral().filter(lambda r: r is not None)  # type: ignore[return-value]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(referrals(), max_size=5))
def test_csv_round_trip(rows: list[NormalisedReferral]) -> None:
    result = import_csv(export_csv(rows, include_referrer=True), now=NOW)
    assert result.errors == []
    assert result.rows == rows


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(referrals())
def test_csv_round_trip_as_utf8_bytes(row: NormalisedReferral) -> None:
    data = export_csv([row], include_referrer=True).encode("utf-8")
    assert import_csv(data, now=NOW).rows == [row]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(referrals())
def test_open311_round_trip(row: NormalisedReferral) -> None:
    request = to_open311(row, service_request_id=row.source_ref, include_referrer=True)
    again = normalise(from_open311(request), now=NOW, source_ref=open311_request_id(request))
    assert again == row
