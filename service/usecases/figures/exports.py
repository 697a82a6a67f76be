"""Exports: CSV of referrals and contacts, streamed; a snapshot-style return.

Scope: the rows the caller could read one by one (referrals: admins all, coordinators their
authorities and unrouted referrals, workers their teams'; contacts: admins all, coordinators
their authorities, anyone their teams'). Referrer contact details are never exported; people
appear by pseudonym; special-category fields (support needs, health notes) only when asked
for by a role that acts on them (workers, coordinators: see ``contact_views``).

Each export is audited once, before its first row leaves, with the exact number of rows: the
count and the rows are read in one snapshot. The database writes each row as a CSV line
(``csv_cell()``, the twin of :func:`cell`: the same bytes); the lines are read from a
server-side cursor in batches of :data:`BATCH_ROWS` and written out batch by batch, so an
export of any size keeps little in memory and no single statement runs long.

The snapshot return counts people seen bedded down in the period (each once, where they were
last seen so) per authority by gender, age band and (administrators only) nationality band,
always with small numbers suppressed: it is meant to be passed on.
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service import access
from service.access import StaffUser
from service.db import audit
from service.db import exports as repo
from service.db import figures as stats_repo
from service.db import teams as teams_repo
from service.db.engine import transaction
from service.exceptions import AccessDeniedError
from service.runtime import Runtime
from service.schemas import figures as wire
from service.usecases.figures import disclosure
from service.usecases.figures.stats import check_filter, make_period
from streetlink.foreign import escape_spreadsheet_text

BATCH_ROWS = 1000
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
REFERRAL_COLUMNS = (
    "reference",
    "received_at",
    "seen_at",
    "seen_time_band",
    "status",
    "outcome",
    "closed_at",
    "urgent",
    "authority_code",
    "team_id",
    "lat",
    "lon",
    "accuracy_m",
    "location_quality",
    "location_description",
    "postcode",
    "site_type",
    "people_count",
    "gender",
    "age_band",
    "appearance",
    "clothing",
    "belongings",
    "immediate_danger",
    "appears_under_18",
    "self_referral",
    "attempts",
    "next_shift_due_at",
    "outcome_due_at",
)
CONTACT_COLUMNS = (
    "id",
    "observed_at",
    "received_at",
    "team_id",
    "worker_id",
    "authority_code",
    "lat",
    "lon",
    "accuracy_m",
    "person",
    "referral",
    "bedded_down",
    "contact_type",
    "engagement",
    "offers_made",
    "offers_accepted",
    "outcome",
    "safeguarding_concern",
    "notes",
)
SPECIAL_CATEGORY_COLUMNS = ("support_needs", "health_notes")
GENDER_BANDS = ("female", "male", "non_binary", "not_known")
AGE_BANDS = ("under_18", "18_25", "26_plus", "not_known")
NATIONALITY_BANDS = ("uk", "eu", "non_eu", "not_known")
Progress = Callable[[int, int], None]
"""Called with (rows written, rows in the export) after each batch."""


@dataclass(frozen=True, slots=True)
class ExportFilter:
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    authority: str | None = None
    team_id: int | None = None


@dataclass(frozen=True, slots=True)
class CsvExport:
    """A CSV export ready to stream: nothing is read until ``chunks`` is iterated."""

    filename: str
    chunks: AsyncIterator[bytes]


def cli_user() -> StaffUser:
    """Whoever runs ``outreach export`` on the server: the database is theirs already, so
    they have an administrator's scope; the audit log names them ``cli:<login>``."""
    return StaffUser(id=0, username=f"cli:{getpass.getuser()}"[:100], role="admin")


# --- cells ------------------------------------------------------------------------


