"""The StreetLink-style public alert on the wire, and its normalised form.

:class:`StreetLinkAlert` is what a member of the public (or the person
themselves) sends to ``POST /v1/referrals``: strict, unknown fields rejected,
every string bounded. :func:`streetlink.normalise.normalise` turns it into a
:class:`NormalisedReferral`, the value the rest of the system stores.

>>> alert = decode_alert(b'{"lat": 51.7366, "lon": 0.4693, "seen_at": "2024-11-20T23:10:00Z"}')
>>> alert.lat, alert.people_count, alert.gender
(51.7366, 1, <Gender.UNKNOWN: 'unknown'>)
>>> decode_alert(b'{"lat": 95, "lon": 0.4}')
Traceback (most recent call last):
...
streetlink.errors.ReferralValidationError: $.lat: Expected `float` <= 90.0
>>> decode_alert(b'{"lat": 51.7, "nationality": "x"}')
Traceback (most recent call last):
...
streetlink.errors.ReferralValidationError: $: Object contains unknown field `nationality`
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from streetlink.errors import ReferralValidationError

__all__ = [
    "AccuracyM",
    "AgeBand",
    "Gender",
    "Latitude",
    "LocationQuality",
    "Longitude",
    "NormalisedReferral",
    "ReferrerContact",
    "SiteType",
    "StreetLinkAlert",
    "TimeBand",
    "decode_alert",
    "validation_error_from_msgspec",
]

LOCATION_DESCRIPTION_MAX = 1000
PERSON_TEXT_MAX = 500
POSTCODE_MAX = 16
NAME_MAX = 200
EMAIL_MAX = 254
PHONE_MAX = 32
PEOPLE_COUNT_MAX = 50
ACCURACY_M_MAX = 50_000.0
SOURCE_REF_MAX = 64


class Gender(StrEnum):
    """Gender as the referrer perceives it."""

    FEMALE = "female"
    MALE = "male"
    NON_BINARY = "non_binary"
    UNKNOWN = "unknown"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"


class AgeBand(StrEnum):
    """Approximate age. ``under_18`` makes the referral urgent (call 999)."""

    UNDER_18 = "under_18"
    AGE_18_25 = "18_25"
    AGE_26_35 = "26_35"
    AGE_36_45 = "36_45"
    AGE_46_55 = "46_55"
    AGE_56_65 = "56_65"
    OVER_65 = "over_65"
    UNKNOWN = "unknown"


class TimeBand(StrEnum):
    """Part of the day, London time; see :data:`streetlink.normalise.TIME_BAND_WINDOWS`."""

    EARLY_MORNING = "early_morning"
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    NIGHT = "night"


class SiteType(StrEnum):
    """Where exactly the person sleeps."""

    DOORWAY = "doorway"
    TENT = "tent"
    VEHICLE = "vehicle"
    PARK = "park"
    BUS_SHELTER = "bus_shelter"
    CAR_PARK = "car_park"
    STAIRWELL = "stairwell"
    WOODLAND = "woodland"
    OTHER = "other"


class LocationQuality(StrEnum):
    """How precisely the referral can be found: a pin, a coarse pin (> 500 m), or words only."""

    PIN = "pin"
    PIN_COARSE = "pin_coarse"
    TEXT_ONLY = "text_only"


Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0, description="WGS84 degrees")]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0, description="WGS84 degrees")]
AccuracyM = Annotated[
    float, msgspec.Meta(ge=0.0, le=ACCURACY_M_MAX, description="pin accuracy radius, metres")
]
LocationText = Annotated[str, msgspec.Meta(max_length=LOCATION_DESCRIPTION_MAX)]
PersonText = Annotated[str, msgspec.Meta(max_length=PERSON_TEXT_MAX)]
PostcodeText = Annotated[str, msgspec.Meta(max_length=POSTCODE_MAX, description="UK postcode")]
NameText = Annotated[str, msgspec.Meta(max_length=NAME_MAX)]
EmailText = Annotated[
    str, msgspec.Meta(max_length=EMAIL_MAX, pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$")
]
PhoneText = Annotated[
    str, msgspec.Meta(max_length=PHONE_MAX, pattern=r"^\s*[+(]?[0-9][0-9 ()-]{4,30}\s*$")
]
PeopleCount = Annotated[int, msgspec.Meta(ge=1, le=PEOPLE_COUNT_MAX)]
SourceRef = Annotated[str, msgspec.Meta(max_length=SOURCE_REF_MAX)]


class ReferrerContact(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Optional contact details of the referrer, held only with consent.

    Name, email and phone are only accepted when ``consent_to_contact`` is true;
    ``wants_update`` needs consent and an email or phone (enforced by ``normalise``).
    """

    name: NameText | None = None
    email: EmailText | None = None
    phone: PhoneText | None = None
    consent_to_contact: bool = False
    wants_update: bool = False


