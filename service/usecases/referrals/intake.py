"""Public referral intake: normalise, route, store, link possible duplicates, give a receipt.

The referral is written with its events, change-feed row and duplicate links by one SQL
statement (``service/db/sql/referral_intake.sql``), so it is either stored whole or not at
all, and intake costs two queries: the covering teams, then the write.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from geo.areas import Area
from service import metrics
from service.db import areas as areas_repo
from service.db import places as places_repo
from service.db import referrals as repo
from service.db.engine import Db, constraint_name, jsonb, statements
from service.exceptions import InvalidInputError
from service.runtime import Runtime
from service.settings import Settings
from service.usecases.areas.sync import ensure_loaded
from service.usecases.messages import queue as messages
from service.usecases.places.locate import locate
from service.usecases.referrals.sla import next_shift_end, outcome_due
from service.vocabularies import LocatedBy
from streetlink.normalise import normalise
from streetlink.references import generate_reference
from streetlink.schema import NormalisedReferral, StreetLinkAlert

FINGERPRINT_WINDOW = dt.timedelta(hours=24)
MIN_SUBMISSION_KEY = 16
REFERENCE_ATTEMPTS = 5


HOW_LOCATED: dict[str, str] = {
    "pin": "the pin",
    "postcode": "its postcode (gazetteer)",
    "place": "a place named in its description (gazetteer)",
    "coordinator": "the coordinator's position",
}
"""How a routing reason names the position's source. Never the postcode or place itself: the
reason is kept after retention erases those (``service.retention_schedule``)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a referral is, and how that was found (``service.vocabularies.LOCATED_BY``)."""

    lon: float
    lat: float
    accuracy_m: float | None
    located_by: LocatedBy


@dataclass(frozen=True, slots=True)
class Routing:
    authority_code: str | None
    boundary_version_id: int | None
    team_id: int | None
    team_name: str | None
    reason: str
    out_of_area: bool
    shift_start: dt.time | None = None
    shift_end: dt.time | None = None
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    id: uuid.UUID
    reference: str
    status_token: str
    urgent: bool
    out_of_area: bool
    received_at: dt.datetime
    possible_duplicate: bool
    replayed: bool
    located_by: LocatedBy | None = None


def _sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def status_token(salt: bytes, key: str) -> str:
    """The referrer's status token, derived from their (secret) submission key."""
    digest = hmac.new(salt, key.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def token_matches(row: dict[str, Any], token: str) -> bool:
    expected = bytes(row["status_token_hash"])
    return hmac.compare_digest(hashlib.sha256(token.encode()).digest(), expected)


def fingerprint(referral: NormalisedReferral) -> str:
    """Same content, same fingerprint: catches a resend that carries no submission key."""
    content = msgspec.structs.asdict(referral)
    content.pop("referrer", None)
    for key in ("lat", "lon"):
        if content[key] is not None:
            content[key] = round(content[key], 4)
    for key in ("bng_e", "bng_n", "accuracy_m"):
        content.pop(key, None)
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()


def pinned(referral: NormalisedReferral) -> Position | None:
    """The referral's map pin as its position, if it has one."""
    if referral.lat is None or referral.lon is None:
        return None
    return Position(referral.lon, referral.lat, referral.accuracy_m, "pin")


async def position_of(db: Db, referral: NormalisedReferral) -> tuple[Position | None, str]:
    """The referral's pin, or a position from the gazetteer (its postcode, or a place named
    in its description); without either, why it waits for triage."""
    if (pin := pinned(referral)) is not None:
        return pin, ""
    located = await locate(db, referral)
    if located is not None:
        return Position(located.lon, located.lat, located.accuracy_m, located.located_by), ""
    if not await places_repo.loaded(db):
        return None, "no map pin and no gazetteer loaded: it waits for a coordinator (triage)"
    if referral.postcode:
        return None, (
            "no map pin and its postcode is not in the gazetteer: "
            "it waits for a coordinator (triage)"
        )
    return None, "no map pin and no place the gazetteer knows: it waits for a coordinator (triage)"


async def route(runtime: Runtime, db: Db, referral: NormalisedReferral) -> Routing:
    """Which authority and team a referral goes to, and why."""
    position, why_not = await position_of(db, referral)
    if position is None:
        return Routing(None, runtime.areas.version_id, None, None, why_not, False)
    return await route_position(runtime, db, position)


async def route_point(
    runtime: Runtime, session: AsyncSession, *, lon: float, lat: float
) -> Routing:
    """Which authority and team a position a coordinator placed (WGS84) goes to, and why."""
    return await route_position(runtime, session, Position(lon, lat, None, "coordinator"))


async def route_position(runtime: Runtime, db: Db, position: Position) -> Routing:
    """Which authority and team a position goes to, and why."""
    matches = runtime.areas.index.lookup(position.lon, position.lat)
    teams: list[dict[str, Any]] = []
    if matches:
        teams = await areas_repo.covering_teams(
            db, code=matches[0].code, lon=position.lon, lat=position.lat
        )
    return routing_of(position, matches[0] if matches else None, runtime.areas.version_id, teams)


def routing_of(
    position: Position, area: Area | None, version: int | None, teams: Sequence[Mapping[str, Any]]
) -> Routing:
    """The routing of a position in ``area`` (the first the area index found, or none) that
    ``teams`` cover (``area_lookup_teams.sql``: nearest base first), with its reason: the
    decision, apart from the reads it needs."""
    how = HOW_LOCATED[position.located_by]
    if area is None:
        return Routing(
            None,
            version,
            None,
            None,
            f"{how} is outside Greater Essex (boundary version {version})",
            True,
            position=position,
        )
    where = f"{how} is in {area.name} ({area.code}, boundary version {version})"
    if not teams:
        return Routing(
            area.code,
            version,
            None,
            None,
            f"{where} but no active team covers it",
            False,
            position=position,
        )
    team = teams[0]
    why = f"{where}; {team['name']} covers it"
    if len(teams) > 1:
        why += f" and its base is nearest of {len(teams)} covering teams"
    return Routing(
        area.code,
        version,
        team["id"],
        team["name"],
        why,
        False,
        team["shift_start"],
        team["shift_end"],
        position,
    )


def _row_values(
    referral: NormalisedReferral, routing: Routing, now: dt.datetime, outcome_days: int
) -> dict[str, Any]:
    values = msgspec.structs.asdict(referral)
    for dropped in ("referrer", "bng_e", "bng_n", "seen_date"):
        values.pop(dropped)
    values["seen_time_band"] = str(referral.seen_time_band)
    position = routing.position
    values["lon"] = position.lon if position else None
    values["lat"] = position.lat if position else None
    values["located_by"] = position.located_by if position else None
    values["location_accuracy_m"] = position.accuracy_m if position else None
    values["status"] = "assigned" if routing.team_id else "received"
    values["authority_code"] = routing.authority_code
    values["boundary_version_id"] = routing.boundary_version_id
    values["team_id"] = routing.team_id
    values["routing_reason"] = routing.reason
    values["out_of_area"] = routing.out_of_area
    values["next_shift_due_at"] = (
        next_shift_end(now, routing.shift_start, routing.shift_end)
        if routing.shift_start and routing.shift_end
        else None
    )
    values["outcome_due_at"] = outcome_due(now, days=outcome_days)
    values["received_at"] = now
    return values


async def submit(
    runtime: Runtime,
    alert: StreetLinkAlert,
    *,
    source: str,
    submission_key: str | None = None,
    now: dt.datetime | None = None,
) -> Receipt:
    """Take one public alert. A resend with the same submission key returns the same receipt."""
    now = now or dt.datetime.now(dt.UTC)
    return await submit_normalised(
        runtime, normalise(alert, now=now), source=source, submission_key=submission_key, now=now
    )


async def submit_normalised(
    runtime: Runtime,
    referral: NormalisedReferral,
    *,
    source: str,
    submission_key: str | None = None,
    now: dt.datetime | None = None,
) -> Receipt:
    """Store an already normalised referral (API, form, Open311 or an imported CSV row)."""
    now = now or dt.datetime.now(dt.UTC)
    if submission_key is not None and len(submission_key) < MIN_SUBMISSION_KEY:
        raise InvalidInputError("the submission key is too short", field="Idempotency-Key")
    await ensure_loaded(runtime)
    key = submission_key or secrets.token_urlsafe(32)
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            async with statements(runtime.engine) as db:  # one atomic write statement
                receipt = await _store(
                    runtime, db, referral, source, key, now, keyed=submission_key is not None
                )
        except (IntegrityError, asyncpg.UniqueViolationError) as exc:  # a reference collision
            if constraint_name(exc) != "uq_referrals_reference":
                raise
        else:
            if not receipt.replayed:  # new work: cluster it, and assign it soon (background)
                metrics.referral_created(source)
                runtime.hotspots.add_referral()
                runtime.assignment_runs.request("referral_created", [f"referral:{receipt.id}"])
            return receipt
    raise InvalidInputError("could not allocate a reference, try again")


async def _store(
    runtime: Runtime,
    db: Db,
    referral: NormalisedReferral,
    source: str,
    key: str,
    now: dt.datetime,
    *,
    keyed: bool,
) -> Receipt:
    key_hash = _sha256_hex(key) if keyed else None
    routing = await route(runtime, db, referral)
    values, token = intake_values(
        runtime.settings, referral, routing, source=source, key=key, keyed=keyed, now=now
    )
    reference = values["reference"]
    inserted = await repo.intake(db, values)
    if inserted is None:  # this submission key was used before (or raced us): theirs it is
        existing = await repo.get_by_submission_key(db, key_hash or "")
        if existing is None:
            raise InvalidInputError("the submission could not be stored, try again")
        return _replayed_receipt(existing, key)
    return Receipt(
        id=inserted["id"],
        reference=reference,
        status_token=token,
        urgent=referral.urgent,
        out_of_area=routing.out_of_area,
        received_at=inserted["received_at"],
        possible_duplicate=inserted["duplicates"] > 0,
        replayed=False,
        located_by=routing.position.located_by if routing.position else None,
    )


def intake_values(
    settings: Settings,
    referral: NormalisedReferral,
    routing: Routing,
    *,
    source: str,
    key: str,
    keyed: bool,
    now: dt.datetime,
) -> tuple[dict[str, Any], str]:
    """The parameters of ``referral_intake.sql`` for one referral, and its status token (the
    benchmark's own-SQL baseline runs the statement with exactly these)."""
    salt = secrets.token_bytes(16)
    token = status_token(salt, key)
    values = _row_values(referral, routing, now, settings.outcome_due_days)
    values.update(
        reference=generate_reference(),
        status_token_hash=hashlib.sha256(token.encode()).digest(),
        token_salt=salt,
        submission_key=_sha256_hex(key) if keyed else None,
        fingerprint=fingerprint(referral),
        source=source,
        **_intake_records(referral, routing, source),
        **_duplicate_search(settings, now),
        **messages.intake_params(settings, referral.referrer, token, now, source=source),
    )
    return values, token


def _replayed_receipt(row: dict[str, Any], key: str) -> Receipt:
    return Receipt(
        id=row["id"],
        reference=row["reference"],
        status_token=status_token(bytes(row["token_salt"]), key),
        urgent=row["urgent"],
        out_of_area=False,
        received_at=row["received_at"],
        possible_duplicate=False,
        replayed=True,
        located_by=row.get("located_by"),
    )


def _intake_records(referral: NormalisedReferral, routing: Routing, source: str) -> dict[str, Any]:
    """Parameters of the rows written with the referral: the referrer's contact details (only
    when there is a way to reach them), the ``received`` and ``routed`` events and the
    change-feed row telling the team."""
    referrer = referral.referrer
    keep = bool(referrer and (referrer.email or referrer.phone))
    return {
        "referrer_keep": keep,
        "referrer_name": referrer.name if referrer and keep else None,
        "referrer_email": referrer.email if referrer and keep else None,
        "referrer_phone": referrer.phone if referrer and keep else None,
        "referrer_wants_update": bool(referrer and keep and referrer.wants_update),
        "received_actor": f"public:{source}",
        "received_data": jsonb({"urgent": referral.urgent}),
        "routed_data": jsonb(
            {
                "authority_code": routing.authority_code,
                "team_id": routing.team_id,
                "boundary_version_id": routing.boundary_version_id,
                "reason": routing.reason,
                "out_of_area": routing.out_of_area,
                "located_by": routing.position.located_by if routing.position else None,
            }
        ),
        "assigned_data": jsonb({"urgent": referral.urgent}),
    }


def _duplicate_search(settings: Settings, now: dt.datetime) -> dict[str, Any]:
    """Where to look for possible duplicates: the same content within the fingerprint window,
    or open referrals within the (capped) radius and time window."""
    return {
        "fingerprint_since": now - FINGERPRINT_WINDOW,
        "radius_m": min(settings.duplicate_radius_m, 5000.0),
        "window_h": settings.duplicate_window_hours,
    }
