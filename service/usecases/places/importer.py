"""``outreach gazetteer import``: postcode directories and OS Open Names into PostGIS.

Each file is read as published (the layout is recognised from its first row, see
:mod:`service.usecases.places.formats`), kept to Greater Essex unless ``keep_all`` (postcodes
by the authority code the directory gives, names by the current boundaries), ``COPY``-ed in
batches into a staging table and upserted in one transaction per file: a file is loaded
whole or not at all, and loading it again changes nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.db import places as repo
from service.db.engine import transaction
from service.runtime import Runtime
from service.usecases.areas.boundaries import GREATER_ESSEX_CODES
from service.usecases.areas.sync import ensure_loaded
from service.usecases.places import formats

BATCH_ROWS = 5000
Progress = Callable[[int, int], None]
"""``progress(bytes_read, file_bytes)``."""


@dataclass
class FileReport:
    path: str
    format: str
    read: int = 0
    kept: int = 0
    skipped: int = 0
    added: int = 0
    changed: int = 0


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{f.path}: {f.format}, {f.read} rows read, {f.kept} kept, {f.skipped} skipped "
            f"(outside Greater Essex, terminated or without a position); "
            f"{f.added} new, {f.changed} changed, {f.kept - f.added - f.changed} unchanged"
            for f in self.files
        ]
        return "\n".join(lines)


class _CountingLines:
    """Decoded lines of a binary file, counting the bytes read (for progress)."""

    def __init__(self, handle: io.BufferedReader) -> None:
        self.handle = handle
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        first = True
        for raw in self.handle:
            self.bytes_read += len(raw)
            line = raw.decode("utf-8-sig" if first else "utf-8", errors="replace")
            first = False
            yield line


async def import_file(
    runtime: Runtime,
    path: Path,
    *,
    keep_all: bool = False,
    progress: Progress | None = None,
) -> FileReport:
    await ensure_loaded(runtime)
    total = (await asyncio.to_thread(path.stat)).st_size
    with path.open("rb") as handle:
        lines = _CountingLines(handle)
        reader = csv.reader(lines)
        first = next(reader, None)
        if first is None:
            raise ValueError(f"{path.name}: empty file")
        fmt = formats.detect_format(first)
        report = FileReport(path=str(path), format=fmt)
        rows = _rows(reader, first, fmt)
        async with transaction(runtime.sessions) as session:
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                report.read += 1
                record = _record(runtime, row, keep_all=keep_all)
                if record is None:
                    report.skipped += 1
                    continue
                batch.append(record)
                if len(batch) >= BATCH_ROWS:
                    await _stage(session, fmt, batch)
                    report.kept += len(batch)
                    batch = []
                    if progress is not None:
                        progress(lines.bytes_read, total)
            if batch:
                await _stage(session, fmt, batch)
                report.kept += len(batch)
            if report.kept:
                if fmt == "opennames":
                    report.added, report.changed = await repo.merge_names(session)
                else:
                    report.added, report.changed = await repo.merge_postcodes(session, source=fmt)
        if progress is not None:
            progress(total, total)
    return report


def _rows(
    reader: Iterator[list[str]], first: list[str], fmt: str
) -> Iterator[formats.PostcodeRow | formats.NameRow | None]:
    if fmt == "onspd":
        header = [h.strip().lower() for h in first]
        for values in reader:
            yield formats.read_onspd_row(dict(zip(header, values, strict=False)))
        return
    read = formats.read_codepoint_row if fmt == "codepoint" else formats.read_open_names_row
    yield read(first)
    for values in reader:
        yield read(values)


def _record(
    runtime: Runtime, row: formats.PostcodeRow | formats.NameRow | None, *, keep_all: bool
) -> tuple[Any, ...] | None:
    if row is None:
        return None
    if isinstance(row, formats.PostcodeRow):
        if not keep_all and row.authority_code not in GREATER_ESSEX_CODES:
            return None
        return (row.key, row.postcode, row.authority_code, row.lon, row.lat, row.accuracy_m)
    matches = runtime.areas.index.lookup(row.lon, row.lat)
    code = matches[0].code if matches else None
    if code is None and not keep_all:
        return None
    return (
        row.id,
        row.name,
        row.name_key,
        row.search_key,
        row.kind,
        row.weight,
        row.local_type,
        row.place,
        row.postcode_district,
        code,
        row.lon,
        row.lat,
        row.accuracy_m,
    )


async def _stage(session: Any, fmt: str, batch: list[tuple[Any, ...]]) -> None:
    if fmt == "opennames":
        await repo.stage_names(session, batch)
    else:
        await repo.stage_postcodes(session, batch)


async def import_files(
    runtime: Runtime,
    paths: list[Path],
    *,
    keep_all: bool = False,
    progress: Callable[[Path], Progress | None] | None = None,
) -> ImportReport:
    report = ImportReport()
    for path in paths:
        report.files.append(
            await import_file(
                runtime, path, keep_all=keep_all, progress=progress(path) if progress else None
            )
        )
    return report