def cell(value: Any) -> str:
    """One CSV cell: text a spreadsheet would run as a formula is defused. The header of an
    export and the snapshot return are written with it; an export's rows by its SQL twin,
    ``csv_cell()`` (``migrations/versions/0016_csv_cells.py``).

    >>> [cell(v) for v in (None, True, 2.5, "=SUM(A1)", ["a", "b"])]
    ['', 'true', '2.5', "'=SUM(A1)", 'a;b']
    >>> cell(dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.UTC))
    '2025-01-02T03:04:00+00:00'
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(cell(v) for v in value)
    if isinstance(value, str):
        return escape_spreadsheet_text(value)
    return str(value)


def encode_rows(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


# --- CSV exports ----------------------------------------------------------------------------


def _bounds(filters: ExportFilter) -> tuple[dt.datetime, dt.datetime]:
    """Everything when no day is given, else the period (see ``stats.make_period``)."""
    if filters.from_date is None and filters.to_date is None:
        return EARLIEST, LATEST
    period = make_period(filters.from_date, filters.to_date)
    return period.start, period.end


async def _checked_params(runtime: Runtime, filters: ExportFilter) -> dict[str, Any]:
    start, end = _bounds(filters)
    async with transaction(runtime.sessions) as session:
        check_filter(
            await stats_repo.authorities(session),
            await teams_repo.list_teams(session),
            filters.authority,
            filters.team_id,
        )
    return {"start": start, "end": end, "authority": filters.authority, "team_id": filters.team_id}


async def _audit(
    runtime: Runtime, user: StaffUser, subject: str, route: str, detail: dict[str, Any]
) -> None:
    async with transaction(runtime.sessions) as session:
        await audit.record(
            session,
            user_id=user.id or None,
            username=user.username,
            action="export",
            subject_type=subject,
            subject_id=str(uuid.uuid4()),
            route=route,
            detail=detail,
        )


def _describe(filters: ExportFilter) -> dict[str, Any]:
    return {
        "from": filters.from_date.isoformat() if filters.from_date else None,
        "to": filters.to_date.isoformat() if filters.to_date else None,
        "authority": filters.authority,
        "team_id": filters.team_id,
    }


@dataclass(frozen=True, slots=True)
class _Job:
    name: str
    columns: tuple[str, ...]
    params: dict[str, Any]
    detail: dict[str, Any]


async def _stream(
    runtime: Runtime, user: StaffUser, job: _Job, *, route: str, progress: Progress | None
) -> AsyncIterator[bytes]:
    async with repo.snapshot(runtime.engine) as conn:
        total = await repo.count(conn, job.name, job.params)
        await _audit(runtime, user, job.name, route, {**job.detail, "rows": total})
        yield encode_rows([job.columns])
        done = 0
        batches = repo.lines(conn, job.name, job.columns, job.params, batch_rows=BATCH_ROWS)
        async for batch in batches:
            yield "".join(batch).encode()
            done += len(batch)
            if progress is not None:
                progress(done, total)
    if progress is not None and done == 0:
        progress(0, 0)


def _filename(name: str) -> str:
    return f"{name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.csv"


async def referrals_csv(
    runtime: Runtime,
    user: StaffUser,
    filters: ExportFilter,
    *,
    route: str,
    progress: Progress | None = None,
) -> CsvExport:
    params = await _checked_params(runtime, filters) | access.params_of(user)
    job = _Job("referrals", REFERRAL_COLUMNS, params, _describe(filters))
    return CsvExport(
        _filename("referrals"), _stream(runtime, user, job, route=route, progress=progress)
    )


async def contacts_csv(
    runtime: Runtime,
    user: StaffUser,
    filters: ExportFilter,
    *,
    special_category: bool,
    route: str,
    progress: Progress | None = None,
) -> CsvExport:
    if special_category and user.role not in access.SPECIAL_CATEGORY_ROLES:
        raise AccessDeniedError("special-category fields are only for the staff who act on them")
    params = await _checked_params(runtime, filters) | access.params_of(user)
    params["special_category"] = special_category
    columns = CONTACT_COLUMNS + (SPECIAL_CATEGORY_COLUMNS if special_category else ())
    detail = _describe(filters) | {"special_category": special_category}
    job = _Job("contacts", columns, params, detail)
    return CsvExport(
        _filename("contacts"), _stream(runtime, user, job, route=route, progress=progress)
    )


# --- snapshot return ------------------------------------------------------------------------


def snapshot_bands(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """A person's gender, age and nationality bands as in the official return.

    >>> snapshot_bands({"gender": "prefer_not_to_say", "age_band": "36_45",
    ...                 "nationality_band": None})
    ('not_known', '26_plus', 'not_known')
    """
    gender = row["gender"] if row["gender"] in GENDER_BANDS else "not_known"
    age = row["age_band"]
    age = age if age in ("under_18", "18_25") else "not_known" if age == "unknown" else "26_plus"
    nationality = row["nationality_band"]
    return gender, age, nationality if nationality in NATIONALITY_BANDS else "not_known"


def _area(
    code: str, name: str, cells: Mapping[tuple[str, str], int], *, with_nationality: bool
) -> wire.SnapshotArea:
    def dimension(kind: str, bands: Sequence[str]) -> dict[str, disclosure.Count]:
        return disclosure.partition({b: cells.get((kind, b), 0) for b in bands}, exact=False)

    return wire.SnapshotArea(
        code=code,
        name=name,
        total=disclosure.count(cells.get(("total", "all"), 0), exact=False),
        gender=dimension("gender", GENDER_BANDS),
        age_band=dimension("age_band", AGE_BANDS),
        **(
            {"nationality": dimension("nationality", NATIONALITY_BANDS)} if with_nationality else {}
        ),
    )


def _cells(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[tuple[str, str], int]]:
    cells: defaultdict[str, defaultdict[tuple[str, str], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for row in rows:
        gender, age, nationality = snapshot_bands(row)
        area = cells[row["authority_code"]]
        for key in (("total", "all"), ("gender", gender), ("age_band", age)):
            area[key] += row["n"]
        area[("nationality", nationality)] += row["n"]
    return {code: dict(c) for code, c in cells.items()}


async def snapshot(
    runtime: Runtime,
    user: StaffUser,
    filters: ExportFilter,
    *,
    route: str,
    with_nationality: bool | None = None,
) -> wire.SnapshotReturn:
    """The return for the caller's authorities (nationality for administrators only)."""
    nationality = user.is_admin if with_nationality is None else with_nationality and user.is_admin
    period = make_period(filters.from_date, filters.to_date)
    exact = access.exact_figures(user, public=False)
    params = {
        "scope_all": exact.everything,
        "scope_codes": sorted(exact.authority_codes),
        "start": period.start,
        "end": period.end,
        "authority": filters.authority,
        "with_nationality": nationality,
    }
    async with transaction(runtime.sessions) as session:
        authorities = await stats_repo.authorities(session)
        check_filter(authorities, await teams_repo.list_teams(session), filters.authority, None)
        cells = _cells(await repo.snapshot_counts(session, params))
    areas = [
        _area(a["code"], a["name"], cells.get(a["code"], {}), with_nationality=nationality)
        for a in authorities
        if exact.authority(a["code"]) and filters.authority in (None, a["code"])
    ]
    await _audit(
        runtime,
        user,
        "snapshot",
        route,
        _describe(filters) | {"rows": len(areas), "nationality": nationality},
    )
    return wire.SnapshotReturn(
        period=period,
        suppression_threshold=disclosure.THRESHOLD,
        generated_at=dt.datetime.now(dt.UTC),
        authorities=areas,
    )


