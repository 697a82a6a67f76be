"""Open311 GeoReport v2 over the same intake: the one service, its definition, new requests,
and requests read back with public fields only.

Open311 is public: anyone may list requests. What a reader gets, and why:

- the request id, open/closed, status notes saying what happened to the *alert* (outcomes
  about the person, such as found, accommodated, declined or already known, and a merge
  with another report, read only as "finished looking into it"), the service, who is
  responsible named by the request's *authority* only ("Street outreach in Harlow", or
  :data:`COORDINATORS` when it has none) and times to the hour. Never the description,
  address, postcode, time seen, people count, flags or anything about the referrer;
- no location at all: ``lat`` and ``long`` are always ``null``. Nothing public is derived
  from a report's position beyond its authority, and no answer depends on other people's
  reports. (Until issue 13 a request showed the centre of its 1 km square once the square
  held three requests: two padding requests by anyone revealed a lone report's square.
  The responsible *team* is not shown either: in an authority two teams share, the nearer
  team's base says which part of it, and overflow between teams depends on other work.)
- the list leaves out requests younger than :data:`EMBARGO`: nobody can watch where people
  are sleeping tonight. Reading by id (the referrer has it) shows them.

The SQL lives in ``service/db/open311.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from service.db import open311 as open311_repo
from service.db.engine import transaction
from service.exceptions import InvalidInputError, NotFoundError
from service.runtime import Runtime
from service.schemas import open311 as wire
from service.usecases.referrals import intake
from service.usecases.referrals.public_status import OUTCOME_TEXT, STAGE_TEXT, STAGES
from service.usecases.referrals.submission import MESSAGE, OUT_OF_AREA, REPLAYED
from streetlink.errors import InvalidReferenceError, ReferralValidationError
from streetlink.guidance import URGENT_GUIDANCE_999
from streetlink.normalise import clean_text
from streetlink.open311 import SERVICE_CODE, SERVICE_NAME, from_open311
from streetlink.references import parse_reference
from streetlink.schema import PERSON_TEXT_MAX, AgeBand, Gender, SiteType, TimeBand

EMBARGO = dt.timedelta(hours=24)
MAX_RANGE = dt.timedelta(days=90)
# The moments a range may name (a range beyond them would run off the calendar).
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
MAX_IDS = 50
PAGE_SIZE_MAX = 100
COORDINATORS = "Greater Essex outreach coordinators"
AGENCY_IN = "Street outreach in {authority}"
#: Outcomes that say what happened to the alert, not to the person: shown in status notes.
#: ``duplicate_merged`` is not one: it would say that someone else reported the same place.
PUBLIC_OUTCOMES = frozenset({"not_found", "insufficient_information", "out_of_area_forwarded"})
STATUS_FILTER: Mapping[str, tuple[str, ...]] = {
    "open": ("received", "assigned", "attempted"),
    "closed": ("closed",),
}
TIME_ATTRIBUTES = ("seen_at", "seen_date", "seen_time_band")
NO_SUCH_SERVICE = "no such service: see services.json"
NO_SUCH_REQUEST = "no such service request"

SERVICE = wire.Service(
    service_code=SERVICE_CODE,
    service_name=SERVICE_NAME,
    description=(
        "Tell the local street outreach team about someone sleeping rough in Greater Essex. "
        "Not an emergency service: if someone is in danger or under 18, call 999."
    ),
    metadata=True,
    type="realtime",
    keywords="rough sleeping, homeless, streetlink, outreach",
    group="Homelessness",
)


def _label(value: str) -> str:
    """``18_25`` -> ``18 to 25``, ``bus_shelter`` -> ``Bus shelter``."""
    if re.fullmatch(r"\d+_\d+", value):
        return value.replace("_", " to ")
    return value.replace("_", " ").capitalize()


def _choices(enum: type[StrEnum]) -> list[wire.AttributeValue]:
    return [wire.AttributeValue(key=member.value, name=_label(member.value)) for member in enum]


YES_NO = [wire.AttributeValue(key="true", name="Yes"), wire.AttributeValue(key="false", name="No")]
_ATTRIBUTE_TABLE: tuple[tuple[str, wire.Datatype, str, list[wire.AttributeValue] | None], ...] = (
    ("immediate_danger", "singlevaluelist", "Is anyone in immediate danger? Call 999 now.", YES_NO),
    ("appears_under_18", "singlevaluelist", "Do they look under 18? Call 999 now.", YES_NO),
    ("site_type", "singlevaluelist", "Where exactly are they sleeping?", _choices(SiteType)),
    ("people_count", "number", "How many people (1 to 50; 1 if not given)?", None),
    ("gender", "singlevaluelist", "Gender, as far as you can tell", _choices(Gender)),
    ("age_band", "singlevaluelist", "Approximate age", _choices(AgeBand)),
    ("appearance", "text", "What do they look like (up to 500 characters)?", None),
    ("clothing", "text", "What are they wearing?", None),
    ("belongings", "text", "Belongings: sleeping bag, tent, bags, a dog…", None),
    ("seen_at", "datetime", "When you saw them; if no time is given: now", None),
    ("seen_date", "string", "Or the date you saw them (YYYY-MM-DD), with seen_time_band", None),
    ("seen_time_band", "singlevaluelist", "Part of the day you saw them", _choices(TimeBand)),
    ("accuracy_m", "number", "How accurate the map pin is, in metres", None),
    ("self_referral", "singlevaluelist", "Are you the person sleeping rough?", YES_NO),
    ("consent_to_contact", "singlevaluelist", "May the team contact you?", YES_NO),
    ("wants_update", "singlevaluelist", "Would you like an update (needs consent)?", YES_NO),
)
DEFINITION = wire.ServiceDefinition(
    service_code=SERVICE_CODE,
    attributes=[
        wire.ServiceAttribute(
            variable=True,
            code=code,
            datatype=datatype,
            required=False,
            datatype_description="YYYY-MM-DD" if code == "seen_date" else None,
            order=order,
            description=description,
            values=msgspec.UNSET if values is None else values,
        )
        for order, (code, datatype, description, values) in enumerate(_ATTRIBUTE_TABLE, 1)
    ],
)
ATTRIBUTE_CODES = frozenset(code for code, *_ in _ATTRIBUTE_TABLE)


def services() -> list[wire.Service]:
    return [SERVICE]


def service_definition(service_code: str) -> wire.ServiceDefinition:
    if service_code != SERVICE_CODE:
        raise NotFoundError(NO_SUCH_SERVICE)
    return DEFINITION


# --- creating requests ------------------------------------------------------------------

_FORM_FIELDS = {
    "$": "request",
    "$.lon": "long",
    "$.location_description": "address_string",
    "$.postcode": "zipcode",
    "$.referrer": "attribute[consent_to_contact]",
    "$.referrer.name": "first_name",
    "$.referrer.email": "email",
    "$.referrer.phone": "phone",
    "$.referrer.consent_to_contact": "attribute[consent_to_contact]",
    "$.referrer.wants_update": "attribute[wants_update]",
}


def form_field(path: str) -> str:
    """The form field a validation path names (``$.attributes.gender`` -> ``attribute[gender]``).

    >>> form_field("$.attributes.site_type"), form_field("$.seen_at"), form_field("$.long")
    ('attribute[site_type]', 'attribute[seen_at]', 'long')
    >>> form_field("$.postcode"), form_field("$")
    ('zipcode', 'request')
    """
    name = path.removeprefix("$.attributes.").removeprefix("$.")
    if name in ATTRIBUTE_CODES:
        return f"attribute[{name}]"
    return _FORM_FIELDS.get(path, name)


def _open311_mapping(form: wire.RequestForm, now: dt.datetime) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: value for key, value in msgspec.to_builtins(form).items() if value not in (None, "")
    }
    if not any(f"attribute[{name}]" in data for name in TIME_ATTRIBUTES):
        data["requested_datetime"] = now.isoformat()  # seen when reported
    # The free description is what the person looks like, even beside other attributes.
    description = clean_text(data.pop("description", None), max_length=PERSON_TEXT_MAX)
    if description:
        data.setdefault("attribute[appearance]", description)
    return data


def _notice(receipt: intake.Receipt) -> str:
    message = REPLAYED if receipt.replayed else OUT_OF_AREA if receipt.out_of_area else MESSAGE
    return f"{URGENT_GUIDANCE_999} {message}" if receipt.urgent else message


async def submit(
    runtime: Runtime,
    form: wire.RequestForm,
    *,
    submission_key: str | None,
    now: dt.datetime | None = None,
) -> tuple[wire.RequestCreated, bool]:
    """Create a referral through the same intake as the JSON API; ``True`` when replayed."""
    if form.service_code != SERVICE_CODE:
        raise InvalidInputError(NO_SUCH_SERVICE, field="service_code")
    now = now or dt.datetime.now(dt.UTC)
    try:
        alert = from_open311(_open311_mapping(form, now))
        receipt = await intake.submit(
            runtime, alert, source="open311", submission_key=submission_key, now=now
        )
    except ReferralValidationError as exc:
        raise ReferralValidationError(form_field(exc.field), exc.message) from None
    created = wire.RequestCreated(
        service_request_id=receipt.reference, service_notice=_notice(receipt)
    )
    return created, receipt.replayed


# --- reading requests ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """``GET requests.json`` parameters, as GeoReport v2 names them (plus paging)."""

    service_request_id: str | None = None
    service_code: str | None = None
    status: str | None = None
    start_date: dt.datetime | None = None
    end_date: dt.datetime | None = None
    page: int = 1
    page_size: int = 50


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _references(value: str) -> list[str]:
    items = _split(value)
    if len(items) > MAX_IDS:
        raise InvalidInputError(f"at most {MAX_IDS} ids", field="service_request_id")
    references = []
    for item in items:
        try:
            references.append(parse_reference(item))
        except InvalidReferenceError:
            continue  # cannot exist: like an unknown id, it is simply not in the answer
    return references


def _statuses(value: str | None) -> list[str]:
    wanted = _split(value or "open,closed")
    if not wanted or any(item not in STATUS_FILTER for item in wanted):
        raise InvalidInputError("use open, closed or both (comma separated)", field="status")
    return [status for item in wanted for status in STATUS_FILTER[item]]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _window(query: RequestFilter, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The requested range, by default the last 90 days; never longer than 90 days."""
    start, end = _aware(query.start_date), _aware(query.end_date)
    for name, moment in (("start_date", start), ("end_date", end)):
        if moment is not None and not EARLIEST <= moment <= LATEST:
            raise InvalidInputError(
                f"give a time from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}", field=name
            )
    if start is not None and end is None:
        end = min(start + MAX_RANGE, now)
    end = end or now
    start = start or end - MAX_RANGE
    if start > end:
        raise InvalidInputError("start_date is after end_date", field="start_date")
    if end - start > MAX_RANGE:
        raise InvalidInputError("the range may not span more than 90 days", field="end_date")
    return start, end