class StreetLinkAlert(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A public alert about someone sleeping rough, as received on the API.

    Location: ``lat`` + ``lon`` (optionally ``accuracy_m``) and/or
    ``location_description``; at least one is required. When seen: ``seen_at``
    (aware, or naive = Europe/London) *or* ``seen_date`` + ``seen_time_band``.
    """

    lat: Latitude | None = None
    lon: Longitude | None = None
    accuracy_m: AccuracyM | None = None
    location_description: LocationText | None = None
    postcode: PostcodeText | None = None
    seen_at: datetime | None = None
    seen_date: date | None = None
    seen_time_band: TimeBand | None = None
    gender: Gender = Gender.UNKNOWN
    age_band: AgeBand = AgeBand.UNKNOWN
    appearance: PersonText | None = None
    clothing: PersonText | None = None
    belongings: PersonText | None = None
    site_type: SiteType | None = None
    people_count: PeopleCount = 1
    immediate_danger: bool = False
    appears_under_18: bool = False
    self_referral: bool = False
    referrer: ReferrerContact | None = None


class NormalisedReferral(msgspec.Struct, kw_only=True, frozen=True):
    """A validated, cleaned referral: what intake stores and what exports carry.

    ``seen_at`` is an aware UTC instant; ``seen_exact`` says whether it was given
    as an instant or derived from ``seen_date`` + ``seen_time_band`` (both are
    always filled, in London time; a sighting at 02:00 belongs to the previous
    date's night). ``bng_e``/``bng_n`` are British National Grid metres (cm
    precision) when a pin was given. Free text is plain text, never HTML-escaped.
    """

    location_quality: LocationQuality
    seen_at: datetime
    seen_date: date
    seen_time_band: TimeBand
    seen_exact: bool
    urgent: bool
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    bng_e: float | None = None
    bng_n: float | None = None
    location_description: str | None = None
    postcode: str | None = None
    gender: Gender = Gender.UNKNOWN
    age_band: AgeBand = AgeBand.UNKNOWN
    appearance: str | None = None
    clothing: str | None = None
    belongings: str | None = None
    site_type: SiteType | None = None
    people_count: int = 1
    immediate_danger: bool = False
    appears_under_18: bool = False
    self_referral: bool = False
    referrer: ReferrerContact | None = None
    source_ref: str | None = None


_PATH_SUFFIX = re.compile(r" - at `(?P<path>\$[^`]*)`$")


def validation_error_from_msgspec(exc: msgspec.ValidationError) -> ReferralValidationError:
    """Split msgspec's ``"<message> - at `$.path`"`` into a :class:`ReferralValidationError`.

    >>> try:
    ...     msgspec.convert({"referrer": {"email": "nope"}}, StreetLinkAlert)
    ... except msgspec.ValidationError as exc:
    ...     print(validation_error_from_msgspec(exc).field)
    $.referrer.email
    """
    text = str(exc)
    match = _PATH_SUFFIX.search(text)
    if match is None:
        return ReferralValidationError("$", text)
    return ReferralValidationError(match["path"], text[: match.start()])


_ALERT_DECODER = msgspec.json.Decoder(StreetLinkAlert)


def decode_alert(data: bytes | str) -> StreetLinkAlert:
    """Strictly decode an API body; any problem becomes a :class:`ReferralValidationError`."""
    try:
        return _ALERT_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise validation_error_from_msgspec(exc) from None
    except msgspec.DecodeError:
        raise ReferralValidationError("$", "the body is not valid JSON") from None
