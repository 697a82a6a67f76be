"""The hotspot updater gathers a flood's points into few folds, and folds a lone point at once."""

from __future__ import annotations

import asyncio
import time
import uuid

from service.usecases.hotspots.queue import FOLD_EVERY_S, HotspotUpdater


async def _feed(arrivals: int, gap_s: float) -> tuple[list[int], float]:
    updater = HotspotUpdater()
    folds: list[int] = []
    first_folded = asyncio.Event()

    async def apply(layer: str, keys: list[tuple[str, uuid.UUID]]) -> None:
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