def _to_hour(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _agency(row: Mapping[str, Any]) -> str:
    """Who answers, by the request's authority only (see the module docstring)."""
    name = row["authority_name"]
    return AGENCY_IN.format(authority=name) if name else COORDINATORS


def _status_notes(row: Mapping[str, Any]) -> str:
    stage = STAGES[row["status"]]
    outcome = row["outcome"]
    if stage == "closed" and outcome in PUBLIC_OUTCOMES:
        return OUTCOME_TEXT[outcome]
    return STAGE_TEXT[stage]


def _to_wire(row: Mapping[str, Any]) -> wire.ServiceRequest:
    return wire.ServiceRequest(
        service_request_id=row["reference"],
        status="closed" if row["status"] == "closed" else "open",
        status_notes=_status_notes(row),
        service_name=SERVICE_NAME,
        service_code=SERVICE_CODE,
        agency_responsible=_agency(row),
        requested_datetime=_to_hour(row["received_at"]),
        updated_datetime=_to_hour(row["updated_at"]),
    )


async def _fetch(
    runtime: Runtime, statement: Any, params: dict[str, Any], now: dt.datetime
) -> list[wire.ServiceRequest]:
    values = params | {"embargo_before": now - EMBARGO}
    async with transaction(runtime.sessions) as session:
        rows = await open311_repo.public_requests(session, statement, values)
    return [_to_wire(row) for row in rows]


async def get_request(
    runtime: Runtime, request_id: str, *, now: dt.datetime | None = None
) -> list[wire.ServiceRequest]:
    """One request (as a one-item list, like the specification); unknown ids are 404."""
    try:
        reference = parse_reference(request_id)
    except InvalidReferenceError:
        raise NotFoundError(NO_SUCH_REQUEST) from None
    now = now or dt.datetime.now(dt.UTC)
    found = await _fetch(
        runtime,
        open311_repo.BY_REFERENCES,
        {"references": [reference], "limit": 1, "offset": 0},
        now,
    )
    if not found:
        raise NotFoundError(NO_SUCH_REQUEST)
    return found


async def list_requests(
    runtime: Runtime, query: RequestFilter, *, now: dt.datetime | None = None
) -> list[wire.ServiceRequest]:
    """Requests by id (this overrides every other parameter), or by range, status and page."""
    now = now or dt.datetime.now(dt.UTC)
    if query.service_request_id:
        references = _references(query.service_request_id)
        params = {"references": references, "limit": MAX_IDS, "offset": 0}
        return await _fetch(runtime, open311_repo.BY_REFERENCES, params, now) if references else []
    if query.service_code is not None and SERVICE_CODE not in _split(query.service_code):
        return []
    statuses = _statuses(query.status)
    start, end = _window(query, now)
    page_size = min(max(query.page_size, 1), PAGE_SIZE_MAX)
    params = {
        "start": start,
        "end": end,
        "statuses": statuses,
        "limit": page_size,
        "offset": (max(query.page, 1) - 1) * page_size,
    }
    return await _fetch(runtime, open311_repo.LISTED, params, now)
