"""Vector tiles for the staff map: which layers, which time window, what the caller may see.

Points (referrals, contacts) are shown only to roles allowed to see points
(``settings.tile_point_roles``) and only within their scope: workers their teams', coordinators
their authorities', admins all, for exactly the window asked for. Whatever the caller may not
see as points is shown as counts in grid cells (``referral_cells``, ``contact_cells``), and
those are figures outside the caller's scope (:mod:`service.usecases.figures.disclosure`):

* one fixed grid, the tiles of ``settings.tile_cell_zoom``, at every zoom of the map, so a
  cell is the same cell (with the same count) in every tile that shows it;
* one calendar month (Europe/London), the last that has ended by the window's end, whatever
  ``since`` is (each cell carries it as ``month``), so two windows never count overlapping
  but different sets of records;
* each cell counted for one authority (a square on a boundary is two cells), with counts under
  5 given only as "<5" and secondary suppression shared with ``GET /v1/stats``.

Every tile holding points is an audited read of personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from geo.tiles import TileAddress, parse_tile_address
from service import access
from service.access import StaffUser
from service.db import audit
from service.db import tiles as repo
from service.db.engine import transaction
from service.exceptions import InvalidQueryError
from service.runtime import Runtime
from service.settings import Settings
from service.usecases.figures import disclosure, months

LAYERS = ("areas", "teams", "hotspots", "referrals", "contacts")
"""Every layer a tile can carry, in drawing order (bottom first)."""
CELL_LAYERS = {"referrals": "referral_cells", "contacts": "contact_cells"}
"""Point layers and the aggregated layer standing in for the points a caller may not see."""
CELL_KINDS = {"referral_cells": "referral", "contact_cells": "contact"}
"""What each cell layer counts (``months.KINDS``)."""
SCOPED_LAYERS = frozenset({"hotspots", *CELL_LAYERS})
"""Layers holding personal data: only in the caller's scope, and reading them is audited.
Hotspots outside it are not shown (the cells count that activity)."""
MAX_ZOOM = 22
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


def cell_range(tile: TileAddress, cell_zoom: int) -> dict[str, int]:
    """The cells (tiles of ``cell_zoom``) this tile shows: columns ``cx0..cx1`` and rows
    ``cy0..cy1``, ends exclusive; the one cell holding the tile when cells are larger.

    >>> cell_range(TileAddress(13, 10, 20), 14)
    {'cz': 14, 'cx0': 20, 'cx1': 22, 'cy0': 40, 'cy1': 42}
    >>> cell_range(TileAddress(16, 10, 21), 14)
    {'cz': 14, 'cx0': 2, 'cx1': 3, 'cy0': 5, 'cy1': 6}
    """
    qz = min(tile.z, cell_zoom)
    qx, qy = tile.x >> (tile.z - qz), tile.y >> (tile.z - qz)
    shift = cell_zoom - qz
    return {
        "cz": cell_zoom,
        "cx0": qx << shift,
        "cx1": (qx + 1) << shift,
        "cy0": qy << shift,
        "cy1": (qy + 1) << shift,
    }


def cell_arrays(counted: disclosure.MonthFigures, grid: dict[str, int]) -> dict[str, list[Any]]:
    """The cells of ``grid`` with anything counted, as the arrays ``tiles_cells.sql`` reads."""
    inside = sorted(
        (cx, cy, code or "", n)
        for (code, cx, cy), n in counted.cells.items()
        if grid["cx0"] <= cx < grid["cx1"] and grid["cy0"] <= cy < grid["cy1"]
    )
    return {
        "cx": [c[0] for c in inside],
        "cy": [c[1] for c in inside],
        "authority": [c[2] for c in inside],
        "counts": [None if c[3] == disclosure.SUPPRESSED else c[3] for c in inside],
        "labels": [str(c[3]) for c in inside],
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
    }
    async with transaction(runtime.sessions) as session:
        parts = []
        for name in layer_plan(layers, scope):
            if name in CELL_KINDS:
                parts.append(await _cells(session, name, user, tile, until, settings))
            else:
                parts.append(await repo.layer(session, name, params))
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


async def _cells(
    session: Any,
    name: str,
    user: StaffUser,
    tile: TileAddress,
    until: dt.datetime,
    settings: Settings,
) -> repo.LayerTile:
    """A cell layer: the month's counts outside the caller's scope on the one grid."""
    month = months.cell_month(until, dt.datetime.now(dt.UTC))
    counted = await months.month_figures(
        session,
        CELL_KINDS[name],
        month=month,
        known=access.scope_of(user),
        cells_count_known=user.role not in settings.tile_point_roles,
        cell_zoom=settings.tile_cell_zoom,
    )
    grid = cell_range(tile, settings.tile_cell_zoom)
    params = {"z": tile.z, "x": tile.x, "y": tile.y, "month": month.strftime("%Y-%m"), **grid}
    return await repo.cells(session, name, params | cell_arrays(counted, grid))


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
