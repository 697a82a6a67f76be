"""Pseudonymised person records: create, audited reads, partial updates, scoped lists,
possible duplicates and reversible merges.

Who sees which person (the scope, applied in SQL by :data:`service.db.persons.SCOPE_SQL`):

* admins see every person;
* anyone sees the persons owned by their teams, and those with a contact they may see (so
  someone who moved into a coordinator's area is visible even while another team owns the
  record);
* coordinators also see the persons owned by a team that works only inside their
  authorities (``service.access.may_see_person``).

A person outside the scope answers 404, exactly like a missing one. Every read of a person
by staff writes an ``audit_log`` row: ``read`` for a single record, ``list`` for each record
shown in a list, with the request path as the route. Lists (``GET /v1/persons`` and the
possible duplicates of a person) send ``known_as`` to workers only:
workers recognise people on the street by name; coordinators and admins triage by pseudonym
and open a record (an audited ``read``) when they need the name.

Merges (coordinators and admins, both records in scope) never touch contacts: the merged
record points at the survivor (``merged_into``), and the survivor's history is the contacts
of its whole family, so undoing a merge restores both histories exactly.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from service import access
from service.access import StaffUser
from service.db import audit
from service.db import persons as repo
from service.db.engine import transaction
from service.exceptions import (
    AccessDeniedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from service.runtime import Runtime
from service.schemas import persons as wire
from service.usecases.cursors import decode_cursor, encode_cursor
from service.usecases.persons import cohorts

PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out on a phone
PSEUDONYM_LENGTH = 6
PSEUDONYM_ATTEMPTS = 8
COHORT_RULE = cohorts.DEFAULT_RULE
DUPLICATE_RADIUS_M = 500.0
DUPLICATE_CANDIDATE_CAP = 200
DUPLICATE_RESULTS = 10
NAME_MIN_SIMILARITY = 0.6
UNKNOWN_VALUES = frozenset({"unknown", "prefer_not_to_say"})
AGE_BANDS = ("under_18", "18_25", "26_35", "36_45", "46_55", "56_65", "over_65")
NOT_FOUND = "no such person in your scope"


# --- scope ----------------------------------------------------------------------------------


async def _may_own(session: AsyncSession, user: StaffUser, team_id: int) -> bool:
    """Records may be given only to a team whose persons the user then still sees."""
    return user.is_admin or team_id in access.scope_of(user).team_ids


async def _owning_team(session: AsyncSession, user: StaffUser, team_id: int | None) -> int:
    """The team to own a record: the one named (if the user may give records to it), else
    the user's only team."""
    if team_id is None:
        if len(user.team_ids) == 1:
            return user.team_ids[0]
        raise InvalidInputError("say which team owns this record", field="team_id")
    if not await repo.team_exists(session, team_id):
        raise InvalidInputError("there is no such team", field="team_id")
    if not await _may_own(session, user, team_id):
        raise AccessDeniedError("you cannot give records to that team")
    return team_id


# --- pseudonyms -----------------------------------------------------------------------------


def new_pseudonym() -> str:
    """A random pseudonym such as ``P-7K2M9Q`` (31^6 ≈ 887 million of them).

    >>> code = new_pseudonym()
    >>> code.startswith("P-"), len(code), set(code[2:]) <= set(PSEUDONYM_ALPHABET)
    (True, 8, True)
    """
    return "P-" + "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(PSEUDONYM_LENGTH))


async def _insert(session: AsyncSession, values: Mapping[str, Any]) -> dict[str, Any]:
    for _ in range(PSEUDONYM_ATTEMPTS):
        row = await repo.insert(session, {**values, "pseudonym": new_pseudonym()})
        if row is not None:
            return row
    raise ConflictError("could not draw a free pseudonym, try again")  # pragma: no cover


# --- read model -----------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _detail(session: AsyncSession, row: Mapping[str, Any]) -> wire.PersonDetail:
    now = _now()
    family = await repo.family(session, row["id"])
    stats = await repo.contact_stats(session, family)
    facts = await repo.contact_facts(session, family, cohorts.history_since(now, COHORT_RULE))
    chain = await repo.ancestors(session, row["id"]) if row["merged_into"] else []
    merged_from = await repo.merged_from(session, row["id"])
    return wire.PersonDetail(
        **_person_fields(row),
        known_as=row["known_as"],
        surviving_id=chain[-1] if chain else row["id"],
        merged_from=[wire.PersonRef(id=m["id"], pseudonym=m["pseudonym"]) for m in merged_from],
        cohort=cohorts.cohort((cohorts.ContactFact(**fact) for fact in facts), now, COHORT_RULE),
        first_seen=stats["first_seen"],
        last_seen=stats["last_seen"],
        contact_count=stats["contact_count"],
    )


