"""Repository for hotspots: layer points, stored memberships, runs and events.

Writers of one layer's membership serialise on a transaction-level advisory lock per layer
(:func:`lock_layer`); a full recompute also holds :data:`RECOMPUTE_LOCK` so only one runs at
a time across every app process.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import fetch_records, jsonb, sql
from service.vocabularies import HOTSPOT_LAYERS

#: Advisory lock keys (first int of the two-int form; the second is the layer's index).
RECOMPUTE_LOCK = 7_301_010
LAYER_LOCK = 7_301_011

MemberKey = tuple[str, uuid.UUID]


@dataclass(frozen=True, slots=True)
class LayerPoints:
    """Points of one layer: keys ``(kind, id)``, BNG coordinates and, for the neighbourhood
    read, the stored hotspot (``-1`` for noise) and core flag."""

    keys: list[MemberKey]
    xy_bng: NDArray[np.float64]
    hotspot: NDArray[np.int64]
    core: NDArray[np.bool_]


def _points(rows: Sequence[Any], *, stored: bool) -> LayerPoints:
    n = len(rows)
    return LayerPoints(
        keys=[(r.kind, r.id) for r in rows],
        xy_bng=np.array([(r.x, r.y) for r in rows], dtype=np.float64).reshape(n, 2),
        hotspot=np.array([r.hotspot_id for r in rows] if stored else [-1] * n, dtype=np.int64),
        core=np.array([r.core for r in rows] if stored else [False] * n, dtype=np.bool_),
    )


LOCK_WAIT = "300s"
"""How long a fold or recompute waits its turn for a layer (``statement_timeout`` of the lock
statement alone). The statement timeout is for runaway queries; a fold that only waits while
another process folds a large, dense batch is not one. Under an end-of-shift burst of 60 phones
on the 2-core machine, folds of 1,000 points failed on the 15 s timeout while waiting here."""


async def lock_layer(session: AsyncSession, layer: str) -> None:
    """Take the layer's lock for this transaction, waiting up to :data:`LOCK_WAIT`; the
    transaction's own statement timeout applies again to everything after."""
    before = (await session.execute(text("SELECT current_setting('statement_timeout')"))).scalar()
    await session.execute(
        text("SELECT set_config('statement_timeout', :wait, true)"), {"wait": LOCK_WAIT}
    )
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:k, :layer)"),
        {"k": LAYER_LOCK, "layer": HOTSPOT_LAYERS.index(layer)},
    )
    await session.execute(
        text("SELECT set_config('statement_timeout', :before, true)"), {"before": before}
    )


async def try_lock_layer(session: AsyncSession, layer: str) -> bool:
    """Take the layer's lock for this transaction unless another holds it (a fold of the
    queue: the holder folds what waits, or the caller comes back)."""
    got = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(:k, :layer)"),
        {"k": LAYER_LOCK, "layer": HOTSPOT_LAYERS.index(layer)},
    )
    return bool(got.scalar_one())


async def queue_points(session: AsyncSession, layer: str, keys: Sequence[MemberKey]) -> None:
    """Queue points for the layer's next fold (those stored outside the intake statements,
    which queue their own: a coordinator's placement)."""
    if keys:
        await session.execute(
            text(
                "INSERT INTO hotspot_fold_queue (layer, member_kind, member_id) "
                "SELECT :layer, * FROM unnest(CAST(:kinds AS varchar[]), CAST(:ids AS uuid[])) "
                "ON CONFLICT DO NOTHING"
            ),
            {"layer": layer, "kinds": [k for k, _ in keys], "ids": [i for _, i in keys]},
        )


async def take_queued(session: AsyncSession, layer: str, limit: int) -> list[MemberKey]:
    """Up to ``limit`` points queued for the layer, taken off the queue (under its lock: no
    other fold takes them; a rollback puts them back)."""
    rows = await session.execute(
        text(
            "DELETE FROM hotspot_fold_queue q USING ("
            "  SELECT ctid FROM hotspot_fold_queue WHERE layer = :layer LIMIT :limit) s "
            "WHERE q.ctid = s.ctid RETURNING q.member_kind, q.member_id"
        ),
        {"layer": layer, "limit": limit},
    )
    return [(r.member_kind, r.member_id) for r in rows]


async def forget_queued(session: AsyncSession, layer: str) -> None:
    """Empty the layer's queue: a full recompute about to read every point of the layer
    (read after this statement, so it sees every point whose queue row this removes)."""
    await session.execute(
        text("DELETE FROM hotspot_fold_queue WHERE layer = :layer"), {"layer": layer}
    )


async def try_lock_recompute(session: AsyncSession, *, wait: bool) -> bool:
    """Take the recompute lock for this transaction; without ``wait``, give up if it is held."""
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RECOMPUTE_LOCK})
        return True
    got = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RECOMPUTE_LOCK})
    return bool(got.scalar_one())


