"""Open311 GeoReport v2 service requests <-> StreetLink alerts.

:func:`to_open311` writes the standard fields (``service_code``, ``lat``,
``long``, ``address_string``, ``zipcode``, ``description``, ``status``,
``service_request_id``, ``requested_datetime``) plus an ``attributes`` object
with the structured alert fields (GeoReport's ``attribute[code]`` extension).
:func:`from_open311` reads such a request tolerantly: numbers and flags may be
strings (form encoding), attributes may be an object or flat ``attribute[code]``
keys, ``address`` is accepted for ``address_string``. Without attributes for
the time seen it uses ``requested_datetime``. When no attribute describes the
person (appearance, clothing, belongings, gender, age_band, people_count) the
free ``description`` becomes ``appearance`` (cut to its maximum length);
otherwise it is taken to be a summary like the one :func:`to_open311` writes.
Contact details (``email``, ``phone``, ``first_name``, ``last_name``) are read
only when the ``consent_to_contact`` attribute is true, and dropped otherwise.

>>> request = {"service_code": "rough-sleeping", "lat": "51.5380", "long": "0.7140",
...     "description": "Man in a green sleeping bag", "requested_datetime": "2024-11-20T23:05:00Z",
...     "attribute[site_type]": "Doorway", "attribute[immediate_danger]": "false"}
>>> alert = from_open311(request)
>>> alert.lat, alert.lon, alert.site_type.value, alert.appearance, alert.seen_at.hour
(51.538, 0.714, 'doorway', 'Man in a green sleeping bag', 23)
>>> from_open311({"lat": "51.5", "long": "200"})
Traceback (most recent call last):
...
streetlink.errors.ReferralValidationError: $.long: Expected `float` <= 180.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import partial
from typing import Any, Literal, TypeVar

import msgspec

from streetlink.errors import ReferralValidationError
from streetlink.foreign import enum_from_text, parse_datetime_text, parse_flag, parse_uk_date
from streetlink.normalise import clean_text
from streetlink.schema import (
    PERSON_TEXT_MAX,
    AgeBand,
    Gender,
    NormalisedReferral,
    SiteType,
    StreetLinkAlert,
    TimeBand,
    validation_error_from_msgspec,
)

__all__ = ["SERVICE_CODE", "SERVICE_NAME", "from_open311", "open311_request_id", "to_open311"]

T = TypeVar("T")

SERVICE_CODE = "rough-sleeping"
SERVICE_NAME = "Person sleeping rough"
RequestStatus = Literal["open", "closed"]
"""A GeoReport v2 service request's ``status``."""

_ENUM_ATTRIBUTES: dict[str, type[StrEnum]] = {
    "gender": Gender,
    "age_band": AgeBand,
    "site_type": SiteType,
    "seen_time_band": TimeBand,
}
_FLAG_ATTRIBUTES = ("immediate_danger", "appears_under_18", "self_referral")
_PERSON_ATTRIBUTES = ("appearance", "clothing", "belongings")
_PLAIN_ATTRIBUTES = ("accuracy_m", "people_count", *_PERSON_ATTRIBUTES)
#: With any of these, ``description`` is taken as a summary and not read as ``appearance``.
_DESCRIBING_ATTRIBUTES = frozenset((*_PERSON_ATTRIBUTES, "gender", "age_band", "people_count"))
_OPEN311_PATHS = {
    "$.lon": "$.long",
    "$.location_description": "$.address_string",
    "$.postcode": "$.zipcode",
    "$.referrer.name": "$.first_name",
    "$.referrer.email": "$.email",
    "$.referrer.phone": "$.phone",
}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _summary(referral: NormalisedReferral) -> str:
    people = "1 person" if referral.people_count == 1 else f"{referral.people_count} people"
    parts = [people + (f", {referral.site_type.value}" if referral.site_type else "") + "."]
    for label, text in (
        ("Appearance", referral.appearance),
        ("Clothing", referral.clothing),
        ("Belongings", referral.belongings),
    ):
        if text:
            parts.append(f"{label}: {text}")
    return " ".join(parts)


def _attributes(referral: NormalisedReferral) -> dict[str, Any]:
    attributes: dict[str, Any] = (
        {"seen_at": _iso(referral.seen_at)}
        if referral.seen_exact
        else {
            "seen_date": referral.seen_date.isoformat(),
            "seen_time_band": referral.seen_time_band.value,
        }
    )
    optional = {
        "accuracy_m": referral.accuracy_m,
        "site_type": referral.site_type,
        "appearance": referral.appearance,
        "clothing": referral.clothing,
        "belongings": referral.belongings,
    }
    attributes |= {name: value for name, value in optional.items() if value is not None}
    return attributes | {
        "gender": referral.gender.value,
        "age_band": referral.age_band.value,
        "people_count": referral.people_count,
        "immediate_danger": referral.immediate_danger,
        "appears_under_18": referral.appears_under_18,
        "self_referral": referral.self_referral,
        "urgent": referral.urgent,
    }


def _contact(referral: NormalisedReferral) -> dict[str, Any]:
    contact = referral.referrer
    if contact is None:
        return {}
    first, _, last = (contact.name or "").rpartition(" ")
    names = {"first_name": first or last or None, "last_name": last if first else None}
    fields = {"email": contact.email, "phone": contact.phone} | names
    return {name: value for name, value in fields.items() if value is not None}


