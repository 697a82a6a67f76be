"""Hotspots: keeping each layer's density clusters current, incrementally and in full.

* **Incremental** (:func:`fold_queued`, the updater's fold of the points queued by the
  statements that stored them; :func:`insert_new_points` folds given points, waiting for the
  layer's lock: the tests' way to fold chosen batches in a chosen order): the layer's
  neighbourhood (every point within ``2 * eps`` of a new one) is read with its stored
  membership and :func:`geo.cluster_insert.insert_points` says what changes: new cores,
  births, merges (the biggest hotspot keeps its id, the others retire with it as successor),
  border points. Only that neighbourhood is read or written.
* **Full recompute** (:func:`recompute`): every ``hotspot_recompute_interval_s`` and on
  demand, each layer's window is clustered afresh with :func:`geo.clustering.dbscan` (in a
  thread) and ids are carried over with :func:`geo.hotspot_identity.match_hotspots`; this is
  what lets points leave the rolling window. One recompute runs at a time across all app
  processes (a PostgreSQL advisory lock); a periodic one skips when another process holds it
  or ran recently.

Both paths write a layer under that layer's advisory lock, so they never interleave.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Sequence
from functools import partial
from itertools import count
from typing import TYPE_CHECKING

import anyio
import msgspec
import numpy as np
from numpy.typing import NDArray

from geo.cluster_insert import insert_points
from geo.clustering import dbscan
from geo.hotspot_identity import IdentityMatch, match_hotspots
from service import metrics
from service.db import hotspots as repo
from service.db.engine import transaction
from service.db.hotspots import MemberKey
from service.schemas.hotspots import LayerRunOut, RecomputeOut
from service.usecases.hotspots.queue import CHUNK, FOLD_ATTEMPTS, Summaries
from service.vocabularies import HOTSPOT_LAYERS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from service.runtime import Runtime

log = logging.getLogger(__name__)
#: Neighbourhoods larger than this are clustered in a worker thread, off the event loop.
THREAD_THRESHOLD = 2_000


def _window(runtime: Runtime, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return now - dt.timedelta(days=runtime.settings.hotspot_window_days), now


def _process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


# --------------------------------------------------------------------------- incremental


async def insert_new_points(
    runtime: Runtime,
    layer: str,
    new: Sequence[MemberKey],
    *,
    now: dt.datetime | None = None,
    summaries: Summaries | None = None,
) -> set[int]:
    """Fold these newly stored points of one layer into its hotspots, waiting for the layer's
    lock (the app folds the queue instead: :func:`fold_queued`); returns the ids of the
    hotspots touched (grown, born, or merged into another) whose summaries it refreshed.

    With ``summaries`` (the updater's) the fold may leave its summaries to a later fold of the
    layer (:meth:`.queue.Summaries.defer`, under a flood), and then returns none; a fold that
    refreshes also refreshes what earlier ones left, and returns their hotspots too."""
    if not new and not (summaries and summaries.waiting):
        return set()
    since, until = _window(runtime, now or dt.datetime.now(dt.UTC))
    async with transaction(runtime.sessions) as session:
        await repo.lock_layer(session, layer)
        refreshed = await _fold_and_refresh(runtime, session, layer, new, since, until, summaries)
    return _committed(refreshed, summaries)


async def fold_queued(
    runtime: Runtime, layer: str, summaries: Summaries, *, now: dt.datetime | None = None
) -> tuple[bool, set[int]]:
    """The updater's fold: every point queued for the layer (by any app process), unless
    another process holds the layer, which then folds them itself. Returns whether to come
    back (the layer was busy, or more points wait than one fold takes) and the hotspots
    touched, as :func:`insert_new_points`."""
    since, until = _window(runtime, now or dt.datetime.now(dt.UTC))
    async with transaction(runtime.sessions) as session:
        if not await repo.try_lock_layer(session, layer):
            return True, set()
        new = await repo.take_queued(session, layer, CHUNK)
        if not new and not summaries.waiting:
            return False, set()
        refreshed = await _fold_and_refresh(runtime, session, layer, new, since, until, summaries)
    return len(new) >= CHUNK, _committed(refreshed, summaries)


async def _fold_and_refresh(
    runtime: Runtime,
    session: AsyncSession,
    layer: str,
    new: Sequence[MemberKey],
    since: dt.datetime,
    until: dt.datetime,
    summaries: Summaries | None,
) -> set[int] | None:
    """Fold ``new`` in and refresh the summaries of the hotspots it touched (and those left
    waiting), or leave them to a later fold under a flood (``None``)."""
    touched, merged_away = await _fold(runtime, session, layer, new, since, until)
    if summaries is not None and summaries.defer():
        summaries.left(touched, touched | merged_away)
        return None
    waiting = summaries.waiting if summaries is not None else set()
    await repo.refresh(session, sorted(touched | waiting))
    return touched | merged_away


def _committed(refreshed: set[int] | None, summaries: Summaries | None) -> set[int]:
    """The hotspots whose summaries a committed fold refreshed (with what earlier folds left)."""
    if refreshed is None:
        return set()
    if summaries is not None:
        _, changed = summaries.take()
        return refreshed | changed
    return refreshed


async def _fold(
    runtime: Runtime,
    session: AsyncSession,
    layer: str,
    new: Sequence[MemberKey],
    since: dt.datetime,
    until: dt.datetime,
) -> tuple[set[int], set[int]]:
    """The fold itself, under the layer's lock: the hotspots whose memberships it changed, and
    those it merged away."""
    if not new:
        return set(), set()
    settings = runtime.settings
    hood = await repo.neighbourhood(
        session, layer, new, reach_m=2 * settings.hotspot_eps_m, since=since, until=until
    )
    fresh = set(new)
    is_new = np.array([key in fresh for key in hood.keys], dtype=np.bool_)
    if not is_new.any():
        return set(), set()
    compute = partial(
        insert_points,
        hood.xy_bng,
        stored_hotspot=hood.hotspot,
        stored_core=hood.core,
        new=is_new,
        eps_m=settings.hotspot_eps_m,
        min_samples=settings.hotspot_min_samples,
    )
    big = len(hood.keys) > THREAD_THRESHOLD
    up = await anyio.to_thread.run_sync(compute) if big else compute()
    targets = await _targets(session, layer, up.merged_hotspots)
    changed = _changed_members(hood, up.component, up.core, up.joins_hotspot, targets)
    await repo.upsert_members(session, layer, changed)
    touched = {h for _, h, _ in changed} | {targets[i] for i in up.merged_hotspots}
    merged_away = {h for ids in up.merged_hotspots.values() for h in ids}
    return touched, merged_away


def _changed_members(
    hood: repo.LayerPoints,
    component: NDArray[np.int64],
    core: NDArray[np.bool_],
    joins: NDArray[np.int64],
    targets: dict[int, int],
) -> list[tuple[MemberKey, int, bool]]:
    """The memberships a fold writes: a point of a changed cluster joins the hotspot its
    cluster keeps (with its core flag), a new border point the hotspot it joins. Only those
    that differ from what is stored: in a dense town a changed cluster spans thousands of
    stored points, and rewriting them all cost more database time than the referrals
    themselves (pg_stat_statements under bench.ingest's flood). Computed on arrays: a dense
    town's fold has 30,000 points in its neighbourhood."""
    lookup = np.full(max(targets, default=0) + 1, -1, dtype=np.int64)
    for i, kept in targets.items():
        lookup[i] = kept
    in_cluster = component >= 0
    hotspot = np.where(in_cluster, lookup[np.where(in_cluster, component, 0)], joins)
    flag = in_cluster & core
    write = (hotspot >= 0) & ((hotspot != hood.hotspot) | (flag != hood.core))
    return [(hood.keys[i], int(hotspot[i]), bool(flag[i])) for i in np.flatnonzero(write)]


async def _targets(
    session: AsyncSession, layer: str, merged: dict[int, tuple[int, ...]]
) -> dict[int, int]:
    """The hotspot id each changed cluster keeps: the biggest of those it joins (ties: the
    lowest id), or a new one; the others retire with it as their successor.

    Six statements at most for the whole fold, whatever its births and merges: a stored
    hotspot joins one changed cluster at most, so the merges are independent of each other.
    Under bench.ingest's contact flood a fold changes hundreds of clusters (tens of them merges)
    while the flood's requests keep the event loop busy, so every round trip of a fold waits
    its turn: with three statements a merge and a row a birth event, this part took 5-6 s of
    one fold of 11,000-34,000 contacts, more than its neighbourhood read, with the layer
    locked throughout."""
    born = [i for i, ids in merged.items() if not ids]
    fresh = await repo.new_hotspots(session, layer, len(born))
    targets = dict(zip(born, fresh, strict=True))
    await repo.add_events(session, [(h, "born", []) for h in fresh], None)
    merging = [h for ids in merged.values() if len(ids) > 1 for h in ids]
    sizes = await repo.member_counts(session, merging) if merging else {}
    successors: dict[int, int] = {}
    for i, ids in merged.items():
        if not ids:
            continue
        keep = min(ids, key=lambda h: (-sizes.get(h, 0), h))
        targets[i] = keep
        successors |= {h: keep for h in ids if h != keep}
    await repo.repoint_members(session, layer, successors)
    await repo.retire(session, list(successors), successors, None)
    return targets


# --------------------------------------------------------------------------- full recompute


async def recompute(
    runtime: Runtime, *, trigger: str, wait: bool = True, now: dt.datetime | None = None
) -> RecomputeOut:
    """Re-cluster every layer's window; carry ids over; record the run.

    With ``wait`` (on demand) it queues behind a recompute running elsewhere; without it
    (periodic) it gives up at once when another process holds the lock.
    """
    async with transaction(runtime.sessions) as session:
        if not await repo.try_lock_recompute(session, wait=wait):
            return RecomputeOut(
                ran=False,
                reason="another process is recomputing",
                run_id=None,
                duration_ms=0.0,
                layers={},
            )
        now = now or dt.datetime.now(dt.UTC)
        started, t0 = dt.datetime.now(dt.UTC), time.perf_counter()
        layers: dict[str, LayerRunOut] = {}
        events: list[tuple[int, str, list[int]]] = []
        for layer in HOTSPOT_LAYERS:
            layers[layer] = await _recompute_layer(runtime, session, layer, now, events)
        duration_ms = (time.perf_counter() - t0) * 1000
        run_id = await repo.add_run(
            session,
            {
                "trigger": trigger,
                "started_at": started,
                "finished_at": dt.datetime.now(dt.UTC),
                "duration_ms": duration_ms,
                "process": _process_name(),
                "points": sum(r.points for r in layers.values()),
                "hotspots": sum(r.hotspots for r in layers.values()),
                "parameters": _parameters(runtime),
                "layers": {k: msgspec.structs.asdict(v) for k, v in layers.items()},
            },
        )
        await repo.add_events(session, events, run_id)
    log.info("hotspot recompute %s: %.1f ms", trigger, duration_ms)
    runtime.assignment_runs.request("hotspot_recompute")  # hotspots are work items: reassign
    return RecomputeOut(ran=True, reason="", run_id=run_id, duration_ms=duration_ms, layers=layers)


def _parameters(runtime: Runtime) -> dict[str, float]:
    s = runtime.settings
    return {
        "eps_m": s.hotspot_eps_m,
        "min_samples": s.hotspot_min_samples,
        "window_days": s.hotspot_window_days,
    }


async def _recompute_layer(
    runtime: Runtime,
    session: AsyncSession,
    layer: str,
    now: dt.datetime,
    events: list[tuple[int, str, list[int]]],
) -> LayerRunOut:
    settings = runtime.settings
    since, until = _window(runtime, now)
    t0 = time.perf_counter()
    await repo.lock_layer(session, layer)
    await repo.forget_queued(session, layer)  # every point is read next: none waits any more
    points = await repo.layer_points(session, layer, since=since, until=until)
    result = await anyio.to_thread.run_sync(
        lambda: dbscan(
            points.xy_bng, eps_m=settings.hotspot_eps_m, min_samples=settings.hotspot_min_samples
        )
    )
    current: dict[int, set[MemberKey]] = {}
    for key, label in zip(points.keys, result.labels.tolist(), strict=True):
        if label >= 0:
            current.setdefault(label, set()).add(key)
    previous = await repo.memberships(session, layer)
    provisional = count(-1, -1)
    match = match_hotspots(previous, current, new_id=lambda: next(provisional))
    real = await _real_ids(session, layer, match)
    ids = {label: real.get(h, h) for label, h in match.ids.items()}
    await repo.clear_members(session, layer)
    await repo.upsert_members(
        session,
        layer,
        [
            (key, ids[label], bool(core))
            for key, label, core in zip(
                points.keys, result.labels.tolist(), result.core.tolist(), strict=True
            )
            if label >= 0
        ],
    )
    gone = sorted(set(previous) - set(ids.values()))
    successors = {h: m.hotspot_id for m in match.merges for h in m.from_ids if h != m.hotspot_id}
    await repo.retire(session, gone, successors, None)
    await repo.refresh(session, sorted(set(ids.values())))
    events += [(b, "born", []) for b in sorted(ids[b.label] for b in match.births)]
    events += [(s.hotspot_id, "split", [real.get(h, h) for h in s.into]) for s in match.splits]
    metrics.clustering_run(time.perf_counter() - t0, layer)
    return LayerRunOut(
        points=len(points.keys),
        hotspots=len(current),
        born=len(match.births),
        retired=len(gone),
        splits=len(match.splits),
        merges=len(match.merges),
    )


async def _real_ids(
    session: AsyncSession, layer: str, match: IdentityMatch[int, int]
) -> dict[int, int]:
    """The provisional (negative) ids of births -> the ids of their new hotspot rows."""
    births = sorted(h for h in match.ids.values() if h < 0)
    return dict(zip(births, await repo.new_hotspots(session, layer, len(births)), strict=True))


# --------------------------------------------------------------------------- background work


async def apply_update(runtime: Runtime, layer: str, summaries: Summaries) -> bool:
    """Fold the points queued for a layer (the updater's work, see :mod:`.queue`); whether to
    come back soon. A failed fold leaves its points queued (its rollback puts them back) and
    the layer rests for a back-off; failures in a row end in a full recompute."""
    if summaries.backing_off():
        return True
    again, touched = False, set[int]()
    try:
        if summaries.failures >= FOLD_ATTEMPTS:
            await _repair(runtime, layer)
        else:
            again, touched = await fold_queued(runtime, layer, summaries)
    except Exception:
        repair = summaries.failed()
        log.exception(
            "hotspot fold of %s failed (%d in a row): its points stay queued, %s",
            layer,
            summaries.failures,
            "a full recompute takes them in next" if repair else "tried again shortly",
        )
        return True
    summaries.succeeded()
    if touched and layer in runtime.settings.assignment_hotspot_layers:
        # work items changed (grew, were born or merged away): place those again
        runtime.assignment_runs.request("hotspot_update", [f"hotspot:{h}" for h in touched])
    return again


async def _repair(runtime: Runtime, layer: str) -> None:
    """A full recompute in place of a fold that keeps failing (it empties every layer's queue
    and clusters every point afresh); another process's recompute under way does the same."""
    log.warning("hotspot folds of %s keep failing: recomputing every layer", layer)
    await recompute(runtime, trigger="repair", wait=False)


async def recompute_loop(runtime: Runtime) -> None:
    """Recompute when due: every ``hotspot_recompute_interval_s`` across all processes."""
    interval = runtime.settings.hotspot_recompute_interval_s
    while True:
        try:
            if await _due(runtime, interval):
                await recompute(runtime, trigger="periodic", wait=False)
        except Exception:  # logged; the periodic recompute repairs it
            log.exception("periodic hotspot recompute failed")
        await asyncio.sleep(interval / 4)


async def _due(runtime: Runtime, interval_s: float) -> bool:
    async with transaction(runtime.sessions) as session:
        last = await repo.last_run_finished(session)
    return last is None or (dt.datetime.now(dt.UTC) - last).total_seconds() >= interval_s
