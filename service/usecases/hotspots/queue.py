"""This process's queue of newly stored points, folded into the hotspots in the background.

Requests only enqueue (never wait for clustering); :meth:`HotspotUpdater.run` drains the queue
in batches, one call of ``apply`` (``clustering.apply_update``) per layer. If an update fails
(say, the database is away) the points are dropped here and the next full recompute includes
them. The queue knows nothing of the runtime, which holds it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from service.db.hotspots import MemberKey

ApplyFn = Callable[[str, list[MemberKey]], Awaitable[None]]


def layers_of_contact(bedded_down: bool) -> tuple[str, ...]:
    """The layers a new contact belongs to."""
    return ("all_contacts", "verified_bedded_down") if bedded_down else ("all_contacts",)


CHUNK = 1000
"""New points folded in by one update at most: a shift-end burst (12,000 contacts at once) as
one update read a neighbourhood so large that it hit the statement timeout; chunks of 250
made a 2,000-contact burst take 100 s to settle instead of 8 s (each chunk re-reads much the
same neighbourhood)."""


@dataclass
class HotspotUpdater:
    """Points waiting to be folded in, by layer; :meth:`run` in the app's lifespan."""

    pending: dict[str, list[MemberKey]] = field(default_factory=dict)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    running: bool = False

    def add(self, layers: Iterable[str], key: MemberKey) -> None:
        if not self.running:
            return  # no task in this process (a CLI command): the recompute will catch up
        for layer in layers:
            self.pending.setdefault(layer, []).append(key)
        self.wakeup.set()

    def add_referral(self, referral_id: uuid.UUID) -> None:
        self.add(("public_reports",), ("referral", referral_id))

    def add_contact(self, contact_id: uuid.UUID, *, bedded_down: bool) -> None:
        self.add(layers_of_contact(bedded_down), ("contact", contact_id))

    async def run(self, apply: ApplyFn) -> None:
        self.running = True
        try:
            while True:
                await self.wakeup.wait()
                self.wakeup.clear()
                batch, self.pending = self.pending, {}
                for layer, keys in batch.items():
                    for start in range(0, len(keys), CHUNK):  # each a bounded transaction
                        await apply(layer, keys[start : start + CHUNK])
        finally:
            self.running = False
