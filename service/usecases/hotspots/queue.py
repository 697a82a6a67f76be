"""New points folded into the hotspots in the background, by whichever app process is free.

The statement that stores a point also queues it (table ``hotspot_fold_queue``: the intake,
contact and placement statements). Requests never wait for clustering; they only wake this
process's :class:`HotspotUpdater`, whose :meth:`HotspotUpdater.run` then calls ``apply``
(``clustering.apply_update``) for each layer that has news. That takes the layer's lock if no
other process holds it and folds *every* point queued for the layer, whoever stored it; if the
lock is held, the holder folds them, and this process looks again a moment later. So with
several app processes a dense neighbourhood is read once a fold for all of them (each process
folding its own points read it once each), and a point outlives the process that stored it:
every :data:`QUEUE_POLL_S` each process also looks for points nobody woke it for (a stopped
process's, a command-line import's). If a fold fails (the database is away, or a statement
ran out of time on a starved machine) its rollback leaves its points queued, and the layer is
tried again after a back-off (:meth:`Summaries.failed`); after :data:`FOLD_ATTEMPTS` failures
in a row a full recompute, which never folds, takes every queued point in. Nothing waits for
the periodic recompute, and no point is ever dropped. The queue knows nothing of the runtime,
which holds it.

Under a flood a fold may leave the summaries of the hotspots it changed to a later fold of the
same layer (:class:`Summaries`): see :data:`DEFER_AT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from service.vocabularies import HOTSPOT_LAYERS

DEFER_AT = 10
"""Points of a layer waiting when a fold is about to refresh its hotspots' summaries from which
it leaves them to the next fold (at most ``FOLD_EVERY_S`` later), which refreshes them with its
own. A referral flood of 300 a second queues about 15 a worker during one fold; a contact
batch, 50 at once. A summary is recomputed from all of a hotspot's members: with 20,000 open
referrals in bench.ingest's towns a refresh took 71 ms, 0.83 ms of database time a referral
under the flood (pg_stat_statements), more than the fold's neighbourhood read. Below this the
fold refreshes at once, in its own transaction, as always: a lone arrival's hotspot is current
with it."""

REFRESH_EVERY_S = 2.0
"""Summaries are never left waiting longer than this, however long a flood lasts."""

FOLD_ATTEMPTS = 3
"""Failed folds of a layer in a row after which a full recompute takes its queued points in
(a fold that can never succeed is then no longer the only way in). bench.ingest once saw a
fold's first statement, taking 50,000 queued contacts off the queue, run into the 15 s
statement timeout under the contact flood (the same statement takes 80 ms on a quiet
database); until then a failed fold dropped its points, and 43,336 of 52,450 contacts were
out of their hotspots until the next periodic recompute, ten minutes on."""

RETRY_AFTER_S = (1.0, 5.0, 30.0)
"""Back-off after the first, second and later failures in a row (the last also between failed
repairs while the database stays away)."""


@dataclass
class Summaries:
    """One layer's hotspots whose summaries wait for a refresh (with their placement: a work
    item is placed from its summary), whether the next fold should leave its own too, and the
    layer's failed folds in a row (with the back-off they set)."""

    waiting: set[int] = field(default_factory=set)
    """Hotspots whose summaries a committed fold left to a later one."""
    changed: set[int] = field(default_factory=set)
    """Hotspots to place again once refreshed (those grown, born or merged away)."""
    since: float = 0.0
    queued: Callable[[], int] = field(default=lambda: 0)
    """Points of the layer waiting for a fold now (set by the updater)."""
    failures: int = 0
    """Failed folds (or repairs) of the layer in a row."""
    retry_at: float = 0.0
    """No fold of the layer before this (``time.monotonic()``) after a failure."""

    def backing_off(self) -> bool:
        return time.monotonic() < self.retry_at

    def failed(self) -> bool:
        """Count a failed fold and set the back-off; whether to repair with a full recompute
        now rather than fold again."""
        self.failures += 1
        self.retry_at = time.monotonic() + RETRY_AFTER_S[min(self.failures, len(RETRY_AFTER_S)) - 1]
        return self.failures >= FOLD_ATTEMPTS

    def succeeded(self) -> None:
        self.failures, self.retry_at = 0, 0.0

    def defer(self) -> bool:
        """Leave this fold's summaries to the next one: enough points wait, and none has
        waited too long."""
        late = bool(self.waiting) and time.monotonic() - self.since >= REFRESH_EVERY_S
        return not late and self.queued() >= DEFER_AT

    def left(self, summaries: set[int], changed: set[int]) -> None:
        if not self.waiting:
            self.since = time.monotonic()
        self.waiting |= summaries
        self.changed |= changed

    def take(self) -> tuple[set[int], set[int]]:
        """What waits, emptied (call once the refresh that includes it has committed)."""
        waiting, changed = self.waiting, self.changed
        self.waiting, self.changed = set(), set()
        return waiting, changed


