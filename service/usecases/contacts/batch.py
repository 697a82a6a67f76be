"""Outreach contacts from the phone app, sent in offline batches.

Each item has its own result, and one item's fault never fails the others: ``created``;
``duplicate`` when the same id arrives again with the same content (a re-sent batch: nothing
changes); ``conflict`` when the id is reused for other content (nothing is overwritten);
``rejected`` when the item breaks a rule (scope, unknown referral). A batch cut off half way
and sent again creates nothing twice.

A contact may name a referral or a person only when the sender may see it
(``service.access``: the referral rule, and the person rule of ``service.db.persons``); one
outside their scope is refused exactly like one that does not exist, so a batch can neither
attach work to another team's person (and so come to see it) nor tell which ids exist.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from geo.areas import Area
from geo.projections import in_bng_area
from service import access, metrics
from service.access import StaffUser, sees
from service.db import changes
from service.db import contacts as repo
from service.db import persons as persons_repo
from service.db import referrals as referral_repo
from service.db.engine import constraint_name, transaction
from service.exceptions import AccessDeniedError, InvalidInputError, NotFoundError, ServiceError
from service.runtime import Runtime
from service.schemas.contacts import (
    ContactBatch,
    ContactBatchResult,
    ContactIn,
    ContactItemResult,
    ItemProblem,
    ItemResultKind,
)
from service.usecases.areas.sync import ensure_loaded

NO_SUCH_PERSON = "no such person"
STATUS_OF = {NotFoundError: 404, AccessDeniedError: 403, InvalidInputError: 422}
# Foreign keys a client can name: an unknown id becomes a rejected item (admins name any team).
UNKNOWN_REFERENCE = {
    "fk_contacts_team_id_teams": "team_id",
    "fk_contacts_person_id_persons": "person_id",
}


def content_hash(item: ContactIn) -> str:
    return hashlib.sha256(msgspec.json.encode(item, order="sorted")).hexdigest()


def resolve_team(user: StaffUser, item: ContactIn) -> int:
    """The team a contact belongs to: the one named (if the user is in it), else the user's
    only team."""
    if item.team_id is not None:
        if user.is_admin or item.team_id in user.team_ids:
            return item.team_id
        raise AccessDeniedError("you are not a member of that team")
    if len(user.team_ids) == 1:
        return user.team_ids[0]
    raise InvalidInputError("say which team this contact is for", field="team_id")


async def _check_referral(session: AsyncSession, user: StaffUser, referral_id: uuid.UUID) -> None:
    row = await referral_repo.get_scope(session, referral_id)
    if row is None or not sees(user, row):
        raise NotFoundError("no such referral in your area")


async def _persons_in_scope(
    session: AsyncSession, user: StaffUser, ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """The named persons the user may link a contact to: those in their scope."""
    if not ids:
        return set()
    return await persons_repo.ids_in_scope(session, ids, access.params_of(user))


def _values(
    user: StaffUser, item: ContactIn, team_id: int, matches: Sequence[Area]
) -> dict[str, Any]:
    """The contact's row: ``matches`` are the areas covering it (``AreaIndex.lookup``)."""
    return {
        "id": item.id,
        "content_hash": content_hash(item),
        "team_id": team_id,
        "worker_id": user.id,
        "observed_at": item.observed_at,
        "lat": item.lat,
        "lon": item.lon,
        "accuracy_m": item.accuracy_m,
        "authority_code": matches[0].code if matches else None,
        "person_id": item.person_id,
        "referral_id": item.referral_id,
        "bedded_down": item.bedded_down,
        "contact_type": item.contact_type,
        "engagement": item.engagement,
        "offers_made": msgspec.json.encode(sorted(set(item.offers_made))).decode(),
        "offers_accepted": msgspec.json.encode(sorted(set(item.offers_accepted))).decode(),
        "outcome": item.outcome,
        "safeguarding_concern": item.safeguarding_concern,
        "notes": item.notes,
    }


