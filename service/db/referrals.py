"""Repository for referrals, their referrer contact, events and duplicate links."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import Db, fetch_dicts, jsonb, sql

# referral_by_submission_key.sql names the same columns
PUBLIC_COLUMNS = (
    "id, reference, status, outcome, urgent, received_at, updated_at, closed_at, "
    "token_salt, status_token_hash, located_by"
)


async def intake(db: Db, values: dict[str, Any]) -> dict[str, Any] | None:
    """Store a referral with its referrer contact, events, change-feed row and duplicate links
    in one statement (``referral_intake.sql``); ``None`` when its submission key was used."""
    rows = await fetch_dicts(db, "referral_intake", values)
    return rows[0] if rows else None


async def get_by_submission_key(db: Db, key_hash: str) -> dict[str, Any] | None:
    """The referral a submission key stored (``PUBLIC_COLUMNS``)."""
    rows = await fetch_dicts(db, "referral_by_submission_key", {"k": key_hash})
    return rows[0] if rows else None


async def get_public(session: AsyncSession, reference: str) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(f"SELECT {PUBLIC_COLUMNS} FROM referrals WHERE reference = :r"),
                {"r": reference},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def add_event(
    session: AsyncSession,
    referral_id: uuid.UUID,
    kind: str,
    *,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO referral_events (referral_id, kind, actor, data) "
            "VALUES (:id, :kind, :actor, CAST(:data AS jsonb))"
        ),
        {"id": referral_id, "kind": kind, "actor": actor, "data": jsonb(data or {})},
    )


LIST_SQL = text(
    "SELECT id, reference, status, outcome, urgent, authority_code, team_id, received_at, "
    "seen_at, site_type, location_quality, attempts, next_shift_due_at, outcome_due_at, "
    "COALESCE(status <> 'closed' AND (now() > outcome_due_at OR (attempts = 0 AND now() > "
    " next_shift_due_at)), false) AS sla_breached "
    "FROM referrals "
    "WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes, "
    "                    authority_code, team_id) "
    "AND (CAST(:status AS text) IS NULL OR status = :status) "
    "AND (CAST(:team_id AS integer) IS NULL OR team_id = :team_id) "
    "ORDER BY urgent DESC, received_at DESC LIMIT :limit OFFSET :offset"
)


async def list_for_staff(
    session: AsyncSession, scope: dict[str, Any], filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Referrals the scope (``service.access.params``) may see, most urgent and newest first;
    ``sla_breached`` is false, not unknown, while a referral has no due times (no location)."""
    rows = await session.execute(LIST_SQL, {**scope, **filters})
    return [dict(r) for r in rows.mappings()]


async def get_whole(session: AsyncSession, referral_id: uuid.UUID) -> dict[str, Any] | None:
    """Every column of one referral with its position as ``lat``/``lon``."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT *, ST_Y(geom) AS lat, ST_X(geom) AS lon FROM referrals WHERE id = :id"
                ),
                {"id": referral_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def get_referrer_contact(
    session: AsyncSession, referral_id: uuid.UUID
) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    "SELECT name, email, phone, wants_update FROM referrer_contacts "
                    "WHERE referral_id = :id"
                ),
                {"id": referral_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def lock(session: AsyncSession, referral_id: uuid.UUID) -> None:
    """Hold the referral's row lock to the end of this transaction."""
    await session.execute(
        text("SELECT 1 FROM referrals WHERE id = :id FOR UPDATE"), {"id": referral_id}
    )