ApplyFn = Callable[[str, Summaries], Awaitable[bool]]
"""Fold what is queued for a layer; whether to come back soon (the layer was busy in another
process, or more points wait than one fold takes)."""

QUEUE_POLL_S = 10.0
"""How often a process looks for queued points nobody woke it for."""


def layers_of_contact(bedded_down: bool) -> tuple[str, ...]:
    """The layers a new contact belongs to."""
    return ("all_contacts", "verified_bedded_down") if bedded_down else ("all_contacts",)


CHUNK = 50000
"""Queued points one fold takes at most: a bound on its transaction, set well above what the
app processes queue in a flood. A fold costs about its neighbourhood, and in a dense town the
neighbourhood of 5,000 new points is the whole town, much the same as that of 40,000: the fewer
the folds, the better. A 20 s contact phase of bench.ingest (2 workers, 32 clients; about 80,000
contacts around a few towns) needed 96 s of folding after the phase in chunks of 5,000,
27-60 s in chunks of 20,000 and 16-24 s in chunks of 50,000, with no fold failing. (Chunks of
250 once made a 2,000-contact burst take 100 s to settle; a 12,000-contact burst as one fold
hit the statement timeout only while the neighbourhood was read point by point, before
``hotspot_neighbourhood.sql`` read it by grid cell.)"""


FOLD_EVERY_S = 0.25
"""Folds of one process begin at most this often. A fold costs about its neighbourhood and the
summaries of the hotspots it touches, much the same for 15 new points as for 60: under a
referral flood (bench.ingest, 2 workers) the updater ran 17 folds a second, and their
neighbourhood reads and summary refreshes cost 1.3 ms of database time a referral, as much as
the intake statement itself."""

FOLD_SHARE = 0.1
"""Under a flood, a process's rounds of folds take at most about this share of its time: the
next round begins no sooner than ``(1 / FOLD_SHARE - 1)`` times the last one's length after it
(and :data:`FOLD_EVERY_S` at least, but no later than :data:`FOLD_GAP_MAX_S`). A fold's cost
follows the density of points around the new ones, not their number, so a fixed pace made
every referral dearer as the open backlog grew: with 20,000 open referrals in bench.ingest's
towns the neighbourhood reads cost 0.80 ms of database time a referral against 0.25 ms with
1,000 (pg_stat_statements), and the intake rate fell by a fifth. Pacing by the folds' own
length keeps the share they take, whatever the density; a dense town's folds come less often
and each takes more points."""

FOLD_GAP_MAX_S = 5.0
"""However slow the last round, the next begins at most this long after it ended: under a flood
a hotspot is at most this much and two folds later for a new point (one under way when it
came, then its own); a point that comes alone after a quiet spell is folded at once, and the
last points of a flood once arrivals have been quiet for :data:`QUIET_S`.

Until 2026-11-29 it was 2 s counted from the round's start, so a round slower than that (a
dense town's folds under bench.ingest's contact flood took 2-4 s a round) was followed by the
next at once: the folds ran without a break whatever :data:`FOLD_SHARE` said, each reading
the whole town again while the flood wanted the same two cores. That was hidden while a
fold's merges cost a round trip each (``clustering._targets``) and its rounds mostly waited;
once they did not, 2 s from a round's end still left the flood slower (``bench.ingest
--contacts-only``, alternating with the code before both changes: contacts a second under the
flood 3,348-3,728 against 3,700-4,338, sustained ratio 0.647-0.669 against 0.707-0.795); with
5 s, 3,795-3,840 and 0.701-0.798."""