async def apply_one(
    runtime: Runtime, session: AsyncSession, user: StaffUser, item: ContactIn
) -> ContactItemResult:
    team_id = _checked_team(user, item)
    if item.referral_id is not None:
        await _check_referral(session, user, item.referral_id)
    if item.person_id is not None and not await _persons_in_scope(session, user, {item.person_id}):
        raise InvalidInputError(NO_SUCH_PERSON, field="person_id")
    values = _values(user, item, team_id, runtime.areas.index.lookup(item.lon, item.lat))
    if not await _insert(session, values):
        stored = await repo.content_hash(session, item.id)
        kind: ItemResultKind = "duplicate" if stored == values["content_hash"] else "conflict"
        problem = (
            None
            if kind == "duplicate"
            else ItemProblem(
                status=409,
                title="Conflicts with stored data",
                detail="this id was already used for a different contact; nothing was overwritten",
            )
        )
        return ContactItemResult(id=item.id, result=kind, problem=problem)
    if item.support_needs or item.health_notes:
        await repo.insert_sensitive(session, item.id, list(item.support_needs), item.health_notes)
    await changes.append(
        session,
        team_id=team_id,
        kind="contact_created",
        entity_id=str(item.id),
        data={"bedded_down": item.bedded_down},
    )
    return ContactItemResult(id=item.id, result="created")


