"""Wire types for the outbox (admins), message previews, and Web Push subscriptions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from service.vocabularies import MessageChannel, MessageState, MessageTemplate

B64URL = r"^[A-Za-z0-9_-]+={0,2}$"


class OutboxMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message to one recipient. No address, token or text: only what it is about."""

    id: int
    message_key: str
    """The event, e.g. ``referral_outcome:<referral id>``."""
    recipient_key: str
    """``referrer``, ``team:<id>`` or ``push:<subscription id>``."""
    template: MessageTemplate
    channel: MessageChannel
    state: MessageState
    referral_id: uuid.UUID | None
    team_id: int | None
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    sent_at: dt.datetime | None


class OutboxPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[OutboxMessage]
    has_more: bool


class MessagePreview(msgspec.Struct, frozen=True, kw_only=True):
    """A template rendered with sample values (no real data)."""

    template: MessageTemplate
    email_subject: str
    email_text: str
    email_html: str
    push_payload: dict[str, Any] | None
    """The JSON a device receives, for team alerts; ``null`` for referrer emails."""


class PushKey(msgspec.Struct, frozen=True, kw_only=True):
    public_key: str
    """The VAPID application server key (base64url), for ``pushManager.subscribe``."""


class PushKeys(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    p256dh: Annotated[str, msgspec.Meta(min_length=80, max_length=200, pattern=B64URL)]
    auth: Annotated[str, msgspec.Meta(min_length=16, max_length=100, pattern=B64URL)]


class PushSubscriptionIn(msgspec.Struct, frozen=True, kw_only=True):
    """The browser's ``PushSubscription.toJSON()`` (``expirationTime`` is accepted and not
    kept) and, optionally, the id of the device registered with ``POST /v1/devices``."""

    endpoint: Annotated[str, msgspec.Meta(min_length=12, max_length=2000, pattern=r"^https?://")]
    keys: PushKeys
    expirationTime: float | None = None  # noqa: N815 (the browser's name)
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class PushSubscriptionOut(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    endpoint: str
    device_id: str | None
    created_at: dt.datetime


class PushSubscriptionRef(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    endpoint: Annotated[str, msgspec.Meta(min_length=12, max_length=2000)]


class Unsubscribed(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    unsubscribed: bool
    """True: no more emails about this alert will be sent."""
