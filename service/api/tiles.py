"""Vector tiles for the staff map (Mapbox Vector Tile, generated in PostGIS)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, PathParameter, QueryParameter

from geo.tiles import ROW_PATTERN, WHOLE_PATTERN
from service.auth import StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.problems import problem_responses
from service.usecases.tiles import render as tiles
from service.usecases.tiles.render import MAX_ZOOM, MEDIA_TYPE, Tile, TileQuery

Zoom = Annotated[
    str, PathParameter(pattern=WHOLE_PATTERN, max_length=2, description=f"Zoom, 0 to {MAX_ZOOM}")
]
Column = Annotated[
    str, PathParameter(pattern=WHOLE_PATTERN, max_length=8, description="Tile column")
]
Row = Annotated[
    str,
    PathParameter(
        pattern=ROW_PATTERN, max_length=12, description="The tile row and `.mvt`, e.g. `85.mvt`"
    ),
]
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        max_length=200,
        required=False,
        description="The tile's ETag from an earlier response: 304 when it is unchanged.",
        schema_extra={"type": "string", "oneOf": None},
    ),
]
LAYERS_HELP = (
    f"Layers to include (repeat the parameter or separate with commas): "
    f"{', '.join(tiles.LAYERS)}. Default: all. Points you may not see come as "
    f"`referral_cells` / `contact_cells` counts."
)
WINDOW_HELP = (
    "Points: exactly this window. Cells (`referral_cells`, `contact_cells`): one fixed grid "
    "and one calendar month (Europe/London), the last that has ended by `until` (or now), "
    "whatever `since` is; each cell says which (`month`, YYYY-MM) and for which authority "
    "(`authority`). Counts under 5 are `<5`, and so are others that would let one be worked "
    "out."
)


def tile_response(tile: Tile, if_none_match: str | None) -> Response[bytes]:
    """The tile, or 304 when the client holds it already; never cached by shared caches."""
    headers = {
        "ETag": tile.etag,
        "Cache-Control": f"private, max-age={tile.max_age_s}",
        "Vary": "Authorization",
    }
    if tile.capped:
        headers["X-Tile-Capped"] = ",".join(tile.capped)
    if tiles.etag_matches(if_none_match, tile.etag):
        return Response(b"", status_code=304, headers=headers, media_type=MEDIA_TYPE)
    return Response(tile.data, headers=headers, media_type=MEDIA_TYPE)


class TilesController(Controller):
    path = "/v1/tiles"
    tags = ["map"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/{z:str}/{x:str}/{y:str}",
        operation_id="getTile",
        summary="A vector tile of the staff map (areas, teams, referrals, contacts); scoped",
        media_type=MEDIA_TYPE,
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type=MEDIA_TYPE,
                description="The tile (empty when nothing is there). `X-Tile-Capped` names "
                "layers cut at the per-tile feature limit.",
                generate_examples=False,
            ),
            304: ResponseSpec(data_container=None, description="Not modified"),
            **problem_responses(401, 403),
        },
    )
    async def tile(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        z: Zoom,
        x: Column,
        y: Row,
        layers: Annotated[list[str] | None, QueryParameter(description=LAYERS_HELP)] = None,
        since: Annotated[
            dt.datetime | None, QueryParameter(description="Inclusive. " + WINDOW_HELP)
        ] = None,
        until: Annotated[
            dt.datetime | None, QueryParameter(description="Exclusive. " + WINDOW_HELP)
        ] = None,
        window_days: Annotated[
            int | None,
            QueryParameter(ge=1, le=tiles.MAX_WINDOW_DAYS, description="Days up to `until`"),
        ] = None,
        if_none_match: IfNoneMatch = None,
    ) -> Response[bytes]:
        query = TileQuery(tuple(layers or ()), since, until, window_days)
        tile = await tiles.render_tile(
            runtime, request.user, z=z, x=x, row=y, query=query, route=request.url.path
        )
        return tile_response(tile, if_none_match)
