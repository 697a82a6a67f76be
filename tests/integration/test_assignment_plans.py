"""The incremental assignment's per-item queries stay bounded by the shifts, not the backlog,
whatever plan PostgreSQL caches for them.

asyncpg prepares every statement, and after five runs PostgreSQL may keep a *generic* plan,
chosen without the parameters' values and from whatever statistics the table last had. Under a
referral flood the ``assignments`` table grows by thousands of unplaced items between two
autovacuum analyses; a query that can be answered either on the per-shift index or on the
priority index must then still choose the per-shift one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import asyncpg

from service.db.engine import positional
from tests.conftest import in_thread

PLACED, UNPLACED = 300, 5000
SHIFTS = [dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC) + dt.timedelta(days=d) for d in range(3)]

RUN = (
    "INSERT INTO assignment_runs (trigger, started_at, finished_at, duration_ms, items, "
    "assigned, unassigned, overflowed, pinned, swep_authorities, incremental, inputs_digest) "
    "VALUES ('test', now(), now(), 0, 0, 0, 0, 0, 0, '[]', false, 'x') RETURNING id"
)
ITEMS = (
    "INSERT INTO assignments (item_kind, item_id, work_kind, rule, urgent, swep, run_id, "
    "team_id, shift_start, priority) "
    "SELECT 'referral', gen_random_uuid()::text, 'referral', $1::text, false, false, $2, "
    "  CASE WHEN $1::text = 'covering_team' THEN ($3::int[])[1 + g % 2] END, "
    "  CASE WHEN $1::text = 'covering_team' THEN ($4::timestamptz[])[1 + g % 3] END, "
    "  lpad(g::text, 10, '0') || $1::text "
    "FROM generate_series(1, $5) AS g"
)


def plan_nodes(plan: Any) -> Iterator[dict[str, Any]]:
    """Every node of an ``EXPLAIN (FORMAT JSON)`` plan, depth first."""
    if isinstance(plan, dict):
        yield plan
        for value in plan.values():
            yield from plan_nodes(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from plan_nodes(value)


def index_names(plan: Any) -> set[str]:
    return {node["Index Name"] for node in plan_nodes(plan) if "Index Name" in node}


def reads_of(plan: Any, relation: str) -> list[dict[str, Any]]:
    """The plan's nodes that read ``relation``."""
    return [node for node in plan_nodes(plan) if node.get("Relation Name") == relation]


def test_shift_use_is_counted_on_the_shift_index_under_stale_statistics(db_url, sql):
    teams = [r["id"] for r in sql("SELECT id FROM teams ORDER BY id LIMIT 2")]

    async def go() -> set[str]:
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute("ALTER TABLE assignments SET (autovacuum_enabled = false)")
            run_id = await conn.fetchval(RUN)
            # statistics taken while nearly every item is placed ...
            await conn.execute(ITEMS, "covering_team", run_id, teams, SHIFTS, PLACED)
            await conn.execute("ANALYZE assignments")
            # ... then a flood of items that find no room (no team, no shift)
            await conn.execute(ITEMS, "all_full", run_id, teams, SHIFTS, UNPLACED)
            statement, names = positional("assignment_slot_use")
            assert set(names) == {"team_ids", "shift_starts", "priority"}
            types = {"team_ids": "integer[]", "shift_starts": "timestamptz[]", "priority": "text"}
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            await conn.execute(
                f"PREPARE slot_use({', '.join(types[n] for n in names)}) AS {statement}"
            )
            pairs = [(t, when) for t in teams for when in SHIFTS]
            values = {
                "team_ids": "{" + ",".join(str(t) for t, _ in pairs) + "}",
                "shift_starts": "{" + ",".join(f'"{w.isoformat()}"' for _, w in pairs) + "}",
                "priority": "9" * 10,  # after every item
            }
            args = ", ".join(f"'{values[n]}'" for n in names)
            plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE slot_use({args})")
            counted = await conn.fetch(f"EXECUTE slot_use({args})")
            assert sum(r["n"] for r in counted) == PLACED
            return index_names(json.loads(plan))
        finally:
            await conn.close()

    indexes = in_thread(asyncio.run, go())
    assert indexes == {"ix_assignments_team_id_shift_start_priority"}


def test_which_items_are_placed_is_read_by_primary_key(db_url, sql):
    """A burst asks which of its items already have an assignment: a primary-key probe an item.
    ``item_id = ANY(:ids)`` was planned as a read of every assignment of the kind (here a
    sequential scan; in bench.ingest a bitmap scan on the key's first column), each row
    compared with every id: 7-10 ms at 18,000 assignments, against 0.7 ms for the probes."""
    teams = [r["id"] for r in sql("SELECT id FROM teams ORDER BY id LIMIT 2")]

    async def go() -> tuple[list[dict[str, Any]], int]:
        conn = await asyncpg.connect(db_url)
        try:
            run_id = await conn.fetchval(RUN)
            await conn.execute(ITEMS, "covering_team", run_id, teams, SHIFTS, 2000)
            await conn.execute("ANALYZE assignments")
            stored = await conn.fetch("SELECT item_id FROM assignments ORDER BY item_id LIMIT 50")
            asked = [r["item_id"] for r in stored] + [f"not-{k}" for k in range(50)]
            # as the app sends it: the server infers the parameters' types
            statement, names = positional("assignment_placed_ids")
            args = [{"kind": "referral", "ids": asked}[n] for n in names]
            plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {statement}", *args)
            found = await conn.fetch(statement, *args)
            return reads_of(json.loads(plan), "assignments"), len(found)
        finally:
            await conn.close()

    reads, found = in_thread(asyncio.run, go())
    assert found == 50
    assert reads, "the plan reads assignments"
    for node in reads:
        assert node["Node Type"] in {"Index Scan", "Index Only Scan"}, node["Node Type"]
        assert "item_id" in node["Index Cond"], node["Index Cond"]
