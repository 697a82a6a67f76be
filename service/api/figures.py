"""Figures and exports: GET /v1/stats, the streamed CSV exports and the snapshot return."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import QueryParameter
from litestar.response import Stream

from service.auth import StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.figures import (
    Audience,
    ExportCounts,
    SnapshotReturn,
    StatsReport,
    WeeklySeries,
)
from service.schemas.problems import problem_responses
from service.usecases.figures import exports, series, stats
from service.usecases.figures.exports import CsvExport, ExportFilter

AUTHORITY_CODE = r"^[EWSN]\d{8}$"
"""An ONS/GSS code such as E07000070."""
FromDate = Annotated[
    dt.date | None,
    QueryParameter(name="from", description="First day (Europe/London); default 90 days ago"),
]
ToDate = Annotated[
    dt.date | None,
    QueryParameter(name="to", description="Last day, included (Europe/London); default today"),
]
AuthorityFilter = Annotated[
    str | None,
    QueryParameter(max_length=9, pattern=AUTHORITY_CODE, description="Only this authority"),
]
TeamFilter = Annotated[
    int | None, QueryParameter(name="team", ge=1, le=2**31 - 1, description="Only this team")
]


class StatsController(Controller):
    path = "/v1/stats"
    tags = ["stats"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/",
        operation_id="getStats",
        summary="Figures per authority and team for a period (counts under 5 shown as <5)",
        description=(
            "Referrals received, closed, searched and found, the found rate, outcome shares, "
            "median hours to the first search and to the outcome, SLA breaches, contacts, "
            "verified bedded-down people and CHAIN cohorts. With audience=public every figure "
            "is suppressed for wide audiences; with audience=staff the rows of your own area "
            "are exact and the others suppressed. Suppressed figures come only for one "
            "calendar month that has ended (from = its first day, to = its last), only as "
            "authority rows (not narrowed by team), with secondary suppression; for another "
            'period they are left out (outside_scope="withheld"), and audience=public is a '
            "400 problem."
        ),
        responses=problem_responses(400, 401, 403, 422),
    )
    async def get_stats(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        from_date: FromDate = None,
        to_date: ToDate = None,
        authority: AuthorityFilter = None,
        team_id: TeamFilter = None,
        audience: Annotated[
            Audience, QueryParameter(description="public: suppress everything (wide audiences)")
        ] = "staff",
    ) -> StatsReport:
        return await stats.report(
            runtime,
            request.user,
            from_date=from_date,
            to_date=to_date,
            authority=authority,
            team_id=team_id,
            audience=audience,
        )

    @get(
        "/weekly",
        operation_id="getWeeklySeries",
        summary="Referrals received and contacts observed per week, in your scope",
        description=(
            "Weeks start on Monday (Europe/London); every week meeting the period is listed. "
            "Only what you may see is counted, so the figures are exact (as your own area's "
            "rows of GET /v1/stats); nothing outside your scope is included."
        ),
        responses=problem_responses(400, 401, 403, 422),
    )
    async def weekly(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        from_date: FromDate = None,
        to_date: ToDate = None,
        authority: AuthorityFilter = None,
        team_id: TeamFilter = None,
    ) -> WeeklySeries:
        return await series.weekly(
            runtime,
            request.user,
            from_date=from_date,
            to_date=to_date,
            authority=authority,
            team_id=team_id,
        )


CSV = "text/csv"
NO_STORE = {"Cache-Control": "no-store"}


def _stream(export: CsvExport) -> Stream:
    return Stream(
        export.chunks,
        media_type=CSV,
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="{export.filename}"',
        },
    )


class ExportsController(Controller):
    path = "/v1/exports"
    tags = ["exports"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/referrals.csv",
        operation_id="exportReferralsCsv",
        summary="Referrals in your scope as CSV, streamed (no referrer details; audited)",
        description=(
            "Without from/to: every referral in your scope. The export is written to the "
            "audit log with its row count before the first row is sent."
        ),
        media_type=CSV,
        responses=problem_responses(401, 403, 422),
    )
    async def referrals_csv(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        from_date: FromDate = None,
        to_date: ToDate = None,
        authority: AuthorityFilter = None,
        team_id: TeamFilter = None,
    ) -> Stream:
        filters = ExportFilter(from_date, to_date, authority, team_id)
        export = await exports.referrals_csv(runtime, request.user, filters, route=request.url.path)
        return _stream(export)

    @get(
        "/counts",
        operation_id="getExportCounts",
        summary="How many rows the referrals and contacts exports would hold now",
        description="The same scope and filters as the CSV exports; shown before a download.",
        responses=problem_responses(401, 403, 422),
    )
    async def counts(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        from_date: FromDate = None,
        to_date: ToDate = None,
        authority: AuthorityFilter = None,
        team_id: TeamFilter = None,
    ) -> ExportCounts:
        filters = ExportFilter(from_date, to_date, authority, team_id)
        return await exports.export_counts(runtime, request.user, filters)

    @get(
        "/contacts.csv",
        operation_id="exportContactsCsv",
        summary="Contacts in your scope as CSV, streamed (people by pseudonym; audited)",
        description=(
            "special_category=true adds support needs and health notes, for workers and "
            "coordinators only (administrators get 403)."
        ),
        media_type=CSV,
        responses=problem_responses(401, 403, 422),
    )
    async def contacts_csv(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        from_date: FromDate = None,
        to_date: ToDate = None,
        authority: AuthorityFilter = None,
        team_id: TeamFilter = None,
        special_category: Annotated[
            bool, QueryParameter(description="Add support needs and health notes")
        ] = False,
    ) -> Stream:
        filters = ExportFilter(from_date, to_date, authority, team_id)
        export = await exports.contacts_csv(
            runtime,
            request.user,
            filters,
            special_category=special_category,
            route=request.url.path,
        )
        return _stream(export)

    @get(
        "/snapshot",
        operation_id="getSnapshotReturn",
        summary="Snapshot-style return per authority (small numbers suppressed; coordinators)",
        description=(
            "People seen bedded down in the period, each counted once where last seen so, by "
            "gender, age band and (administrators only) nationality band."
        ),
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403, 422),
    )
    async def snapshot(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        from_date: FromDate = None,
        to_date: ToDate = None,
        authority: AuthorityFilter = None,
    ) -> SnapshotReturn:
        filters = ExportFilter(from_date, to_date, authority)
        return await exports.snapshot(runtime, request.user, filters, route=request.url.path)

    @get(
        "/snapshot.csv",
        operation_id="getSnapshotReturnCsv",
        summary="The snapshot-style return as CSV (one line per authority, dimension, band)",
        guards=[require_role("coordinator")],
        media_type=CSV,
        responses=problem_responses(401, 403, 422),
    )
    async def snapshot_csv(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        from_date: FromDate = None,
        to_date: ToDate = None,
        authority: AuthorityFilter = None,
    ) -> Response[bytes]:
        filters = ExportFilter(from_date, to_date, authority)
        report = await exports.snapshot(runtime, request.user, filters, route=request.url.path)
        return Response(exports.snapshot_csv(report), media_type=CSV, headers=NO_STORE)
