"""Benchmark of a whole assignment run in the service, against PostGIS.

Run ``DATABASE_URL=… .venv/bin/python -m bench.assignment_service [--items 500] [--quick]``
(``make bench`` sets nothing: without ``DATABASE_URL`` it says so and skips).

A scratch database is migrated and seeded (14 authorities, the seeded teams), and ``--items``
open referrals are scattered over the authorities. Then it times, median of ``--repeat``:

* ``assignment.run``: advisory lock, loading items/teams/overrides/SWEP, ``assign`` in a
  thread, replacing every stored assignment and moving referrals between teams, in one
  transaction; against the 200 ms target and against the baseline measured in the same run,
  the pure ``geo.assignment.assign`` on the same inputs (the ratio is the service's overhead);
* the run-sheet (``shift_plan``) of the busiest team's next shift, straight-line travel.

The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config

from bench.admin import drop_database
from geo.assignment import assign
from service.access import StaffUser
from service.db import assignments as repo
from service.db.engine import transaction
from service.runtime import Runtime, build_runtime
from service.settings import Settings, to_plain_postgres_url
from service.usecases.assignments import runs as assignment
from service.usecases.assignments import shift_plan
from service.usecases.operations.cli_jobs import add_user, seed

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 200.0
# One open referral per generated point, in every authority, weighted roughly by population.
INSERT_SQL = """
INSERT INTO referrals (reference, status_token_hash, token_salt, fingerprint, source, seen_at,
    seen_exact, seen_time_band, geom, location_quality, gender, age_band, people_count,
    immediate_danger, appears_under_18, self_referral, urgent, status, authority_code,
    routing_reason, next_shift_due_at, outcome_due_at, received_at)
SELECT 'B' || left(md5(random()::text), 15), '\\x00', '\\x00', md5(random()::text), 'bench',
       now() - interval '3 hours', true, 'night', g.geom, 'pin', 'unknown', 'unknown', 1,
       random() < 0.05, false, false, random() < 0.05, 'received', a.code, 'bench',
       now() + make_interval(hours => 6 + (random() * 60)::int), now() + interval '14 days',
       now() - make_interval(mins => (random() * 600)::int)
FROM authorities a
JOIN boundary_versions v ON v.id = a.version_id AND v.is_current,
LATERAL ST_Dump(ST_GeneratePoints(a.geom, GREATEST(1, ($1 * ST_Area(a.geom_bng)
        / (SELECT sum(ST_Area(b.geom_bng)) FROM authorities b WHERE b.version_id = v.id))::int),
        42)) AS g
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=500)
    p.add_argument("--repeat", type=int, default=9)
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    return p


async def _median_ms(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    await fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def _pure_assign_ms(runtime: Runtime, repeat: int) -> float:
    settings = runtime.settings
    async with transaction(runtime.sessions) as session:
        inputs = await assignment.load_inputs(session, settings, now=dt.datetime.now(dt.UTC))
    now = dt.datetime.now(dt.UTC)

    async def once() -> object:
        return assign(
            inputs.items,
            inputs.teams,
            now=now,
            swep_authorities=inputs.swep,
            horizon_shifts=settings.assignment_horizon_shifts,
        )

    return await _median_ms(once, repeat)


async def _busiest(runtime: Runtime) -> tuple[int, dt.date]:
    async with transaction(runtime.sessions) as session:
        rows = await repo.list_assignments(
            session,
            {
                "all": True,
                "teams": [],
                "codes": [],
                "team_id": None,
                "item_kind": None,
                "rules": None,
                "item_id": None,
                "limit": 100_000,
                "offset": 0,
            },
        )
    counts: dict[tuple[int, dt.datetime], int] = {}
    for r in rows:
        if r["team_id"] is not None and r["shift_index"] == 0:
            key = (r["team_id"], r["shift_start"])
            counts[key] = counts.get(key, 0) + 1
    (team_id, start), _ = max(counts.items(), key=lambda kv: kv[1])
    return team_id, assignment.local_today(start)


async def bench(settings: Settings, args: argparse.Namespace) -> None:
    repeat = 3 if args.quick else args.repeat
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        await conn.execute(INSERT_SQL, args.items)
        n = await conn.fetchval("SELECT count(*) FROM referrals")
    finally:
        await conn.close()
    user_id = await add_user(
        settings,
        username="bench",
        display_name="bench",
        password="bench-password-123",
        role="admin",
        teams=[],
        authorities=[],
    )
    admin = StaffUser(id=user_id, username="bench", role="admin")
    runtime = build_runtime(settings)
    try:
        first = await assignment.run(runtime, trigger="bench")
        run_ms = await _median_ms(lambda: assignment.run(runtime, trigger="bench"), repeat)
        pure_ms = await _pure_assign_ms(runtime, repeat)
        team_id, day = await _busiest(runtime)
        plan = await shift_plan.shift_plan(runtime, admin, team_id, day, route="bench")
        plan_ms = await _median_ms(
            lambda: shift_plan.shift_plan(runtime, admin, team_id, day, route="bench"), repeat
        )
    finally:
        await runtime.http.aclose()
        await runtime.engine.dispose()
    print(f"assignment run in the service: {n} open referrals, 7 seeded teams x 3 shifts")
    print(
        f"  outcome: {first.assigned} assigned ({first.overflowed} overflowed), "
        f"{first.unassigned} unassigned"
    )
    print(
        f"  run median {run_ms:.1f} ms over {repeat} runs = {run_ms / TARGET_MS:.2f} x the "
        f"{TARGET_MS:.0f} ms target"
    )
    print(
        f"  baseline (pure assign on the same inputs) {pure_ms:.1f} ms; "
        f"run / assign = {run_ms / pure_ms:.1f}"
    )
    print(
        f"run-sheet of the busiest shift (team {team_id}, {day}): {len(plan.stops)} stops, "
        f"{len(plan.dropped)} dropped, {plan.route_method}; median {plan_ms:.1f} ms"
    )


def main() -> None:
    args = _parser().parse_args()
    url = os.environ.get("OUTREACH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        print("assignment service benchmark: skipped (no DATABASE_URL)")
        return
    server = to_plain_postgres_url(url)
    name = f"outreach_bench_{os.getpid()}"
    admin_url = server.rsplit("/", 1)[0] + "/postgres"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        db_url = server.rsplit("/", 1)[0] + f"/{name}"
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["database_url"] = db_url
        command.upgrade(config, "head")
        settings = Settings(database_url=db_url, jwt_secret="bench-" + "x" * 32)
        asyncio.run(seed(settings))
        asyncio.run(bench(settings, args))
    finally:
        asyncio.run(drop_database(admin_url, name))


if __name__ == "__main__":
    main()
