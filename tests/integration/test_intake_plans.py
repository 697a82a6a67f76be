"""Intake's nearby-duplicate search reads the open referrals near the point and in the window,
and nothing else: not the closed ones there, not the open ones there seen long before, not the
open ones seen in the window elsewhere.

Before ``ix_referrals_open_geom_bng_seen_at`` the planner ANDed a bitmap of every referral in
the box (closed ones too) with a bitmap of every open referral seen in the window anywhere: the
second grew with the region's open referrals (18,311 entries read for each referral after a
flood in ``bench.ingest``), so intake got dearer as open items grew. The plan is taken as
asyncpg runs the statement after five calls (generic), in a transaction that is rolled back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets

import asyncpg
import msgspec

from bench.intake_baseline import OwnIntake
from streetlink.schema import StreetLinkAlert
from tests.conftest import in_thread, make_settings
from tests.integration.test_assignment_plans import plan_nodes

HERE = (0.2841, 51.9012)  # a lane near Great Dunmow, Uttlesford: no other test's referrals
ELSEWHERE = [(0.40 + 0.01 * (i % 40), 51.60 + 0.01 * (i // 40)) for i in range(400)]
NEAR, OPEN_HERE = 300, 5

REFERRALS = """
INSERT INTO referrals (reference, status_token_hash, fingerprint, source, seen_at, seen_exact,
    seen_time_band, geom, location_quality, people_count, immediate_danger, appears_under_18,
    self_referral, urgent, out_of_area, gender, age_band, routing_reason, outcome_due_at,
    status, outcome, closed_at, token_salt, received_at, updated_at)
SELECT $1::text || lpad(g::text, 5, '0'), sha256(convert_to($1::text || g, 'UTF8')),
       md5($1::text || g), 'api', $4::timestamptz, true, 'night',
       ST_SetSRID(ST_MakePoint(($2::float8[])[g], ($3::float8[])[g]), 4326), 'pin', 1, false,
       false, false, false, false, 'unknown', 'unknown', 'test', $4::timestamptz, $5::text,
       CASE WHEN $5::text = 'closed' THEN 'not_found' END,
       CASE WHEN $5::text = 'closed' THEN $4::timestamptz END, '\\x00', $4::timestamptz,
       $4::timestamptz
FROM generate_series(1, cardinality($2::float8[])) AS g
"""


def _around(n: int, spread: float) -> tuple[list[float], list[float]]:
    """``n`` points within ``spread`` degrees of ``HERE`` (0.0008: within about 90 m)."""
    return (
        [HERE[0] + spread * ((i * 37) % 101 - 50) / 50 for i in range(n)],
        [HERE[1] + spread * ((i * 53) % 97 - 48) / 48 for i in range(n)],
    )


def test_nearby_duplicates_read_only_open_referrals_near_and_in_the_window(db_url):
    settings = make_settings(db_url)
    now = dt.datetime.now(dt.UTC)
    tag = secrets.token_hex(3)

    async def go() -> tuple[int, dict[str, int]]:
        own = OwnIntake(settings)
        await own.load()
        conn = await asyncpg.connect(db_url)
        try:
            tx = conn.transaction()
            await tx.start()
            for prefix, (lons, lats), seen, status in (
                # open, seen in the window, but in towns far away
                ("E", ([p[0] for p in ELSEWHERE], [p[1] for p in ELSEWHERE]), now, "received"),
                # here, seen in the window, but closed
                ("C", _around(NEAR, 0.0008), now, "closed"),
                # here and open, but seen ten days ago
                ("O", _around(NEAR, 0.0008), now - dt.timedelta(days=10), "received"),
                # the only duplicates: here, open, in the window
                ("D", _around(OPEN_HERE, 0.0003), now, "received"),
            ):
                await conn.execute(REFERRALS, f"T{tag}{prefix}", lons, lats, seen, status)
            await conn.execute("ANALYZE referrals")
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            body = {
                "lat": HERE[1],
                "lon": HERE[0],
                "seen_at": now.isoformat(),
                "location_description": "By the lane",
                "appearance": "Blue coat",
            }
            values = await own.values(conn, msgspec.convert(body, StreetLinkAlert), now)
            args = [values[n] for n in own.intake_names]
            plan = json.loads(
                await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + own.intake_sql, *args)
            )
            # EXPLAIN ANALYZE ran the statement: the links it stored, by kind of referral
            linked = await conn.fetch(
                "SELECT substr(o.reference, 8, 1) AS kind, count(*) AS n "
                "FROM referral_duplicates d JOIN referrals o ON o.id = d.other_id "
                "WHERE o.reference LIKE $1 GROUP BY 1",
                f"T{tag}%",
            )
            await tx.rollback()
        finally:
            await conn.close()
        read = 0
        for node in plan_nodes(plan):
            on_referrals = node.get("Relation Name") == "referrals" or str(
                node.get("Index Name", "")
            ).startswith(("ix_referrals", "pk_referrals"))
            if on_referrals and node.get("Node Type") != "ModifyTable":
                read += sum(
                    int(node.get(key, 0))
                    for key in (
                        "Actual Rows",
                        "Rows Removed by Filter",
                        "Rows Removed by Index Recheck",
                    )
                )
        return read, {r["kind"]: r["n"] for r in linked}

    read, linked = in_thread(asyncio.run, go())
    assert linked == {"D": OPEN_HERE}
    # the five duplicates, each counted by the index scan and the heap scan over it
    assert read <= 4 * OPEN_HERE, f"the nearby search read {read} referrals"
