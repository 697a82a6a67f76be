"""Road travel times from an OSRM-compatible routing server, with a straight-line fallback.

When ``osrm_url`` is set, one ``table`` request (``/table/v1/driving/{lon,lat;…}
?annotations=duration``) over the shared HTTP client gives the minutes between every pair of
points. A timeout, a connection error, an HTTP error, an answer that is not a complete table
of non-negative durations, or a pair with no road route: the caller gets ``None`` with the
reason, and plans on straight lines instead. The run-sheet says which source it used.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import msgspec

from service.runtime import Runtime
from service.vocabularies import TravelSource

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TravelTimes:
    """Minutes between points (row: from, column: to), or ``None`` to use straight lines."""

    minutes: list[list[float]] | None
    source: TravelSource
    fallback_reason: str | None = None


class _OsrmTable(msgspec.Struct):
    """The part of an OSRM ``table`` answer we use (other fields are ignored)."""

    code: str
    durations: list[list[float | None]] | None = None


STRAIGHT = TravelTimes(None, "straight_line")


def _fallback(reason: str) -> TravelTimes:
    log.warning("routing server not used: %s", reason)
    return TravelTimes(None, "straight_line", reason)


def parse_table(content: bytes, n_points: int) -> TravelTimes:
    """Minutes from an OSRM ``table`` answer for ``n_points`` points, or the reason it is unusable.

    >>> parse_table(b'{"code": "Ok", "durations": [[0, 90], [120, 0]]}', 2).minutes
    [[0.0, 1.5], [2.0, 0.0]]
    >>> parse_table(b'{"code": "Ok", "durations": [[0, null], [1, 0]]}', 2).fallback_reason
    'the routing server found no road route between some stops'
    >>> parse_table(b'<html>', 2).fallback_reason
    'the routing server did not answer with a duration table'
    """
    try:
        table = msgspec.json.decode(content, type=_OsrmTable)
    except msgspec.DecodeError:
        return _fallback("the routing server did not answer with a duration table")
    if table.code != "Ok":
        return _fallback("the routing server refused the request")
    rows = table.durations
    if rows is None or len(rows) != n_points or any(len(row) != n_points for row in rows):
        return _fallback("the routing server's table does not match the stops")
    if any(v is None for row in rows for v in row):
        return _fallback("the routing server found no road route between some stops")
    minutes = [[float(v) / 60.0 for v in row if v is not None] for row in rows]
    if any(not math.isfinite(v) or v < 0 for row in minutes for v in row):
        return _fallback("the routing server's table has invalid durations")
    return TravelTimes(minutes, "osrm")


async def travel_minutes(
    runtime: Runtime, points_lon_lat: Sequence[tuple[float, float]]
) -> TravelTimes:
    """Road minutes between the points from the configured server, or why not."""
    settings = runtime.settings
    base_url = settings.osrm_url.rstrip("/")
    if not base_url or len(points_lon_lat) < 2:
        return STRAIGHT
    coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in points_lon_lat)
    try:
        response = await runtime.http.get(
            f"{base_url}/table/v1/driving/{coordinates}",
            params={"annotations": "duration"},
            timeout=settings.osrm_timeout_s,
        )
    except httpx.TimeoutException:
        return _fallback(f"the routing server did not answer within {settings.osrm_timeout_s:g} s")
    except httpx.HTTPError as exc:
        return _fallback(f"the routing server could not be reached ({type(exc).__name__})")
    if response.status_code != 200:
        return _fallback(f"the routing server answered HTTP {response.status_code}")
    return parse_table(response.content, len(points_lon_lat))