async def lock_many(session: AsyncSession, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Lock these referrals (in id order, so two callers never deadlock) and return their
    scope and state."""
    rows = await session.execute(
        text(
            "SELECT id, authority_code, team_id, status, outcome FROM referrals "
            "WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"
        ),
        {"ids": ids},
    )
    return [dict(r) for r in rows.mappings()]


async def get_scope(session: AsyncSession, referral_id: uuid.UUID) -> dict[str, Any] | None:
    """The referral's authority and team (for a scope check), or ``None``."""
    row = (
        (
            await session.execute(
                text("SELECT authority_code, team_id FROM referrals WHERE id = :id"),
                {"id": referral_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def get_state(session: AsyncSession, referral_id: uuid.UUID) -> dict[str, Any] | None:
    """The referral's lifecycle state, scope and count of searches that did not find the
    person, or ``None``."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT r.id, r.reference, r.status, r.outcome, r.attempts, r.closed_at, "
                    "r.team_id, r.authority_code, (SELECT count(*) FROM referral_attempts a "
                    "WHERE a.referral_id = r.id AND NOT a.found) AS not_found_attempts "
                    "FROM referrals r WHERE r.id = :id"
                ),
                {"id": referral_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def add_attempt(
    session: AsyncSession,
    *,
    attempt_id: uuid.UUID,
    referral_id: uuid.UUID,
    worker_id: int,
    attempted_at: dt.datetime,
    found: bool,
    lon: float | None,
    lat: float | None,
    note: str | None,
) -> bool:
    """Store a search attempt unless one with this id exists; True when it was stored."""
    inserted = await session.execute(
        sql("referral_attempt_insert"),
        {
            "id": attempt_id,
            "rid": referral_id,
            "worker": worker_id,
            "at": attempted_at,
            "found": found,
            "lon": lon,
            "lat": lat,
            "note": note,
        },
    )
    return inserted.first() is not None


async def mark_attempted(session: AsyncSession, referral_id: uuid.UUID) -> None:
    await session.execute(
        text(
            "UPDATE referrals SET attempts = attempts + 1, status = 'attempted', "
            "updated_at = now() WHERE id = :id"
        ),
        {"id": referral_id},
    )


async def close(session: AsyncSession, referral_id: uuid.UUID, outcome: str) -> None:
    await session.execute(
        text(
            "UPDATE referrals SET status = 'closed', outcome = :o, closed_at = now(), "
            "updated_at = now() WHERE id = :id"
        ),
        {"o": outcome, "id": referral_id},
    )


async def mark_duplicate_merged(session: AsyncSession, referral_id: uuid.UUID) -> dict[str, Any]:
    """Close the referral as ``duplicate_merged``; its scope and new state."""
    row = (
        (
            await session.execute(
                text(
                    "UPDATE referrals SET status = 'closed', outcome = 'duplicate_merged', "
                    "closed_at = now(), updated_at = now() WHERE id = :id "
                    "RETURNING id, authority_code, team_id, status, outcome"
                ),
                {"id": referral_id},
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


async def upsert_duplicate_decision(
    session: AsyncSession,
    referral_id: uuid.UUID,
    other_id: uuid.UUID,
    *,
    state: str,
    decided_by: int,
) -> None:
    """Record a coordinator's decision on a possible duplicate pair (it replaces any
    earlier one)."""
    await session.execute(
        text(
            "INSERT INTO referral_duplicates (referral_id, other_id, reason, state, decided_by, "
            "decided_at) VALUES (:a, :b, 'coordinator', :state, :user, now()) "
            "ON CONFLICT (referral_id, other_id) DO UPDATE SET state = EXCLUDED.state, "
            "decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at"
        ),
        {"a": referral_id, "b": other_id, "state": state, "user": decided_by},
    )


async def place(session: AsyncSession, referral_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Put a referral at a position placed by a coordinator, with its new routing and due
    times; an open referral not yet searched becomes ``assigned`` or ``received`` by whether
    a team now holds it."""
    await session.execute(
        text(
            "UPDATE referrals SET "
            "geom = ST_SetSRID(ST_MakePoint(CAST(:lon AS double precision), "
            "                               CAST(:lat AS double precision)), 4326), "
            "accuracy_m = NULL, location_accuracy_m = NULL, location_quality = 'pin', "
            "located_by = 'coordinator', authority_code = :authority_code, "
            "boundary_version_id = :boundary_version_id, team_id = :team_id, "
            "routing_reason = :routing_reason, out_of_area = :out_of_area, "
            "next_shift_due_at = :next_shift_due_at, "
            "status = CASE WHEN status IN ('received', 'assigned') THEN "
            "  (CASE WHEN CAST(:team_id AS integer) IS NULL THEN 'received' ELSE 'assigned' END) "
            "  ELSE status END, "
            "updated_at = now() WHERE id = :id"
        ),
        {**values, "id": referral_id},
    )


async def get_placement(session: AsyncSession, referral_id: uuid.UUID) -> dict[str, Any] | None:
    """Where a referral is and how it is routed (after a placement)."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT r.id, r.reference, r.status, r.authority_code, r.team_id, "
                    "t.name AS team_name, r.routing_reason, r.boundary_version_id, "
                    "r.out_of_area, r.located_by, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat "
                    "FROM referrals r LEFT JOIN teams t ON t.id = r.team_id WHERE r.id = :id"
                ),
                {"id": referral_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def get_flags(session: AsyncSession, referral_id: uuid.UUID) -> dict[str, Any] | None:
    """What decides whether a referral may be placed or forwarded, with its scope."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT id, reference, status, outcome, authority_code, team_id, "
                    "out_of_area, received_at, geom IS NOT NULL AS located "
                    "FROM referrals WHERE id = :id FOR UPDATE"
                ),
                {"id": referral_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def queue(
    session: AsyncSession, scope: dict[str, Any], filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """The coordinators' queue (``referral_queue.sql``): open referrals in scope with their
    triage flags, filtered."""
    rows = await session.execute(sql("referral_queue"), {**scope, **filters})
    return [dict(r) for r in rows.mappings()]


QUEUE_VERSION_SQL = text(
    "SELECT count(*) AS open_referrals, max(r.updated_at) AS last_change, "
    "(SELECT max(computed_at) FROM assignments) AS last_assignment "
    "FROM referrals r WHERE r.status <> 'closed' "
    "AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes, "
    "                  r.authority_code, r.team_id)"
)


async def queue_version(session: AsyncSession, scope: dict[str, Any]) -> dict[str, Any]:
    """How many open referrals the scope holds and when any last changed: what a console
    polls to know whether to fetch the queue again (no personal data)."""
    row = (await session.execute(QUEUE_VERSION_SQL, scope)).mappings().one()
    return dict(row)
