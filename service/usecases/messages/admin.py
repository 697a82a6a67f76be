"""The outbox for admins (list, retry a dead letter, preview templates), push subscriptions
for staff, and the referrer's unsubscribe link."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from service import metrics
from service.access import StaffUser
from service.db import messages as repo
from service.db import referrals as referrals_repo
from service.db.engine import transaction
from service.exceptions import ConflictError, InvalidInputError, NotFoundError
from service.runtime import Runtime
from service.schemas.messages import (
    MessagePreview,
    OutboxMessage,
    OutboxPage,
    PushKey,
    PushSubscriptionIn,
    PushSubscriptionOut,
    Unsubscribed,
)
from service.usecases.messages import templates
from service.usecases.messages.transports import (
    b64url_decode,
    public_key_of,
    push_service_allowed,
)
from service.usecases.referrals.intake import token_matches
from service.usecases.referrals.public_status import NOT_FOUND
from service.vocabularies import MessageState, MessageTemplate
from streetlink.errors import InvalidReferenceError
from streetlink.references import parse_reference

log = logging.getLogger(__name__)


async def list_outbox(
    runtime: Runtime, *, state: MessageState | None, limit: int, offset: int
) -> OutboxPage:
    async with transaction(runtime.sessions) as session:
        rows = await repo.list_messages(session, state=state, limit=limit + 1, offset=offset)
    items = msgspec.convert(rows[:limit], list[OutboxMessage])
    return OutboxPage(items=items, has_more=len(rows) > limit)


async def retry(runtime: Runtime, message_id: int) -> OutboxMessage:
    """Queue a dead letter again (due now, attempts counted afresh)."""
    async with transaction(runtime.sessions) as session:
        state = await repo.get_state(session, message_id)
        if state is None:
            raise NotFoundError("no such message")
        if state != "dead":
            raise ConflictError(f"only a dead letter can be retried (this one is {state})")
        row = await repo.requeue(session, message_id)
    return msgspec.convert(row, OutboxMessage)


def preview(runtime: Runtime, template: MessageTemplate) -> MessagePreview:
    return msgspec.convert(templates.preview(runtime.settings, template), MessagePreview)


async def outbox_metrics(runtime: Runtime) -> list[Any]:
    """The outbox gauges for a scrape (none while the database is away)."""
    try:
        async with transaction(runtime.sessions) as session:
            stats = await repo.stats(session)
    except Exception as exc:  # a scrape still gets the process's own metrics
        log.warning("outbox metrics: %s", type(exc).__name__)
        return []
    return list(
        metrics.outbox_families(stats["counts"], stats["oldest_queued_s"], stats["retrying"])
    )


# --- push subscriptions ----------------------------------------------------------------------


def push_key(runtime: Runtime) -> PushKey:
    if not runtime.settings.vapid_private_key:
        raise NotFoundError("push notifications are not configured")
    return PushKey(public_key=public_key_of(runtime.settings.vapid_private_key))


def _check_endpoint(runtime: Runtime, data: PushSubscriptionIn) -> None:
    if not push_service_allowed(data.endpoint, runtime.settings.push_services):
        raise InvalidInputError("not the address of a known push service", field="endpoint")


def _check_keys(data: PushSubscriptionIn) -> None:
    """The browser's key must be a point on P-256 and its secret 16 bytes (RFC 8291), or no
    alert could ever be encrypted for it."""
    try:
        raw = b64url_decode(data.keys.p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise InvalidInputError("not a P-256 public key", field="keys.p256dh") from None
    if len(b64url_decode(data.keys.auth)) != 16:
        raise InvalidInputError("the auth secret must be 16 bytes", field="keys.auth")


async def subscribe(
    runtime: Runtime, user: StaffUser, data: PushSubscriptionIn
) -> PushSubscriptionOut:
    _check_endpoint(runtime, data)
    _check_keys(data)
    async with transaction(runtime.sessions) as session:
        row = await repo.upsert_subscription(
            session,
            {
                "user_id": user.id,
                "endpoint": data.endpoint,
                "p256dh": data.keys.p256dh,
                "auth": data.keys.auth,
                "device_id": data.device_id,
            },
        )
    return msgspec.convert(row, PushSubscriptionOut)


async def unsubscribe_device(runtime: Runtime, user: StaffUser, endpoint: str) -> None:
    """Remove one of the user's own subscriptions (an admin may remove anyone's)."""
    async with transaction(runtime.sessions) as session:
        found = await repo.delete_subscription(
            session, endpoint=endpoint, user_id=None if user.is_admin else user.id
        )
    if not found:
        raise NotFoundError("no such subscription of yours")


# --- the referrer's unsubscribe link -----------------------------------------------------------


async def unsubscribe_referrer(runtime: Runtime, reference: str, token: str) -> Unsubscribed:
    """Stop every email about this alert (the link in each one). Unknown reference and wrong
    token look the same; doing it twice is fine."""
    try:
        canonical = parse_reference(reference)
    except InvalidReferenceError:
        raise NotFoundError(NOT_FOUND) from None
    async with transaction(runtime.sessions) as session:
        row = await referrals_repo.get_public(session, canonical)
        if row is None or not token_matches(row, token):
            raise NotFoundError(NOT_FOUND)
        await repo.unsubscribe_referrer(session, row["id"])
    return Unsubscribed(reference=row["reference"], unsubscribed=True)
