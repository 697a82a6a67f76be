"""Wire types for the phone app: contacts (sent in offline batches) and the sync feed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from service.schemas.problems import FieldError
from service.vocabularies import ContactType, Engagement, Offer, SupportNeed

Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Notes = Annotated[str, msgspec.Meta(max_length=4000)]


class ContactIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """One contact as the phone app records it. ``id`` is generated on the phone: sending the
    same contact again (an offline batch re-sent) is a no-op."""

    id: uuid.UUID
    observed_at: dt.datetime
    lat: Lat
    lon: Lon
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=50_000)] | None = None
    team_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None  # int4 key
    person_id: uuid.UUID | None = None
    referral_id: uuid.UUID | None = None
    bedded_down: bool = False
    contact_type: ContactType = "street_outreach"
    engagement: Engagement = "engaged"
    offers_made: Annotated[list[Offer], msgspec.Meta(max_length=6)] = []
    offers_accepted: Annotated[list[Offer], msgspec.Meta(max_length=6)] = []
    outcome: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    safeguarding_concern: bool = False
    notes: Notes | None = None
    support_needs: Annotated[list[SupportNeed], msgspec.Meta(max_length=5)] = []
    """Special-category data: stored apart, shown only to roles that need it."""
    health_notes: Notes | None = None


class ContactBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[list[ContactIn], msgspec.Meta(min_length=1, max_length=500)]


ItemResultKind = Literal["created", "duplicate", "conflict", "rejected"]


class ItemProblem(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    title: str
    detail: str
    errors: list[FieldError] = []


class ContactItemResult(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    result: ItemResultKind
    problem: ItemProblem | None = None


class ContactBatchResult(msgspec.Struct, frozen=True, kw_only=True):
    results: list[ContactItemResult]
    created: int
    duplicates: int
    conflicts: int
    rejected: int


class ContactOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    team_id: int
    worker_id: int
    observed_at: dt.datetime
    received_at: dt.datetime
    lat: float
    lon: float
    accuracy_m: float | None
    authority_code: str | None
    person_id: uuid.UUID | None
    referral_id: uuid.UUID | None
    bedded_down: bool
    contact_type: str
    engagement: str
    offers_made: list[str]
    offers_accepted: list[str]
    outcome: str | None
    safeguarding_concern: bool
    notes: str | None
    support_needs: list[str] | msgspec.UnsetType = msgspec.UNSET
    health_notes: str | msgspec.UnsetType | None = msgspec.UNSET


class ChangeOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    entity_id: str
    team_id: int | None
    at: dt.datetime
    data: dict[str, Any]


class SyncPage(msgspec.Struct, frozen=True, kw_only=True):
    """Changes after the cursor, oldest first. Pass ``cursor`` back to get the next page."""

    cursor: str
    changes: list[ChangeOut]
    has_more: bool