SHARED_FIELDS = (
    "id",
    "pseudonym",
    "age_band",
    "gender",
    "consent_status",
    "team_id",
    "merged_into",
    "created_at",
    "updated_at",
)


def _person_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The columns that a detail and a list item share (never ``known_as``)."""
    return {name: row[name] for name in SHARED_FIELDS}


def _sees_names_in_lists(user: StaffUser) -> bool:
    """Lists (persons, possible duplicates) send ``known_as`` to workers only."""
    return user.role == "worker"


def _summary(row: Mapping[str, Any], *, with_name: bool) -> wire.PersonSummary:
    return wire.PersonSummary(
        **_person_fields(row),
        known_as=row["known_as"] if with_name else msgspec.UNSET,
    )


async def _audit(
    session: AsyncSession,
    user: StaffUser,
    person_ids: Iterable[uuid.UUID],
    action: str,
    route: str,
    detail: dict[str, Any] | None = None,
) -> None:
    for person_id in person_ids:
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action=action,
            subject_type="person",
            subject_id=str(person_id),
            route=route,
            detail=detail,
        )


async def _get(
    session: AsyncSession, user: StaffUser, person_id: uuid.UUID, *, for_update: bool = False
) -> dict[str, Any]:
    row = await repo.get(session, person_id, access.params_of(user), for_update=for_update)
    if row is None:
        raise NotFoundError(NOT_FOUND)
    return row


# --- usecases -------------------------------------------------------------------------------


async def create(
    runtime: Runtime, user: StaffUser, data: wire.PersonCreate, *, route: str
) -> wire.PersonDetail:
    async with transaction(runtime.sessions) as session:
        named = None if data.team_id is msgspec.UNSET else data.team_id
        team_id = await _owning_team(session, user, named)
        row = await _insert(
            session,
            {
                "known_as": data.known_as,
                "age_band": data.age_band,
                "gender": data.gender,
                "consent_status": data.consent_status,
                "nationality_band": data.nationality_band,
                "team_id": team_id,
            },
        )
        await _audit(session, user, [row["id"]], "create", route, {"team_id": team_id})
        return await _detail(session, row)


async def read(
    runtime: Runtime, user: StaffUser, person_id: uuid.UUID, *, route: str
) -> wire.PersonDetail:
    """One person with cohort and history: an audited ``read``."""
    async with transaction(runtime.sessions) as session:
        person = await _detail(session, await _get(session, user, person_id))
        detail = {"surviving_id": str(person.surviving_id)} if person.merged_into else None
        await _audit(session, user, [person_id], "read", route, detail)
    return person


async def update(
    runtime: Runtime, user: StaffUser, person_id: uuid.UUID, patch: wire.PersonPatch, *, route: str
) -> wire.PersonDetail:
    changes = {
        name: value
        for name, value in msgspec.structs.asdict(patch).items()
        if value is not msgspec.UNSET
    }
    if not changes:
        raise InvalidInputError("send at least one field to change", field="$")
    async with transaction(runtime.sessions) as session:
        row = await _get(session, user, person_id, for_update=True)
        if row["merged_into"] is not None:
            raise ConflictError("this record was merged: change the surviving record instead")
        if changes.get("team_id", row["team_id"]) != row["team_id"]:
            await _owning_team(session, user, changes["team_id"])
        row = await repo.update(session, person_id, changes)
        await _audit(session, user, [person_id], "update", route, {"fields": sorted(changes)})
        return await _detail(session, row)


class _PersonCursor(msgspec.Struct, array_like=True, frozen=True):
    created_at: dt.datetime
    id: uuid.UUID


async def list_persons(
    runtime: Runtime,
    user: StaffUser,
    *,
    limit: int,
    cursor: str | None,
    team_id: int | None,
    include_merged: bool,
    route: str,
    q: str | None = None,
) -> wire.PersonPage:
    """Newest first; every listed person is audited as ``list``. ``q`` searches pseudonyms,
    and for workers (who see names in lists) the name they are known by too."""
    position = decode_cursor(cursor, _PersonCursor)
    after = (position.created_at, position.id) if position else None
    async with transaction(runtime.sessions) as session:
        rows = await repo.list_page(
            session,
            access.params_of(user),
            limit=limit + 1,
            after=after,
            team_id=team_id,
            include_merged=include_merged,
            search=(q, _sees_names_in_lists(user)) if q else None,
        )
        page = rows[:limit]
        await _audit(session, user, [r["id"] for r in page], "list", route)
    with_name = _sees_names_in_lists(user)
    last = page[-1] if len(rows) > limit else None
    return wire.PersonPage(
        items=[_summary(r, with_name=with_name) for r in page],
        next_cursor=encode_cursor(_PersonCursor(last["created_at"], last["id"])) if last else None,
    )


# --- possible duplicates --------------------------------------------------------------------


def normalise_name(name: str | None) -> str:
    """Lower case, no accents, letters and digits only, single spaces.

    >>> normalise_name("  Zoë  O'Brien ")
    'zoe obrien'
    >>> normalise_name(None)
    ''
    """
    decomposed = unicodedata.normalize("NFKD", name or "")
    kept = "".join(ch for ch in decomposed.casefold() if ch.isalnum() or ch.isspace())
    return " ".join(kept.split())


def name_similarity(a: str, b: str) -> float:
    """How alike two normalised names are, 0 to 1: equal 1, a shared word 0.8, a prefix of
    three letters or more 0.75, otherwise difflib's ratio.

    >>> name_similarity("dave", "dave")
    1.0
    >>> name_similarity("big dave", "dave")
    0.8
    >>> name_similarity("dav", "david")
    0.75
    >>> round(name_similarity("dave", "david"), 2)
    0.67
    >>> name_similarity("", "dave")
    0.0
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    score = SequenceMatcher(None, a, b).ratio()
    if set(a.split()) & set(b.split()):
        score = max(score, 0.8)
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 3 and longer.startswith(shorter):
        score = max(score, 0.75)
    return score


