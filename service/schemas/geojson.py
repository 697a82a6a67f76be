"""GeoJSON geometries as a msgspec tagged union (``type`` is the tag), RFC 7946 lon/lat order."""

from __future__ import annotations

import msgspec

Position = tuple[float, float]


class Point(msgspec.Struct, tag=True, frozen=True):
    coordinates: Position


class MultiPoint(msgspec.Struct, tag=True, frozen=True):
    coordinates: list[Position]


class LineString(msgspec.Struct, tag=True, frozen=True):
    coordinates: list[Position]


class MultiLineString(msgspec.Struct, tag=True, frozen=True):
    coordinates: list[list[Position]]


class Polygon(msgspec.Struct, tag=True, frozen=True):
    coordinates: list[list[Position]]


class MultiPolygon(msgspec.Struct, tag=True, frozen=True):
    coordinates: list[list[list[Position]]]


Geometry = Point | MultiPoint | LineString | MultiLineString | Polygon | MultiPolygon

_decoder = msgspec.json.Decoder(Geometry)


def decode_geometry(text: str | bytes) -> Geometry:
    """Decode a PostGIS ``ST_AsGeoJSON`` string."""
    geometry: Geometry = _decoder.decode(text)
    return geometry
