"""Incremental folds of overlapping batches on PostGIS: a batch committed before another
batch's update runs is read as stored noise by it (and may be made core there); folding it
in afterwards, one after the other or concurrently under the layer lock, must still end
equal to a full recompute."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import asyncpg
import msgspec
from sqlalchemy import text

from service.db.engine import transaction
from service.db.hotspots import HOTSPOT_LAYERS, LAYER_LOCK, lock_layer, neighbourhood
from service.runtime import Runtime, build_runtime
from service.usecases.hotspots.clustering import insert_new_points
from service.usecases.hotspots.queue import DEFER_AT, Summaries
from tests.conftest import in_thread, with_runtime
from tests.integration.test_contacts import contact
from tests.integration.test_hotspots import CHELMSFORD, at, members, settled

LAYER = "all_contacts"


def post(client, staff, offsets):
    items = []
    for dx in offsets:
        lon, lat = at(CHELMSFORD, dx, 0.0)
        items.append(contact(lon=lon, lat=lat))
    response = client.post("/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"])
    assert response.status_code == 200, response.text
    assert response.json()["created"] == len(items)
    return [("contact", uuid.UUID(i["id"])) for i in items]


def fold(settings, batches, *, together):
    """Fold the batches in with the service's incremental path, in order or all at once."""

    async def go(runtime: Runtime) -> None:
        if together:
            await asyncio.gather(*(insert_new_points(runtime, LAYER, b) for b in batches))
        else:
            for b in batches:
                await insert_new_points(runtime, LAYER, b)

    with_runtime(settings, go)


