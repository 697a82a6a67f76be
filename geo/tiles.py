"""Web-Mercator tile addresses (XYZ, as MapLibre asks for them) and the aggregation grid.

Pure arithmetic, no I/O. A tile address is ``z/x/y`` with ``0 <= x, y < 2**z``; the row ``y``
counts from the north. Aggregated cells (for callers who may not see points) are the tiles of
one fixed zoom, so a cell never straddles two tiles and is the same cell, with the same count,
in every tile that shows it.

>>> parse_tile_address("8", "128", "85.mvt", max_zoom=22)
TileAddress(z=8, x=128, y=85)
>>> parse_tile_address("3", "8", "1.mvt", max_zoom=22)
Traceback (most recent call last):
...
geo.errors.InvalidTileAddressError: x must be between 0 and 7 at zoom 3
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from geo.errors import InvalidTileAddressError

EARTH_HALF_CIRCUMFERENCE_M = 20_037_508.342789244
"""Half the extent of the Web-Mercator plane (EPSG:3857), in projected metres."""
WHOLE_PATTERN = r"^(0|[1-9][0-9]{0,7})$"
ROW_PATTERN = r"^(0|[1-9][0-9]{0,7})\.mvt$"
_WHOLE = re.compile(WHOLE_PATTERN)
_ROW = re.compile(ROW_PATTERN)


@dataclass(frozen=True, slots=True)
class TileAddress:
    z: int
    x: int
    y: int


def parse_tile_address(z_text: str, x_text: str, row: str, *, max_zoom: int) -> TileAddress:
    """A checked tile address from the path's ``z``, ``x`` and ``<y>.mvt`` (decimal, no
    leading zeros, no signs).

    >>> parse_tile_address("0", "0", "0.mvt", max_zoom=22)
    TileAddress(z=0, x=0, y=0)
    >>> parse_tile_address("23", "0", "0.mvt", max_zoom=22)
    Traceback (most recent call last):
    ...
    geo.errors.InvalidTileAddressError: z must be between 0 and 22
    >>> parse_tile_address("1", "0", "01.png", max_zoom=22)
    Traceback (most recent call last):
    ...
    geo.errors.InvalidTileAddressError: the last part must be <row>.mvt, e.g. 85.mvt
    >>> parse_tile_address("1", "-0", "0.mvt", max_zoom=22)
    Traceback (most recent call last):
    ...
    geo.errors.InvalidTileAddressError: x must be a whole number
    """
    z = _whole(z_text, "z")
    x = _whole(x_text, "x")
    if not 0 <= z <= max_zoom:
        raise InvalidTileAddressError(f"z must be between 0 and {max_zoom}")
    match = _ROW.match(row)
    if match is None:
        raise InvalidTileAddressError("the last part must be <row>.mvt, e.g. 85.mvt")
    y = int(match.group(1))
    side = 1 << z
    if not 0 <= x < side:
        raise InvalidTileAddressError(f"x must be between 0 and {side - 1} at zoom {z}")
    if not 0 <= y < side:
        raise InvalidTileAddressError(f"y must be between 0 and {side - 1} at zoom {z}")
    return TileAddress(z, x, y)


def _whole(text: str, name: str) -> int:
    if _WHOLE.match(text) is None:
        raise InvalidTileAddressError(f"{name} must be a whole number")
    return int(text)


def tile_for_lonlat(lon: float, lat: float, z: int) -> TileAddress:
    """The tile holding a WGS84 point (the usual slippy-map formula).

    >>> tile_for_lonlat(0.4693, 51.7366, 14)
    TileAddress(z=14, x=8213, y=5431)
    """
    side = 1 << z
    lat_r = math.radians(lat)
    x = int((lon + 180.0) / 360.0 * side)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * side)
    return TileAddress(z, min(max(x, 0), side - 1), min(max(y, 0), side - 1))


def tile_size_m(z: int) -> float:
    """The side of a tile of zoom ``z`` in Web-Mercator metres.

    >>> round(tile_size_m(0)), round(tile_size_m(14), 1)
    (40075017, 2446.0)
    """
    return 2 * EARTH_HALF_CIRCUMFERENCE_M / (1 << z)
