"""Authorities (areas), point lookup and teams."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from service.auth import PUBLIC
from service.runtime import RuntimeDep
from service.schemas.areas import AreaCollection, AreaLookup, Team
from service.schemas.problems import problem_responses
from service.usecases.areas import views as area_views


class AreasController(Controller):
    path = "/v1"
    tags = ["areas"]

    @get(
        "/areas",
        operation_id="listAreas",
        summary="Greater Essex authorities as a GeoJSON FeatureCollection",
        media_type="application/geo+json",
        responses=problem_responses(429),
        opt=PUBLIC,
    )
    async def list_areas(
        self,
        runtime: RuntimeDep,
        simplify_m: Annotated[
            float,
            QueryParameter(ge=0, le=5000, description="Simplification tolerance in metres (BNG)"),
        ] = 0.0,
    ) -> AreaCollection:
        return await area_views.area_collection(runtime, simplify_m=simplify_m)

    @get(
        "/areas/lookup",
        operation_id="lookupArea",
        summary="Which authority and which teams cover a point",
        responses=problem_responses(404, 429),
        opt=PUBLIC,
    )
    async def lookup(
        self,
        runtime: RuntimeDep,
        lat: Annotated[float, QueryParameter(ge=-90, le=90, description="WGS84 latitude")],
        lon: Annotated[float, QueryParameter(ge=-180, le=180, description="WGS84 longitude")],
    ) -> AreaLookup:
        return await area_views.lookup(runtime, lon=lon, lat=lat)

    @get(
        "/teams",
        operation_id="listTeams",
        summary="Outreach teams and the areas they cover (staff)",
        responses=problem_responses(401),
    )
    async def list_teams(self, runtime: RuntimeDep) -> list[Team]:
        return await area_views.teams(runtime)
