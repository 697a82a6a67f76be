"""Keep the process-local area index fresh: LISTEN for changes, reload periodically, and keep
trying (with back-off) while the database is away."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from service.db.areas import AREAS_CHANNEL
from service.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0


async def initial_load(runtime: Runtime) -> None:
    """Load the index before serving when the database is there; never block start-up."""
    try:
        await asyncio.wait_for(runtime.areas.refresh(runtime.sessions), timeout=10)
    except Exception as exc:  # the app starts without the database and recovers later
        log.warning("area index not loaded at start-up (%s)", type(exc).__name__)


async def ensure_loaded(runtime: Runtime) -> None:
    if not runtime.areas.loaded:
        await runtime.areas.refresh(runtime.sessions)


async def keep_areas_fresh(runtime: Runtime) -> None:
    backoff = 0.5
    while True:
        try:
            await _listen_and_refresh(runtime)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database may be down: retry, never crash the app
            log.warning("area index refresh failed (%s); retrying", type(exc).__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        else:
            backoff = 0.5


async def _listen_and_refresh(runtime: Runtime) -> None:
    settings = runtime.settings
    changed = asyncio.Event()
    conn = await asyncpg.connect(settings.asyncpg_dsn, timeout=settings.db_connect_timeout_s)
    try:
        await conn.add_listener(AREAS_CHANNEL, lambda *_: changed.set())
        conn.add_termination_listener(lambda *_: changed.set())
        while True:
            await runtime.areas.refresh(runtime.sessions)
            changed.clear()
            with contextlib.suppress(TimeoutError):  # not wait_for: see HotspotUpdater.run
                async with asyncio.timeout(settings.area_refresh_s):
                    await changed.wait()
            if conn.is_closed():
                raise ConnectionError("listener connection closed")
    finally:
        await conn.close(timeout=2)
