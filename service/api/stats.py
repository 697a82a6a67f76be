"""Figures for a period per authority and per team (staff; small numbers suppressed)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from service.auth import StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.problems import problem_responses
from service.schemas.stats import Audience, StatsReport
from service.usecases.figures import stats

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
            "are exact and the others suppressed."
        ),
        responses=problem_responses(401, 403, 422),
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
