"""A fold's neighbourhood is read box by box on the spatial index, whatever the statistics say.

Right after a flood of contacts the table's statistics still describe it as it was: few points
in the hotspot window. The planner then preferred to read the window on ``ix_contacts_observed_at``
and match every point of it against every box, a cost that grows with the window's points times
the boxes (1.7 s a fold in ``bench.ingest``'s contact phase instead of 94 ms).
``hotspot_neighbourhood.sql`` puts each box's scan behind ``OFFSET 0`` so that only the box can
reach it; and each point's stored membership is one probe of ``hotspot_members``' primary key,
where the planner, expecting a few points, joined them to every member of the layer pair by pair
(folds of 5,000 points ran into the statement timeout).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import asyncpg

from service.db.engine import positional
from tests.conftest import in_thread
from tests.integration.test_assignment_plans import index_names, reads_of

OLD, FLOOD = 200, 6000
CONTACTS = (
    "INSERT INTO contacts (id, content_hash, team_id, worker_id, observed_at, geom, "
    "authority_code, bedded_down, contact_type, engagement) "
    "SELECT gen_random_uuid(), md5(random()::text), $1, $2, "
    "  $3::timestamptz - (g % 600) * interval '1 s', "
    "  ST_SetSRID(ST_MakePoint(0.40 + (g % 97) * 0.002, 51.70 + (g % 89) * 0.002), 4326), "
    "  'E07000070', true, 'street_outreach', 'engaged' "
    "FROM generate_series(1, $4) AS g"
)


HOTSPOT = (
    "INSERT INTO hotspots (layer, centroid, hull, member_count, core_count, referral_count, "
    "contact_count, bedded_down_count, first_activity_at, last_activity_at) "
    "VALUES ('all_contacts', ST_SetSRID(ST_MakePoint(0, 0), 4326), "
    "ST_SetSRID(ST_MakePoint(0, 0), 4326), 0, 0, 0, 0, 0, now(), now()) RETURNING id"
)
MEMBERS = (
    "INSERT INTO hotspot_members (layer, member_kind, member_id, hotspot_id, core) "
    "SELECT 'all_contacts', 'contact', id, $1, true FROM contacts "
    "ORDER BY observed_at LIMIT $2"
)

OTHER_MEMBERS = (
    "INSERT INTO hotspot_members (layer, member_kind, member_id, hotspot_id, core) "
    "SELECT 'public_reports', 'referral', gen_random_uuid(), $1, true "
    "FROM generate_series(1, $2)"
)


def test_neighbourhood_reads_by_index_under_stale_statistics(db_url, sql):
    team = sql("SELECT id FROM teams ORDER BY id LIMIT 1")[0]["id"]
    worker = sql(
        "INSERT INTO users (username, display_name, password_hash, role) "
        "VALUES ($1, 'W', 'x', 'worker') RETURNING id",
        f"w-{uuid.uuid4().hex[:8]}",
    )[0]["id"]
    now = dt.datetime.now(dt.UTC)

    async def go() -> tuple[set[str], int]:  # (indexes of the plan, candidates read)
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute("ALTER TABLE contacts SET (autovacuum_enabled = false)")
            # statistics taken while every contact is long outside the window ...
            await conn.execute(CONTACTS, team, worker, now - dt.timedelta(days=90), OLD)
            await conn.execute("ANALYZE contacts")
            # (and while every stored membership was of another layer)
            other = await conn.fetchval(HOTSPOT.replace("'all_contacts'", "'public_reports'"))
            await conn.execute(OTHER_MEMBERS, other, OLD)
            await conn.execute("ANALYZE hotspot_members")
            # ... then a flood inside it, most of it folded already, and a fold of its latest
            await conn.execute(CONTACTS, team, worker, now, FLOOD)
            hotspot = await conn.fetchval(HOTSPOT)
            await conn.execute(MEMBERS, hotspot, FLOOD - 500)
            new = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM contacts ORDER BY observed_at DESC LIMIT 500"
                )
            ]
            statement, names = positional("hotspot_neighbourhood")
            values = {
                "layer": "all_contacts",
                "referral_ids": [],
                "contact_ids": new,
                "reach_m": 400.0,
                "since": now - dt.timedelta(days=28),
                "until": now + dt.timedelta(minutes=1),
            }
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            explain = await conn.prepare("EXPLAIN (FORMAT JSON) " + statement)
            plan = await explain.fetchval(*(values[n] for n in names))
            args = [values[n] for n in names]

            async def candidates() -> set[uuid.UUID]:
                found = (await conn.fetchrow(statement, *args))["ids"] or []
                return {i for i in found if i is not None}  # (the new points' centres have none)

            stale = await candidates()
            await conn.execute("ANALYZE contacts")  # the same points once statistics catch up
            fresh = await candidates()
            assert stale == fresh
            nodes = json.loads(plan)
            members = reads_of(nodes, "hotspot_members")
            assert members
            assert all("member_id" in m.get("Index Cond", "") for m in members)
            return index_names(nodes), len(stale)
        finally:
            await conn.close()

    indexes, candidates = in_thread(asyncio.run, go())
    assert "ix_contacts_geom_bng" in indexes
    assert "ix_contacts_observed_at" not in indexes
    assert 500 <= candidates <= FLOOD  # the new points and their neighbours, none of the old