SNAPSHOT_CSV_COLUMNS = ("authority_code", "authority_name", "dimension", "band", "count")


def snapshot_csv(report: wire.SnapshotReturn) -> bytes:
    """The return as long CSV: one line per authority, dimension and band."""
    rows: list[Sequence[Any]] = [SNAPSHOT_CSV_COLUMNS]
    for area in report.authorities:
        rows.append((area.code, area.name, "total", "all", area.total))
        dimensions = [("gender", area.gender), ("age_band", area.age_band)]
        if isinstance(area.nationality, dict):
            dimensions.append(("nationality", area.nationality))
        for dimension, counts in dimensions:
            rows.extend((area.code, area.name, dimension, b, n) for b, n in counts.items())
    return encode_rows(rows)


async def export_counts(
    runtime: Runtime, user: StaffUser, filters: ExportFilter
) -> wire.ExportCounts:
    """How many rows the referrals and contacts exports would hold now (nothing is read but
    counts, so nothing is audited; the export itself audits its exact count)."""
    params = await _checked_params(runtime, filters) | access.params_of(user)
    params["special_category"] = False
    async with repo.snapshot(runtime.engine) as conn:
        return wire.ExportCounts(
            referrals=await repo.count(conn, "referrals", params),
            contacts=await repo.count(conn, "contacts", params),
        )
