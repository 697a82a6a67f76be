"""Repository for assignments, their runs, coordinator overrides and SWEP states."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import CUSTOM_PLANS, jsonb, sql

ASSIGNMENT_LOCK = 7_301_003
"""pg_advisory_xact_lock key: one assignment run at a time across every app process."""


def _dicts(result: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in result.mappings()]


async def lock_runs(session: AsyncSession) -> None:
    """Wait for any other run (in any process) to commit, then hold the lock to the end of
    this transaction."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ASSIGNMENT_LOCK})


# --- inputs of a run ------------------------------------------------------------------------


async def open_referrals(session: AsyncSession) -> list[dict[str, Any]]:
    return _dicts(await session.execute(sql("assignment_open_referrals")))


async def active_hotspots(
    session: AsyncSession, *, layers: Sequence[str], since: dt.datetime
) -> list[dict[str, Any]]:
    return _dicts(
        await session.execute(
            sql("assignment_active_hotspots"), {"layers": list(layers), "since": since}
        )
    )


async def active_teams(session: AsyncSession, team_id: int | None = None) -> list[dict[str, Any]]:
    return _dicts(await session.execute(sql("assignment_teams"), {"team_id": team_id}))


async def swep_authorities(session: AsyncSession) -> frozenset[str]:
    rows = await session.execute(text("SELECT authority_code FROM swep_states WHERE active"))
    return frozenset(r.authority_code for r in rows)


async def active_overrides(session: AsyncSession) -> list[dict[str, Any]]:
    return _dicts(
        await session.execute(
            text(
                "SELECT id, item_kind, item_id, team_id, shift_date, note, created_by_name, "
                "created_at FROM assignment_overrides WHERE released_at IS NULL"
            )
        )
    )


# --- storing a run --------------------------------------------------------------------------


async def add_run(session: AsyncSession, values: dict[str, Any]) -> int:
    run_id = (
        await session.execute(
            text(
                "INSERT INTO assignment_runs (trigger, requested_by, started_at, finished_at, "
                "duration_ms, items, assigned, unassigned, overflowed, pinned, swep_authorities, "
                "incremental, inputs_digest, next_boundary_at) "
                "VALUES (:trigger, :requested_by, :started_at, :finished_at, :duration_ms, "
                ":items, :assigned, :unassigned, :overflowed, :pinned, "
                "CAST(:swep_authorities AS jsonb), :incremental, :inputs_digest, "
                ":next_boundary_at) RETURNING id"
            ),
            {
                "incremental": False,
                "inputs_digest": None,
                "next_boundary_at": None,
                **values,
                "swep_authorities": jsonb(values["swep_authorities"]),
            },
        )
    ).scalar_one()
    return int(run_id)


async def finish_run(
    session: AsyncSession,
    run_id: int,
    *,
    finished_at: dt.datetime,
    duration_ms: float,
    counts: Mapping[str, int] | None = None,
) -> None:
    counts = counts or {}
    await session.execute(
        text(
            "UPDATE assignment_runs SET finished_at = :finished_at, duration_ms = :duration_ms, "
            "items = COALESCE(:items, items), assigned = COALESCE(:assigned, assigned), "
            "unassigned = COALESCE(:unassigned, unassigned), "
            "overflowed = COALESCE(:overflowed, overflowed), pinned = COALESCE(:pinned, pinned) "
            "WHERE id = :id"
        ),
        {
            "id": run_id,
            "finished_at": finished_at,
            "duration_ms": duration_ms,
            **{
                k: counts.get(k)
                for k in ("items", "assigned", "unassigned", "overflowed", "pinned")
            },
        },
    )