def partition(state):
    """Which members are together (cores and all members), whatever the hotspot ids."""
    groups: dict[int, set[str]] = {}
    for key, (h, _) in state.items():
        groups.setdefault(h, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def both_committed_then_folded(client, sql, staff, settings, *, together):
    # eps 200 m, min_samples 3: a at 0 m; b1 at 190 m (core: a, b1, b2), b2 at 380 m
    a = post(client, staff, [0.0])
    b = post(client, staff, [190.0, 380.0])
    settled(sql, 3, LAYER)  # the app's own updater folded them in; now forget that:
    sql("DELETE FROM hotspot_members WHERE layer = $1", LAYER)  # both stored, none folded
    fold(settings, [a, b], together=together)
    incremental = members(sql, LAYER)
    client.post("/v1/hotspots:recompute", headers=staff["coord_mid"])
    full = members(sql, LAYER)
    assert {k for k, (_, c) in incremental.items() if c} == {k for k, (_, c) in full.items() if c}
    assert partition(incremental) == partition(full) == {frozenset(full)}


def test_a_batch_made_core_by_an_earlier_fold_keeps_its_hotspot_when_folded(
    client, sql, staff, settings
):
    both_committed_then_folded(client, sql, staff, settings, together=False)


def test_overlapping_folds_at_once_serialise_on_the_layer_lock(client, sql, staff, settings):
    both_committed_then_folded(client, sql, staff, settings, together=True)


def test_a_fold_waits_its_turn_longer_than_the_statement_timeout(client, sql, staff, settings):
    """Another process holding the layer (a long fold or recompute) for longer than the
    statement timeout delays a fold; it does not fail it. The timeout still bounds the fold's
    own statements."""
    batch = post(client, staff, [0.0, 60.0, 120.0])
    quick = msgspec.structs.replace(settings, db_statement_timeout_ms=300)

    async def go() -> tuple[str, str]:
        holder = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
        runtime = build_runtime(quick)
        try:
            await holder.execute("BEGIN")
            await holder.execute(
                "SELECT pg_advisory_xact_lock($1, $2)", LAYER_LOCK, HOTSPOT_LAYERS.index(LAYER)
            )
            folding = asyncio.ensure_future(insert_new_points(runtime, LAYER, batch))
            await asyncio.sleep(1.0)  # over three times the statement timeout
            assert not folding.done()
            await holder.execute("COMMIT")
            await folding
            async with transaction(runtime.sessions) as session:
                await lock_layer(session, LAYER)
                after = (await session.execute(text("SHOW statement_timeout"))).scalar()
                waited = "folded"
            return waited, str(after)
        finally:
            await holder.close()
            await runtime.http.aclose()
            await runtime.engine.dispose()

    assert in_thread(asyncio.run, go()) == ("folded", "300ms")
    assert {key for key in members(sql, LAYER)} >= {str(i) for _, i in batch}


def test_a_fold_rewrites_only_the_memberships_it_changes(client, sql, staff):
    # eps 200 m, min_samples 3: five contacts 50 m apart are one hotspot, all cores
    post(client, staff, [0.0, 50.0, 100.0, 150.0, 200.0])
    settled(sql, 5, LAYER)
    query = (
        "SELECT member_id, hotspot_id, core, xmin::text AS v FROM hotspot_members WHERE layer = $1"
    )
    before = {str(r["member_id"]): r for r in sql(query, LAYER)}
    assert len({r["hotspot_id"] for r in before.values()}) == 1
    assert all(r["core"] for r in before.values())
    [new] = post(client, staff, [120.0])  # inside it: a sixth core of the same hotspot
    settled(sql, 6, LAYER)
    after = {str(r["member_id"]): r for r in sql(query, LAYER)}
    assert after[str(new[1])]["hotspot_id"] == next(iter(before.values()))["hotspot_id"]
    # the five stored memberships are unchanged, so their rows were not written again
    assert {k: after[k]["v"] for k in before} == {k: r["v"] for k, r in before.items()}
    [summary] = sql(
        "SELECT member_count, core_count FROM hotspots WHERE layer = $1 AND status = 'active'",
        LAYER,
    )
    assert (summary["member_count"], summary["core_count"]) == (6, 6)


def test_a_neighbourhood_is_every_point_within_reach_of_a_new_one_and_no_other(
    client, sql, staff, settings
):
    """Read by grid cell, filtered by distance: the points just inside the reach on every
    side (whichever cell they fall in) and none just outside it."""
    inside = [(395.0, 0.0), (-395.0, 0.0), (0.0, 395.0), (0.0, -395.0), (280.0, 280.0)]
    outside = [(405.0, 0.0), (-405.0, 0.0), (0.0, 405.0), (0.0, -405.0), (290.0, 290.0)]
    keys = {}
    for dx, dy in [(0.0, 0.0), *inside, *outside]:
        lon, lat = at(CHELMSFORD, dx, dy)
        made = client.post(
            "/v1/contacts:batch",
            json={"items": [contact(lon=lon, lat=lat)]},
            headers=staff["worker_mid"],
        )
        assert made.status_code == 200, made.text
        keys[(dx, dy)] = ("contact", uuid.UUID(made.json()["results"][0]["id"]))

    async def read(runtime: Runtime) -> list[tuple[str, uuid.UUID]]:
        async with transaction(runtime.sessions) as session:
            now = dt.datetime.now(dt.UTC)
            hood = await neighbourhood(
                session,
                LAYER,
                [keys[(0.0, 0.0)]],
                reach_m=400.0,
                since=now - dt.timedelta(days=28),
                until=now + dt.timedelta(hours=1),
            )
        return hood.keys

    found = set(with_runtime(settings, read))
    assert found == {keys[(0.0, 0.0)], *(keys[p] for p in inside)}


def test_a_fold_under_a_flood_leaves_its_summaries_to_a_later_refresh(client, sql, staff, settings):
    """With enough points waiting, a fold writes its memberships but leaves its hotspots'
    summaries (and their placement) to the next fold of the layer, which refreshes them."""
    points = post(client, staff, [0.0, 100.0, 190.0])
    settled(sql, 3, LAYER)
    sql("DELETE FROM hotspot_members WHERE layer = $1", LAYER)  # stored, not yet folded
    flood = Summaries(queued=lambda: DEFER_AT)

    async def go(runtime: Runtime) -> tuple[set[int], set[int]]:
        left = await insert_new_points(runtime, LAYER, points, summaries=flood)
        assert flood.waiting  # the fold's new hotspot, its summary still the placeholder's
        [(count,)] = await _rows(runtime, flood.waiting)
        assert count == 0
        flood.queued = lambda: 0  # the flood is over: the next fold (here, one of no points)
        return left, await insert_new_points(runtime, LAYER, [], summaries=flood)

    left, refreshed = with_runtime(settings, go)
    [hotspot] = {h for h, _ in members(sql, LAYER).values()}
    assert left == set()  # nothing to place again until its summary is current
    assert refreshed == {hotspot}
    assert not flood.waiting
    [row] = sql("SELECT member_count, core_count FROM hotspots WHERE id = $1", hotspot)
    assert (row["member_count"], row["core_count"]) == (3, 3)


async def _rows(runtime: Runtime, ids: set[int]) -> list[tuple[int]]:
    async with transaction(runtime.sessions) as session:
        rows = await session.execute(
            text("SELECT member_count FROM hotspots WHERE id = ANY(:ids)"), {"ids": sorted(ids)}
        )
        return [tuple(r) for r in rows]


def test_one_fold_merges_each_pair_of_hotspots_into_the_bigger_of_the_pair(client, sql, staff):
    """Two merges in one fold (one batch bridges two pairs of hotspots 3 km apart): each pair
    keeps the id of its own bigger hotspot, whether that one was born first or last, and the
    other of the pair retires with it as its successor."""
    east = 3000.0
    spans = {
        "a": [0.0, 60.0, 120.0, 180.0],  # eps 200 m, min_samples 3
        "b": [600.0, 660.0, 720.0],
        "c": [east + 60.0, east + 120.0, east + 180.0],
        "d": [east + 600.0, east + 660.0, east + 720.0, east + 780.0],
    }
    hotspot, total = {}, 0
    for name, offsets in spans.items():  # one after the other: a < b < c < d
        [first, *_] = post(client, staff, offsets)
        total += len(offsets)
        settled(sql, total, LAYER)
        hotspot[name] = members(sql, LAYER)[str(first[1])][0]
    assert hotspot["a"] < hotspot["b"] < hotspot["c"] < hotspot["d"]
    # one batch: all four points are queued by one statement and taken by one fold
    post(client, staff, [360.0, 450.0, east + 360.0, east + 450.0])
    settled(sql, total + 4, LAYER)
    rows = {r["id"]: r for r in sql("SELECT * FROM hotspots WHERE layer = $1", LAYER)}
    kept = {h for h, _ in members(sql, LAYER).values()}
    assert kept == {hotspot["a"], hotspot["d"]}
    for keep, gone in (("a", "b"), ("d", "c")):
        assert rows[hotspot[keep]]["status"] == "active"
        assert rows[hotspot[keep]]["member_count"] == len(spans[keep]) + len(spans[gone]) + 2
        assert rows[hotspot[gone]]["status"] == "retired"
        assert rows[hotspot[gone]]["successor_id"] == hotspot[keep]
        [event] = sql(
            "SELECT related FROM hotspot_events WHERE hotspot_id = $1 AND kind = 'merged'",
            hotspot[gone],
        )
        assert json.loads(event["related"]) == [hotspot[keep]]
