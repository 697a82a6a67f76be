"""The base map under every map page: which style the pages load, the origins it loads from
(for the Content-Security-Policy), and the style of a self-hosted PMTiles base map.

Three cases, by setting:

* ``basemap_pmtiles`` (a path): the service serves the file itself (HTTP range requests) and a
  style pointing at it (``/basemap/style.json``); nothing is loaded from elsewhere.
* ``map_style_url`` (default: OpenFreeMap's keyless "liberty" style): the browser loads that
  style and whatever it references. The service reads the style once at start-up to find
  those origins (sprite, glyphs, tile and TileJSON URLs, and the tiles of each TileJSON), so
  the CSP allows exactly them; ``map_extra_origins`` adds any it cannot find.
* neither: a blank background, and the pages say so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from service.runtime import Runtime
from service.settings import Settings

log = logging.getLogger(__name__)
STYLE_PATH = "/basemap/style.json"
PMTILES_PATH = "/basemap/basemap.pmtiles"
FONTS_PATH = "/basemap/fonts"
DISCOVERY_TIMEOUT_S = 5.0
OPENFREEMAP_ATTRIBUTION = "OpenFreeMap © OpenMapTiles Data from OpenStreetMap"


def origin(url: str) -> str:
    """``scheme://host[:port]`` of an absolute http(s) URL, else ``""``.

    >>> origin("https://tiles.openfreemap.org/styles/liberty"), origin("/basemap/style.json")
    ('https://tiles.openfreemap.org', '')
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def page_style_url(settings: Settings) -> str:
    """The style URL the map pages give MapLibre ("" for a blank background)."""
    return STYLE_PATH if settings.basemap_pmtiles else settings.map_style_url


def configured_origins(settings: Settings) -> frozenset[str]:
    """What is known without asking anyone: the style's origin and the extra origins."""
    if settings.basemap_pmtiles:
        return frozenset(origin(o) or o for o in settings.map_extra_origins)
    found = {origin(settings.map_style_url)} | {origin(o) or o for o in settings.map_extra_origins}
    return frozenset(found - {""})


