"""Messages: the outbox (admins), template previews, Web Push subscriptions (staff devices)
and the referrer's one-click unsubscribe."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from service.auth import PUBLIC, StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.messages import (
    MessagePreview,
    OutboxMessage,
    OutboxPage,
    PushKey,
    PushSubscriptionIn,
    PushSubscriptionOut,
    PushSubscriptionRef,
    Unsubscribed,
)
from service.schemas.problems import problem_responses
from service.usecases.messages import admin as messages
from service.vocabularies import MessageState, MessageTemplate


class OutboxController(Controller):
    path = "/v1/outbox"
    tags = ["messages"]
    guards = [require_role()]  # admins only

    @get(
        "/",
        operation_id="listOutbox",
        summary="Messages in the outbox, newest first (no addresses or texts); filter by state",
        responses=problem_responses(401, 403),
    )
    async def list_outbox(
        self,
        runtime: RuntimeDep,
        message_state: Annotated[
            MessageState | None, QueryParameter(name="state", description="Only this state")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=100_000)] = 0,
    ) -> OutboxPage:
        return await messages.list_outbox(runtime, state=message_state, limit=limit, offset=offset)

    @post(
        "/{message_id:int}/retry",
        operation_id="retryOutboxMessage",
        summary="Queue a dead letter again (attempts start afresh)",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def retry(
        self,
        runtime: RuntimeDep,
        message_id: Annotated[int, PathParameter(ge=1, le=2**63 - 1)],
    ) -> OutboxMessage:
        return await messages.retry(runtime, message_id)

    @get(
        "/templates/{template:str}",
        operation_id="previewMessageTemplate",
        summary="A message template rendered with sample values (email parts, push payload)",
        responses=problem_responses(401, 403),
        sync_to_thread=False,
    )
    def preview(
        self, runtime: RuntimeDep, template: Annotated[MessageTemplate, PathParameter()]
    ) -> MessagePreview:
        return messages.preview(runtime, template)


class PushController(Controller):
    path = "/v1/push"
    tags = ["messages"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/key",
        operation_id="getPushKey",
        summary="The VAPID public key to subscribe a device with (404 when push is off)",
        responses=problem_responses(401, 403, 404),
        sync_to_thread=False,
    )
    def key(self, runtime: RuntimeDep) -> PushKey:
        return messages.push_key(runtime)

    @put(
        "/subscription",
        operation_id="putPushSubscription",
        summary="Register this browser's push subscription for alerts to you (idempotent)",
        responses=problem_responses(401, 403, 422),
    )
    async def subscribe(
        self, runtime: RuntimeDep, request: StaffRequest, data: JSONBody[PushSubscriptionIn]
    ) -> PushSubscriptionOut:
        return await messages.subscribe(runtime, request.user, data)

    @delete(
        "/subscription",
        operation_id="deletePushSubscription",
        summary="Remove one of your push subscriptions",
        status_code=204,
        responses=problem_responses(401, 403, 404),
    )
    async def unsubscribe(
        self, runtime: RuntimeDep, request: StaffRequest, data: JSONBody[PushSubscriptionRef]
    ) -> None:
        await messages.unsubscribe_device(runtime, request.user, data.endpoint)


class UnsubscribeController(Controller):
    path = "/v1/referrals"
    tags = ["referrals (public)"]
    opt = PUBLIC

    @post(
        "/{reference:str}/unsubscribe",
        operation_id="unsubscribeReferrer",
        summary="Stop every email about an alert (one-click, RFC 8058; needs the private token)",
        status_code=200,
        responses=problem_responses(404, 429),
    )
    async def unsubscribe(
        self,
        runtime: RuntimeDep,
        reference: Annotated[str, PathParameter(max_length=20)],
        token: Annotated[str, QueryParameter(min_length=1, max_length=100)],
    ) -> Unsubscribed:
        return await messages.unsubscribe_referrer(runtime, reference, token)
