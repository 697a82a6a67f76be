"""Read models for the areas and teams endpoints."""

from __future__ import annotations

import msgspec

from geo.areas import Area
from service.db import areas as areas_repo
from service.db import teams as teams_repo
from service.db.engine import transaction
from service.runtime import Runtime
from service.schemas import areas as wire
from service.schemas.geojson import decode_geometry
from service.usecases.areas.boundaries import DEFAULT_ATTRIBUTION, lookup_point
from service.usecases.areas.sync import ensure_loaded


async def area_collection(runtime: Runtime, *, simplify_m: float) -> wire.AreaCollection:
    async with transaction(runtime.sessions) as session:
        rows = await areas_repo.list_geojson_rows(session, simplify_m=simplify_m)
    return wire.AreaCollection(
        features=[
            wire.AreaFeature(
                id=row["code"],
                geometry=decode_geometry(row.pop("geometry")),
                properties=msgspec.convert(row, wire.AreaProperties),
            )
            for row in rows
        ]
    )


def _authority(area: Area) -> wire.AuthorityRef:
    return wire.AuthorityRef(code=area.code, name=area.name, kind=area.kind)


async def lookup(runtime: Runtime, *, lon: float, lat: float) -> wire.AreaLookup:
    await ensure_loaded(runtime)
    async with transaction(runtime.sessions) as session:
        found = await lookup_point(runtime.areas, session, lon=lon, lat=lat)
    return wire.AreaLookup(
        authority=_authority(found.area),
        also_on_boundary_of=[_authority(a) for a in found.also],
        boundary_version=found.boundary_version,
        approximate=found.approximate,
        attribution=found.attribution,
        teams=msgspec.convert(found.teams, list[wire.TeamRef]),
    )


async def teams(runtime: Runtime) -> list[wire.Team]:
    async with transaction(runtime.sessions) as session:
        rows = await teams_repo.list_teams(session)
    return msgspec.convert(rows, list[wire.Team])


def boundary_attribution(runtime: Runtime) -> str:
    """The licence statement of the boundaries in use, for the map pages."""
    return runtime.areas.attribution or DEFAULT_ATTRIBUTION
