"""Retention: personal data is kept no longer than it is needed.

- Referrer contact details are deleted ``referrer_contact_retention_days`` after the referral
  closes (the referral itself stays, with nothing identifying the referrer).
- Free-text notes (and health notes) of contacts linked to no person are erased after
  ``unlinked_notes_retention_days``: nobody can act on them any more.
- Housekeeping: stored idempotent responses after 7 days, expired rate-limit counters.

One process runs it at a time (a PostgreSQL advisory lock), from the CLI or the app's
periodic task.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import msgspec

from service.db import contacts, idempotency, kv_store, referrals
from service.db.engine import transaction, try_xact_lock
from service.runtime import Runtime

log = logging.getLogger(__name__)
RETENTION_LOCK = 7_301_002
IDEMPOTENCY_KEEP = dt.timedelta(days=7)


class RetentionReport(msgspec.Struct, frozen=True, kw_only=True):
    ran: bool
    referrer_contacts_deleted: int = 0
    contact_notes_erased: int = 0
    idempotent_responses_deleted: int = 0
    rate_limit_entries_deleted: int = 0


async def run_retention(runtime: Runtime, *, now: dt.datetime | None = None) -> RetentionReport:
    now = now or dt.datetime.now(dt.UTC)
    settings = runtime.settings
    contact_cutoff = now - dt.timedelta(days=settings.referrer_contact_retention_days)
    notes_cutoff = now - dt.timedelta(days=settings.unlinked_notes_retention_days)
    async with transaction(runtime.sessions) as session:
        if not await try_xact_lock(session, RETENTION_LOCK):
            return RetentionReport(ran=False)
        referrers = await referrals.delete_referrer_contacts(session, closed_before=contact_cutoff)
        notes = await contacts.erase_unlinked_notes(session, observed_before=notes_cutoff, now=now)
        replies = await idempotency.delete_older_than(session, now - IDEMPOTENCY_KEEP)
        counters = await kv_store.delete_expired(session, now)
    return RetentionReport(
        ran=True,
        referrer_contacts_deleted=referrers,
        contact_notes_erased=notes,
        idempotent_responses_deleted=replies,
        rate_limit_entries_deleted=counters,
    )


async def retention_loop(runtime: Runtime) -> None:
    """The app's scheduled task: run retention every ``retention_interval_s``."""
    while True:
        await asyncio.sleep(runtime.settings.retention_interval_s)
        try:
            report = await run_retention(runtime)
        except Exception as exc:  # the database may be away; try again next time
            log.warning("retention run failed (%s)", type(exc).__name__)
        else:
            log.info("retention: %s", msgspec.json.encode(report).decode())