def _urls(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _urls(item.get("url") if isinstance(item, dict) else item)


def referenced_urls(style: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """The absolute URLs a style loads from directly, and its sources' TileJSON URLs.

    >>> direct, tilejson = referenced_urls({
    ...     "sprite": [{"id": "a", "url": "https://s.example/sprite"}],
    ...     "glyphs": "https://g.example/{fontstack}/{range}.pbf",
    ...     "sources": {"t": {"type": "vector", "url": "https://tj.example/planet"},
    ...                 "r": {"type": "raster", "tiles": ["https://r.example/{z}/{x}/{y}.png"]},
    ...                 "p": {"type": "vector", "url": "pmtiles://https://p.example/a.pmtiles"}}})
    >>> sorted(origin(u) for u in direct), sorted(tilejson)
    (['https://g.example', 'https://p.example', 'https://r.example', 'https://s.example'], ['https://tj.example/planet'])
    """
    direct = set(_urls(style.get("sprite"))) | set(_urls(style.get("glyphs")))
    tilejson: set[str] = set()
    for source in (style.get("sources") or {}).values():
        if not isinstance(source, dict):
            continue
        direct |= set(_urls(source.get("tiles")))
        url = source.get("url")
        if isinstance(url, str) and url.startswith("pmtiles://"):
            direct.add(url.removeprefix("pmtiles://"))
        elif isinstance(url, str) and origin(url):
            tilejson.add(url)
        if isinstance(source.get("data"), str):
            direct.add(source["data"])
    return {u for u in direct if origin(u)}, tilejson


async def discover_origins(runtime: Runtime) -> frozenset[str]:
    """The configured origins plus those the style (and its TileJSON) reference; only the
    configured ones when the style cannot be read now."""
    settings = runtime.settings
    known = configured_origins(settings)
    if settings.basemap_pmtiles or not settings.map_style_url:
        return known
    try:
        style = await _get_json(runtime, settings.map_style_url)
        direct, tilejson = referenced_urls(style)
        found = {origin(u) for u in direct | tilejson}
        for url in tilejson:
            found |= {origin(u) for u in _urls((await _get_json(runtime, url)).get("tiles"))}
    except Exception as exc:  # unreachable, not JSON: the browser will find out too
        log.warning("base map style not read (%s): CSP allows its origin only", type(exc).__name__)
        return known
    return known | frozenset(found - {""})


async def _get_json(runtime: Runtime, url: str) -> dict[str, Any]:
    response = await runtime.http.get(url, timeout=DISCOVERY_TIMEOUT_S, follow_redirects=False)
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def pmtiles_style(base_url: str, *, glyphs: bool) -> dict[str, Any]:
    """A MapLibre style for a Protomaps-schema PMTiles file served by this service: land,
    water, parks, buildings, roads, and (with glyphs) street and place names."""
    source = {
        "type": "vector",
        "url": f"pmtiles://{base_url}{PMTILES_PATH}",
        "attribution": "© OpenStreetMap contributors (Protomaps)",
    }
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": "#f2efe9"}},
        _fill("earth", "earth", "#f2efe9"),
        _fill("parks", "landuse", "#d8e8c8", ["in", ["get", "kind"], ["literal", PARKS]]),
        _fill("water", "water", "#aad3df"),
        _fill("buildings", "buildings", "#dcd6cc"),
        _road("roads-minor", ["minor_road", "other", "path"], "#ffffff", 1.0),
        _road("roads-major", ["major_road", "medium_road"], "#fcd6a4", 2.0),
        _road("roads-highway", ["highway"], "#e892a2", 3.0),
    ]
    if glyphs:
        layers += [_road_names(), _place_names()]
    style: dict[str, Any] = {
        "version": 8,
        "name": "essex-outreach self-hosted base map",
        "sources": {"protomaps": source},
        "layers": layers,
    }
    if glyphs:
        style["glyphs"] = f"{base_url}{FONTS_PATH}/{{fontstack}}/{{range}}.pbf"
    return style


PARKS = ["park", "nature_reserve", "forest", "wood", "grass", "golf_course", "cemetery"]
FONT = ["Noto Sans Regular"]


def _fill(layer_id: str, layer: str, colour: str, where: list[Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": layer_id,
        "type": "fill",
        "source": "protomaps",
        "source-layer": layer,
        "paint": {"fill-color": colour},
    }
    if where is not None:
        spec["filter"] = where
    return spec


def _road(layer_id: str, kinds: list[str], colour: str, width: float) -> dict[str, Any]:
    return {
        "id": layer_id,
        "type": "line",
        "source": "protomaps",
        "source-layer": "roads",
        "filter": ["in", ["get", "kind"], ["literal", kinds]],
        "layout": {"line-cap": "round", "line-join": "round"},
        "paint": {
            "line-color": colour,
            "line-width": [
                "interpolate",
                ["exponential", 1.6],
                ["zoom"],
                10,
                width / 2,
                18,
                width * 8,
            ],
        },
    }


def _road_names() -> dict[str, Any]:
    return {
        "id": "road-names",
        "type": "symbol",
        "source": "protomaps",
        "source-layer": "roads",
        "minzoom": 13,
        "layout": {
            "symbol-placement": "line",
            "text-field": ["get", "name"],
            "text-font": FONT,
            "text-size": 12,
        },
        "paint": {"text-color": "#444444", "text-halo-color": "#ffffff", "text-halo-width": 1.5},
    }


def _place_names() -> dict[str, Any]:
    return {
        "id": "place-names",
        "type": "symbol",
        "source": "protomaps",
        "source-layer": "places",
        "layout": {"text-field": ["get", "name"], "text-font": FONT, "text-size": 14},
        "paint": {"text-color": "#222222", "text-halo-color": "#ffffff", "text-halo-width": 2},
    }
