"""The outbox sender: any number of them, in any number of processes.

A sender claims a batch of due messages with ``SELECT … FOR UPDATE SKIP LOCKED`` and keeps
the rows locked while it delivers them; the result (sent, due again after a backoff, a dead
letter, cancelled) is written in that same transaction. So:

- two senders never hold the same row: one skips what the other has locked;
- a row marked ``sent`` is never claimed again, and a message is one row per recipient
  (``(message_key, recipient_key)`` is unique), so no recipient gets a message twice from two
  processes;
- a sender that dies mid-batch releases its locks with its connection, unsent: another sender
  (or the same process after a restart) sends them. Its only repeat is a message the SMTP
  server accepted in the moment between that and the commit; such a repeat carries the same
  ``Message-ID``, so the receiver can drop it. A smaller ``outbox_batch_size`` narrows it.

Failures wait ``outbox_backoff_base_s`` doubling per attempt (up to ``outbox_backoff_max_s``);
after ``outbox_max_attempts`` the message is a dead letter, shown by ``GET /v1/outbox`` until
an admin retries it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service import metrics
from service.db import messages as repo
from service.db.engine import transaction
from service.runtime import Runtime
from service.settings import Settings
from service.usecases.messages import templates
from service.usecases.messages.transports import (
    PushTransport,
    SmtpTransport,
    TransportError,
    email_message,
    push_service_allowed,
)

log = logging.getLogger(__name__)


def backoff_s(settings: Settings, attempts: int) -> float:
    """The wait after the ``attempts``-th failure (1 for the first).

    >>> from service.settings import Settings
    >>> s = Settings(database_url="x", outbox_backoff_base_s=30, outbox_backoff_max_s=600)
    >>> [backoff_s(s, n) for n in (1, 2, 3, 6)]
    [30.0, 60.0, 120.0, 600.0]
    """
    return float(
        min(settings.outbox_backoff_base_s * 2 ** (attempts - 1), settings.outbox_backoff_max_s)
    )


def channels(settings: Settings) -> list[str]:
    """The channels this process can deliver: email with an SMTP server, push with a key."""
    return [
        c for c, on in (("email", settings.smtp_url), ("push", settings.vapid_private_key)) if on
    ]


@dataclass
class Batch:
    sent: list[int]
    failed: int = 0


class Sender:
    """One sender task: claims batches, delivers them, records the results."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.channels = channels(self.settings)
        self.smtp = SmtpTransport(self.settings) if self.settings.smtp_url else None
        self.push = (
            PushTransport(self.settings, runtime.http) if self.settings.vapid_private_key else None
        )

    async def run_once(self) -> int:
        """Claim and deliver one batch; how many messages it held."""
        async with transaction(self.runtime.sessions) as session:
            rows = await repo.claim(
                session, limit=self.settings.outbox_batch_size, channels=self.channels
            )
            batch = Batch(sent=[])
            for row in rows:
                await self._deliver(session, row, batch)
            await repo.mark_sent(session, batch.sent)
        for row in rows:
            if row["id"] in batch.sent:
                metrics.message_sent(row["channel"], row["created_at"])
        return len(rows)

    async def drain(self) -> int:
        """Deliver batches until nothing is due (tests, the CLI); how many were handled."""
        total = 0
        while n := await self.run_once():
            total += n
        return total

    async def run(self) -> None:
        """The app's background task: deliver while there is work, else wait a poll interval."""
        try:
            while True:
                try:
                    handled = await self.run_once()
                except Exception as exc:  # the database may be away: try again later
                    log.warning("outbox sender: %s", type(exc).__name__)
                    handled = 0
                if not handled:
                    await asyncio.sleep(self.settings.outbox_poll_interval_s)
        finally:
            await self.close()

    async def close(self) -> None:
        if self.smtp is not None:
            await self.smtp.close()

    async def _deliver(self, session: AsyncSession, row: dict[str, Any], batch: Batch) -> None:
        try:
            if row["channel"] == "email":
                await self._email(row)
            else:
                await self._push(row)
        except TransportError as exc:
            metrics.message_failed(row["channel"])
            await self._failed(session, row, exc)
        except Exception as exc:  # a message that cannot be built must not hold up the batch
            log.warning("outbox message %s: %s", row["id"], type(exc).__name__)
            metrics.message_failed(row["channel"])
            await self._failed(session, row, TransportError(f"error: {type(exc).__name__}"))
        else:
            batch.sent.append(row["id"])

    async def _email(self, row: dict[str, Any]) -> None:
        if self.smtp is None or not row["address"]:
            raise TransportError("no address any more", permanent=True)
        rendered = templates.render_email(self.settings, row["template"], row["params"])
        message_id = f"<outbox-{row['id']}.{row['message_key'].replace(':', '.')}@essex-outreach>"
        await self.smtp.send(
            email_message(self.settings, rendered, to=row["address"], message_id=message_id)
        )

    async def _push(self, row: dict[str, Any]) -> None:
        if self.push is None or row["endpoint"] is None:
            raise TransportError("the device is no longer registered", permanent=True)
        if not push_service_allowed(row["endpoint"], self.settings.push_services):
            raise TransportError("the endpoint is not an allowed push service", permanent=True)
        await self.push.send(
            endpoint=row["endpoint"],
            p256dh=row["p256dh"],
            auth=row["auth"],
            payload=templates.render_push(row["template"], row["params"]),
            urgent=row["template"] in ("urgent_referral", "swep_on"),
        )

    async def _failed(
        self, session: AsyncSession, row: dict[str, Any], exc: TransportError
    ) -> None:
        if exc.permanent:
            await repo.cancel(session, row["id"], reason=str(exc))
            if row["channel"] == "push":
                if row["subscription_id"] is not None and "gone" in str(exc):
                    await repo.delete_subscription_by_id(session, row["subscription_id"])
                await repo.queue_fallback_email(session, row["id"])
            return
        attempts = row["attempts"] + 1
        retry_at = None
        if attempts < self.settings.outbox_max_attempts:
            retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(
                seconds=backoff_s(self.settings, attempts)
            )
        await repo.mark_failed(session, row["id"], error=str(exc), retry_at=retry_at)
        if retry_at is None:
            metrics.message_dead(row["channel"])
            if row["channel"] == "push":
                await repo.queue_fallback_email(session, row["id"])


def start_senders(runtime: Runtime) -> list[asyncio.Task[None]]:
    """The app's sender tasks (none when nothing can be delivered or polling is off)."""
    settings = runtime.settings
    if settings.outbox_poll_interval_s <= 0 or not channels(settings):
        return []
    return [
        asyncio.create_task(Sender(runtime).run(), name=f"outbox-sender-{i}")
        for i in range(max(1, settings.outbox_senders))
    ]


async def stop_senders(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
