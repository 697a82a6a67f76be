"""Staff work on referrals: list, read (audited), search attempts and outcomes."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from service.auth import StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.problems import problem_responses
from service.schemas.referrals import (
    AttemptIn,
    OutcomeIn,
    ReferralDetail,
    ReferralState,
)
from service.usecases.referrals import staff_views as referral_staff
from service.usecases.referrals import work as referral_work


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
