"""Wire types for assignments, their runs, overrides, shift plans (run-sheets) and SWEP."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from service.vocabularies import AssignmentRule, DropReason, ItemKind, TravelSource, WorkKind

Rule = AssignmentRule
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ITEM_PATTERN = rf"^(referral:{_UUID}|hotspot:[1-9][0-9]{{0,17}})$"
"""An item key: ``referral:<uuid>`` or ``hotspot:<id>``."""
NOTE_CHARS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
TeamId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class SlotRef(msgspec.Struct, frozen=True, kw_only=True):
    """A team's shift that was skipped because it was full."""

    team_id: int
    shift_index: int
    shift_start: dt.datetime


class Reasons(msgspec.Struct, frozen=True, kw_only=True):
    """Why the item went where it did: the rule's numbers."""

    explain: str
    """One line, e.g. ``referral:… [E07000070] covering_team -> 4 shift 0 (…), 3/12 used``."""
    distance_m: float | None = None
    """Straight line from the team's base to the item (BNG metres)."""
    capacity_visits: int | None = None
    used_visits: int | None = None
    """Visits on that shift counting this one (higher-priority items were placed first)."""
    left_visits: int | None = None
    full_slots: list[SlotRef] = []
    covering_team_ids: list[int] = []
    """Teams covering the item's authority, nearest base first."""
    pinned_team_id: int | None = None
    pinned_shift_start: dt.datetime | None = None


class OverrideOut(msgspec.Struct, frozen=True, kw_only=True):
    team_id: int
    shift_date: dt.date | None
    note: str | None
    created_by: str
    created_at: dt.datetime


class AssignmentOut(msgspec.Struct, frozen=True, kw_only=True):
    """Where one open item goes (team and shift) or why it goes nowhere, and why."""

    item: str
    """``referral:<uuid>`` or ``hotspot:<id>``: the key for ``PUT /v1/assignments/{item}``."""
    item_kind: ItemKind
    item_id: str
    work_kind: WorkKind
    reference: str | None
    authority_code: str | None
    rule: Rule
    assigned: bool
    overflow: bool
    """Placed on a later shift or another team because the nearest team's next shift was full."""
    team_id: int | None
    team_name: str | None
    shift_start: dt.datetime | None
    shift_end: dt.datetime | None
    shift_index: int | None
    rank: int
    """Position in the priority order of the run (0 is served first)."""
    urgent: bool
    swep: bool
    due_at: dt.datetime | None
    """The effective SLA due time (brought forward under SWEP)."""
    serve_at: dt.datetime | None
    within_sla: bool | None
    reasons: Reasons
    override: OverrideOut | None
    computed_at: dt.datetime
    run_id: int
    link: str
    """The referral or hotspot this item is about."""


class AssignmentRun(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    trigger: str
    requested_by: str | None
    started_at: dt.datetime
    finished_at: dt.datetime
    duration_ms: float
    items: int
    assigned: int
    unassigned: int
    overflowed: int
    pinned: int
    swep_authorities: list[str]


class AssignmentPage(msgspec.Struct, frozen=True, kw_only=True):
    """Current assignments in your scope, highest priority first, and the run behind them."""

    items: list[AssignmentOut]
    run: AssignmentRun | None
    has_more: bool


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    """A finished run; ``attention`` lists the overflowed and unassigned items in your scope."""

    run: AssignmentRun
    attention: list[AssignmentOut]


class OverrideIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pin an item to a team (optionally to that team's shift on a date), until released."""

    team_id: TeamId
    shift_date: dt.date | None = None
    """The local date (Europe/London) of the team's shift to use, if it has room."""
    note: Annotated[str, msgspec.Meta(max_length=500, pattern=NOTE_CHARS)] | None = None


# --- shift plan -----------------------------------------------------------------------------


class TeamRef(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str


class Point(msgspec.Struct, frozen=True, kw_only=True):
    lat: float
    lon: float


class ReferralToLookFor(msgspec.Struct, frozen=True, kw_only=True):
    """What the referrer described (as typed: render it as text, never as HTML)."""

    id: uuid.UUID
    reference: str
    link: str
    location_description: str | None
    appearance: str | None
    clothing: str | None
    belongings: str | None
    site_type: str | None
    gender: str
    age_band: str
    people_count: int
    seen_at: dt.datetime
    """When the person was last seen by the referrer."""
    seen_time_band: str
    status: str
    attempts: int


class HotspotToLookFor(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    link: str
    layer: str
    member_count: int
    referral_count: int
    contact_count: int
    bedded_down_count: int
    last_activity_at: dt.datetime


class PlannedStop(msgspec.Struct, frozen=True, kw_only=True):
    sequence: int
    """1 is the first visit after leaving the base."""
    item: str
    work_kind: WorkKind
    urgent: bool
    swep: bool
    due_at: dt.datetime | None
    location: Point
    arrive_at: dt.datetime
    leave_at: dt.datetime
    travel_minutes_from_previous: float
    referral: ReferralToLookFor | None
    hotspot: HotspotToLookFor | None


class DroppedStop(msgspec.Struct, frozen=True, kw_only=True):
    item: str
    work_kind: WorkKind
    urgent: bool
    reason: DropReason
    reason_text: str
    referral: ReferralToLookFor | None
    hotspot: HotspotToLookFor | None


class ShiftPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A team's run-sheet for one shift: visits in order from the base and back."""

    team: TeamRef
    date: dt.date
    shift_start: dt.datetime
    shift_end: dt.datetime
    base: Point
    stops: list[PlannedStop]
    dropped: list[DroppedStop]
    travel_minutes: float
    dwell_minutes: float
    total_minutes: float
    shift_minutes: float
    return_at: dt.datetime
    """Back at the base after the last visit."""
    route_method: str
    """``exact`` (optimal order) for small shifts, ``heuristic`` above."""
    travel_source: TravelSource
    travel_fallback_reason: str | None
    """Why straight lines were used although a routing server is configured."""
    assignments_computed_at: dt.datetime | None


# --- SWEP -----------------------------------------------------------------------------------


class SwepIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    active: bool


class SwepState(msgspec.Struct, frozen=True, kw_only=True):
    authority_code: str
    name: str
    active: bool
    changed_at: dt.datetime | None
    changed_by: str | None
