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
from sqlalchemy import text

from service.db.engine import transaction
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
        locked = (
            await session.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RETENTION_LOCK}
            )
        ).scalar_one()
        if not locked:
            return RetentionReport(ran=False)
        referrers = await session.execute(
            text(
                "DELETE FROM referrer_contacts rc USING referrals r WHERE r.id = rc.referral_id "
                "AND r.status = 'closed' AND r.closed_at < :cutoff"
            ),
            {"cutoff": contact_cutoff},
        )
        notes = await session.execute(
            text(
                "WITH old AS (SELECT id FROM contacts WHERE person_id IS NULL "
                "  AND observed_at < :cutoff AND notes_erased_at IS NULL), "
                "sensitive AS (UPDATE contact_sensitive SET health_notes = NULL "
                "  WHERE contact_id IN (SELECT id FROM old)) "
                "UPDATE contacts SET notes = NULL, notes_erased_at = :now "
                "WHERE id IN (SELECT id FROM old)"
            ),
            {"cutoff": notes_cutoff, "now": now},
        )
        replies = await session.execute(
            text("DELETE FROM idempotent_responses WHERE created_at < :cutoff"),
            {"cutoff": now - IDEMPOTENCY_KEEP},
        )
        counters = await session.execute(
            text("DELETE FROM kv_store WHERE expires_at < :now"), {"now": now}
        )
    return RetentionReport(
        ran=True,
        referrer_contacts_deleted=referrers.rowcount,  # type: ignore[attr-defined]
        contact_notes_erased=notes.rowcount,  # type: ignore[attr-defined]
        idempotent_responses_deleted=replies.rowcount,  # type: ignore[attr-defined]
        rate_limit_entries_deleted=counters.rowcount,  # type: ignore[attr-defined]
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
