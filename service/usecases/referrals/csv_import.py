"""``outreach referrals import``: load a StreetLink-style CSV export through the public intake.

Each good row goes through :func:`service.usecases.referrals.intake.submit_normalised` (routing,
duplicate links, receipt) with ``source="csv"`` and a submission key derived from the row, so
importing the same file again stores nothing twice: the row's source reference when it has
one, else its content fingerprint. Bad rows are reported with their line and reason; the
file is read whole (and checked) before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from service.exceptions import InvalidInputError
from service.runtime import Runtime
from service.settings import Settings
from service.usecases.hotspots import clustering as hotspots
from service.usecases.referrals import intake
from streetlink.csv_io import ImportResult, RowError, import_csv
from streetlink.errors import ImportFormatError, StreetLinkError
from streetlink.schema import NormalisedReferral

MAX_FILE_BYTES = 50 * 1024 * 1024
REASONS_SHOWN = 20
SOURCE = "csv"


@dataclass
class ImportReport:
    """What happened to each row; filled in as the import goes, so a failure leaves a count."""

    file: str
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    """Rows whose submission key was used before: imported already, nothing stored."""
    possible_duplicates: int = 0
    """Imported rows linked as possible duplicates of other referrals (for a coordinator)."""
    rejected: list[str] = field(default_factory=list)
    """One reason per rejected row, ``line N: ...``, in file order."""


def read_csv(path: Path, *, now: dt.datetime, max_bytes: int | None = None) -> ImportResult:
    """The file's rows, checked; :class:`ImportFormatError` or :class:`OSError` if unusable."""
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportFormatError(
            f"{path.name} is too large ({size:,} bytes, the limit is {max_bytes:,}): split it"
        )
    return import_csv(path.read_bytes(), now=now)


def submission_key(referral: NormalisedReferral) -> str:
    """``csv:<source ref>`` (hashed when short), else ``csv:<content fingerprint>``.

    >>> from streetlink.schema import LocationQuality, TimeBand
    >>> row = NormalisedReferral(
    ...     location_quality=LocationQuality.TEXT_ONLY, seen_at=dt.datetime(2024, 11, 20, 23),
    ...     seen_date=dt.date(2024, 11, 20), seen_time_band=TimeBand.NIGHT, seen_exact=False,
    ...     urgent=False, location_description="bus station", source_ref="SL-2024-000123")
    >>> submission_key(row)
    'csv:SL-2024-000123'
    >>> import msgspec
    >>> len(submission_key(msgspec.structs.replace(row, source_ref="A1")))
    68
    >>> submission_key(msgspec.structs.replace(row, source_ref=None)).startswith("csv:")
    True
    """
    if referral.source_ref:
        key = f"{SOURCE}:{referral.source_ref}"
        if len(key) >= intake.MIN_SUBMISSION_KEY:
            return key
        return f"{SOURCE}:{hashlib.sha256(referral.source_ref.encode()).hexdigest()}"
    return f"{SOURCE}:{intake.fingerprint(referral)}"


def rejection(error: RowError) -> str:
    where = error.column or error.field
    return f"line {error.line}: " + (f"{where}: {error.reason}" if where else error.reason)


async def import_rows(
    settings: Settings,
    result: ImportResult,
    report: ImportReport,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Submit the good rows one by one, in file order, counting into ``report``."""
    report.rows = len(result.rows) + len(result.errors)
    report.rejected.extend(rejection(error) for error in result.errors)
    from service.usecases.operations.cli_jobs import cli_runtime

    async with cli_runtime(settings) as runtime:
        for done, referral in enumerate(result.rows, start=1):
            await _submit(runtime, referral, report, done)
            if progress is not None:
                progress(done)
        if report.imported:
            # no background updater in a command: fold the new points in with one recompute
            await hotspots.recompute(runtime, trigger="import", wait=True)
    return report


async def _submit(
    runtime: Runtime, referral: NormalisedReferral, report: ImportReport, index: int
) -> None:
    try:
        receipt = await intake.submit_normalised(
            runtime, referral, source=SOURCE, submission_key=submission_key(referral)
        )
    except (InvalidInputError, StreetLinkError) as exc:
        ref = referral.source_ref or "no reference"
        report.rejected.append(f"good row {index} ({ref}): {exc}")
        return
    if receipt.replayed:
        report.duplicates += 1
        return
    report.imported += 1
    report.possible_duplicates += receipt.possible_duplicate


# -- what the command prints ----------------------------------------------------------------


class ProgressLine:
    """``done/total`` on a stream: a redrawn bar on a terminal, a line every few seconds (and
    at the end) otherwise, so logs stay readable."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval_s = 0.1 if self.tty else 2.0
        self._last = time.monotonic()  # the first line after one interval, the last always

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if done < self.total and now - self._last < self.interval_s:
            return
        self._last = now
        if self.tty:
            filled = self.WIDTH * done // self.total
            percent = 100 * done // self.total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            end = "\n" if done >= self.total else ""
            self.stream.write(f"\r[{bar}] {done}/{self.total} {percent:3d}%{end}")
        else:
            self.stream.write(f"{done}/{self.total}\n")
        self.stream.flush()


def summary(report: ImportReport, *, shown: int = REASONS_SHOWN) -> str:
    lines = [
        f"{report.file}: {report.rows} {'row' if report.rows == 1 else 'rows'}",
        f"  imported: {report.imported}",
        f"  duplicates (already imported): {report.duplicates}",
        f"  possible duplicates of other referrals: {report.possible_duplicates}",
        f"  rejected: {len(report.rejected)}",
    ]
    lines += [f"    {reason}" for reason in report.rejected[:shown]]
    if len(report.rejected) > shown:
        lines.append(f"    ... and {len(report.rejected) - shown} more rejected rows")
    return "\n".join(lines)
