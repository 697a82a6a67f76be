"""The public report form (works without JavaScript): form fields → the same intake as the
API, and the referrer's status page. Nothing the public typed is marked safe: the templates
escape everything."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import msgspec

from service.exceptions import NotFoundError
from service.runtime import Runtime
from service.usecases.areas.views import boundary_attribution
from service.usecases.basemap.style import page_style_url
from service.usecases.referrals import intake
from service.usecases.referrals.public_status import LONDON_FORMAT, load_public_status
from service.usecases.referrals.sla import LONDON
from streetlink.errors import ReferralValidationError
from streetlink.guidance import NOT_FOR_BEGGING, URGENT_GUIDANCE_999
from streetlink.normalise import band_of
from streetlink.schema import StreetLinkAlert, validation_error_from_msgspec

TEXT_FIELDS = (
    "lat",
    "lon",
    "accuracy_m",
    "location_description",
    "postcode",
    "seen_date",
    "seen_time_band",
    "gender",
    "age_band",
    "appearance",
    "clothing",
    "belongings",
    "site_type",
    "people_count",
)
FLAGS = ("immediate_danger", "appears_under_18", "self_referral")
SITE_TYPES = [
    ("doorway", "Doorway"),
    ("tent", "Tent"),
    ("vehicle", "Car or van"),
    ("park", "Park"),
    ("bus_shelter", "Bus shelter"),
    ("car_park", "Car park"),
    ("stairwell", "Stairwell"),
    ("woodland", "Woodland"),
    ("other", "Somewhere else"),
]
TIME_BANDS = [
    ("early_morning", "Early morning (4am to 8am)"),
    ("morning", "Morning (8am to noon)"),
    ("afternoon", "Afternoon (noon to 5pm)"),
    ("evening", "Evening (5pm to 9pm)"),
    ("night", "Night (9pm to 4am)"),
]
GENDERS = [
    ("unknown", "Not sure"),
    ("female", "Female"),
    ("male", "Male"),
    ("non_binary", "Non-binary"),
    ("prefer_not_to_say", "Prefer not to say"),
]
AGE_BANDS = [
    ("unknown", "Not sure"),
    ("under_18", "Under 18"),
    ("18_25", "18 to 25"),
    ("26_35", "26 to 35"),
    ("36_45", "36 to 45"),
    ("46_55", "46 to 55"),
    ("56_65", "56 to 65"),
    ("over_65", "Over 65"),
]
LABELS = {
    "lat": ("map", "Map pin"),
    "lon": ("map", "Map pin"),
    "accuracy_m": ("map", "Map pin"),
    "location_description": ("location_description", "Where"),
    "postcode": ("postcode", "Postcode"),
    "seen_date": ("seen_date", "Date"),
    "seen_time_band": ("seen_time_band", "Time of day"),
    "seen_at": ("seen_date", "When"),
    "people_count": ("people_count", "How many people"),
    "referrer.consent_to_contact": ("consent_to_contact", "Contact"),
    "referrer.wants_update": ("wants_update", "Updates"),
    "referrer.email": ("referrer_email", "Email"),
    "referrer.phone": ("referrer_phone", "Phone"),
    "referrer.name": ("referrer_name", "Your name"),
}


@dataclass
class FormError:
    anchor: str
    label: str
    message: str


@dataclass
class FormOutcome:
    redirect_to: str | None = None
    errors: list[FormError] = field(default_factory=list)
    form: dict[str, Any] = field(default_factory=dict)


def form_context(
    runtime: Runtime, form: Mapping[str, Any] | None = None, errors: list[FormError] | None = None
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(LONDON).date().isoformat()
    values = {**current_band(now), **(form or {})}
    return {
        "form": values,
        "errors": errors or [],
        "today": today,
        "submission_key": (form or {}).get("submission_key") or str(uuid.uuid4()),
        "guidance": URGENT_GUIDANCE_999,
        "not_for_begging": NOT_FOR_BEGGING,
        "site_types": SITE_TYPES,
        "time_bands": TIME_BANDS,
        "genders": GENDERS,
        "age_bands": AGE_BANDS,
        "map_style_url": page_style_url(runtime.settings),
        "boundary_attribution": boundary_attribution(runtime),
    }


def current_band(now: dt.datetime) -> dict[str, str]:
    """The form's default date and time band: the band ``now`` falls in, and the date that
    band is counted from. Between midnight and 4am that is the night that began the day
    before: today's night has not begun, and the form refused its own default then.

    >>> current_band(dt.datetime(2026, 11, 28, 0, 20, tzinfo=dt.UTC))
    {'seen_date': '2026-11-27', 'seen_time_band': 'night'}
    >>> current_band(dt.datetime(2026, 7, 1, 7, 30, tzinfo=dt.UTC))  # 08:30 BST
    {'seen_date': '2026-07-01', 'seen_time_band': 'morning'}
    """
    on, band = band_of(now)
    return {"seen_date": on.isoformat(), "seen_time_band": band.value}


def alert_from_form(form: Mapping[str, Any]) -> StreetLinkAlert:
    raw: dict[str, Any] = {
        k: str(form[k]).strip() for k in TEXT_FIELDS if str(form.get(k) or "").strip()
    }
    raw.update({k: True for k in FLAGS if form.get(k) == "true"})
    contact = {
        "name": str(form.get("referrer_name") or "").strip() or None,
        "email": str(form.get("referrer_email") or "").strip() or None,
        "phone": str(form.get("referrer_phone") or "").strip() or None,
        "consent_to_contact": form.get("consent_to_contact") == "true",
        "wants_update": form.get("wants_update") == "true",
    }
    if any(contact.values()):
        raw["referrer"] = contact
    try:
        return msgspec.convert(raw, StreetLinkAlert, strict=False)
    except msgspec.ValidationError as exc:
        raise validation_error_from_msgspec(exc) from None


def _form_error(exc: ReferralValidationError) -> FormError:
    key = exc.field.removeprefix("$").removeprefix(".")
    anchor, label = LABELS.get(key, ("location_description", "Your alert"))
    return FormError(anchor=anchor, label=label, message=exc.message)


async def submit_form(runtime: Runtime, form: Mapping[str, Any]) -> FormOutcome:
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    key = values.get("submission_key") or None
    try:
        receipt = await intake.submit(
            runtime,
            alert_from_form(values),
            source="web",
            submission_key=key if key and len(key) >= 16 else None,
        )
    except ReferralValidationError as exc:
        return FormOutcome(errors=[_form_error(exc)], form=values)
    token = quote(receipt.status_token)
    return FormOutcome(redirect_to=f"/report/status/{receipt.reference}?token={token}&submitted=1")


async def status_context(
    runtime: Runtime, reference: str, token: str, submitted: bool
) -> dict[str, Any] | None:
    try:
        status, urgent = await load_public_status(runtime, reference, token)
    except NotFoundError:
        return None
    return {
        "status": status,
        "urgent": urgent,
        "submitted": submitted,
        "guidance": URGENT_GUIDANCE_999,
        "received": status.received_at.astimezone(LONDON).strftime(LONDON_FORMAT),
        "updated": status.last_update_at.astimezone(LONDON).strftime(LONDON_FORMAT),
        "status_path": f"/report/status/{status.reference}?token={quote(token)}",
    }
