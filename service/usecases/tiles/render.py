"""Vector tiles for the staff map: which layers, which time window, what the caller may see.

Points (referrals, contacts) are shown only to roles allowed to see points
(``settings.tile_point_roles``) and only within their scope: workers their teams', coordinators
their authorities', admins all. Whatever the caller may not see as points is shown as counts
in grid cells (``referral_cells``, ``contact_cells``), counts under 5 given only as "<5".
Every tile holding points is an audited read of personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from geo.tiles import TileAddress, cell_zoom, parse_tile_address, tile_size_m
from service import access
from service.access import StaffUser
from service.db import audit
from service.db import tiles as repo
from service.db.engine import transaction
from service.exceptions import InvalidQueryError
from service.runtime import Runtime
from service.settings import Settings

LAYERS = ("areas", "teams", "hotspots", "referrals", "contacts")
"""Every layer a tile can carry, in drawing order (bottom first)."""
CELL_LAYERS = {"referrals": "referral_cells", "contacts": "contact_cells"}
"""Point layers and the aggregated layer standing in for the points a caller may not see."""
SCOPED_LAYERS = frozenset({"hotspots", *CELL_LAYERS})
"""Layers holding personal data: only in the caller's scope, and reading them is audited.
Hotspots outside it are not shown (the cells count that activity)."""
MAX_ZOOM = 22
CELLS_PER_TILE_LOG2 = 3
"""Aggregation cells are tiles three zooms deeper: 8 x 8 cells along a tile."""
SUPPRESS_BELOW = 5
MAX_WINDOW_DAYS = 3660
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True, slots=True)
class TileQuery:
    """What the client asked for besides the address (all optional)."""

    layers: tuple[str, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    window_days: int | None = None


@dataclass(frozen=True, slots=True)
class Tile:
    data: bytes
    etag: str
    capped: tuple[str, ...]
    max_age_s: int


def choose_layers(requested: tuple[str, ...]) -> tuple[str, ...]:
    """The known layers asked for (repeated or comma-separated), in drawing order.

    >>> choose_layers(("contacts,areas", "hotspots")), choose_layers(())[:2]
    (('areas', 'hotspots', 'contacts'), ('areas', 'teams'))
    >>> choose_layers(("areas,people",))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    service.exceptions.InvalidQueryError: unknown layer 'people'; known: areas, teams, ...
    """
    names = {n.strip() for item in requested for n in item.split(",") if n.strip()}
    unknown = sorted(names - set(LAYERS))
    if unknown:
        raise InvalidQueryError(
            f"unknown layer {unknown[0]!r}; known: {', '.join(LAYERS)}", field="layers"
        )
    return tuple(n for n in LAYERS if n in names) if names else LAYERS


def time_window(
    query: TileQuery, *, now: dt.datetime, default_days: int
) -> tuple[dt.datetime, dt.datetime]:
    """``[since, until)`` from ``since``/``until`` or ``window_days`` (ending at ``until`` or
    now); naive times are UTC.

    >>> now = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    >>> [d.day for d in time_window(TileQuery(window_days=7), now=now, default_days=90)]
    [24, 31]
    >>> time_window(TileQuery(since=now, window_days=7), now=now, default_days=90)
    Traceback (most recent call last):
    ...
    service.exceptions.InvalidQueryError: give since (and until) or window_days, not both
    """
    if query.since is not None and query.window_days is not None:
        raise InvalidQueryError(
            "give since (and until) or window_days, not both", field="window_days"
        )
    until = _utc(query.until) if query.until is not None else now
    days = query.window_days if query.window_days is not None else default_days
    since = _utc(query.since) if query.since is not None else until - dt.timedelta(days=days)
    if since >= until:
        raise InvalidQueryError("since must be before until", field="since")
    if until - since > dt.timedelta(days=MAX_WINDOW_DAYS):
        raise InvalidQueryError(
            f"the window may span at most {MAX_WINDOW_DAYS} days", field="since"
        )
    return since, until


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def scope_params(user: StaffUser, settings: Settings) -> dict[str, Any]:
    """Who the caller may see as points (``service.access``; roles outside
    ``tile_point_roles`` see none, only the grid counts)."""
    allowed = user.role in settings.tile_point_roles
    return access.params(access.scope_of(user) if allowed else access.NOBODY)


def cell_params(tile: TileAddress, settings: Settings) -> dict[str, Any]:
    """The aggregation grid for this tile: the cells' zoom, the region counted and its cells."""
    cz = cell_zoom(tile.z, CELLS_PER_TILE_LOG2, settings.tile_cell_max_zoom)
    qz = min(tile.z, cz)
    qx, qy = tile.x >> (tile.z - qz), tile.y >> (tile.z - qz)
    shift = cz - qz
    return {
        "cz": cz,
        "cell_m": tile_size_m(cz),
        "qz": qz,
        "qx": qx,
        "qy": qy,
        "cx0": qx << shift,
        "cx1": (qx + 1) << shift,
        "cy0": qy << shift,
        "cy1": (qy + 1) << shift,
        "suppress_below": SUPPRESS_BELOW,
    }


def layer_plan(layers: tuple[str, ...], scope: dict[str, Any]) -> list[str]:
    """The SQL layers to run: points only when the caller can see some, cells only when
    some points are hidden from them (never for an admin allowed to see points)."""
    sees_points = bool(scope["scope_all"] or scope["scope_coordinator"] or scope["scope_teams"])
    plan: list[str] = []
    for name in layers:
        if name not in SCOPED_LAYERS or sees_points:
            plan.append(name)
        if name in CELL_LAYERS and not scope["scope_all"]:
            plan.append(CELL_LAYERS[name])
    return plan


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


async def render_tile(
    runtime: Runtime,
    user: StaffUser,
    *,
    z: str,
    x: str,
    row: str,
    query: TileQuery,
    route: str,
) -> Tile:
    """One tile for this caller: the chosen layers, concatenated; reading points is audited."""
    settings = runtime.settings
    tile = parse_tile_address(z, x, row, max_zoom=MAX_ZOOM)
    layers = choose_layers(query.layers)
    since, until = time_window(
        query, now=dt.datetime.now(dt.UTC), default_days=settings.tile_window_days
    )
    scope = scope_params(user, settings)
    params = {
        "z": tile.z,
        "x": tile.x,
        "y": tile.y,
        "since": since,
        "until": until,
        "cap": settings.tile_max_features,
        **scope,
        **cell_params(tile, settings),
    }
    async with transaction(runtime.sessions) as session:
        parts = [await repo.layer(session, name, params) for name in layer_plan(layers, scope)]
        points = {p.name: p.features for p in parts if p.name in SCOPED_LAYERS and p.features}
        if points:
            await audit.record(
                session,
                user_id=user.id,
                username=user.username,
                action="read",
                subject_type="tile",
                subject_id=f"{tile.z}/{tile.x}/{tile.y}",
                route=route,
                detail={"features": points, "since": since.isoformat(), "until": until.isoformat()},
            )
    data = b"".join(p.mvt for p in parts)
    return Tile(
        data=data,
        etag=etag_of(data),
        capped=tuple(p.name for p in parts if p.capped),
        max_age_s=settings.tile_max_age_s,
    )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names this ETag (weak or strong, or ``*``).

    >>> etag_matches('W/"ab", "cd"', '"cd"'), etag_matches('"ab"', '"cd"')
    (True, False)
    >>> etag_matches(None, '"x"'), etag_matches("*", '"x"')
    (False, True)
    """
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags
