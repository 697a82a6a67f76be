"""The self-hosted base map: its style, the PMTiles archive by byte ranges, glyphs."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import PathParameter

from service.auth import PUBLIC
from service.exceptions import NotFoundError
from service.runtime import RuntimeDep
from service.usecases.basemap import files
from service.usecases.basemap.style import pmtiles_style

CACHE = "public, max-age=86400"


class BasemapController(Controller):
    """Public like the pages that use it; not rate limited (a map view asks for dozens of
    ranges), not in the API document."""

    path = "/basemap"
    include_in_schema = False
    opt = PUBLIC

    @get("/style.json", operation_id="basemapStyle", summary="Self-hosted base-map style")
    async def style(self, runtime: RuntimeDep, request: Request[Any, Any, Any]) -> dict[str, Any]:
        if not runtime.settings.basemap_pmtiles:
            raise NotFoundError("no self-hosted base map is configured")
        base = str(request.base_url).rstrip("/")
        return pmtiles_style(base, glyphs=bool(runtime.settings.basemap_glyphs_dir))

    @get("/basemap.pmtiles", operation_id="basemapArchive", summary="PMTiles byte ranges")
    async def archive(
        self, runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> Response[bytes]:
        part = await files.pmtiles_part(runtime, request.headers.get("range"))
        headers = {"Accept-Ranges": "bytes", "ETag": part.etag, "Cache-Control": CACHE}
        if part.partial:
            headers["Content-Range"] = f"bytes {part.start}-{part.end}/{part.size}"
        return Response(
            part.data,
            status_code=206 if part.partial else 200,
            media_type="application/octet-stream",
            headers=headers,
        )

    @get(
        "/fonts/{fontstack:str}/{glyph_range:str}",
        operation_id="basemapGlyphs",
        summary="Glyphs of the self-hosted base map",
    )
    async def glyphs(
        self,
        runtime: RuntimeDep,
        fontstack: Annotated[str, PathParameter(max_length=100)],
        glyph_range: Annotated[str, PathParameter(max_length=30)],
    ) -> Response[bytes]:
        data = await files.glyphs(runtime, fontstack, glyph_range.removesuffix(".pbf"))
        return Response(data, media_type="application/x-protobuf", headers={"Cache-Control": CACHE})
