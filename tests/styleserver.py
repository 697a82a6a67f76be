"""A base-map server on loopback for the tests: a MapLibre style, vector tiles and glyphs.

* ``/style.json``: a background, ``roads`` lines and ``places`` labels, from this server.
* ``/tiles/{z}/{x}/{y}.pbf``: the same small vector tile for every address, made here with
  ``mapbox_vector_tile``: a grid of streets across the tile and four places named
  :data:`PLACE_NAME` (so a label is in view wherever the map looks).
* ``/fonts/{fontstack}/{range}.pbf``: a glyph PBF made here, in the format MapLibre reads
  (``glyphs.proto``). Its glyphs are solid boxes, one per character (real fonts are not
  shipped): a label is drawn as a row of boxes in the label colour, which is what the
  browser tests look for.

Every request is recorded (``server.requests``). Cross-origin reads are allowed, as a tile
server allows them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import mapbox_vector_tile

PLACE_NAME = "Testford"
LABEL_RGB = (255, 0, 255)
ROAD_RGB = (32, 96, 192)
FONT = "Test Sans"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | int, *, signed: bool = False) -> bytes:
    if isinstance(payload, bytes):
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload
    value = (payload << 1) ^ (payload >> 31) if signed else payload
    return _varint(number << 3) + _varint(value)


def glyph_pbf(fontstack: str, start: int, end: int) -> bytes:
    """Glyphs ``start``-``end`` as solid boxes (SDF with a 3-pixel buffer), space empty."""
    glyphs = b""
    width, height, buffer = 12, 16, 3
    box = bytearray()
    for y in range(height + 2 * buffer):
        for x in range(width + 2 * buffer):
            inside = buffer <= x < width + buffer and buffer <= y < height + buffer
            box.append(255 if inside else 0)
    for code in range(start, end + 1):
        if code < 33 or code > 126:
            glyph = _field(1, code) + _field(3, 0) + _field(4, 0)
            glyph += _field(5, 0, signed=True) + _field(6, 0, signed=True) + _field(7, 8)
        else:
            glyph = _field(1, code) + _field(2, bytes(box)) + _field(3, width) + _field(4, height)
            glyph += _field(5, 1, signed=True) + _field(6, -4, signed=True) + _field(7, width + 3)
        glyphs += _field(3, glyph)
    stack = _field(1, fontstack.encode()) + _field(2, f"{start}-{end}".encode()) + glyphs
    return _field(1, stack)


def vector_tile() -> bytes:
    """A 4096-extent tile: streets every 512 units both ways, named places between them."""
    roads = [
        {
            "geometry": f"LINESTRING({i} -64, {i} 4160)"
            if vertical
            else f"LINESTRING(-64 {i}, 4160 {i})",
            "properties": {"kind": "minor_road", "name": f"Street {i}"},
        }
        for i in range(256, 4096, 512)
        for vertical in (True, False)
    ]
    places = [
        {"geometry": f"POINT({x} {y})", "properties": {"name": PLACE_NAME}}
        for x in (1024, 3072)
        for y in (1024, 3072)
    ]
    return bytes(
        mapbox_vector_tile.encode(
            [{"name": "roads", "features": roads}, {"name": "places", "features": places}]
        )
    )


def style(base: str) -> dict[str, Any]:
    hex_road = "#{:02x}{:02x}{:02x}".format(*ROAD_RGB)
    hex_label = "#{:02x}{:02x}{:02x}".format(*LABEL_RGB)
    return {
        "version": 8,
        "name": "loopback test streets",
        "glyphs": f"{base}/fonts/{{fontstack}}/{{range}}.pbf",
        "sources": {
            "streets": {
                "type": "vector",
                "tiles": [f"{base}/tiles/{{z}}/{{x}}/{{y}}.pbf"],
                "maxzoom": 14,
                "attribution": "Loopback test streets",
            }
        },
        "layers": [
            {"id": "land", "type": "background", "paint": {"background-color": "#f2efe9"}},
            {
                "id": "roads",
                "type": "line",
                "source": "streets",
                "source-layer": "roads",
                "paint": {"line-color": hex_road, "line-width": 5},
            },
            {
                "id": "places",
                "type": "symbol",
                "source": "streets",
                "source-layer": "places",
                "layout": {
                    "text-field": ["get", "name"],
                    "text-font": [FONT],
                    "text-size": 22,
                    "text-allow-overlap": True,
                    "text-ignore-placement": True,
                },
                "paint": {"text-color": hex_label},
            },
        ],
    }


class StyleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.requests: list[str] = []
        self.extra: dict[str, tuple[str, bytes]] = {}
        self.tile = vector_tile()


class _Handler(BaseHTTPRequestHandler):
    server: StyleServer

    def log_message(self, *_: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        from urllib.parse import unquote

        path = unquote(self.path.split("?")[0])
        self.server.requests.append(path)
        body, kind = self._answer(path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, path: str) -> tuple[bytes | None, str]:
        if path in self.server.extra:
            kind, body = self.server.extra[path]
            return body, kind
        if path == "/style.json":
            return json.dumps(style(self.server.base)).encode(), "application/json"
        if path.startswith("/tiles/"):
            return self.server.tile, "application/x-protobuf"
        if path.startswith("/fonts/") and path.endswith(".pbf"):
            fontstack, glyph_range = path[len("/fonts/") : -len(".pbf")].rsplit("/", 1)
            start, end = (int(v) for v in glyph_range.split("-"))
            return glyph_pbf(fontstack, start, end), "application/x-protobuf"
        return None, ""


@contextmanager
def style_server() -> Iterator[StyleServer]:
    server = StyleServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def protomaps_tile() -> bytes:
    """A tile in the Protomaps basemap schema (the layers the self-hosted style draws)."""
    earth = [{"geometry": "POLYGON((-64 -64, 4160 -64, 4160 4160, -64 4160, -64 -64))"}]
    roads = [
        {
            "geometry": f"LINESTRING({i} -64, {i} 4160)"
            if vertical
            else f"LINESTRING(-64 {i}, 4160 {i})",
            "properties": {"kind": "major_road", "name": f"Road {i}"},
        }
        for i in range(256, 4096, 512)
        for vertical in (True, False)
    ]
    places = [
        {"geometry": f"POINT({x} {y})", "properties": {"name": PLACE_NAME, "kind": "locality"}}
        for x in (1024, 3072)
        for y in (1024, 3072)
    ]
    layers = [
        {"name": "earth", "features": [{**f, "properties": {}} for f in earth]},
        {"name": "roads", "features": roads},
        {"name": "places", "features": places},
    ]
    return bytes(mapbox_vector_tile.encode(layers))


def pmtiles_archive(tile: bytes, *, max_zoom: int = 6) -> bytes:
    """A PMTiles v3 archive (spec: github.com/protomaps/PMTiles/blob/main/spec/v3) in which
    every tile of zooms 0..``max_zoom`` is ``tile``: one root-directory entry whose run
    covers all their tile ids (tile ids count zoom levels first, so they are consecutive)."""
    import struct

    count = sum(4**z for z in range(max_zoom + 1))
    entries = 1
    directory = (
        _varint(entries)
        + _varint(0)  # tile id delta
        + _varint(count)  # run length
        + _varint(len(tile))  # length
        + _varint(0 + 1)  # offset + 1
    )
    metadata = b"{}"
    header_size = 127
    root_offset = header_size
    metadata_offset = root_offset + len(directory)
    data_offset = metadata_offset + len(metadata)
    header = b"PMTiles" + bytes([3])
    header += struct.pack(
        "<11Q",
        root_offset, len(directory), metadata_offset, len(metadata),
        data_offset, 0,  # no leaf directories
        data_offset, len(tile),
        count, 1, 1,  # addressed tiles, tile entries, tile contents
    )  # fmt: skip
    header += bytes([0, 1, 1, 1, 0, max_zoom])  # not clustered; no compression; MVT
    header += struct.pack("<4i", -1_800_000_000, -850_000_000, 1_800_000_000, 850_000_000)
    header += bytes([8]) + struct.pack("<2i", 6_500_000, 517_800_000)
    assert len(header) == header_size
    return header + directory + metadata + tile
