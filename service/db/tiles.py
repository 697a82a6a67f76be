"""Vector tiles from PostGIS: one ``tiles_<layer>.sql`` query per layer, each returning the
layer's Mapbox Vector Tile bytes (``ST_AsMVT``), its feature count and whether it was capped.
Layers are separate MVT messages that concatenate into one tile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import sql

EXTENT = 4096
BUFFER = 64


@dataclass(frozen=True, slots=True)
class LayerTile:
    name: str
    mvt: bytes
    features: int
    capped: bool


async def layer(session: AsyncSession, name: str, params: dict[str, Any]) -> LayerTile:
    """One layer of one tile; ``params`` carries the tile address, window, scope and caps."""
    values = {"extent": EXTENT, "buffer": BUFFER, "margin": BUFFER / EXTENT, **params}
    row = (await session.execute(sql(f"tiles_{name}"), values)).one()
    return LayerTile(name, bytes(row.mvt or b""), int(row.features), bool(row.capped))


async def cells(session: AsyncSession, name: str, params: dict[str, Any]) -> LayerTile:
    """A layer of grid cells whose counts were worked out already (``tiles_cells.sql``)."""
    values = {"extent": EXTENT, "buffer": BUFFER, "layer_name": name, **params}
    row = (await session.execute(sql("tiles_cells"), values)).one()
    return LayerTile(name, bytes(row.mvt or b""), int(row.features), bool(row.capped))
