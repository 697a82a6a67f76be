"""Approximate areas: a Voronoi partition of administrative centres clipped to an outline.

Used only for the project's own *approximate* default seed, before official boundaries are
imported. Work happens in British National Grid metres so that "nearest centre" means metres.

>>> from shapely.geometry import box
>>> cells = voronoi_partition({"W": (1.0, 5.0), "E": (9.0, 5.0)}, box(0, 0, 10, 10))
>>> sorted((code, round(cell.area, 6)) for code, cell in cells.items())
[('E', 50.0), ('W', 50.0)]
"""

from __future__ import annotations

from collections.abc import Mapping

import shapely
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.areas import to_multipolygon
from geo.errors import InvalidGeometryError


def voronoi_partition(
    centres: Mapping[str, tuple[float, float]], outline: Polygon
) -> dict[str, BaseGeometry]:
    """One cell per centre: the part of ``outline`` nearer that centre than any other."""
    if not centres:
        return {}
    points = MultiPoint([Point(xy) for xy in centres.values()])
    cells = shapely.voronoi_polygons(points, extend_to=outline.envelope.buffer(1.0))
    result: dict[str, BaseGeometry] = {}
    for code, xy in centres.items():
        centre = Point(xy)
        if not outline.covers(centre):
            raise InvalidGeometryError(f"centre of {code} lies outside the outline")
        cell = next(c for c in cells.geoms if c.covers(centre))
        result[code] = to_multipolygon(cell.intersection(outline))
    return result
