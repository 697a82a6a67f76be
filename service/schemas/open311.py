"""Wire types of the Open311 GeoReport v2 endpoints (``/open311/v2``), JSON only.

Names follow the GeoReport v2 specification (``service_code``, ``long``,
``attribute[code]``…), not the rest of this API. A service request read back
carries public fields only: no description, no address, nothing personal, and no
location (``lat``/``long`` are always ``null``; the authority is named in
``agency_responsible``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from streetlink.open311 import RequestStatus
from streetlink.schema import (
    EMAIL_MAX,
    LOCATION_DESCRIPTION_MAX,
    NAME_MAX,
    PERSON_TEXT_MAX,
    PHONE_MAX,
    POSTCODE_MAX,
)

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]

DESCRIPTION_MAX = 4000  # the specification's limit for ``description``
SHORT_MAX = 100
URL_MAX = 2000

Short = Annotated[str, msgspec.Meta(max_length=SHORT_MAX)]
PersonText = Annotated[str, msgspec.Meta(max_length=PERSON_TEXT_MAX)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0, description="WGS84 latitude")]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0, description="WGS84 longitude")]


class Open311Error(msgspec.Struct, frozen=True, kw_only=True):
    """One error as GeoReport v2 writes it; responses carry a list of them."""

    code: int
    description: str


class Service(msgspec.Struct, frozen=True, kw_only=True):
    """An entry of ``GET services.json``."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class AttributeValue(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    name: str


class ServiceAttribute(msgspec.Struct, frozen=True, kw_only=True):
    """One attribute of a service definition: sent as ``attribute[<code>]`` when posting."""

    variable: bool
    code: str
    datatype: Datatype
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue] | msgspec.UnsetType = msgspec.UNSET


class ServiceDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """``GET services/{service_code}.json``."""

    service_code: str
    attributes: list[ServiceAttribute]


class RequestForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST requests.json`` (``application/x-www-form-urlencoded``), as GeoReport v2 defines it.

    A location is needed: ``lat`` + ``long`` and/or ``address_string``. Attribute values are
    read tolerantly (``Doorway`` or ``doorway``, ``yes``/``true``); see the service
    definition. ``email``, ``phone`` and names are kept only with
    ``attribute[consent_to_contact]=true``. ``media_url`` is accepted but never fetched or
    stored, and ``api_key``, ``device_id``, ``account_id`` and ``jurisdiction_id`` are ignored.
    """

    service_code: Short
    jurisdiction_id: Short | None = None
    api_key: Short | None = None
    lat: Latitude | None = None
    long: Longitude | None = None
    address_string: Annotated[str, msgspec.Meta(max_length=LOCATION_DESCRIPTION_MAX)] | None = None
    zipcode: Annotated[str, msgspec.Meta(max_length=POSTCODE_MAX)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=DESCRIPTION_MAX)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=EMAIL_MAX)] | None = None
    first_name: Annotated[str, msgspec.Meta(max_length=NAME_MAX)] | None = None
    last_name: Annotated[str, msgspec.Meta(max_length=NAME_MAX)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=PHONE_MAX)] | None = None
    device_id: Short | None = None
    account_id: Short | None = None
    media_url: Annotated[str, msgspec.Meta(max_length=URL_MAX)] | None = None
    site_type: Short | None = msgspec.field(default=None, name="attribute[site_type]")
    people_count: Short | None = msgspec.field(default=None, name="attribute[people_count]")
    gender: Short | None = msgspec.field(default=None, name="attribute[gender]")
    age_band: Short | None = msgspec.field(default=None, name="attribute[age_band]")
    immediate_danger: Short | None = msgspec.field(default=None, name="attribute[immediate_danger]")
    appears_under_18: Short | None = msgspec.field(default=None, name="attribute[appears_under_18]")
    self_referral: Short | None = msgspec.field(default=None, name="attribute[self_referral]")
    seen_at: Short | None = msgspec.field(default=None, name="attribute[seen_at]")
    seen_date: Short | None = msgspec.field(default=None, name="attribute[seen_date]")
    seen_time_band: Short | None = msgspec.field(default=None, name="attribute[seen_time_band]")
    appearance: PersonText | None = msgspec.field(default=None, name="attribute[appearance]")
    clothing: PersonText | None = msgspec.field(default=None, name="attribute[clothing]")
    belongings: PersonText | None = msgspec.field(default=None, name="attribute[belongings]")
    accuracy_m: Short | None = msgspec.field(default=None, name="attribute[accuracy_m]")
    consent_to_contact: Short | None = msgspec.field(
        default=None, name="attribute[consent_to_contact]"
    )
    wants_update: Short | None = msgspec.field(default=None, name="attribute[wants_update]")


class RequestCreated(msgspec.Struct, frozen=True, kw_only=True):
    """One item of the ``POST requests.json`` answer."""

    service_request_id: str
    service_notice: str
    account_id: None = None


class ServiceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A service request as anyone may read it: public fields only.

    ``lat``/``long`` are always ``null``: no public answer shows where a report was made;
    ``agency_responsible`` names its authority only. Times are to the hour.
    """

    service_request_id: str
    status: RequestStatus
    status_notes: str
    service_name: str
    service_code: str
    agency_responsible: str
    requested_datetime: dt.datetime
    updated_datetime: dt.datetime
    lat: None = None
    long: None = None