async def layer_points(
    session: AsyncSession, layer: str, *, since: dt.datetime, until: dt.datetime
) -> LayerPoints:
    rows = (
        await session.execute(
            sql("hotspot_layer_points"), {"layer": layer, "since": since, "until": until}
        )
    ).all()
    return _points(rows, stored=False)


async def neighbourhood(
    session: AsyncSession,
    layer: str,
    new: Sequence[MemberKey],
    *,
    reach_m: float,
    since: dt.datetime,
    until: dt.datetime,
) -> LayerPoints:
    params = {
        "layer": layer,
        "referral_ids": [i for kind, i in new if kind == "referral"],
        "contact_ids": [i for kind, i in new if kind == "contact"],
        "reach_m": reach_m,
        "since": since,
        "until": until,
    }
    # Candidates by grid cell from the database, then those within reach of a new point
    row = (await fetch_records(session, "hotspot_neighbourhood", params))[0]
    kinds: list[str] = row["kinds"] or []
    ids: list[uuid.UUID | None] = row["ids"] or []
    xy = np.column_stack(
        (np.array(row["xs"] or [], dtype=np.float64), np.array(row["ys"] or [], dtype=np.float64))
    )
    centre = np.array([k == "centre" for k in kinds], dtype=np.bool_)
    candidates = np.flatnonzero(~centre)
    if not centre.any() or not len(candidates):
        return _points([], stored=True)
    nearest, _ = cKDTree(xy[centre]).query(xy[candidates], k=1)
    keep = candidates[nearest <= reach_m]
    return LayerPoints(
        keys=[(kinds[i], ids[i]) for i in keep],
        xy_bng=xy[keep],
        hotspot=np.array(row["hotspots"], dtype=np.int64)[keep],
        core=np.array(row["cores"], dtype=np.bool_)[keep],
    )


async def memberships(session: AsyncSession, layer: str) -> dict[int, set[MemberKey]]:
    """The members of each active hotspot of the layer."""
    rows = await session.execute(
        text("SELECT hotspot_id, member_kind, member_id FROM hotspot_members WHERE layer = :l"),
        {"l": layer},
    )
    out: dict[int, set[MemberKey]] = {}
    for hotspot_id, kind, member_id in rows:
        out.setdefault(hotspot_id, set()).add((kind, member_id))
    return out


async def new_hotspots(session: AsyncSession, layer: str, count: int) -> list[int]:
    """Insert ``count`` placeholder hotspots (summaries follow from :func:`refresh`)."""
    if count == 0:
        return []
    rows = await session.execute(
        text(
            "INSERT INTO hotspots (layer, centroid, hull, member_count, core_count, "
            "referral_count, contact_count, bedded_down_count, first_activity_at, "
            "last_activity_at) "
            "SELECT :layer, ST_SetSRID(ST_MakePoint(0, 0), 4326), "
            "ST_SetSRID(ST_MakePoint(0, 0), 4326), 0, 0, 0, 0, 0, now(), now() "
            "FROM generate_series(1, :n) RETURNING id"
        ),
        {"layer": layer, "n": count},
    )
    return sorted(r.id for r in rows)


async def member_counts(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        text("SELECT id, member_count FROM hotspots WHERE id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": list(ids)},
    )
    return {r.id: r.member_count for r in rows}


async def repoint_members(session: AsyncSession, layer: str, successors: dict[int, int]) -> None:
    """Move the members of each hotspot merged away to the one it merged into
    (``successors``: ``{merged away: kept}``), every merge of a fold in one statement."""
    if not successors:
        return
    await session.execute(
        text(
            "UPDATE hotspot_members m SET hotspot_id = s.kept "
            "FROM unnest(CAST(:gone AS bigint[]), CAST(:kept AS bigint[])) AS s(gone, kept) "
            "WHERE m.layer = :layer AND m.hotspot_id = s.gone"
        ),
        {"layer": layer, "gone": list(successors), "kept": list(successors.values())},
    )


async def upsert_members(
    session: AsyncSession, layer: str, members: Sequence[tuple[MemberKey, int, bool]]
) -> None:
    """Write ``((kind, id), hotspot_id, core)`` memberships of the layer."""
    if not members:
        return
    await session.execute(
        text(
            "INSERT INTO hotspot_members (layer, member_kind, member_id, hotspot_id, core) "
            "SELECT :layer, * FROM unnest(CAST(:kinds AS text[]), CAST(:ids AS uuid[]), "
            "CAST(:hotspots AS bigint[]), CAST(:cores AS boolean[])) "
            "ON CONFLICT (layer, member_kind, member_id) "
            "DO UPDATE SET hotspot_id = EXCLUDED.hotspot_id, core = EXCLUDED.core"
        ),
        {
            "layer": layer,
            "kinds": [k for (k, _), _, _ in members],
            "ids": [i for (_, i), _, _ in members],
            "hotspots": [h for _, h, _ in members],
            "cores": [c for _, _, c in members],
        },
    )


