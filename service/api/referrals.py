"""Referrals: the public intake and status, and the staff's views and duplicate decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    FromPath,
    HeaderParameter,
    JSONBody,
    PathParameter,
    QueryParameter,
)

from service.auth import PUBLIC, StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.problems import problem_responses
from service.schemas.referrals import (
    AttemptIn,
    DuplicateDecision,
    ForwardIn,
    LocationIn,
    OutcomeIn,
    Placement,
    PublicStatus,
    QueueRow,
    QueueVersion,
    ReferralDetail,
    ReferralReceipt,
    ReferralState,
    ReferralSummary,
)
from service.usecases.referrals import duplicates, placement
from service.usecases.referrals import staff_views as referral_staff
from service.usecases.referrals import submission as referral_views
from service.usecases.referrals import work as referral_work
from service.usecases.referrals.public_status import public_status
from service.usecases.referrals.staff_views import QueueFilter
from service.vocabularies import ReferralStatus
from streetlink.schema import StreetLinkAlert

Status = ReferralStatus
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=16,
        max_length=100,
        description="A client-generated key (e.g. a UUID): a resend returns the same receipt.",
        required=False,
        schema_extra={"type": "string", "oneOf": None},  # absent or a string, never null
    ),
]


class PublicReferralsController(Controller):
    path = "/v1/referrals"
    tags = ["referrals (public)"]
    opt = PUBLIC

    @post(
        "/",
        operation_id="createReferral",
        summary="Report someone sleeping rough (public, no sign-in)",
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=ReferralReceipt,
                description="A resend with the same Idempotency-Key: the original receipt",
                generate_examples=False,
            ),
            **problem_responses(413, 422, 429),
        },
    )
    async def create(
        self,
        runtime: RuntimeDep,
        data: JSONBody[StreetLinkAlert],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ReferralReceipt]:
        receipt = await referral_views.submit(
            runtime, data, source="api", submission_key=idempotency_key
        )
        return Response(receipt, status_code=200 if receipt.replayed else 201)

    @get(
        "/",
        operation_id="listReferrals",
        summary="Referrals in your scope, urgent first (no description or location)",
        responses=problem_responses(401, 403),
        guards=[require_role("worker", "coordinator")],
        opt={"public": False},  # on this path for routing; signed-in staff only
    )
    async def list_referrals(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        status: Annotated[Status | None, QueryParameter()] = None,
        team_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=100_000)] = 0,
    ) -> list[ReferralSummary]:
        return await referral_staff.list_referrals(
            runtime, request.user, status=status, team_id=team_id, limit=limit, offset=offset
        )

    @get(
        "/{reference:str}/status",
        operation_id="getReferralStatus",
        summary="The referrer's view of their referral (needs the private token)",
        responses=problem_responses(404, 429),
    )
    async def status(
        self,
        runtime: RuntimeDep,
        reference: Annotated[str, PathParameter(max_length=20)],
        token: Annotated[str, QueryParameter(min_length=1, max_length=100)],
    ) -> PublicStatus:
        return await public_status(runtime, reference, token)


class ReferralDuplicatesController(Controller):
    path = "/v1/referrals/{referral_id:uuid}/duplicate-of/{other_id:uuid}"
    tags = ["referrals"]
    guards = [require_role("coordinator")]

    @post(
        "/",
        operation_id="confirmReferralDuplicate",
        summary="Confirm that a referral duplicates another: it closes as merged, both are kept",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def confirm(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        referral_id: FromPath[uuid.UUID],
        other_id: FromPath[uuid.UUID],
    ) -> DuplicateDecision:
        return await duplicates.decide(
            runtime, request.user, referral_id, other_id, confirm=True, route=request.url.path
        )

    @delete(
        "/",
        operation_id="rejectReferralDuplicate",
        summary="Reject a suggested duplicate link: both referrals stay open",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def reject(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        referral_id: FromPath[uuid.UUID],
        other_id: FromPath[uuid.UUID],
    ) -> DuplicateDecision:
        return await duplicates.decide(
            runtime, request.user, referral_id, other_id, confirm=False, route=request.url.path
        )


class StaffReferralsController(Controller):
    path = "/v1/referrals"
    tags = ["referrals"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/{referral_id:uuid}",
        operation_id="getReferral",
        summary="One referral with its description and location (the read is audited)",
        responses=problem_responses(401, 403, 404),
    )
    async def get_referral(
        self, runtime: RuntimeDep, request: StaffRequest, referral_id: FromPath[uuid.UUID]
    ) -> ReferralDetail:
        return await referral_staff.referral_detail(
            runtime, request.user, referral_id, route=request.url.path
        )

    @post(
        "/{referral_id:uuid}/attempts",
        operation_id="recordReferralAttempt",
        summary="Record a search for the person (idempotent by the attempt's id)",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def attempt(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        referral_id: FromPath[uuid.UUID],
        data: JSONBody[AttemptIn],
    ) -> ReferralState:
        return await referral_work.record_attempt(runtime, request.user, referral_id, data)

    @post(
        "/{referral_id:uuid}/outcome",
        operation_id="recordReferralOutcome",
        summary="Close a referral with an outcome",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def outcome(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        referral_id: FromPath[uuid.UUID],
        data: JSONBody[OutcomeIn],
    ) -> ReferralState:
        return await referral_work.record_outcome(runtime, request.user, referral_id, data)

    @put(
        "/{referral_id:uuid}/location",
        operation_id="placeReferral",
        summary="Place a referral on the map: re-routes, re-clusters and re-assigns it "
        "(coordinators; audited)",
        description=(
            "For a referral that came with only a description (or a wrong pin). The referral "
            "is routed by the current boundaries (the boundary version is recorded), marked "
            "located_by=coordinator, folded into the hotspots, and the assignments are "
            "recomputed before the answer. A closed referral is a 409."
        ),
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403, 404, 409),
    )
    async def place(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        referral_id: FromPath[uuid.UUID],
        data: JSONBody[LocationIn],
    ) -> Placement:
        return await placement.place(
            runtime, request.user, referral_id, data, route=request.url.path
        )

    @post(
        "/{referral_id:uuid}/forward",
        operation_id="forwardReferral",
        summary="Forward an out-of-area referral: closed as out_of_area_forwarded, the note "
        "says where (coordinators; audited)",
        status_code=200,
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403, 404, 409),
    )
    async def forward(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        referral_id: FromPath[uuid.UUID],
        data: JSONBody[ForwardIn],
    ) -> ReferralState:
        return await placement.forward(
            runtime, request.user, referral_id, data, route=request.url.path
        )


Flag = Annotated[bool, QueryParameter(description="true: only referrals with this flag")]


class ReferralQueueController(Controller):
    path = "/v1/referral-queue"
    tags = ["referrals"]
    guards = [require_role("coordinator")]

    @get(
        "/",
        operation_id="getReferralQueue",
        summary="Open referrals in your scope to triage, urgent then newest, with their flags "
        "(coordinators; audited)",
        responses=problem_responses(401, 403),
    )
    async def queue(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        authority: Annotated[
            str | None,
            QueryParameter(max_length=9, pattern=r"^[EWSN]\d{8}$", description="ONS code"),
        ] = None,
        team_id: Annotated[int | None, QueryParameter(name="team", ge=1, le=2**31 - 1)] = None,
        stage: Annotated[Status | None, QueryParameter()] = None,
        urgent: Flag = False,
        swep: Flag = False,
        past_sla: Flag = False,
        no_location: Flag = False,
        possible_duplicate: Flag = False,
        out_of_area: Flag = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
    ) -> list[QueueRow]:
        filters = QueueFilter(
            authority=authority,
            team_id=team_id,
            stage=stage,
            urgent=urgent,
            swep=swep,
            past_sla=past_sla,
            no_location=no_location,
            possible_duplicate=possible_duplicate,
            out_of_area=out_of_area,
            limit=limit,
        )
        return await referral_staff.queue(runtime, request.user, filters, route=request.url.path)

    @get(
        "/version",
        operation_id="getReferralQueueVersion",
        summary="Whether the queue changed: open count and last change in your scope "
        "(coordinators; polled by the console)",
        responses=problem_responses(401, 403),
    )
    async def version(self, runtime: RuntimeDep, request: StaffRequest) -> QueueVersion:
        return await referral_staff.queue_version(runtime, request.user)
