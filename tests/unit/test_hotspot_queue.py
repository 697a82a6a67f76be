"""The hotspot updater gathers a flood's points into few folds, and folds a lone point at once."""

from __future__ import annotations

import asyncio
import time
import uuid

from service.usecases.hotspots.queue import (
    DEFER_AT,
    FOLD_EVERY_S,
    REFRESH_EVERY_S,
    HotspotUpdater,
    Summaries,
)


async def _feed(arrivals: int, gap_s: float) -> tuple[list[int], float]:
    updater = HotspotUpdater()
    folds: list[int] = []
    first_folded = asyncio.Event()

    async def apply(layer: str, keys: list[tuple[str, uuid.UUID]], _: Summaries) -> None:
        folds.append(len(keys))
        first_folded.set()

    task = asyncio.create_task(updater.run(apply))
    await asyncio.sleep(0)
    start = time.monotonic()
    updater.add_referral(uuid.uuid4())
    await first_folded.wait()
    lone = time.monotonic() - start
    for _ in range(arrivals):
        updater.add_referral(uuid.uuid4())
        await asyncio.sleep(gap_s)
    await asyncio.sleep(2 * FOLD_EVERY_S)
    task.cancel()
    return folds, lone


def test_a_flood_is_folded_in_few_folds_and_a_lone_point_at_once():
    folds, lone = asyncio.run(_feed(arrivals=40, gap_s=FOLD_EVERY_S / 20))
    assert lone < 0.8 * FOLD_EVERY_S  # nothing before it: folded without waiting
    assert sum(folds) == 41  # every point folded once
    # 40 arrivals over two fold intervals: a fold each interval, not one a point
    assert len(folds) <= 5, folds


async def _flood(points: int, fold_s: float) -> tuple[list[tuple[int, bool]], set[int], set[int]]:
    """Points arriving faster than slow folds take them; each fold "changes" one hotspot per
    point and refreshes (or leaves) the summaries as ``clustering.insert_new_points`` does."""
    updater = HotspotUpdater()
    folds: list[tuple[int, bool]] = []  # (points, refreshed)
    changed: set[int] = set()
    refreshed: set[int] = set()
    ids = iter(range(10**6))
    all_folded = asyncio.Event()

    async def apply(layer: str, keys: list[tuple[str, uuid.UUID]], summaries: Summaries) -> None:
        await asyncio.sleep(fold_s)  # the fold's own work, during which more points arrive
        touched = {next(ids) for _ in keys}
        changed.update(touched)
        if summaries.defer():
            summaries.left(touched, touched)
            folds.append((len(keys), False))
        else:
            refreshed.update(touched | summaries.waiting)
            summaries.take()
            folds.append((len(keys), True))
        if sum(n for n, _ in folds) == points:
            all_folded.set()

    task = asyncio.create_task(updater.run(apply))
    await asyncio.sleep(0)  # running: before it, points are not queued (a CLI process)
    for _ in range(points):
        updater.add_referral(uuid.uuid4())
        await asyncio.sleep(fold_s / (3 * DEFER_AT))  # 3 x DEFER_AT points during a fold
    await asyncio.wait_for(all_folded.wait(), 10)
    task.cancel()
    return folds, changed, refreshed


def test_under_a_flood_folds_leave_summaries_to_the_last_which_refreshes_them_all():
    folds, changed, refreshed = asyncio.run(_flood(points=20 * DEFER_AT, fold_s=0.05))
    assert sum(n for n, _ in folds) == 20 * DEFER_AT  # every point folded once
    assert any(not done for _, done in folds)  # some folds left their summaries ...
    assert folds[-1][1]  # ... the last, with nothing after it, refreshed them
    assert refreshed == changed  # every changed hotspot's summary, none lost


def test_a_fold_refreshes_at_once_when_few_points_wait_or_summaries_waited_long():
    summaries = Summaries(queued=lambda: DEFER_AT - 1)
    assert not summaries.defer()
    summaries.queued = lambda: DEFER_AT
    assert summaries.defer()
    summaries.left({1}, {1, 2})
    assert summaries.defer()
    summaries.since -= REFRESH_EVERY_S  # the oldest has waited its longest
    assert not summaries.defer()
    assert summaries.take() == ({1}, {1, 2})
    assert not summaries.waiting
