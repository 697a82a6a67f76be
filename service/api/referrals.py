"""Public referral intake and status; coordinators' duplicate decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    FromPath,
    HeaderParameter,
    JSONBody,
    PathParameter,
    QueryParameter,
)

from service.api.problems import problem_responses
from service.auth import PUBLIC, StaffRequest, require_role
from service.schemas.referrals import (
    DuplicateDecision,
    PublicStatus,
    ReferralReceipt,
    ReferralSummary,
)
from service.state import RuntimeDep
from service.usecases import duplicates, referral_staff, referral_views
from service.usecases.public_status import public_status
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
