"""Areas and teams: the seed, boundary import, the in-memory index and point lookup."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from geo.areas import Area, AreaIndex, read_areas
from service.db import areas as areas_repo
from service.db import teams as teams_repo
from service.db.engine import transaction
from service.exceptions import OutsideGreaterEssexError

log = logging.getLogger(__name__)
SEED_DIR = Path(__file__).resolve().parents[2] / "db" / "seed"
SEED_FILE = SEED_DIR / "greater_essex.json"


def seed_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    return data


GREATER_ESSEX_CODES: frozenset[str] = frozenset(a["code"] for a in seed_data()["authorities"])


DEFAULT_ATTRIBUTION: str = seed_data()["attribution"]
"""The ONS boundaries' licence statement (OGL v3), also the default for imported files."""


def official_areas(data: dict[str, Any]) -> list[Area]:
    """The shipped ONS boundaries of the 14 Greater Essex authorities (OGL v3)."""
    collection = json.loads((SEED_DIR / data["boundaries_file"]).read_text(encoding="utf-8"))
    return read_areas(
        collection, code_field="code", name_field="name", only_codes=GREATER_ESSEX_CODES
    )


@dataclass
class SeedReport:
    boundary_version: int | None
    teams_added: list[str] = field(default_factory=list)


async def seed_defaults(session: AsyncSession) -> SeedReport:
    """Seed the official Greater Essex boundaries (when none are loaded, or the current ones
    are the approximate partition older versions seeded) and the default teams (only those
    missing by name). Safe to run any number of times."""
    data = seed_data()
    report = SeedReport(boundary_version=None)
    current = await areas_repo.get_current_version(session)
    if current is None or current.approximate:
        report.boundary_version = await areas_repo.add_version(
            session,
            label=data["label"],
            source=data["source"],
            attribution=data["attribution"],
            approximate=False,
            areas=await asyncio.to_thread(official_areas, data),
        )
    for team in data["teams"]:
        lat, lon = team["base_lat_lon"]
        added = await teams_repo.add_if_missing(
            session,
            name=team["name"],
            lon=lon,
            lat=lat,
            shift_capacity=team["shift_capacity"],
            shift_start=dt.time.fromisoformat(team["shift_start"]),
            shift_end=dt.time.fromisoformat(team["shift_end"]),
            covers=team["covers"],
        )
        if added is not None:
            report.teams_added.append(team["name"])
    return report


async def import_boundaries(
    session: AsyncSession,
    collection: dict[str, Any],
    *,
    code_field: str,
    name_field: str,
    label: str,
    source: str,
    attribution: str = DEFAULT_ATTRIBUTION,
    srid: int | None = None,
    only_codes: Iterable[str] | None = GREATER_ESSEX_CODES,
) -> tuple[int, list[Area]]:
    """Load official boundaries as a new current version (CPU work in a thread)."""
    areas = await asyncio.to_thread(
        read_areas,
        collection,
        code_field=code_field,
        name_field=name_field,
        srid=srid,
        only_codes=only_codes,
    )
    if not areas:
        raise OutsideGreaterEssexError("the file holds none of the wanted authority codes")
    version = await areas_repo.add_version(
        session,
        label=label,
        source=source,
        attribution=attribution,
        approximate=False,
        areas=areas,
    )
    return version, areas


@dataclass
class AreaCache:
    """The process-local area index, reloaded on NOTIFY and periodically."""

    index: AreaIndex = field(default_factory=lambda: AreaIndex([]))
    version_id: int | None = None
    approximate: bool = False
    attribution: str | None = None
    loaded: bool = False

    async def refresh(self, factory: async_sessionmaker[AsyncSession]) -> None:
        async with transaction(factory) as session:
            version, areas = await areas_repo.load_current_areas(session)
        index = await asyncio.to_thread(AreaIndex, areas)
        self.index, self.loaded = index, True
        self.version_id = version.id if version else None
        self.approximate = version.approximate if version else False
        self.attribution = version.attribution if version else None
        log.info("area index loaded: version=%s areas=%d", self.version_id, len(index))


@dataclass(frozen=True, slots=True)
class Lookup:
    area: Area
    also: tuple[Area, ...]
    boundary_version: int | None
    approximate: bool
    attribution: str | None
    teams: list[dict[str, object]]


async def lookup_point(
    cache: AreaCache, session: AsyncSession, *, lon: float, lat: float
) -> Lookup:
    """Which authority covers a point (boundary included) and which teams cover it."""
    matches = cache.index.lookup(lon, lat)
    if not matches:
        raise OutsideGreaterEssexError("the point is outside every Greater Essex authority")
    primary = matches[0]
    teams = await areas_repo.covering_teams(session, code=primary.code, lon=lon, lat=lat)
    return Lookup(
        area=primary,
        also=tuple(matches[1:]),
        boundary_version=cache.version_id,
        approximate=cache.approximate,
        attribution=cache.attribution,
        teams=teams,
    )