async def latest_full_run(session: AsyncSession) -> dict[str, Any] | None:
    """The last full run's inputs digest and next shift boundary (incremental runs build on
    it while both hold)."""
    row = (
        (
            await session.execute(
                text(
                    "SELECT id, inputs_digest, next_boundary_at, swep_authorities "
                    "FROM assignment_runs WHERE NOT incremental ORDER BY id DESC LIMIT 1"
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _skip_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "item_kind": r["item_kind"],
            "item_id": r["item_id"],
            "team_id": s["team_id"],
            "shift_start": s["shift_start"],
            "priority": r["priority"],
        }
        for r in rows
        for s in r["reasons"]["full_slots"]
    ]


async def replace_assignments(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Every open item's assignment, replacing the previous run's rows (one transaction)."""
    await session.execute(text("DELETE FROM assignments"))
    if rows:
        await session.execute(
            sql("assignment_insert"),
            [{**r, "reasons": jsonb(r["reasons"]), "inputs": jsonb(r["inputs"])} for r in rows],
        )
        skips = _skip_rows(rows)
        if skips:
            await session.execute(sql("assignment_skips_insert"), skips)


# --- incremental placement ------------------------------------------------------------------


async def put_assignment(session: AsyncSession, row: dict[str, Any]) -> None:
    """Store one item's assignment (insert or replace) with the shifts it skipped."""
    await put_assignments(session, [row])


_PLACED_COLUMNS = (
    "item_kind", "item_id", "work_kind", "authority_code", "team_id", "shift_start", "shift_end",
    "shift_index", "rule", "priority", "urgent", "swep", "due_at", "serve_at", "within_sla",
    "reasons", "inputs", "computed_at", "run_id",
)  # fmt: skip
_SKIP_COLUMNS = ("item_kind", "item_id", "team_id", "shift_start", "priority")


async def put_assignments(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store many items' assignments at once (each item once): :func:`put_assignment` of
    each, in one statement whose parameters are the columns as arrays
    (``assignment_upsert_many.sql``)."""
    if not rows:
        return
    placed = [{**r, "reasons": jsonb(r["reasons"]), "inputs": jsonb(r["inputs"])} for r in rows]
    skips = _skip_rows(rows)
    params = {c: [r[c] for r in placed] for c in _PLACED_COLUMNS}
    params |= {f"skip_{c}": [s[c] for s in skips] for c in _SKIP_COLUMNS}
    await session.execute(sql("assignment_upsert_many"), params)


async def placed_on(session: AsyncSession, team_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every item placed on a shift of these teams: bounded by their capacity over the horizon,
    not by the backlog (unplaced items have no team)."""
    return _dicts(
        await session.execute(
            text(
                "SELECT item_kind, item_id, team_id, shift_start, priority FROM assignments "
                "WHERE team_id = ANY(:t) AND shift_start IS NOT NULL"
            ),
            {"t": list(team_ids)},
        )
    )


async def take_assignment(session: AsyncSession, kind: str, item_id: str) -> dict[str, Any] | None:
    """Delete one item's assignment; returns its team, shift and priority (None if none)."""
    row = (
        (
            await session.execute(
                text(
                    "DELETE FROM assignments WHERE item_kind = :k AND item_id = :i "
                    "RETURNING team_id, shift_start, priority"
                ),
                {"k": kind, "i": item_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def stored_assignment(
    session: AsyncSession, kind: str, item_id: str
) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    "SELECT team_id, shift_start, priority, rule, inputs FROM assignments "
                    "WHERE item_kind = :k AND item_id = :i"
                ),
                {"k": kind, "i": item_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def slot_use(
    session: AsyncSession, slots: Sequence[tuple[int, dt.datetime]], priority: str
) -> dict[tuple[int, dt.datetime], int]:
    """Visits of these shifts, ``(team_id, shift_start)``, taken by items ahead of
    ``priority`` (shifts nobody is on yet are left out)."""
    rows = await session.execute(
        sql("assignment_slot_use"),
        {
            "team_ids": [t for t, _ in slots],
            "shift_starts": [s for _, s in slots],
            "priority": priority,
        },
    )
    return {(r.team_id, r.shift_start): int(r.n) for r in rows if r.n}


async def skipping(
    session: AsyncSession, team_id: int, shift_start: dt.datetime, after: str, *, limit: int
) -> list[dict[str, Any]]:
    """The items after ``after`` that skipped this full shift, in priority order."""
    return _dicts(
        await session.execute(
            sql("assignment_skipping"),
            {"team_id": team_id, "shift_start": shift_start, "priority": after, "limit": limit},
        )
    )


async def referral_items(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """These referrals as work items, those that are open work."""
    return _dicts(await session.execute(sql("assignment_referral_items"), {"ids": list(ids)}))


async def hotspot_items(
    session: AsyncSession, ids: Sequence[int], *, layers: Sequence[str], since: dt.datetime
) -> list[dict[str, Any]]:
    """These hotspots as work items, those that are work."""
    return _dicts(
        await session.execute(
            sql("assignment_hotspot_items"),
            {"ids": list(ids), "layers": list(layers), "since": since},
        )
    )


async def overrides_of_many(
    session: AsyncSession, kind: str, item_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The active overrides of some items of one kind, by item id."""
    rows = _dicts(
        await session.execute(
            text(
                "SELECT id, item_kind, item_id, team_id, shift_date, note, created_by_name, "
                "created_at FROM assignment_overrides WHERE released_at IS NULL "
                "AND item_kind = :k AND item_id = ANY(:ids)"
            ),
            {"k": kind, "ids": list(item_ids)},
        )
    )
    return {r["item_id"]: r for r in rows}


async def assigned_ids(session: AsyncSession, kind: str, item_ids: Sequence[str]) -> set[str]:
    """Which of these items of one kind have a stored assignment (one key probe an item)."""
    rows = await session.execute(
        sql("assignment_placed_ids"), {"kind": kind, "ids": list(item_ids)}
    )
    return {r[0] for r in rows}


async def move_referrals(
    session: AsyncSession, referral_teams: Sequence[tuple[uuid.UUID, int]]
) -> list[dict[str, Any]]:
    """Point open referrals at the team they are assigned to; returns those that moved."""
    if not referral_teams:
        return []
    return _dicts(
        await session.execute(
            sql("assignment_referral_teams"),
            {
                "ids": [rid for rid, _ in referral_teams],
                "team_ids": [tid for _, tid in referral_teams],
            },
        )
    )


async def release_overrides(session: AsyncSession, ids: Sequence[int], *, by: str) -> None:
    """Release overrides whose item is no longer open work."""
    if ids:
        await session.execute(
            text(
                "UPDATE assignment_overrides SET released_at = now(), released_by_name = :by "
                "WHERE id = ANY(:ids) AND released_at IS NULL"
            ),
            {"ids": list(ids), "by": by},
        )


async def latest_run(session: AsyncSession) -> dict[str, Any] | None:
    row = (
        (await session.execute(text("SELECT * FROM assignment_runs ORDER BY id DESC LIMIT 1")))
        .mappings()
        .first()
    )
    return dict(row) if row else None


# --- reading --------------------------------------------------------------------------------


async def list_assignments(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Filtered by scope (``all``/``teams``/``codes``) and by team, item kind, rule, item."""
    await session.execute(CUSTOM_PLANS)  # optional filters: no generic plans
    return _dicts(await session.execute(sql("assignment_list"), params))


async def shift_visits(
    session: AsyncSession, *, team_id: int, shift_start: dt.datetime, scope: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The team's visits on that shift that the scope (``service.access.params``) may see."""
    return _dicts(
        await session.execute(
            sql("assignment_shift_visits"),
            {**scope, "team_id": team_id, "shift_start": shift_start},
        )
    )


async def team(session: AsyncSession, team_id: int) -> dict[str, Any] | None:
    rows = await active_teams(session, team_id)
    return rows[0] if rows else None


# --- overrides ------------------------------------------------------------------------------

ITEM_SQL = {
    "referral": text(
        "SELECT authority_code, team_id, (status <> 'closed') AS open, "
        "(status <> 'closed' AND geom_bng IS NOT NULL AND authority_code IS NOT NULL) AS workable "
        "FROM referrals WHERE id = :id"
    ),
    "hotspot": text(
        "SELECT authority_code, team_id, (status = 'active') AS open, "
        "(status = 'active' AND authority_code IS NOT NULL) AS workable "
        "FROM hotspots WHERE id = :id"
    ),
}


async def item_subject(session: AsyncSession, kind: str, item_id: str) -> dict[str, Any] | None:
    """The authority, team and state of a referral or hotspot named by an item key."""
    key: uuid.UUID | int = uuid.UUID(item_id) if kind == "referral" else int(item_id)
    row = (await session.execute(ITEM_SQL[kind], {"id": key})).mappings().first()
    return dict(row) if row else None


async def release_override(
    session: AsyncSession, kind: str, item_id: str, *, user_id: int | None, by: str
) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    "UPDATE assignment_overrides SET released_at = now(), released_by = :uid, "
                    "released_by_name = :by WHERE item_kind = :kind AND item_id = :item_id "
                    "AND released_at IS NULL RETURNING id, team_id, shift_date, note"
                ),
                {"kind": kind, "item_id": item_id, "uid": user_id, "by": by},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def add_override(session: AsyncSession, values: dict[str, Any]) -> int:
    override_id = (
        await session.execute(
            text(
                "INSERT INTO assignment_overrides (item_kind, item_id, team_id, shift_date, note, "
                "created_by, created_by_name) VALUES (:item_kind, :item_id, :team_id, "
                ":shift_date, :note, :created_by, :created_by_name) RETURNING id"
            ),
            values,
        )
    ).scalar_one()
    return int(override_id)


# --- SWEP -----------------------------------------------------------------------------------


async def authority_name(session: AsyncSession, code: str) -> str | None:
    name = (
        await session.execute(
            text(
                "SELECT a.name FROM authorities a JOIN boundary_versions v "
                "ON v.id = a.version_id AND v.is_current WHERE a.code = :code"
            ),
            {"code": code},
        )
    ).scalar_one_or_none()
    return None if name is None else str(name)


async def swep_was_active(session: AsyncSession, code: str) -> bool:
    """Whether SWEP is on for ``code`` now (its row locked to the end of the transaction)."""
    found = await session.execute(
        text("SELECT active FROM swep_states WHERE authority_code = :code FOR UPDATE"),
        {"code": code},
    )
    return bool(found.scalar_one_or_none())


async def covering_team_ids(session: AsyncSession, code: str) -> list[int]:
    """The active teams covering the authority ``code``."""
    rows = await session.execute(
        text(
            "SELECT t.id FROM team_areas ta JOIN teams t ON t.id = ta.team_id AND t.active "
            "WHERE ta.authority_code = :code ORDER BY t.id"
        ),
        {"code": code},
    )
    return [int(r) for r in rows.scalars()]


async def set_swep(session: AsyncSession, *, code: str, active: bool, by: str) -> dict[str, Any]:
    row = (
        (await session.execute(sql("swep_upsert"), {"code": code, "active": active, "by": by}))
        .mappings()
        .one()
    )
    return dict(row)


async def swep_states(session: AsyncSession) -> list[dict[str, Any]]:
    return _dicts(await session.execute(sql("swep_list")))
