"""The ingest benchmark's own-SQL baseline (``bench/intake_baseline.py``) stores what the
service stores for the same alert: the same referral row, events, change-feed row, duplicate
links and fold-queue entry. A baseline that did less work (it once routed without the pin, so
its referrals had no position, no duplicate search and no hotspot) makes every ratio against it
mean nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import msgspec

from bench.intake_baseline import OwnIntake, bare_pool
from service.usecases.referrals import intake
from streetlink.schema import StreetLinkAlert
from tests.conftest import in_thread, make_settings, with_runtime
from tests.integration.test_referrals import alert

COMPARED = """
SELECT status, authority_code, boundary_version_id, team_id, routing_reason, out_of_area,
       urgent, located_by, location_accuracy_m, location_quality, accuracy_m, seen_at,
       ST_AsText(geom) AS geom, ST_AsText(geom_bng) AS geom_bng,
       next_shift_due_at IS NOT NULL AS shift_due, outcome_due_at IS NOT NULL AS outcome_due,
       (SELECT array_agg(kind || ':' || actor ORDER BY id) FROM referral_events e
        WHERE e.referral_id = r.id) AS events,
       (SELECT array_agg(layer) FROM hotspot_fold_queue q
        WHERE q.member_kind = 'referral' AND q.member_id = r.id) AS queued,
       (SELECT array_agg(kind || ':' || team_id) FROM changes c
        WHERE c.entity_id = r.id::text) AS changes,
       (SELECT array_agg(d.reason ORDER BY d.reason) FROM referral_duplicates d
        WHERE d.referral_id = r.id AND d.other_id = $2) AS links_to_first
FROM referrals r WHERE r.id = $1
"""


def test_the_own_sql_baseline_stores_what_the_service_stores(sql, db_url):
    settings = make_settings(db_url)
    body = alert()

    async def service(runtime: Any) -> list[str]:
        ids = []
        for appearance in ("Grey beard", "Red hat"):  # the first is what both link to
            one = msgspec.convert({**body, "appearance": appearance}, StreetLinkAlert)
            ids.append(str((await intake.submit(runtime, one, source="api")).id))
        return ids

    first, by_service = with_runtime(settings, service)

    async def baseline() -> str:
        own = OwnIntake(settings)
        await own.load()
        conn = await asyncpg.connect(db_url)
        try:
            one = msgspec.convert({**body, "appearance": "Red hat"}, StreetLinkAlert)
            return str((await own.submit(conn, one))["id"])
        finally:
            await conn.close()

    by_baseline = in_thread(asyncio.run, baseline())
    stored = {
        name: dict(sql(COMPARED, uuid.UUID(referral), uuid.UUID(first))[0])
        for name, referral in (("service", by_service), ("baseline", by_baseline))
    }
    assert stored["service"]["geom"] is not None
    assert stored["service"]["queued"] == ["public_reports"]
    assert stored["service"]["links_to_first"] == ["nearby"]
    assert stored["baseline"] == stored["service"]


def test_the_bare_handlers_pool_makes_no_round_trip_on_release(db_url):
    """The service's pool hands a connection back with no statement; so must the bare
    handler's, or the framework floor pays a reset round trip a referral that the service
    never makes. asyncpg's default reset runs ``RESET ALL``, which would undo the setting."""

    async def go() -> tuple[bool, str]:
        pool = await bare_pool(db_url)
        try:
            async with pool.acquire() as conn:
                backend = await conn.fetchval("SELECT pg_backend_pid()")
                await conn.execute("SET application_name = 'kept'")
            async with pool.acquire() as conn:  # the pool is last in, first out
                return (
                    await conn.fetchval("SELECT pg_backend_pid()") == backend,
                    await conn.fetchval("SELECT current_setting('application_name')"),
                )
        finally:
            await pool.close()

    assert in_thread(asyncio.run, go()) == (True, "kept")
