"""Turn a :class:`StreetLinkAlert` into a :class:`NormalisedReferral`.

Rules (each failure is a :class:`ReferralValidationError` naming the field):

* free text: Unicode NFC, control and format characters removed, whitespace runs
  collapsed to one space, trimmed; empty becomes ``None``. It stays plain text:
  nothing is HTML-escaped here (escaping is the renderer's job).
* location: ``lat`` and ``lon`` together, inside Great Britain (British National
  Grid), and/or a ``location_description`` or a ``postcode`` (placed from the
  gazetteer at intake, or by a coordinator); ``accuracy_m`` needs a pin.
* postcode: upper case, one space before the inward code, checked against the
  UK postcode pattern.
* seen time: ``seen_at`` (naive = Europe/London) or ``seen_date`` +
  ``seen_time_band``; not in the future (beyond ``clock_skew``), not older than
  ``max_age``. A band becomes the middle of its window, or *now* while the band
  is still running.
* referrer contact: **rejected** (not silently dropped) when name, email or
  phone come without ``consent_to_contact``, so the referrer learns that nobody
  will contact them; ``wants_update`` needs consent and an email or phone.
  Consent with no details at all leaves ``referrer`` as ``None``.
* ``urgent = immediate_danger or appears_under_18 or age_band == under_18``.

>>> from datetime import datetime, timezone
>>> now = datetime(2024, 11, 21, 9, 0, tzinfo=timezone.utc)
>>> alert = StreetLinkAlert(lat=51.7366, lon=0.4693, seen_date=date(2024, 11, 20),
...     seen_time_band=TimeBand.NIGHT, age_band=AgeBand.UNDER_18, postcode="cm11aa")
>>> ref = normalise(alert, now=now)
>>> ref.urgent, ref.postcode, ref.location_quality.value, ref.seen_at.isoformat()
(True, 'CM1 1AA', 'pin', '2024-11-21T00:30:00+00:00')
>>> normalise(StreetLinkAlert(seen_at=now), now=now)
Traceback (most recent call last):
...
streetlink.errors.ReferralValidationError: $.location_description: give a map location \
(lat and lon), a postcode, or describe where the person is
>>> normalise(StreetLinkAlert(seen_at=now, postcode="co4 3sq"), now=now).location_quality.value
'text_only'
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from geo.projections import wgs84_to_bng
from streetlink.errors import ReferralValidationError
from streetlink.schema import (
    LOCATION_DESCRIPTION_MAX,
    NAME_MAX,
    PERSON_TEXT_MAX,
    SOURCE_REF_MAX,
    AgeBand,
    LocationQuality,
    NormalisedReferral,
    ReferrerContact,
    StreetLinkAlert,
    TimeBand,
)

__all__ = [
    "COARSE_ACCURACY_M",
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_MAX_AGE",
    "GB_BBOX_WGS84",
    "LONDON",
    "TIME_BAND_WINDOWS",
    "band_of",
    "band_window_utc",
    "clean_text",
    "normalise",
    "normalise_postcode",
]

LONDON = ZoneInfo("Europe/London")
COARSE_ACCURACY_M = 500.0
#: (lon_min, lat_min, lon_max, lat_max): where British National Grid is meaningful.
GB_BBOX_WGS84 = (-9.0, 49.75, 2.1, 61.0)
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_MAX_AGE = timedelta(days=30)

#: Local (Europe/London) start and length of each band; night runs past midnight.
TIME_BAND_WINDOWS: dict[TimeBand, tuple[time, timedelta]] = {
    TimeBand.EARLY_MORNING: (time(4), timedelta(hours=4)),
    TimeBand.MORNING: (time(8), timedelta(hours=4)),
    TimeBand.AFTERNOON: (time(12), timedelta(hours=5)),
    TimeBand.EVENING: (time(17), timedelta(hours=4)),
    TimeBand.NIGHT: (time(21), timedelta(hours=7)),
}

_DROPPED_CATEGORIES = frozenset({"Cf", "Cs", "Co"})
_POSTCODE = re.compile(
    r"^(GIR 0AA|((([A-Z][0-9]{1,2})|(([A-Z][A-HJ-Y][0-9]{1,2})|(([A-Z][0-9][A-Z])"
    r"|([A-Z][A-HJ-Y][0-9][A-Z]?)))) [0-9][A-Z]{2}))$"
)


def clean_text(value: str | None, *, max_length: int | None = None) -> str | None:
    """Plain text, tidied: NFC, no control characters, single spaces, trimmed.

    >>> clean_text("  Red\\tcoat,\\r\\n  blue\\u200b bag \\x00")
    'Red coat, blue bag'
    >>> clean_text("<b>Tom & Jerry</b>")
    '<b>Tom & Jerry</b>'
    >>> clean_text(" \\n ") is None
    True
    """
    if value is None:
        return None
    chars = []
    for ch in unicodedata.normalize("NFC", value):
        category = unicodedata.category(ch)
        if category == "Cc":
            chars.append(" ")
        elif category not in _DROPPED_CATEGORIES:
            chars.append(ch)
    text = " ".join("".join(chars).split())
    if max_length is not None:
        text = text[:max_length].rstrip()
    return text or None


def normalise_postcode(value: str | None) -> str | None:
    """Upper case, one space before the last three characters, validated.

    >>> normalise_postcode(" ss1  2aa"), normalise_postcode("co43sq"), normalise_postcode("")
    ('SS1 2AA', 'CO4 3SQ', None)
    >>> normalise_postcode("CM1")
    Traceback (most recent call last):
    ...
    streetlink.errors.ReferralValidationError: $.postcode: not a valid UK postcode
    """
    compact = "".join((clean_text(value) or "").upper().split())
    if not compact:
        return None
    formatted = f"{compact[:-3]} {compact[-3:]}"
    if _POSTCODE.match(formatted) is None:
        raise ReferralValidationError("$.postcode", "not a valid UK postcode")
    return formatted


def band_window_utc(seen_date: date, band: TimeBand) -> tuple[datetime, datetime]:
    """The UTC start and end of ``band`` on ``seen_date`` (London time, DST-aware).

    >>> start, end = band_window_utc(date(2024, 10, 26), TimeBand.NIGHT)  # clocks go back
    >>> start.isoformat(), end.isoformat()
    ('2024-10-26T20:00:00+00:00', '2024-10-27T04:00:00+00:00')
    """
    start_local, length = TIME_BAND_WINDOWS[band]
    naive_start = datetime.combine(seen_date, start_local)
    start = naive_start.replace(tzinfo=LONDON).astimezone(UTC)
    end = (naive_start + length).replace(tzinfo=LONDON).astimezone(UTC)
    return start, end


def band_of(instant: datetime) -> tuple[date, TimeBand]:
    """The London date and band an aware instant falls in (02:00 is the previous night).

    >>> band_of(datetime(2024, 7, 2, 1, 0, tzinfo=UTC))  # 02:00 BST
    (datetime.date(2024, 7, 1), <TimeBand.NIGHT: 'night'>)
    >>> band_of(datetime(2024, 1, 2, 4, 0, tzinfo=UTC))
    (datetime.date(2024, 1, 2), <TimeBand.EARLY_MORNING: 'early_morning'>)
    """
    local = instant.astimezone(LONDON)
    minute = local.hour * 60 + local.minute
    for band, (start, length) in TIME_BAND_WINDOWS.items():
        first = start.hour * 60 + start.minute
        last = first + length // timedelta(minutes=1)
        if first <= minute < last:
            return local.date(), band
        if first <= minute + 24 * 60 < last:
            return local.date() - timedelta(days=1), band
    raise AssertionError("TIME_BAND_WINDOWS must cover the whole day")  # pragma: no cover


class _Seen(NamedTuple):
    at: datetime
    on: date
    band: TimeBand
    exact: bool


class _Location(NamedTuple):
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    bng_e: float | None
    bng_n: float | None
    description: str | None
    quality: LocationQuality


def _as_utc(value: datetime, field: str) -> datetime:
    """The instant in UTC; a time whose UTC day is off the calendar (year 1 or 9999 with an
    offset) is refused, not an error.

    >>> _as_utc(datetime.fromisoformat("0001-01-01T00:00:00+05:00"), "$.seen_at")
    Traceback (most recent call last):
    ...
    streetlink.errors.ReferralValidationError: $.seen_at: is not a time this service can place
    """
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=LONDON)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ReferralValidationError(field, "is not a time this service can place") from None


def _check_age(at: datetime, now: datetime, max_age: timedelta, field: str) -> None:
    if at < now - max_age:
        raise ReferralValidationError(
            field,
            f"more than {max_age.days} days ago; alerts are for people sleeping rough now",
        )


def _seen_exact(
    seen_at: datetime, now: datetime, clock_skew: timedelta, max_age: timedelta
) -> _Seen:
    at = _as_utc(seen_at, "$.seen_at")
    if at > now + clock_skew:
        raise ReferralValidationError("$.seen_at", "is in the future")
    _check_age(at, now, max_age, "$.seen_at")
    on, band = band_of(at)
    return _Seen(at, on, band, exact=True)


def _seen_band(
    on: date, band: TimeBand, now: datetime, clock_skew: timedelta, max_age: timedelta
) -> _Seen:
    start, end = band_window_utc(on, band)
    if start > now + clock_skew:
        raise ReferralValidationError("$.seen_date", "that time band has not started yet")
    middle = start + (end - start) / 2
    at = min(middle, max(start, now))
    _check_age(at, now, max_age, "$.seen_date")
    return _Seen(at, on, band, exact=False)


def _resolve_seen(
    alert: StreetLinkAlert, now: datetime, clock_skew: timedelta, max_age: timedelta
) -> _Seen:
    band, on = alert.seen_time_band, alert.seen_date
    if alert.seen_at is not None:
        if band is not None or on is not None:
            field = "$.seen_date" if on is not None else "$.seen_time_band"
            raise ReferralValidationError(
                field, "give either seen_at, or seen_date with seen_time_band, not both"
            )
        return _seen_exact(alert.seen_at, now, clock_skew, max_age)
    if on is None:
        field = "$.seen_at" if band is None else "$.seen_date"
        raise ReferralValidationError(
            field, "say when the person was seen: seen_at, or seen_date with seen_time_band"
        )
    if band is None:
        raise ReferralValidationError("$.seen_time_band", "seen_date needs a seen_time_band")
    return _seen_band(on, band, now, clock_skew, max_age)


def _pin(lat: float, lon: float, accuracy_m: float | None, description: str | None) -> _Location:
    lon_min, lat_min, lon_max, lat_max = GB_BBOX_WGS84
    if not (lat_min <= lat <= lat_max and lon_min <= lon <= lon_max):
        raise ReferralValidationError(
            "$.lat", "the location is outside Great Britain; check lat and lon are not swapped"
        )
    easting, northing = wgs84_to_bng(lon, lat)
    coarse = accuracy_m is not None and accuracy_m > COARSE_ACCURACY_M
    quality = LocationQuality.PIN_COARSE if coarse else LocationQuality.PIN
    return _Location(
        lat, lon, accuracy_m, round(easting, 2), round(northing, 2), description, quality
    )


def _resolve_location(alert: StreetLinkAlert) -> _Location:
    lat, lon = alert.lat, alert.lon
    description = clean_text(alert.location_description, max_length=LOCATION_DESCRIPTION_MAX)
    if (lat is None) != (lon is None):
        field = "$.lon" if lon is None else "$.lat"
        raise ReferralValidationError(field, "lat and lon must be given together")
    if lat is not None and lon is not None:
        return _pin(lat, lon, alert.accuracy_m, description)
    if alert.accuracy_m is not None:
        raise ReferralValidationError("$.accuracy_m", "accuracy_m needs lat and lon")
    if description is None and not (alert.postcode or "").strip():
        raise ReferralValidationError(
            "$.location_description",
            "give a map location (lat and lon), a postcode, or describe where the person is",
        )
    return _Location(None, None, None, None, None, description, LocationQuality.TEXT_ONLY)


def _resolve_referrer(contact: ReferrerContact | None) -> ReferrerContact | None:
    if contact is None:
        return None
    name = clean_text(contact.name, max_length=NAME_MAX)
    email = clean_text(contact.email)
    phone = clean_text(contact.phone)
    if not contact.consent_to_contact:
        if name or email or phone:
            raise ReferralValidationError(
                "$.referrer.consent_to_contact",
                "contact details are only kept with consent to contact; "
                "give consent or leave name, email and phone empty",
            )
        if contact.wants_update:
            raise ReferralValidationError(
                "$.referrer.wants_update", "an update needs consent to contact"
            )
        return None
    if contact.wants_update and not (email or phone):
        raise ReferralValidationError(
            "$.referrer.email", "an email address or phone number is needed to send an update"
        )
    if not (name or email or phone):
        return None
    return ReferrerContact(
        name=name,
        email=email,
        phone=phone,
        consent_to_contact=True,
        wants_update=contact.wants_update,
    )


def _person_text(value: str | None) -> str | None:
    return clean_text(value, max_length=PERSON_TEXT_MAX)


def normalise(
    alert: StreetLinkAlert,
    *,
    now: datetime,
    source_ref: str | None = None,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> NormalisedReferral:
    """Validate and clean ``alert``; ``now`` must be timezone-aware.

    ``source_ref`` is an identifier from a foreign system (a StreetLink alert
    number, an Open311 ``service_request_id``), kept for idempotent imports.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    location = _resolve_location(alert)
    seen = _resolve_seen(alert, now, clock_skew, max_age)
    return NormalisedReferral(
        location_quality=location.quality,
        seen_at=seen.at,
        seen_date=seen.on,
        seen_time_band=seen.band,
        seen_exact=seen.exact,
        urgent=alert.immediate_danger
        or alert.appears_under_18
        or alert.age_band is AgeBand.UNDER_18,
        lat=location.lat,
        lon=location.lon,
        accuracy_m=location.accuracy_m,
        bng_e=location.bng_e,
        bng_n=location.bng_n,
        location_description=location.description,
        postcode=normalise_postcode(alert.postcode),
        gender=alert.gender,
        age_band=alert.age_band,
        appearance=_person_text(alert.appearance),
        clothing=_person_text(alert.clothing),
        belongings=_person_text(alert.belongings),
        site_type=alert.site_type,
        people_count=alert.people_count,
        immediate_danger=alert.immediate_danger,
        appears_under_18=alert.appears_under_18,
        self_referral=alert.self_referral,
        referrer=_resolve_referrer(alert.referrer),
        source_ref=clean_text(source_ref, max_length=SOURCE_REF_MAX),
    )
