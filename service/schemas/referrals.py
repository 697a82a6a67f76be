"""Wire types for referrals: the public receipt and status, and staff views."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from service.vocabularies import DuplicateVerdict, LocatedBy, OutcomeCode, PublicStage

Stage = PublicStage


class ReferralReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """What the referrer gets back: a reference and a private link to follow it.

    Nothing here depends on anyone else's report (no "possible duplicate": that would tell
    anyone whether someone was reported near a place); duplicates are for staff.
    """

    reference: str
    status_url: str
    status_page_url: str
    received_at: dt.datetime
    urgent: bool
    urgent_guidance: str | None
    out_of_area: bool
    message: str
    replayed: bool
    located_by: LocatedBy | None
    """How the place was found: the map pin, the postcode or a place named in the description
    (from the gazetteer); ``None``: it waits for a coordinator to place it (triage)."""
    waits_for_triage: bool
    """No pin and nothing the gazetteer could place: a coordinator places it by hand."""


class PublicStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The referrer's view: the lifecycle only, no personal detail and no location."""

    reference: str
    stage: Stage
    stage_text: str
    outcome_text: str | None
    received_at: dt.datetime
    last_update_at: dt.datetime


class DuplicateDecision(msgspec.Struct, frozen=True, kw_only=True):
    referral_id: uuid.UUID
    other_id: uuid.UUID
    state: DuplicateVerdict
    referral_status: str
    referral_outcome: str | None


class AttemptIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A search for the person: ``id`` comes from the phone so a re-send is a no-op."""

    id: uuid.UUID
    attempted_at: dt.datetime
    found: bool
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class OutcomeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    outcome: OutcomeCode


class ReferralState(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    reference: str
    status: str
    outcome: str | None
    attempts: int
    not_found_attempts: int
    closed_at: dt.datetime | None


class ReferralSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A list row: no description, no location (those are in the audited detail view)."""

    id: uuid.UUID
    reference: str
    status: str
    outcome: str | None
    urgent: bool
    authority_code: str | None
    team_id: int | None
    received_at: dt.datetime
    seen_at: dt.datetime
    site_type: str | None
    location_quality: str
    attempts: int
    next_shift_due_at: dt.datetime | None
    outcome_due_at: dt.datetime
    sla_breached: bool


class ReferrerContactOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None
    email: str | None
    phone: str | None
    wants_update: bool


class ReferralDetail(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    reference: str
    status: str
    outcome: str | None
    urgent: bool
    immediate_danger: bool
    appears_under_18: bool
    self_referral: bool
    authority_code: str | None
    team_id: int | None
    routing_reason: str
    boundary_version_id: int | None
    out_of_area: bool
    received_at: dt.datetime
    seen_at: dt.datetime
    seen_time_band: str
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    location_quality: str
    location_description: str | None
    postcode: str | None
    gender: str
    age_band: str
    appearance: str | None
    clothing: str | None
    belongings: str | None
    site_type: str | None
    people_count: int
    attempts: int
    next_shift_due_at: dt.datetime | None
    outcome_due_at: dt.datetime
    closed_at: dt.datetime | None
    referrer: ReferrerContactOut | None = None
    located_by: LocatedBy | None = None
    """How the position was found; ``None`` while it has none (it waits for triage)."""
    location_accuracy_m: float | None = None
    """How far off the position may be (the pin's accuracy or the gazetteer entry's size)."""


class LocationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Where a coordinator places a referral (WGS84), and optionally why there."""

    lon: Annotated[float, msgspec.Meta(ge=-180, le=180, description="WGS84 degrees")]
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90, description="WGS84 degrees")]
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """A referral after a coordinator placed it: its routing, by the current boundaries."""

    id: uuid.UUID
    reference: str
    status: str
    authority_code: str | None
    team_id: int | None
    team_name: str | None
    routing_reason: str
    boundary_version_id: int | None
    out_of_area: bool
    located_by: LocatedBy | None
    lon: float | None
    lat: float | None
    previously_located: bool
    """Whether it had a position before (it was moved rather than placed)."""


class ForwardIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Where an out-of-area referral was sent (e.g. the other area's outreach service)."""

    note: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class QueueRow(msgspec.Struct, frozen=True, kw_only=True):
    """One open referral in the coordinators' queue. ``place_text`` is what the referrer
    wrote: render it as text, never as markup. Reading the queue is audited."""

    id: uuid.UUID
    reference: str
    status: str
    urgent: bool
    received_at: dt.datetime
    seen_at: dt.datetime
    place_text: str | None
    postcode: str | None
    location_quality: str
    located_by: LocatedBy | None
    authority_code: str | None
    authority_name: str | None
    team_id: int | None
    team_name: str | None
    routing_reason: str
    out_of_area: bool
    no_location: bool
    swep: bool
    past_sla: bool
    assignment_rule: str | None
    assigned_team_id: int | None
    assigned_team_name: str | None
    assigned_shift_start: dt.datetime | None
    priority_rank: int | None
    """The referral's place in the current assignment run's order (0 first; SWEP and
    urgency raise it); ``null`` until the next run has placed it."""
    assignment_swep: bool
    """Whether the current assignment treats it under SWEP (shorter service level)."""
    pinned_team_id: int | None
    possible_duplicates: list[uuid.UUID]


class QueueVersion(msgspec.Struct, frozen=True, kw_only=True):
    """What a console polls: changes when a referral in your scope arrives, changes or closes,
    or the assignments are recomputed. No personal data; not audited."""

    open_referrals: int
    last_change: dt.datetime | None
    last_assignment: dt.datetime | None