async def clear_members(session: AsyncSession, layer: str) -> None:
    await session.execute(text("DELETE FROM hotspot_members WHERE layer = :l"), {"l": layer})


async def retire(
    session: AsyncSession, ids: Sequence[int], successors: dict[int, int], run_id: int | None
) -> None:
    """Retire hotspots (merged into a successor, or emptied) and record why."""
    if not ids:
        return
    await session.execute(
        text(
            "UPDATE hotspots SET status = 'retired', retired_at = now(), updated_at = now(), "
            "successor_id = CAST(CAST(:successors AS jsonb) ->> CAST(id AS text) AS bigint) "
            "WHERE id = ANY(CAST(:ids AS bigint[]))"
        ),
        {"ids": list(ids), "successors": jsonb({str(k): v for k, v in successors.items()})},
    )
    await add_events(
        session,
        [(h, "merged", [successors[h]]) if h in successors else (h, "retired", []) for h in ids],
        run_id,
    )


async def add_events(
    session: AsyncSession, events: Sequence[tuple[int, str, list[int]]], run_id: int | None
) -> None:
    """Record ``(hotspot_id, kind, related)`` events, in their order, in one statement (a
    fold under a flood records hundreds of births at once; row by row, each was a round trip
    of a fold that holds its layer's lock)."""
    if not events:
        return
    await session.execute(
        text(
            "INSERT INTO hotspot_events (hotspot_id, kind, related, run_id) "
            "SELECT e.hotspot_id, e.kind, CAST(e.related AS jsonb), CAST(:run_id AS bigint) "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:kinds AS text[]), "
            "CAST(:related AS text[])) WITH ORDINALITY AS e(hotspot_id, kind, related, n) "
            "ORDER BY e.n"
        ),
        {
            "ids": [h for h, _, _ in events],
            "kinds": [kind for _, kind, _ in events],
            "related": [jsonb(related) for _, _, related in events],
            "run_id": run_id,
        },
    )


async def refresh(session: AsyncSession, ids: Sequence[int]) -> None:
    """Recompute the summaries (counts, span, centroid, hull, authority, team) of hotspots."""
    if ids:
        await session.execute(sql("hotspot_refresh"), {"ids": sorted(set(ids))})


async def add_run(session: AsyncSession, values: dict[str, Any]) -> int:
    row = await session.execute(
        text(
            "INSERT INTO hotspot_runs (trigger, started_at, finished_at, duration_ms, process, "
            "points, hotspots, parameters, layers) VALUES (:trigger, :started_at, "
            ":finished_at, :duration_ms, :process, :points, :hotspots, "
            "CAST(:parameters AS jsonb), CAST(:layers AS jsonb)) RETURNING id"
        ),
        {**values, "parameters": jsonb(values["parameters"]), "layers": jsonb(values["layers"])},
    )
    return int(row.scalar_one())


async def last_run_finished(session: AsyncSession) -> dt.datetime | None:
    row = await session.execute(text("SELECT max(finished_at) FROM hotspot_runs"))
    value: dt.datetime | None = row.scalar_one()
    return value


async def list_hotspots(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Hotspots in the caller's scope as they see them (``hotspots_seen.sql``); ``params``
    carries the filters and ``service.access.params``."""
    rows = await session.execute(sql("hotspots_list"), {"id": None, **params})
    return [dict(r) for r in rows.mappings()]


async def get(
    session: AsyncSession, hotspot_id: int, scope: dict[str, Any]
) -> dict[str, Any] | None:
    """One hotspot (active or retired) as the caller sees it; ``None`` if out of scope."""
    params = {
        "id": hotspot_id,
        "statuses": ["active", "retired"],
        "layer": None,
        "authority": None,
        "team": None,
        "min_size": 0,
        "active_since": None,
        "bbox_w": None,
        "bbox_s": None,
        "bbox_e": None,
        "bbox_n": None,
        "limit": 1,
        **scope,
    }
    row = (await session.execute(sql("hotspots_list"), params)).mappings().first()
    return dict(row) if row else None


async def members(session: AsyncSession, hotspot_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(sql("hotspot_members_detail"), {"id": hotspot_id})
    return [dict(r) for r in rows.mappings()]


async def events(session: AsyncSession, hotspot_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT kind, related, at, run_id FROM hotspot_events "
            "WHERE hotspot_id = :id OR related @> CAST(:as_json AS jsonb) ORDER BY at, id"
        ),
        {"id": hotspot_id, "as_json": jsonb([hotspot_id])},
    )
    return [dict(r) for r in rows.mappings()]
