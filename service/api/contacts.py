"""The phone app's contacts (offline batches) and its change feed."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from service.auth import StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.contacts import ContactBatch, ContactBatchResult, ContactOut, SyncPage
from service.schemas.problems import problem_responses
from service.usecases import idempotency
from service.usecases.contacts import batch as contacts
from service.usecases.contacts import sync
from service.usecases.contacts import views as contact_views

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=8,
        max_length=100,
        required=False,
        description="Replaying a batch with the same key returns the stored response.",
        schema_extra={"type": "string", "oneOf": None},  # absent or a string, never null
    ),
]


class ContactsController(Controller):
    path = "/v1"
    tags = ["contacts"]
    guards = [require_role("worker", "coordinator")]
    request_max_body_size = 4 * 1024 * 1024

    @post(
        "/contacts:batch",
        operation_id="syncContactsBatch",
        summary="Send up to 500 contacts; each is applied on its own (idempotent by its id)",
        status_code=200,
        responses=problem_responses(401, 403, 409, 413),
    )
    async def batch(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        data: JSONBody[ContactBatch],
        idempotency_key: IdempotencyKey = None,
    ) -> ContactBatchResult:
        return await idempotency.replay_or_run(
            runtime,
            request.user,
            idempotency_key,
            data,
            ContactBatchResult,
            lambda: contacts.apply_batch(runtime, request.user, data),
        )

    @get(
        "/sync",
        operation_id="syncChanges",
        summary="What changed for your teams since the cursor (new assignments, status changes)",
        responses=problem_responses(401, 403, 422),
    )
    async def changes(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        since: Annotated[str | None, QueryParameter(max_length=100)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    ) -> SyncPage:
        return await sync.sync(runtime, request.user, since, limit)


class ContactReadController(Controller):
    path = "/v1/contacts"
    tags = ["contacts"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/{contact_id:uuid}",
        operation_id="getContact",
        summary="One contact (audited); support needs and health only for the team and area",
        responses=problem_responses(401, 403, 404),
    )
    async def get_contact(
        self, runtime: RuntimeDep, request: StaffRequest, contact_id: FromPath[uuid.UUID]
    ) -> ContactOut:
        return await contact_views.read_contact(
            runtime, request.user, contact_id, route=request.url.path
        )