def to_open311(
    referral: NormalisedReferral,
    *,
    service_request_id: str | None = None,
    requested_at: datetime | None = None,
    status: RequestStatus = "open",
    include_referrer: bool = False,
) -> dict[str, Any]:
    """A GeoReport v2 service request (JSON-ready dict) for ``referral``.

    Referrer contact details are personal data: only with ``include_referrer``.
    """
    request: dict[str, Any] = {
        "service_code": SERVICE_CODE,
        "service_name": SERVICE_NAME,
        "status": status,
        "description": _summary(referral),
        "attributes": _attributes(referral),
    }
    optional = {
        "service_request_id": service_request_id,
        "requested_datetime": None if requested_at is None else _iso(requested_at),
        "lat": referral.lat,
        "long": referral.lon,
        "address_string": referral.location_description,
        "zipcode": referral.postcode,
    }
    request |= {name: value for name, value in optional.items() if value is not None}
    if include_referrer and referral.referrer is not None:
        request |= _contact(referral)
        request["attributes"] |= {
            "consent_to_contact": True,
            "wants_update": referral.referrer.wants_update,
        }
    return request


def _collect_attributes(data: Mapping[str, Any]) -> dict[str, Any]:
    nested = data.get("attributes")
    attributes: dict[str, Any] = dict(nested) if isinstance(nested, Mapping) else {}
    for key, value in data.items():
        if key.startswith("attribute[") and key.endswith("]"):
            attributes.setdefault(key[len("attribute[") : -1], value)
    return {key: value for key, value in attributes.items() if value not in (None, "")}


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else parse_flag(str(value))


def _datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_datetime_text(str(value))


def _date(value: Any) -> date:
    return value if isinstance(value, date) else parse_uk_date(str(value))


def _parsed(path: str, parse: Callable[[Any], T], value: Any) -> T:
    try:
        return parse(value)
    except ValueError as exc:
        raise ReferralValidationError(path, str(exc)) from None


def _attribute_fields(attributes: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in attributes.items():
        path = f"$.attributes.{name}"
        if name in _PLAIN_ATTRIBUTES:
            fields[name] = value
        elif name in _ENUM_ATTRIBUTES:
            fields[name] = _parsed(path, partial(_enum, _ENUM_ATTRIBUTES[name]), value)
        elif name in _FLAG_ATTRIBUTES:
            fields[name] = _parsed(path, _flag, value)
        elif name == "seen_at":
            fields[name] = _parsed(path, _datetime, value)
        elif name == "seen_date":
            fields[name] = _parsed(path, _date, value)
    return fields


def _enum(enum_type: type[StrEnum], value: Any) -> StrEnum:
    return enum_from_text(enum_type, str(value))


def _request_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    sources = {
        "lat": data.get("lat"),
        "lon": data.get("long"),
        "location_description": data.get("address_string") or data.get("address"),
        "postcode": data.get("zipcode"),
    }
    return {name: value for name, value in sources.items() if value not in (None, "")}


def _fallbacks(data: Mapping[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    no_time = not {"seen_at", "seen_date", "seen_time_band"} & fields.keys()
    requested = data.get("requested_datetime")
    if no_time and requested:
        extra["seen_at"] = _parsed("$.requested_datetime", _datetime, requested)
    description = clean_text(str(data.get("description") or ""), max_length=PERSON_TEXT_MAX)
    if description and not _DESCRIBING_ATTRIBUTES & fields.keys():
        extra["appearance"] = description
    return extra


def _referrer(data: Mapping[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    consent = attributes.get("consent_to_contact", False)
    if not _parsed("$.attributes.consent_to_contact", _flag, consent):
        return {}
    names = [str(data[key]) for key in ("first_name", "last_name") if data.get(key)]
    contact: dict[str, Any] = {
        "name": " ".join(names) or None,
        "email": data.get("email") or None,
        "phone": data.get("phone") or None,
        "consent_to_contact": True,
        "wants_update": _parsed(
            "$.attributes.wants_update", _flag, attributes.get("wants_update", False)
        ),
    }
    return {"referrer": contact}


def from_open311(data: Mapping[str, Any]) -> StreetLinkAlert:
    """A :class:`StreetLinkAlert` from a GeoReport v2 request; pass it to ``normalise``.

    Problems raise :class:`ReferralValidationError` with Open311 names in the
    path (``$.long``, ``$.address_string``, ``$.attributes.site_type``).
    """
    attributes = _collect_attributes(data)
    fields = _request_fields(data) | _attribute_fields(attributes)
    fields |= _fallbacks(data, fields)
    fields |= _referrer(data, attributes)
    try:
        return msgspec.convert(fields, StreetLinkAlert, strict=False)
    except msgspec.ValidationError as exc:
        error = validation_error_from_msgspec(exc)
    name = error.field.removeprefix("$.")
    path = f"$.attributes.{name}" if name in attributes else error.field
    raise ReferralValidationError(_OPEN311_PATHS.get(path, path), error.message)


def open311_request_id(data: Mapping[str, Any]) -> str | None:
    """The request's ``service_request_id`` as text (for ``normalise(..., source_ref=...)``)."""
    value = data.get("service_request_id")
    return None if value in (None, "") else str(value)
