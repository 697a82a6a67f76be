"""What the lifespan owns and the handlers receive: engine, sessions, caches, clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import httpx
from litestar.di import Dependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.db.engine import create_engine, session_factory
from service.db.revisions import migration_head
from service.settings import Settings
from service.usecases.areas.boundaries import AreaCache
from service.usecases.assignments.scheduler import RunScheduler
from service.usecases.hotspots.queue import HotspotUpdater


@dataclass
class Runtime:
    """Process-wide resources, created in the lifespan and closed on shutdown."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    areas: AreaCache = field(default_factory=AreaCache)
    hotspots: HotspotUpdater = field(default_factory=HotspotUpdater)
    assignment_runs: RunScheduler = field(default_factory=RunScheduler)
    """Debounced background assignment runs (started by the app's lifespan)."""
    migration_head: str = ""


RuntimeDep = Annotated[Runtime, Dependency(kind="named")]
"""How handlers ask for the runtime (name-based injection, explicit for Litestar 3)."""


def build_runtime(settings: Settings) -> Runtime:
    """The one place a runtime is put together (the app's lifespan and CLI commands)."""
    engine = create_engine(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        http=httpx.AsyncClient(timeout=httpx.Timeout(10.0)),
        migration_head=migration_head(),
    )
