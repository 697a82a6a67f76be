"""The gazetteer search: postcodes and place or street names (public)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from service.auth import PUBLIC
from service.runtime import RuntimeDep
from service.schemas.places import PlaceSearch
from service.schemas.problems import problem_responses
from service.usecases.places import search as place_search


class PlacesController(Controller):
    path = "/v1/places"
    tags = ["places"]
    opt = PUBLIC

    @get(
        "/search",
        operation_id="searchPlaces",
        summary="Find a postcode, town, village or street (public; from the gazetteer only)",
        responses=problem_responses(400, 429),
    )
    async def search(
        self,
        runtime: RuntimeDep,
        q: Annotated[
            str,
            QueryParameter(
                min_length=2,
                max_length=100,
                description="A full or partial postcode, or the start of a place or street name",
            ),
        ],
        limit: Annotated[int, QueryParameter(ge=1, le=20, description="At most")] = 10,
    ) -> PlaceSearch:
        return await place_search.search(runtime, q, limit=limit)
