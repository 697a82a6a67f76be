"""The hotspot updater gathers a flood's points into few folds, and folds a lone point at once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from itertools import pairwise

import pytest

from service.usecases.hotspots import queue as queue_module
from service.usecases.hotspots.queue import (
    DEFER_AT,
    FOLD_EVERY_S,
    QUIET_S,
    REFRESH_EVERY_S,
    HotspotUpdater,
    Summaries,
    fold_gap,
)


class FakeQueue:
    """The database's fold queue, shared by updaters as by app processes; a fold takes all."""

    def __init__(self) -> None:
        self.points: list[uuid.UUID] = []
        self.holder: HotspotUpdater | None = None  # whose fold holds the layer now

    def store(self, *updaters: HotspotUpdater) -> None:
        """A referral stored (queued) by the first updater's process, which it wakes."""
        point = uuid.uuid4()
        self.points.append(point)
        updaters[0].add_referral()

    def take(self) -> list[uuid.UUID]:
        taken, self.points = self.points, []
        return taken


async def _feed(arrivals: int, gap_s: float) -> tuple[list[int], float]:
    updater = HotspotUpdater()
    queue = FakeQueue()
    folds: list[int] = []
    first_folded = asyncio.Event()

    async def apply(layer: str, _: Summaries) -> bool:
        if taken := queue.take():
            folds.append(len(taken))
            first_folded.set()
        return False

    task = asyncio.create_task(updater.run(apply))
    await asyncio.sleep(0)
    start = time.monotonic()
    queue.store(updater)
    await first_folded.wait()
    lone = time.monotonic() - start
    for _ in range(arrivals):
        queue.store(updater)
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


async def _two_processes(arrivals: int, fold_s: float) -> dict[str, list[int]]:
    """Two updaters (two app processes) share one queue; a fold holds the layer ``fold_s``,
    and an updater that finds it held comes back later."""
    queue = FakeQueue()
    a, b = HotspotUpdater(), HotspotUpdater()
    folds: dict[str, list[int]] = {"a": [], "b": []}

    def apply_of(me: HotspotUpdater, name: str) -> Callable[[str, Summaries], Awaitable[bool]]:
        async def apply(layer: str, _: Summaries) -> bool:
            if queue.holder is not None:
                return True  # busy: the holder folds what waits, or we look again
            queue.holder = me
            try:
                taken = queue.take()
                if taken:
                    await asyncio.sleep(fold_s)
                    folds[name].append(len(taken))
            finally:
                queue.holder = None
            return False

        return apply

    tasks = [
        asyncio.create_task(a.run(apply_of(a, "a"))),
        asyncio.create_task(b.run(apply_of(b, "b"))),
    ]
    await asyncio.sleep(0)
    for i in range(arrivals):
        queue.store(a if i % 2 else b)
        await asyncio.sleep(fold_s / 10)
    await asyncio.sleep(4 * (fold_s + FOLD_EVERY_S))
    for task in tasks:
        task.cancel()
    assert not queue.points
    return folds


def test_two_processes_fold_each_others_points_and_never_one_point_twice():
    folds = asyncio.run(_two_processes(arrivals=60, fold_s=0.3))
    assert sum(folds["a"]) + sum(folds["b"]) == 60  # every point folded once, by either
    # one fold at a time takes what both queued: about one a fold's length, not two
    assert len(folds["a"]) + len(folds["b"]) <= 60 * 0.03 / 0.3 + 3, folds


def test_points_nobody_woke_a_process_for_are_folded_when_it_polls():
    async def go() -> list[int]:
        updater, queue, folds = HotspotUpdater(), FakeQueue(), []

        async def apply(layer: str, _: Summaries) -> bool:
            if taken := queue.take():
                folds.append(len(taken))
            return False

        task = asyncio.create_task(updater.run(apply, poll_s=0.1))
        await asyncio.sleep(0)
        queue.points += [uuid.uuid4(), uuid.uuid4()]  # stored by a process since gone
        await asyncio.sleep(0.5)
        task.cancel()
        return folds

    assert asyncio.run(go()) == [2]


async def _flood(points: int, fold_s: float) -> tuple[list[tuple[int, bool]], set[int], set[int]]:
    """Points arriving faster than slow folds take them; each fold "changes" one hotspot per
    point and refreshes (or leaves) the summaries as ``clustering.insert_new_points`` does."""
    updater = HotspotUpdater()
    queue = FakeQueue()
    folds: list[tuple[int, bool]] = []  # (points, refreshed)
    changed: set[int] = set()
    refreshed: set[int] = set()
    ids = iter(range(10**6))
    all_folded = asyncio.Event()

    async def apply(layer: str, summaries: Summaries) -> bool:
        keys = queue.take()
        if not keys and not summaries.waiting:
            return False
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
        if sum(n for n, _ in folds) == points and not summaries.waiting:
            all_folded.set()
        return False

    task = asyncio.create_task(updater.run(apply))
    await asyncio.sleep(0)  # running: before it, points are not queued (a CLI process)
    for _ in range(points):
        queue.store(updater)
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


