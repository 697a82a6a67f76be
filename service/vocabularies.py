"""Every closed set of values the service stores or sends, each defined once.

A vocabulary is a ``Literal`` type (what msgspec decodes and validates, and what the OpenAPI
document lists as an ``enum``) and the tuple of its values, derived with ``get_args`` (what the
models' CHECK constraints, SQL parameters and loops use). Nothing else spells the values out:

* the models' CHECK constraints are built from these tuples (``service.db.models``);
* the migrations keep the values they were written with (history does not change), and an
  integration test reads every CHECK constraint back from the migrated database and compares
  it with the tuple (``tests/integration/test_vocabularies.py``): a value added here needs a
  migration;
* vocabularies that belong to another package are tested against it rather than copied:
  genders and age bands are the StreetLink format's (``streetlink.schema``), assignment rules
  and work kinds the assignment core's (``geo.assignment``), drop reasons the router's
  (``geo.routing``) (``tests/unit/test_vocabularies.py``).

>>> ROLES
('worker', 'coordinator', 'admin')
>>> DUPLICATE_STATES
('suggested', 'confirmed', 'rejected')
"""

from __future__ import annotations

from typing import Literal, get_args

# --- staff ----------------------------------------------------------------------------------

Role = Literal["worker", "coordinator", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)

# --- areas ----------------------------------------------------------------------------------

AuthorityKind = Literal[
    "district", "unitary", "metropolitan", "london_borough", "council_area", "other"
]
AUTHORITY_KINDS: tuple[AuthorityKind, ...] = get_args(AuthorityKind)

# --- referrals ------------------------------------------------------------------------------

ReferralStatus = Literal["received", "assigned", "attempted", "closed"]
REFERRAL_STATUSES: tuple[ReferralStatus, ...] = get_args(ReferralStatus)

LocatedBy = Literal["pin", "postcode", "place", "coordinator"]
"""How a referral's position was found: the referrer's map pin, its postcode or a place name
matched in the gazetteer at intake, or placed by a coordinator at triage. ``NULL`` while a
referral has no position yet (it waits for triage)."""
LOCATED_BY: tuple[LocatedBy, ...] = get_args(LocatedBy)

GazetteerKind = Literal["postcode", "place", "street", "other"]
"""What a gazetteer search result is: a postcode (ONSPD / Code-Point Open), a populated place
or a street (OS Open Names), or another named feature (a station, a park…)."""
GAZETTEER_KINDS: tuple[GazetteerKind, ...] = get_args(GazetteerKind)

PublicStage = Literal["received", "being_looked_into", "closed"]
"""What the referrer is told of the status (``assigned`` and ``attempted`` look the same)."""
PUBLIC_STAGES: tuple[PublicStage, ...] = get_args(PublicStage)

OutcomeCode = Literal[
    "found_engaged",
    "found_accommodated",
    "found_declined",
    "already_known",
    "found_not_rough_sleeping",
    "not_found",
    "insufficient_information",
    "out_of_area_forwarded",
    "duplicate_merged",
    "closed_no_activity",
]
"""``closed_no_activity``: closed by the retention schedule after nobody acted on it for
``retention_stale_referral_days`` (nobody searched, so it is not ``not_found``)."""
OUTCOME_CODES: tuple[OutcomeCode, ...] = get_args(OutcomeCode)

DuplicateVerdict = Literal["confirmed", "rejected"]
"""A coordinator's answer to a suggested duplicate link."""
DuplicateState = Literal["suggested", DuplicateVerdict]
DUPLICATE_STATES: tuple[DuplicateState, ...] = get_args(DuplicateState)

Gender = Literal["female", "male", "non_binary", "unknown", "prefer_not_to_say"]
"""As the StreetLink format's ``Gender`` (tested to agree)."""
GENDERS: tuple[Gender, ...] = get_args(Gender)

AgeBand = Literal["under_18", "18_25", "26_35", "36_45", "46_55", "56_65", "over_65", "unknown"]
"""As the StreetLink format's ``AgeBand`` (tested to agree)."""
AGE_BANDS: tuple[AgeBand, ...] = get_args(AgeBand)

# --- contacts and persons -------------------------------------------------------------------