def compatible(kind: str, a: str, b: str) -> bool:
    """Whether two records could describe the same person: unknown matches anything, age
    bands may be one band apart (they are guesses), gender must be the same.

    >>> compatible("age_band", "26_35", "36_45"), compatible("age_band", "18_25", "36_45")
    (True, False)
    >>> compatible("gender", "male", "unknown"), compatible("gender", "male", "female")
    (True, False)
    """
    if a in UNKNOWN_VALUES or b in UNKNOWN_VALUES or a == b:
        return True
    if kind == "age_band" and a in AGE_BANDS and b in AGE_BANDS:
        return abs(AGE_BANDS.index(a) - AGE_BANDS.index(b)) <= 1
    return False


def _attribute_reasons(subject: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    return [
        f"same {label}"
        for kind, label in (("gender", "gender"), ("age_band", "age band"))
        if subject[kind] == other[kind] and subject[kind] not in UNKNOWN_VALUES
    ]


def score_candidate(
    subject: Mapping[str, Any], other: Mapping[str, Any], radius_m: float
) -> tuple[float, list[str]] | None:
    """A score (0 to 1) and the reasons, or ``None`` when the two cannot be the same person
    or nothing links them. Name counts 0.55, nearby contacts 0.35, gender and age 0.05 each.

    >>> me = {"known_as": "Dave", "gender": "male", "age_band": "36_45"}
    >>> score_candidate(me, {**me, "known_as": "dave", "distance_m": 0.0}, 500)
    (1.0, ['same known-as', 'contacts 0 m apart', 'same gender', 'same age band'])
    >>> score_candidate(me, {**me, "known_as": "Dave", "gender": "female", "distance_m": 1}, 500)
    >>> score_candidate(me, {**me, "known_as": "Zed", "distance_m": None}, 500)
    """
    if not all(compatible(kind, subject[kind], other[kind]) for kind in ("gender", "age_band")):
        return None
    name = name_similarity(normalise_name(subject["known_as"]), normalise_name(other["known_as"]))
    distance_m = other.get("distance_m")
    reasons: list[str] = []
    score = 0.0
    if name >= NAME_MIN_SIMILARITY:
        reasons.append("same known-as" if name == 1.0 else f"similar known-as ({name:.2f})")
        score += 0.55 * name
    if distance_m is not None:
        reasons.append(f"contacts {distance_m:.0f} m apart")
        score += 0.35 * (1.0 - 0.5 * min(distance_m, radius_m) / radius_m)
    if not reasons:
        return None
    attributes = _attribute_reasons(subject, other)
    return round(min(1.0, score + 0.05 * len(attributes)), 3), reasons + attributes


def rank_candidates(
    subject: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    radius_m: float,
    *,
    with_name: bool,
) -> list[wire.DuplicateCandidate]:
    """The best candidates; ``known_as`` only ``with_name`` (the list rule: workers)."""
    scored = [(score_candidate(subject, row, radius_m), row) for row in rows]
    candidates = [
        wire.DuplicateCandidate(
            id=row["id"],
            pseudonym=row["pseudonym"],
            known_as=row["known_as"] if with_name else msgspec.UNSET,
            age_band=row["age_band"],
            gender=row["gender"],
            team_id=row["team_id"],
            score=result[0],
            distance_m=row["distance_m"],
            reasons=result[1],
        )
        for result, row in scored
        if result is not None
    ]
    candidates.sort(key=lambda c: (-c.score, c.pseudonym))
    return candidates[:DUPLICATE_RESULTS]


async def possible_duplicates(
    runtime: Runtime, user: StaffUser, person_id: uuid.UUID, *, route: str
) -> wire.PossibleDuplicates:
    """Other persons in scope who may be this one: a ``read`` of it, a ``list`` of each."""
    async with transaction(runtime.sessions) as session:
        subject = await _get(session, user, person_id)
        rows = await repo.duplicate_candidates(
            session,
            person_id,
            access.params_of(user),
            radius_m=DUPLICATE_RADIUS_M,
            initial=normalise_name(subject["known_as"])[:1],
            cap=DUPLICATE_CANDIDATE_CAP,
        )
        candidates = rank_candidates(
            subject, rows, DUPLICATE_RADIUS_M, with_name=_sees_names_in_lists(user)
        )
        view = {"view": "possible_duplicates"}
        await _audit(session, user, [person_id], "read", route, view)
        await _audit(
            session, user, [c.id for c in candidates], "list", route, {**view, "of": str(person_id)}
        )
    return wire.PossibleDuplicates(
        person_id=person_id, radius_m=DUPLICATE_RADIUS_M, candidates=candidates
    )


# --- merges ---------------------------------------------------------------------------------


async def _lock_pair(
    session: AsyncSession, user: StaffUser, person_id: uuid.UUID, other_id: uuid.UUID
) -> tuple[dict[str, Any], dict[str, Any]]:
    pair = await repo.lock_pair(session, [person_id, other_id], access.params_of(user))
    if len(pair) != 2:
        raise NotFoundError("no such pair of persons in your scope")
    return pair[person_id], pair[other_id]


async def _check_mergeable(
    session: AsyncSession, source: Mapping[str, Any], target: Mapping[str, Any]
) -> None:
    if source["merged_into"] is not None:
        raise ConflictError("this record is merged already: undo that merge first")
    if target["merged_into"] is not None:
        if source["id"] in await repo.ancestors(session, target["id"]):
            raise ConflictError("that merge would make a cycle: the target is merged into this")
        raise ConflictError("the target record is merged already: merge into its survivor")


async def merge(
    runtime: Runtime, user: StaffUser, person_id: uuid.UUID, other_id: uuid.UUID, *, route: str
) -> wire.PersonMerge:
    """Merge ``person_id`` into ``other_id`` (the survivor). Contacts are not moved."""
    if person_id == other_id:
        raise InvalidInputError("a record cannot be merged into itself", field="other_id")
    async with transaction(runtime.sessions) as session:
        source, target = await _lock_pair(session, user, person_id, other_id)
        await _check_mergeable(session, source, target)
        row = await repo.add_merge(session, person_id, other_id, user.id)
        await _audit(session, user, [person_id], "merge", route, {"into": str(other_id)})
        await _audit(session, user, [other_id], "merge", route, {"from": str(person_id)})
    return msgspec.convert(row, wire.PersonMerge)


async def undo_merge(
    runtime: Runtime, user: StaffUser, person_id: uuid.UUID, other_id: uuid.UUID, *, route: str
) -> wire.PersonMerge:
    """Undo the active merge of ``person_id`` into ``other_id``; both histories come back."""
    async with transaction(runtime.sessions) as session:
        await _lock_pair(session, user, person_id, other_id)
        row = await repo.undo_merge(session, person_id, other_id, user.id)
        if row is None:
            raise NotFoundError("this record is not merged into that one")
        await _audit(session, user, [person_id], "unmerge", route, {"into": str(other_id)})
        await _audit(session, user, [other_id], "unmerge", route, {"from": str(person_id)})
    return msgspec.convert(row, wire.PersonMerge)
