"""WGS84 (EPSG:4326) <-> British National Grid (EPSG:27700).

Transformers are built once and reused: pyproj's construction is the slow part.
Axis order is always (lon, lat) and (easting, northing).

>>> e, n = wgs84_to_bng(0.4693, 51.7366)  # Chelmsford station
>>> round(e, -1), round(n, -1)
(570600.0, 207100.0)
>>> lon, lat = bng_to_wgs84(e, n)
>>> round(lon, 5), round(lat, 5)
(0.4693, 51.7366)
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from pyproj import Transformer
from shapely import transform as shapely_transform

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from shapely.geometry.base import BaseGeometry

WGS84 = 4326
BNG = 27700
BNG_AREA_WGS84 = (-9.01, 49.75, 2.01, 61.01)
"""Where British National Grid is defined (EPSG:27700 area of use), lon/lat degrees."""


def in_bng_area(lon: float, lat: float) -> bool:
    """Whether a point can be put on the British National Grid.

    >>> in_bng_area(0.4693, 51.7366), in_bng_area(-93.4, 31.9), in_bng_area(2.01, 61.01)
    (True, False, True)
    """
    lon_min, lat_min, lon_max, lat_max = BNG_AREA_WGS84
    return lon_min <= lon <= lon_max and lat_min <= lat <= lat_max


@cache
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def wgs84_to_bng(lon: float, lat: float) -> tuple[float, float]:
    """One point from (lon, lat) degrees to (easting, northing) metres."""
    e, n = _transformer(WGS84, BNG).transform(lon, lat)
    return float(e), float(n)


def bng_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """One point from (easting, northing) metres to (lon, lat) degrees."""
    lon, lat = _transformer(BNG, WGS84).transform(easting, northing)
    return float(lon), float(lat)


def _reproject(geom: BaseGeometry, src: int, dst: int) -> BaseGeometry:
    t = _transformer(src, dst)

    def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely_transform(geom, apply)


def geometry_to_bng(geom: BaseGeometry) -> BaseGeometry:
    """A shapely geometry from WGS84 degrees to BNG metres."""
    return _reproject(geom, WGS84, BNG)


def geometry_to_wgs84(geom: BaseGeometry, *, from_srid: int = BNG) -> BaseGeometry:
    """A shapely geometry from ``from_srid`` (BNG by default) to WGS84 degrees."""
    if from_srid == WGS84:
        return geom
    return _reproject(geom, from_srid, WGS84)
