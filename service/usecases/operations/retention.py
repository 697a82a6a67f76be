"""Retention: personal data is kept no longer than the schedule says.

The schedule is one table, :data:`service.retention_schedule.SCHEDULE`; a run applies every row
of it in order, in one transaction, and reports how many rows each changed. A dry run does the
same work and rolls it back, so its counts are exactly what a real run at that moment would
change.

One process runs it at a time (a PostgreSQL advisory lock), from the CLI or the app's
periodic task.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import msgspec

from service.db import retention as repo
from service.db.engine import try_xact_lock
from service.retention_schedule import COARSE_ACCURACY_M, GRID_M, SCHEDULE, Rule
from service.runtime import Runtime
from service.settings import Settings

log = logging.getLogger(__name__)
RETENTION_LOCK = 7_301_002


class RetentionReport(msgspec.Struct, frozen=True, kw_only=True):
    ran: bool
    """False when another process held the lock: nothing was done."""
    dry_run: bool = False
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    """Rows changed (or, in a dry run, that would change) per schedule row, by its name."""


def cutoff(rule: Rule, settings: Settings, now: dt.datetime) -> dt.datetime:
    """Rows older than this are due under ``rule`` (a row with no period: ``now``)."""
    days = rule.days(settings)
    return now if days is None else now - dt.timedelta(days=days)


async def run_retention(
    runtime: Runtime, *, now: dt.datetime | None = None, dry_run: bool = False
) -> RetentionReport:
    """Apply the whole schedule (or, with ``dry_run``, count what it would change)."""
    now = now or dt.datetime.now(dt.UTC)
    async with runtime.sessions() as session, session.begin() as tx:
        if not await try_xact_lock(session, RETENTION_LOCK):
            return RetentionReport(ran=False, dry_run=dry_run)
        counts = {}
        for rule in SCHEDULE:
            counts[rule.name] = await repo.apply(
                session,
                rule.name,
                cutoff=cutoff(rule, runtime.settings, now),
                now=now,
                grid_m=GRID_M,
                accuracy_m=COARSE_ACCURACY_M,
            )
        if dry_run:
            await tx.rollback()
    if not dry_run and counts["stale_referrals"]:
        runtime.assignment_runs.request("referral_closed")  # closed work leaves the queue
    return RetentionReport(ran=True, dry_run=dry_run, counts=counts)


async def retention_loop(runtime: Runtime) -> None:
    """The app's scheduled task: apply the schedule every ``retention_interval_s``."""
    while True:
        await asyncio.sleep(runtime.settings.retention_interval_s)
        try:
            report = await run_retention(runtime)
        except Exception as exc:  # the database may be away; try again next time
            log.warning("retention run failed (%s)", type(exc).__name__)
        else:
            log.info("retention: %s", msgspec.json.encode(report).decode())