def test_the_updater_stops_when_cancelled_just_as_a_point_wakes_it():
    """A cancellation that lands as the wake-up completes still stops the updater (Python
    3.11's ``asyncio.wait_for`` returned the wake-up instead, and the app's shutdown waited
    for the updater for ever)."""

    async def go() -> None:
        updater = HotspotUpdater()

        async def apply(layer: str, _: Summaries) -> bool:
            return False

        task = asyncio.create_task(updater.run(apply, poll_s=10.0))
        await asyncio.sleep(0)  # waiting to be woken
        updater.add_referral()
        await asyncio.sleep(0)  # the wake-up is done, the updater not yet resumed
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=2.0)

    asyncio.run(go())


def flood(fold_s: float, seconds: float) -> tuple[list[float], list[int]]:
    """Points arriving every 5 ms for ``seconds`` while each fold takes ``fold_s``: when the
    folds began, while points kept arriving (once they stop, the last fold comes after
    QUIET_S), and how many points each took."""

    async def go() -> tuple[list[float], list[int], float]:
        updater, queue = HotspotUpdater(), FakeQueue()
        starts: list[float] = []
        sizes: list[int] = []

        async def apply(layer: str, _: Summaries) -> bool:
            if taken := queue.take():
                starts.append(time.monotonic())
                sizes.append(len(taken))
                await asyncio.sleep(fold_s)  # the fold's own work
            return False

        task = asyncio.create_task(updater.run(apply))
        await asyncio.sleep(0)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            queue.store(updater)
            await asyncio.sleep(0.005)
        task.cancel()
        return starts, sizes, end

    starts, sizes, end = asyncio.run(go())
    return [t for t in starts if t < end], sizes


def test_slow_folds_come_less_often_and_each_takes_more():
    """Under a flood a round of folds is followed by a rest in proportion to its length
    (``fold_gap``): a dense town's folds, which cost more, keep the share of time they take."""
    fold_s = 0.06
    starts, sizes = flood(fold_s, 1.6)
    gaps = [b - a for a, b in pairwise(starts)]
    assert fold_gap(fold_s) >= 2 * FOLD_EVERY_S  # slow enough for the pace to matter
    assert len(gaps) >= 2, starts
    assert min(gaps) >= fold_gap(fold_s) - 0.005, gaps  # not one fold every FOLD_EVERY_S
    assert max(sizes[1:]) > 50, sizes  # each later fold takes what a rest gathered


def test_a_round_longer_than_the_longest_gap_is_still_followed_by_a_rest(monkeypatch):
    """However slow a round of folds, the next waits FOLD_GAP_MAX_S after it ends: counted from
    its start, a round slower than that was followed at once, and under a flood the folds ran
    without a break (here the longest gap is shortened so that the test takes a second)."""
    monkeypatch.setattr(queue_module, "FOLD_GAP_MAX_S", 0.1)
    fold_s = 0.15  # longer than the longest gap
    starts, _ = flood(fold_s, 1.2)
    gaps = [b - a for a, b in pairwise(starts)]
    assert len(gaps) >= 2, starts
    assert min(gaps) >= fold_s + 0.1 - 0.005, gaps  # a rest after every round, not 0.15 s


def test_the_last_points_of_a_flood_wait_for_quiet_not_for_a_whole_gap():
    """The flood stops just as a slow fold begins: the points that came during that fold are
    folded once arrivals have been quiet for QUIET_S, not when the fold's gap is over."""
    fold_s = 0.15

    async def go() -> float:
        updater, queue = HotspotUpdater(), FakeQueue()
        second_fold, all_folded = asyncio.Event(), asyncio.Event()
        folds: list[int] = []
        total = 0

        async def apply(layer: str, _: Summaries) -> bool:
            if taken := queue.take():
                folds.append(len(taken))
                if len(folds) == 2:
                    second_fold.set()
                await asyncio.sleep(fold_s)
                if sum(folds) == total and second_fold.is_set():
                    all_folded.set()
            return False

        task = asyncio.create_task(updater.run(apply))
        await asyncio.sleep(0)
        while not second_fold.is_set():
            queue.store(updater)
            total += 1
            last = time.monotonic()
            await asyncio.sleep(0.005)
        queue.store(updater)  # the last point: it arrives during the second fold
        total += 1
        last = time.monotonic()
        await asyncio.wait_for(all_folded.wait(), 10)
        task.cancel()
        return time.monotonic() - last

    assert fold_gap(fold_s) >= 1.5
    waited = asyncio.run(go())
    assert waited < fold_s + QUIET_S + fold_s + 0.5, waited  # well before the gap (1.5 s)


def test_failed_folds_back_off_longer_each_time_until_one_succeeds():
    summaries = Summaries()
    waits, repairs = [], []
    for _ in range(4):
        before = time.monotonic()
        repairs.append(summaries.failed())
        waits.append(round(summaries.retry_at - before))
        assert summaries.backing_off()
    assert waits == [1, 5, 30, 30]
    assert repairs == [False, False, True, True]  # the third failure in a row asks for repair
    summaries.succeeded()
    assert summaries.failures == 0
    assert not summaries.backing_off()