ContactType = Literal[
    "street_outreach", "bedded_down_check", "referral_search", "phone", "drop_in", "other"
]
CONTACT_TYPES: tuple[ContactType, ...] = get_args(ContactType)

Engagement = Literal["not_seen", "seen_no_contact", "brief", "engaged", "declined"]
ENGAGEMENT_LEVELS: tuple[Engagement, ...] = get_args(Engagement)

Offer = Literal[
    "swep_bed",
    "emergency_accommodation",
    "reconnection",
    "health",
    "substance_use",
    "mental_health",
]
OFFER_CODES: tuple[Offer, ...] = get_args(Offer)

SupportNeed = Literal["mental_health", "alcohol", "drugs", "physical_health", "other"]
SUPPORT_NEEDS: tuple[SupportNeed, ...] = get_args(SupportNeed)

ConsentStatus = Literal["unknown", "given", "refused", "withdrawn"]
CONSENT_STATES: tuple[ConsentStatus, ...] = get_args(ConsentStatus)

NationalityBand = Literal["uk", "eu", "non_eu", "unknown"]
NATIONALITY_BANDS: tuple[NationalityBand, ...] = get_args(NationalityBand)

Cohort = Literal["new", "living_on_the_streets", "intermittent"]
"""CHAIN-style cohorts (``service.usecases.persons.cohorts``)."""
COHORTS: tuple[Cohort, ...] = get_args(Cohort)

# --- hotspots -------------------------------------------------------------------------------

HotspotLayer = Literal["public_reports", "verified_bedded_down", "all_contacts"]
HOTSPOT_LAYERS: tuple[HotspotLayer, ...] = get_args(HotspotLayer)

HotspotStatus = Literal["active", "retired"]
HOTSPOT_STATUSES: tuple[HotspotStatus, ...] = get_args(HotspotStatus)

MemberKind = Literal["referral", "contact"]
"""What a hotspot's member is."""
MEMBER_KINDS: tuple[MemberKind, ...] = get_args(MemberKind)

HotspotEventKind = Literal["born", "split", "merged", "retired"]
HOTSPOT_EVENTS: tuple[HotspotEventKind, ...] = get_args(HotspotEventKind)

# --- assignments ----------------------------------------------------------------------------

ItemKind = Literal["referral", "hotspot"]
"""What an open work item is."""
ITEM_KINDS: tuple[ItemKind, ...] = get_args(ItemKind)

WorkKind = Literal["urgent_referral", "referral", "hotspot"]
"""As ``geo.assignment.WorkKind`` (tested to agree)."""
WORK_KINDS: tuple[WorkKind, ...] = get_args(WorkKind)

AssignmentRule = Literal[
    "covering_team",
    "pinned_override",
    "overflow_next_shift",
    "overflow_other_team",
    "no_covering_team",
    "all_full",
    "pinned_team_unknown",
    "pinned_team_full",
]
"""As ``geo.assignment.Rule`` (tested to agree)."""
ASSIGNMENT_RULES: tuple[AssignmentRule, ...] = get_args(AssignmentRule)

DropReason = Literal["unreachable_in_shift", "shift_full"]
"""Why a visit is not in a shift's route: as ``geo.routing.DropReason`` (tested to agree)."""
DROP_REASONS: tuple[DropReason, ...] = get_args(DropReason)

TravelSource = Literal["osrm", "straight_line"]
"""Where a shift plan's travel times came from."""
TRAVEL_SOURCES: tuple[TravelSource, ...] = get_args(TravelSource)

# --- messages (the outbox) ------------------------------------------------------------------

MessageChannel = Literal["email", "push"]
MESSAGE_CHANNELS: tuple[MessageChannel, ...] = get_args(MessageChannel)

MessageState = Literal["queued", "sent", "dead", "cancelled"]
"""``dead``: given up after the configured attempts (an admin may retry it); ``cancelled``:
nothing to send any more (the referrer unsubscribed, retention removed the address, the device
was unregistered)."""
MESSAGE_STATES: tuple[MessageState, ...] = get_args(MessageState)

MessageTemplate = Literal[
    "referral_acknowledged", "referral_outcome", "urgent_referral", "run_sheet_item", "swep_on"
]
"""Every message the service sends (``service.usecases.messages.templates``)."""
MESSAGE_TEMPLATES: tuple[MessageTemplate, ...] = get_args(MessageTemplate)
