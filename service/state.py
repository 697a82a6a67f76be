"""What the lifespan owns and the handlers receive: engine, sessions, caches, clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import httpx
from litestar.di import Dependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.settings import Settings
from service.usecases.areas import AreaCache
from service.usecases.hotspots import HotspotUpdater
from service.usecases.recompute import RecomputeScheduler


@dataclass
class Runtime:
    """Process-wide resources, created in the lifespan and closed on shutdown."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    areas: AreaCache = field(default_factory=AreaCache)
    hotspots: HotspotUpdater = field(default_factory=HotspotUpdater)
    recompute: RecomputeScheduler = field(default_factory=RecomputeScheduler)
    """Debounced background assignment runs (started by the app's lifespan)."""
    migration_head: str = ""


RuntimeDep = Annotated[Runtime, Dependency(kind="named")]
"""How handlers ask for the runtime (name-based injection, explicit for Litestar 3)."""
