"""Serving the self-hosted base map's files: byte ranges of the PMTiles archive (what the
``pmtiles`` browser library asks for) and glyph PBFs, read in a thread."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from service.exceptions import NotFoundError, OutOfRangeError
from service.runtime import Runtime

MAX_RANGE_BYTES = 16 * 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _,.-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Part:
    data: bytes
    start: int
    end: int
    """Inclusive, as in ``Content-Range``."""
    size: int
    etag: str
    partial: bool


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` a ``Range`` header asks for; ``None`` for the whole file.

    >>> byte_range("bytes=0-16383", 100000), byte_range("bytes=99990-", 100000)
    ((0, 16383), (99990, 99999))
    >>> byte_range("bytes=-10", 100), byte_range(None, 100)
    ((90, 99), None)
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or (not match[1] and not match[2]):
        raise OutOfRangeError("only one byte range (bytes=start-end) is served")
    if not match[1]:
        start, end = max(size - int(match[2]), 0), size - 1
    else:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or end < start:
        raise OutOfRangeError(f"the range is outside the file ({size} bytes)")
    if end - start + 1 > MAX_RANGE_BYTES:
        end = start + MAX_RANGE_BYTES - 1
    return start, end


def _read(path: Path, start: int, length: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read(length)


async def pmtiles_part(runtime: Runtime, range_header: str | None) -> Part:
    if not runtime.settings.basemap_pmtiles:
        raise NotFoundError("no self-hosted base map is configured")
    path = Path(runtime.settings.basemap_pmtiles)
    stat = await asyncio.to_thread(path.stat)
    etag = f'"{stat.st_size:x}-{int(stat.st_mtime):x}"'
    wanted = byte_range(range_header, stat.st_size)
    start, end = wanted if wanted else (0, stat.st_size - 1)
    if end - start + 1 > MAX_RANGE_BYTES and wanted is None:
        raise OutOfRangeError("the archive is read in byte ranges (send a Range header)")
    data = await asyncio.to_thread(_read, path, start, end - start + 1)
    return Part(data, start, end, stat.st_size, etag, wanted is not None)


async def glyphs(runtime: Runtime, fontstack: str, glyph_range: str) -> bytes:
    """One glyph PBF of the configured glyphs directory (names checked: no paths)."""
    directory = runtime.settings.basemap_glyphs_dir
    if not directory or not _SAFE_NAME.match(fontstack) or not _SAFE_NAME.match(glyph_range):
        raise NotFoundError("no such glyphs")
    path = Path(directory) / fontstack / f"{glyph_range}.pbf"
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError:
        raise NotFoundError("no such glyphs") from None
