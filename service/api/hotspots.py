"""Hotspots for staff: the GeoJSON list, one hotspot with its members, an on-demand recompute."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, QueryParameter

from service.auth import StaffRequest, require_role
from service.exceptions import InvalidQueryError
from service.runtime import RuntimeDep
from service.schemas.hotspots import HotspotCollection, HotspotDetail, RecomputeOut
from service.schemas.problems import problem_responses
from service.usecases.hotspots import clustering as hotspots
from service.usecases.hotspots import views as hotspot_views
from service.usecases.hotspots.views import HotspotFilter
from service.vocabularies import HotspotLayer

BBOX_PATTERN = r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?,-?\d+(\.\d+)?,-?\d+(\.\d+)?$"


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` in WGS84 degrees."""
    if value is None:
        return None
    w, s, e, n = (float(v) for v in value.split(","))
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InvalidQueryError(
            "bbox must be west,south,east,north with west < east and south < north", field="bbox"
        )
    return (w, s, e, n)


class HotspotsController(Controller):
    path = "/v1/hotspots"
    tags = ["hotspots"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/",
        operation_id="listHotspots",
        summary="Hotspots in your area as GeoJSON (centroids; hull in the properties)",
        media_type="application/geo+json",
        responses=problem_responses(400, 401, 403),
    )
    async def list_hotspots(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        bbox: Annotated[
            str | None,
            QueryParameter(
                pattern=BBOX_PATTERN,
                max_length=100,
                description="west,south,east,north in WGS84 degrees",
            ),
        ] = None,
        authority: Annotated[
            str | None, QueryParameter(pattern=r"^E0[67]\d{6}$", description="authority code")
        ] = None,
        team: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        layer: FromQuery[HotspotLayer | None] = None,
        window_days: Annotated[
            float | None,
            QueryParameter(ge=0, le=3650, description="Only hotspots active in the last N days"),
        ] = None,
        min_size: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        include_retired: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 500,
    ) -> HotspotCollection:
        flt = HotspotFilter(
            bbox=parse_bbox(bbox),
            authority=authority,
            team=team,
            layer=layer,
            window_days=window_days,
            min_size=min_size,
            include_retired=include_retired,
            limit=limit,
        )
        return await hotspot_views.list_hotspots(runtime, request.user, flt, route=request.url.path)

    @get(
        "/{hotspot_id:int}",
        operation_id="getHotspot",
        summary="One hotspot with the members you may see and its history (audited)",
        responses=problem_responses(401, 403, 404),
    )
    async def get_hotspot(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        hotspot_id: FromPath[Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]],
    ) -> HotspotDetail:
        return await hotspot_views.read_hotspot(
            runtime, request.user, hotspot_id, route=request.url.path
        )


class HotspotRecomputeController(Controller):
    path = "/v1"
    tags = ["hotspots"]
    guards = [require_role("coordinator")]

    @post(
        "/hotspots:recompute",
        operation_id="recomputeHotspots",
        summary="Re-cluster every layer now (waits for a recompute running elsewhere)",
        status_code=200,
        responses=problem_responses(401, 403),
    )
    async def recompute(self, runtime: RuntimeDep, request: StaffRequest) -> RecomputeOut:
        return await hotspots.recompute(runtime, trigger="manual", wait=True)
