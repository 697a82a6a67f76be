"""Assignments (which team visits what, on which shift, and why), coordinator overrides, team
run-sheets and SWEP switches."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from service.auth import StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.assignments import (
    ITEM_PATTERN,
    AssignmentOut,
    AssignmentPage,
    OverrideIn,
    RunResult,
    ShiftPlan,
    SwepIn,
    SwepState,
)
from service.schemas.problems import problem_responses
from service.usecases.assignments import overrides, shift_plan
from service.usecases.assignments import runs as assignment
from service.vocabularies import AssignmentRule, ItemKind

Item = Annotated[
    str,
    PathParameter(
        pattern=ITEM_PATTERN,
        max_length=60,
        description="The work item: `referral:<uuid>` or `hotspot:<id>`",
    ),
]
TeamIdPath = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
AuthorityCode = Annotated[
    str, PathParameter(pattern=r"^[EWSN][0-9]{8}$", description="ONS authority code")
]


class AssignmentsController(Controller):
    path = "/v1"
    tags = ["assignments"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/assignments",
        operation_id="listAssignments",
        summary="Current assignments in your scope with their rule and reasons, by priority",
        responses=problem_responses(401, 403),
    )
    async def list_assignments(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        team_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        kind: Annotated[ItemKind | None, QueryParameter(description="referral or hotspot")] = None,
        rule: Annotated[
            AssignmentRule | None, QueryParameter(description="Only items placed by this rule")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, QueryParameter(ge=0, le=100_000)] = 0,
    ) -> AssignmentPage:
        return await assignment.list_assignments(
            runtime,
            request.user,
            team_id=team_id,
            item_kind=kind,
            rule=rule,
            limit=limit,
            offset=offset,
        )

    @post(
        "/assignments:run",
        operation_id="runAssignments",
        summary="Recompute every assignment now; lists overflowed and unassigned items",
        status_code=200,
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403),
    )
    async def run(self, runtime: RuntimeDep, request: StaffRequest) -> RunResult:
        return await assignment.run_on_demand(runtime, request.user)

    @put(
        "/assignments/{item:str}",
        operation_id="pinAssignment",
        summary="Pin an item to a team until released (coordinators; audited; reassigns now)",
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403, 404, 409),
    )
    async def pin(
        self, runtime: RuntimeDep, request: StaffRequest, item: Item, data: JSONBody[OverrideIn]
    ) -> AssignmentOut:
        return await overrides.pin(runtime, request.user, item, data, route=request.url.path)

    @delete(
        "/assignments/{item:str}",
        operation_id="releaseAssignment",
        summary="Release an item's pin (coordinators; audited; reassigns now)",
        status_code=200,
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403, 404),
    )
    async def release(
        self, runtime: RuntimeDep, request: StaffRequest, item: Item
    ) -> AssignmentOut:
        return await overrides.release(runtime, request.user, item, route=request.url.path)


class ShiftPlanController(Controller):
    path = "/v1/teams"
    tags = ["assignments"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/{team_id:int}/shift-plan",
        operation_id="getShiftPlan",
        summary="A team's run-sheet for a day's shift: visits in order, times, what to look for",
        responses=problem_responses(401, 403, 404),
    )
    async def shift_plan(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        team_id: TeamIdPath,
        date: Annotated[
            dt.date | None,
            QueryParameter(description="Local date of the shift's start (default: today)"),
        ] = None,
    ) -> ShiftPlan:
        return await shift_plan.shift_plan(
            runtime, request.user, team_id, date, route=request.url.path
        )


class SwepController(Controller):
    path = "/v1"
    tags = ["areas"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/swep",
        operation_id="listSwep",
        summary="Severe Weather Emergency Protocol state of each authority (staff)",
        responses=problem_responses(401),
    )
    async def list_swep(self, runtime: RuntimeDep) -> list[SwepState]:
        return await assignment.swep_states(runtime)

    @put(
        "/areas/{code:str}/swep",
        operation_id="setSwep",
        summary="Switch SWEP on or off for an authority (its coordinators; audited; reassigns)",
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403, 404),
    )
    async def set_swep(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        code: AuthorityCode,
        data: JSONBody[SwepIn],
    ) -> SwepState:
        return await assignment.set_swep(runtime, request.user, code, data, route=request.url.path)
