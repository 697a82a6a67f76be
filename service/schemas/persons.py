"""Wire types for pseudonymised person records, their cohort, duplicates and merges."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from service import vocabularies
from service.vocabularies import AgeBand, Cohort, ConsentStatus, Gender

NationalityBand = Annotated[
    vocabularies.NationalityBand,
    msgspec.Meta(
        description=(
            "UK, EU (not UK) or non-EU, as in the official snapshot return. Sensitive: it is "
            "never sent back on a read and only an administrator's snapshot return counts it."
        )
    ),
]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""No control characters: PostgreSQL refuses NUL in text, and a name never needs them."""
KnownAs = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=PRINTABLE,
        description="The name the person gives (optional, personal data: every read is audited)",
    ),
]
TeamId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]  # an int4 key


class PersonCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A new person record. ``team_id`` may be left out by a worker of exactly one team."""

    known_as: KnownAs | None = None
    age_band: AgeBand = "unknown"
    gender: Gender = "unknown"
    consent_status: ConsentStatus = "unknown"
    nationality_band: NationalityBand = "unknown"
    team_id: TeamId | msgspec.UnsetType = msgspec.UNSET


class PersonPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A partial update: only the fields sent change; ``known_as: null`` clears the name."""

    known_as: KnownAs | msgspec.UnsetType | None = msgspec.UNSET
    age_band: AgeBand | msgspec.UnsetType = msgspec.UNSET
    gender: Gender | msgspec.UnsetType = msgspec.UNSET
    consent_status: ConsentStatus | msgspec.UnsetType = msgspec.UNSET
    nationality_band: NationalityBand | msgspec.UnsetType = msgspec.UNSET
    team_id: TeamId | msgspec.UnsetType = msgspec.UNSET


class PersonRef(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    pseudonym: str


class PersonDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One person with the read model derived from contact history.

    A merged record still answers, with ``merged_into`` (the record it was merged into) and
    ``surviving_id`` (the record to use now). The survivor's history includes the contacts
    of every record merged into it (``merged_from``).
    """

    id: uuid.UUID
    pseudonym: str
    known_as: str | None
    age_band: str
    gender: str
    consent_status: str
    team_id: int | None
    merged_into: uuid.UUID | None
    surviving_id: uuid.UUID
    merged_from: list[PersonRef]
    cohort: Cohort | None
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    contact_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class PersonSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A person in a list. ``known_as`` is only sent to workers (they need it to recognise
    people on the street); coordinators and admins see pseudonyms and open a record."""

    id: uuid.UUID
    pseudonym: str
    known_as: str | msgspec.UnsetType | None = msgspec.UNSET
    age_band: str
    gender: str
    consent_status: str
    team_id: int | None
    merged_into: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PersonPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[PersonSummary]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``null`` on the last page."""


class DuplicateCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A person who may be the same one. ``known_as`` follows the list rule
    (:class:`PersonSummary`): sent to workers only."""

    id: uuid.UUID
    pseudonym: str
    known_as: str | msgspec.UnsetType | None = msgspec.UNSET
    age_band: str
    gender: str
    team_id: int | None
    score: Annotated[float, msgspec.Meta(ge=0, le=1)]
    distance_m: float | None
    """The shortest distance between the two people's contacts, if within the radius."""
    reasons: list[str]


class PossibleDuplicates(msgspec.Struct, frozen=True, kw_only=True):
    person_id: uuid.UUID
    radius_m: float
    candidates: list[DuplicateCandidate]


class PersonMerge(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    from_person: uuid.UUID
    into_person: uuid.UUID
    merged_by: int | None
    merged_at: dt.datetime
    undone_by: int | None
    undone_at: dt.datetime | None