async def _insert(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the contact; an id naming no team or person is the sender's mistake, not a 500."""
    try:
        return await repo.insert(session, values)
    except IntegrityError as exc:
        if field := UNKNOWN_REFERENCE.get(constraint_name(exc)):
            raise InvalidInputError(f"no such {field.removesuffix('_id')}", field=field) from None
        raise


def _rejected(item: ContactIn, exc: ServiceError) -> ContactItemResult:
    status = next((code for cls, code in STATUS_OF.items() if isinstance(exc, cls)), 400)
    field = getattr(exc, "field", None)
    errors = [{"field": field, "message": str(exc)}] if field else []
    problem = msgspec.convert(
        {"status": status, "title": "Not applied", "detail": str(exc), "errors": errors},
        ItemProblem,
    )
    return ContactItemResult(id=item.id, result="rejected", problem=problem)


async def apply_batch(runtime: Runtime, user: StaffUser, batch: ContactBatch) -> ContactBatchResult:
    await ensure_loaded(runtime)
    try:
        async with transaction(runtime.sessions) as session:
            results = await _apply_together(runtime, session, user, batch.items)
    except IntegrityError:
        # A person or team named by an item went away between the checks and the write: the
        # batch's transaction rolled back, and a new one applies the items one at a time, each
        # rejected or stored on its own. (Not a savepoint around the batch in one transaction:
        # that cost every batch two more round trips for a race a day at most.)
        async with transaction(runtime.sessions) as session:
            results = await _apply_one_by_one(runtime, session, user, batch.items)
    created = {r.id for r in results if r.result == "created"}
    for item in batch.items:
        if item.id in created:
            runtime.hotspots.add_contact(bedded_down=item.bedded_down)
    counts = {
        kind: sum(r.result == kind for r in results)
        for kind in ("created", "duplicate", "conflict", "rejected")
    }
    worked = {f"referral:{i.referral_id}" for i in batch.items if i.id in created and i.referral_id}
    if worked:
        runtime.assignment_runs.request("contacts", worked)  # work on referrals was recorded
    metrics.contacts_applied(counts)
    return ContactBatchResult(
        results=results,
        created=counts["created"],
        duplicates=counts["duplicate"],
        conflicts=counts["conflict"],
        rejected=counts["rejected"],
    )


async def _apply_one_by_one(
    runtime: Runtime, session: AsyncSession, user: StaffUser, items: list[ContactIn]
) -> list[ContactItemResult]:
    results: list[ContactItemResult] = []
    for item in items:
        try:
            async with session.begin_nested():
                results.append(await apply_one(runtime, session, user, item))
        except ServiceError as exc:
            results.append(_rejected(item, exc))
    return results


async def _apply_together(
    runtime: Runtime, session: AsyncSession, user: StaffUser, items: list[ContactIn]
) -> list[ContactItemResult]:
    """The whole batch in a few statements, with the results ``apply_one`` gives item by item:
    checks without the database, then the named referrals, persons and teams (one query
    each), then one insert of every new contact, then the stored hashes of the rest."""
    results: dict[int, ContactItemResult] = {}
    teams: dict[int, int] = {}
    for i, item in enumerate(items):
        try:
            teams[i] = _checked_team(user, item)
        except ServiceError as exc:
            results[i] = _rejected(item, exc)
    where = runtime.areas.index.lookup_many(
        [items[i].lon for i in teams], [items[i].lat for i in teams]
    )
    pending = {
        i: _values(user, items[i], team, areas)
        for (i, team), areas in zip(teams.items(), where, strict=True)
    }
    for i, error in (await _reference_errors(session, user, pending)).items():
        results[i] = _rejected(items[i], error)
        del pending[i]
    first_of: dict[uuid.UUID, int] = {}
    for i, values in pending.items():
        first_of.setdefault(values["id"], i)
    rows = [_batch_row(i, pending[i], items[i]) for i in first_of.values()]
    inserted = await repo.insert_many(session, rows) if rows else set()
    stored = await repo.content_hashes(session, [c for c in first_of if c not in inserted])
    for i, values in pending.items():
        contact_id = values["id"]
        if contact_id in inserted and first_of[contact_id] == i:
            results[i] = ContactItemResult(id=contact_id, result="created")
            continue
        known = pending[first_of[contact_id]] if contact_id in inserted else None
        stored_hash = known["content_hash"] if known else stored.get(contact_id)
        results[i] = _not_new(contact_id, stored_hash == values["content_hash"])
    return [results[i] for i in range(len(items))]


def _checked_team(user: StaffUser, item: ContactIn) -> int:
    """The team an item is logged for, once its place is in Great Britain."""
    if not in_bng_area(item.lon, item.lat):
        raise InvalidInputError("the location is outside Great Britain", field="lat")
    return resolve_team(user, item)


async def _reference_errors(
    session: AsyncSession, user: StaffUser, pending: dict[int, dict[str, Any]]
) -> dict[int, ServiceError]:
    """Items naming a referral or a person outside the user's scope (as if missing), or a
    team that does not exist (what the foreign keys would refuse)."""
    named = pending.values()
    referrals = await repo.referral_scopes(
        session, {v["referral_id"] for v in named if v["referral_id"]}
    )
    persons = await _persons_in_scope(
        session, user, {v["person_id"] for v in named if v["person_id"]}
    )
    # The user's own teams exist: they were read with the user for this request, and a team
    # leaves user_teams with its row. Only the others (an admin may name any) are looked up.
    own = set(user.team_ids)
    teams = own | await repo.existing_ids(session, "teams", {v["team_id"] for v in named} - own)
    errors: dict[int, ServiceError] = {}
    for i, v in pending.items():
        scope = referrals.get(v["referral_id"]) if v["referral_id"] else None
        if v["referral_id"] and not (scope and sees(user, scope)):
            errors[i] = NotFoundError("no such referral in your area")
        elif v["team_id"] not in teams:
            errors[i] = InvalidInputError("no such team", field="team_id")
        elif v["person_id"] and v["person_id"] not in persons:
            errors[i] = InvalidInputError(NO_SUCH_PERSON, field="person_id")
    return errors


def _batch_row(order: int, values: dict[str, Any], item: ContactIn) -> dict[str, Any]:
    return {
        **values,
        "ord": order,
        "offers_made": sorted(set(item.offers_made)),
        "offers_accepted": sorted(set(item.offers_accepted)),
        "support_needs": list(item.support_needs),
        "health_notes": item.health_notes,
    }


def _not_new(contact_id: uuid.UUID, same_content: bool) -> ContactItemResult:
    if same_content:
        return ContactItemResult(id=contact_id, result="duplicate")
    problem = ItemProblem(
        status=409,
        title="Conflicts with stored data",
        detail="this id was already used for a different contact; nothing was overwritten",
    )
    return ContactItemResult(id=contact_id, result="conflict", problem=problem)
