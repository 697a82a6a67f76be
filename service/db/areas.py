"""Repository for boundary versions, authorities and their subdivided parts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from geo.areas import Area, to_multipolygon
from service.db.engine import Db, fetch_dicts, sql

AREAS_CHANNEL = "areas_changed"
SUBDIVIDE_MAX_VERTICES = 255


@dataclass(frozen=True, slots=True)
class BoundaryVersionRow:
    id: int
    label: str
    approximate: bool
    attribution: str | None = None


async def get_current_version(session: AsyncSession) -> BoundaryVersionRow | None:
    row = (
        await session.execute(
            text(
                "SELECT id, label, approximate, attribution FROM boundary_versions WHERE is_current"
            )
        )
    ).first()
    return BoundaryVersionRow(row.id, row.label, row.approximate, row.attribution) if row else None


async def add_version(
    session: AsyncSession,
    *,
    label: str,
    source: str,
    approximate: bool,
    areas: Sequence[Area],
    attribution: str | None = None,
) -> int:
    """Store a new boundary version with its authorities and parts, and make it current."""
    version_id = (
        await session.execute(
            text(
                "INSERT INTO boundary_versions (label, source, attribution, approximate) "
                "VALUES (:label, :source, :attribution, :approximate) RETURNING id"
            ),
            {
                "label": label,
                "source": source,
                "attribution": attribution,
                "approximate": approximate,
            },
        )
    ).scalar_one()
    await session.execute(
        text(
            "INSERT INTO authorities (version_id, code, name, kind, geom) "
            "VALUES (:version_id, :code, :name, :kind, "
            "ST_Multi(ST_GeomFromWKB(:wkb, 4326)))"
        ),
        [
            {
                "version_id": version_id,
                "code": a.code,
                "name": a.name,
                "kind": a.kind,
                "wkb": shapely.to_wkb(a.geometry),
            }
            for a in areas
        ],
    )
    await session.execute(
        text(
            "INSERT INTO authority_parts (authority_id, geom) "
            "SELECT id, (ST_Dump(ST_Subdivide(geom, :max_vertices))).geom "
            "FROM authorities WHERE version_id = :version_id"
        ),
        {"version_id": version_id, "max_vertices": SUBDIVIDE_MAX_VERTICES},
    )
    await session.execute(text("UPDATE boundary_versions SET is_current = false WHERE is_current"))
    await session.execute(
        text("UPDATE boundary_versions SET is_current = true WHERE id = :id"), {"id": version_id}
    )
    await session.execute(text(f"NOTIFY {AREAS_CHANNEL}"))
    return int(version_id)


async def load_current_areas(session: AsyncSession) -> tuple[BoundaryVersionRow | None, list[Area]]:
    """The current version's areas as shapely values, for the in-memory index."""
    version = await get_current_version(session)
    if version is None:
        return None, []
    rows = await session.execute(
        text(
            "SELECT code, name, kind, ST_AsBinary(geom) AS wkb FROM authorities "
            "WHERE version_id = :v ORDER BY code"
        ),
        {"v": version.id},
    )
    areas = [
        Area(r.code, r.name, r.kind, to_multipolygon(shapely.from_wkb(bytes(r.wkb)))) for r in rows
    ]
    return version, areas


async def list_geojson_rows(session: AsyncSession, *, simplify_m: float) -> list[dict[str, Any]]:
    rows = await session.execute(sql("areas_geojson"), {"simplify_m": simplify_m})
    return [dict(r._mapping) for r in rows]


async def covering_teams(db: Db, *, code: str, lon: float, lat: float) -> list[dict[str, Any]]:
    return await fetch_dicts(db, "area_lookup_teams", {"code": code, "lon": lon, "lat": lat})
