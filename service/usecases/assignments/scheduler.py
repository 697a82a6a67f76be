"""Debounced background recomputes: work arriving in a burst is assigned in one run.

Requests made while no run is pending start a timer of ``debounce_s``; every request until it
fires joins the same run (its trigger lists them all). A request names the items it changed
(``referral:<id>``, ``hotspot:<id>``): the run places only those, incrementally, and what they
displace; a request naming none (teams, SWEP, a full hotspot recompute) makes it a full run.
Requests made during a run start the next timer after it. A failed run is logged, never raised
to whoever asked for it: a referral is accepted whether or not the assignment after it succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

RunFn = Callable[[str], Awaitable[object]]
ApplyFn = Callable[[str, frozenset[str]], Awaitable[object]]


class RunScheduler:
    """Owned by the runtime; :meth:`start` in the app's lifespan, :meth:`stop` at shutdown.
    Until started (the CLI, tests of other things) requests are ignored."""

    def __init__(self) -> None:
        self._run: RunFn | None = None
        self._debounce_s = 0.0
        self._triggers: set[str] = set()
        self._items: set[str] = set()
        self._full = False
        self._apply: ApplyFn | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self.completed = 0
        self.failed = 0

    @property
    def started(self) -> bool:
        return self._run is not None

    def start(self, run: RunFn, *, debounce_s: float, apply: ApplyFn | None = None) -> None:
        """``run(trigger)`` makes a full run; ``apply(trigger, items)`` places some items
        (without it every run is full)."""
        self._run, self._apply, self._debounce_s = run, apply, max(0.0, debounce_s)

    def request(self, trigger: str, items: Iterable[str] | None = None) -> None:
        """Ask for a run soon, of these items or (``None``) of everything; returns at once
        (call it after the caller's commit)."""
        if self._run is None:
            return
        self._triggers.add(trigger)
        if items is None:
            self._full = True
        else:
            self._items.update(items)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._drain(), name="assignment-recompute"
            )

    async def _drain(self) -> None:
        while self._triggers:
            await asyncio.sleep(self._debounce_s)
            run, trigger = self._run, "+".join(sorted(self._triggers))
            apply, items, full = self._apply, frozenset(self._items), self._full
            self._triggers.clear()
            self._items.clear()
            self._full = False
            if run is None:
                return
            self._busy = True
            try:
                if full or apply is None:
                    await run(trigger)
                elif items:
                    await apply(trigger, items)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away: log, the next request retries
                self.failed += 1
                log.warning("assignment recompute (%s) failed: %s", trigger, type(exc).__name__)
            else:
                self.completed += 1
            finally:
                self._busy = False

    async def stop(self, *, grace_s: float = 5.0) -> None:
        """No more runs; a run under way may finish (up to ``grace_s``), a pending one is
        dropped (the next process to start, or the next request, recomputes anyway)."""
        self._run = None
        self._triggers.clear()
        self._items.clear()
        task = self._task
        if task is None or task.done():
            return
        if not self._busy:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, grace_s)
