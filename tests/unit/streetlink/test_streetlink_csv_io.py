"""CSV import (tolerant file, strict rows) and export (stable columns, round trip)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import msgspec
import pytest

from streetlink.csv_io import EXPORT_COLUMNS, REFERRER_COLUMNS, export_csv, import_csv
from streetlink.errors import ImportFormatError
from streetlink.normalise import normalise
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
HEADER = "Latitude,Longitude,Date seen,Time seen,Location description"


def _csv(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def test_good_rows_kept_and_bad_rows_reported_with_lines() -> None:
    result = import_csv(
        _csv(
            HEADER,
            "51.7366,0.4693,20/11/2024,Night,",
            "91,0.4693,20/11/2024,Night,",
            ",,20/11/2024,Night,",
            "51.8891,0.9042,20/11/2024,23:15,Bus station",
            "51.8891,0.9042,32/11/2024,Night,",
        ),
        now=NOW,
    )
    assert len(result.rows) == 2
    assert result.rows[1].seen_at == datetime(2024, 11, 20, 23, 15, tzinfo=UTC)
    assert result.rows[1].seen_exact
    assert [(e.line, e.field, e.column) for e in result.errors] == [
        (3, "$.lat", "Latitude"),
        (4, "$.location_description", "Location description"),
        (6, "$.seen_date", "Date seen"),
    ]
    assert "90" in result.errors[0].reason
    assert "DD/MM/YYYY" in result.errors[2].reason


def test_multiline_quoted_field_keeps_line_numbers_right() -> None:
    result = import_csv(
        _csv(
            HEADER,
            '51.7366,0.4693,20/11/2024,Night,"Doorway,\r\nnext to\nthe bank"',
            "99,0.4693,20/11/2024,Night,x",
            '99,0.4693,20/11/2024,Night,"two\r\nlines"',
            "99,0.4693,20/11/2024,Night,x",
        ),
        now=NOW,
    )
    assert result.rows[0].location_description == "Doorway, next to the bank"
    assert [e.line for e in result.errors] == [5, 6, 8]


def test_blank_lines_are_skipped_but_counted() -> None:
    result = import_csv(_csv(HEADER, "", "99,0.4693,20/11/2024,Night,x", ",,,,"), now=NOW)
    assert [e.line for e in result.errors] == [3]
    assert result.rows == []


def test_headers_are_case_insensitive_aliases_and_unknown_columns_ignored() -> None:
    result = import_csv(
        _csv(
            "  LATITUDE ,lng,DATE-SEEN,time_of_day,Sleeping Site,AGE,SEX,"
            "Favourite colour,Local authority",
            "51.7366,0.4693,2024-11-20,Overnight,Bus shelter,18-25,F,blue,Chelmsford",
        ),
        now=NOW,
    )
    assert result.errors == []
    (row,) = result.rows
    assert (row.lat, row.lon) == (51.7366, 0.4693)
    assert row.seen_time_band is TimeBand.NIGHT
    assert row.site_type is SiteType.BUS_SHELTER
    assert row.age_band is AgeBand.AGE_18_25
    assert row.gender is Gender.FEMALE


def test_first_of_duplicate_columns_wins() -> None:
    result = import_csv(
        _csv("lat,Latitude,lon,Date seen,Time seen", "51.7,99,0.4,20/11/2024,night"), now=NOW
    )
    assert result.errors == []
    assert result.rows[0].lat == 51.7


def test_flags_accept_yes_no_forms_and_reject_others() -> None:
    header = HEADER + ",Immediate danger,Under 18"
    result = import_csv(
        _csv(
            header,
            "51.7366,0.4693,20/11/2024,Night,,Y,no",
            "51.7366,0.4693,20/11/2024,Night,,perhaps,no",
        ),
        now=NOW,
    )
    assert result.rows[0].immediate_danger
    assert result.rows[0].urgent
    assert [(e.line, e.field, e.column) for e in result.errors] == [
        (3, "$.immediate_danger", "Immediate danger")
    ]


def test_utf8_bom_is_removed() -> None:
    data = ("\ufeff" + _csv(HEADER, "51.7366,0.4693,20/11/2024,Night,Café")).encode("utf-8")
    result = import_csv(data, now=NOW)
    assert result.errors == []
    assert result.rows[0].location_description == "Café"


def test_cp1252_fallback() -> None:
    text = _csv(
        HEADER, "51.7366,0.4693,20/11/2024,Night,Caf\u00e9 \u2013 \u201cThe Stow\u201d \u00a35"
    )
    result = import_csv(text.encode("cp1252"), now=NOW)
    assert result.rows[0].location_description == "Caf\u00e9 \u2013 \u201cThe Stow\u201d \u00a35"


@pytest.mark.parametrize(
    "source",
    [
        io.BytesIO(_csv(HEADER, "51.7366,0.4693,20/11/2024,Night,x").encode()),
        io.StringIO(_csv(HEADER, "51.7366,0.4693,20/11/2024,Night,x")),
    ],
)
def test_file_objects(source: io.BytesIO | io.StringIO) -> None:
    assert len(import_csv(source, now=NOW).rows) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\r\n\r\n", "empty"),
        (_csv("Date seen,Colour", "20/11/2024,red"), "location"),
        (_csv("Latitude,Longitude", "51.7,0.4"), "date seen"),
        (_csv("Latitude,Date seen", "51.7,20/11/2024"), "location"),
    ],
)
def test_unusable_files_raise(text: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        import_csv(text, now=NOW)


def test_max_rows() -> None:
    text = _csv(HEADER, *["51.7366,0.4693,20/11/2024,Night,x"] * 3)
    assert len(import_csv(text, now=NOW, max_rows=3).rows) == 3
    with pytest.raises(ImportFormatError, match="more than 2 rows"):
        import_csv(text, now=NOW, max_rows=2)


def test_contact_details_without_consent_are_dropped() -> None:
    header = HEADER + ",Referrer email,Consent to contact"
    result = import_csv(
        _csv(
            header,
            "51.7366,0.4693,20/11/2024,Night,,jo@example.org,No",
            "51.7366,0.4693,20/11/2024,Night,,jo@example.org,",
            "51.7366,0.4693,20/11/2024,Night,,jo@example.org,Yes",
        ),
        now=NOW,
    )
    assert [r.referrer for r in result.rows] == [
        None,
        None,
        ReferrerContact(email="jo@example.org", consent_to_contact=True),
    ]


def test_time_without_date_is_reported_on_the_date_column() -> None:
    result = import_csv(_csv(HEADER, "51.7366,0.4693,,23:00,x"), now=NOW)
    assert [(e.field, e.column) for e in result.errors] == [("$.seen_date", "Date seen")]


def test_seen_at_column_wins_over_date_and_band() -> None:
    result = import_csv(
        _csv("lat,lon,seen_at,seen_date,seen_time_band", "51.7,0.4,2024-11-20T10:00:00Z,x,y"),
        now=NOW,
    )
    assert result.errors == []
    assert result.rows[0].seen_time_band is TimeBand.MORNING


# -- export ---------------------------------------------------------------------------------------


def _referrals() -> list[NormalisedReferral]:
    alerts = [
        StreetLinkAlert(
            lat=51.7366,
            lon=0.4693,
            accuracy_m=12.5,
            postcode="cm11aa",
            seen_date=date(2024, 11, 20),
            seen_time_band=TimeBand.NIGHT,
            gender=Gender.MALE,
            age_band=AgeBand.AGE_36_45,
            appearance='Tall, "Big" Dave',
            clothing="=1+1",
            belongings="-sleeping bag",
            site_type=SiteType.DOORWAY,
            people_count=2,
            immediate_danger=True,
            referrer=ReferrerContact(
                name="@Jo",
                email="jo@example.org",
                phone="+44 1245 000000",
                consent_to_contact=True,
                wants_update=True,
            ),
        ),
        StreetLinkAlert(
            location_description="Under the pier,\nEast side; 'quoted'",
            seen_at=datetime(2024, 11, 21, 6, 12, 13, 123456, tzinfo=UTC),
            appears_under_18=True,
            self_referral=True,
        ),
        StreetLinkAlert(
            lat=51.4760,
            lon=-0.0001,
            seen_date=date(2024, 11, 21),
            seen_time_band=TimeBand.MORNING,  # running at NOW: resolves to NOW
        ),
    ]
    return [normalise(a, now=NOW, source_ref=f"R{i}") for i, a in enumerate(alerts)]


def test_export_header_is_the_stable_column_list() -> None:
    assert export_csv([]).splitlines() == [",".join(EXPORT_COLUMNS)]
    header = export_csv([], include_referrer=True).splitlines()[0]
    assert header.split(",") == [*EXPORT_COLUMNS, *REFERRER_COLUMNS]


def test_export_leaves_out_referrer_by_default() -> None:
    text = export_csv(_referrals())
    assert "jo@example.org" not in text
    assert "jo@example.org" in export_csv(_referrals(), include_referrer=True)


def test_export_escapes_formula_cells() -> None:
    text = export_csv(_referrals(), include_referrer=True)
    assert ",'=1+1," in text
    assert ",'-sleeping bag," in text
    assert ",'@Jo," in text
    assert ",'+44 1245 000000," in text
    assert ",-0.0001," in text  # numbers are never escaped


def test_export_writes_seen_at_only_for_exact_times() -> None:
    lines = export_csv(_referrals()).splitlines()
    at = EXPORT_COLUMNS.index("seen_at")
    assert [line.split(",")[at] for line in lines[1:] if line.startswith("R")] == [
        "",
        "2024-11-21T06:12:13.123456Z",
        "",
    ]


def test_round_trip_with_referrer() -> None:
    referrals = _referrals()
    result = import_csv(export_csv(referrals, include_referrer=True), now=NOW)
    assert result.errors == []
    assert result.rows == referrals


def test_round_trip_without_referrer_drops_only_the_contact() -> None:
    referrals = _referrals()
    result = import_csv(export_csv(referrals), now=NOW)
    assert result.rows == [msgspec.structs.replace(r, referrer=None) for r in referrals]
    assert result.rows[0] != referrals[0]