QUIET_S = 0.1
"""A gap ends early once no point has arrived for this long: the last points of a flood wait
for a fold this much, not a whole gap (under a flood points arrive every few milliseconds)."""


def fold_gap(round_s: float) -> float:
    """Seconds from the start of a round of folds that took ``round_s`` to the next one.

    >>> fold_gap(0.01), fold_gap(0.1), fold_gap(0.3), fold_gap(3.0)
    (0.25, 1.0, 3.0, 8.0)
    """
    return round(min(round_s + FOLD_GAP_MAX_S, max(FOLD_EVERY_S, round_s / FOLD_SHARE)), 6)


@dataclass
class HotspotUpdater:
    """This process's arrivals since its last round of folds, counted by layer (the points
    themselves wait in the database's queue); :meth:`run` in the app's lifespan."""

    pending: dict[str, int] = field(default_factory=dict)
    summaries: dict[str, Summaries] = field(default_factory=dict)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    running: bool = False

    def add(self, layers: Iterable[str]) -> None:
        if not self.running:
            return  # no task in this process (a CLI command): an app process polls the queue
        for layer in layers:
            self.pending[layer] = self.pending.get(layer, 0) + 1
        self.wakeup.set()

    def add_referral(self) -> None:
        self.add(("public_reports",))

    def add_contact(self, *, bedded_down: bool) -> None:
        self.add(layers_of_contact(bedded_down))

    def _summaries(self, layer: str) -> Summaries:
        if layer not in self.summaries:
            self.summaries[layer] = Summaries(queued=partial(self._queued, layer))
        return self.summaries[layer]

    def _queued(self, layer: str) -> int:
        """Arrivals in this process since the current round of folds began."""
        return self.pending.get(layer, 0)

    async def _gather(self, *, until: float) -> None:
        """Let arrivals gather until ``until``, or until none has come for :data:`QUIET_S`
        (the flood is over: what came is folded now, not a whole gap later)."""
        while (left := until - time.monotonic()) > 0:
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, QUIET_S)):
                    await self.wakeup.wait()
            if not self.wakeup.is_set():
                return

    async def run(self, apply: ApplyFn, *, poll_s: float = QUEUE_POLL_S) -> None:
        self.running = True
        started, gap = -FOLD_GAP_MAX_S, FOLD_EVERY_S
        again: set[str] = set()  # layers to look at once more (busy elsewhere, or more wait)
        try:
            while True:
                polled = False
                if not again:
                    # asyncio.timeout, not wait_for: Python 3.11's wait_for returns a wake-up
                    # that completes as the task is cancelled, and the cancellation is lost
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(poll_s):
                            await self.wakeup.wait()
                    polled = not self.wakeup.is_set()
                # Under a flood, gather what arrives until the gap after the last round's
                # start is over (fold_gap); a point that comes alone is folded at once.
                if again:
                    await asyncio.sleep(max(0.0, started + FOLD_EVERY_S - time.monotonic()))
                else:
                    await self._gather(until=started + gap)
                started = time.monotonic()
                self.wakeup.clear()
                woken, self.pending = self.pending, {}
                layers = set(woken) | again
                # summaries left by a fold whose successor failed: refreshed on their own
                layers |= {layer for layer, s in self.summaries.items() if s.waiting}
                if polled:
                    layers |= set(HOTSPOT_LAYERS)
                again = set()
                for layer in sorted(layers):
                    if await apply(layer, self._summaries(layer)):
                        again.add(layer)
                gap = fold_gap(time.monotonic() - started)
        finally:
            self.running = False
