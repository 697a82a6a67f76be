"""Benchmark of the gazetteer search against a plain ``ILIKE`` scan of the same tables.

    .venv/bin/python -m bench.gazetteer            # 50k postcodes + 20k names
    .venv/bin/python -m bench.gazetteer --quick    # 5k + 2k, fewer queries

Needs a PostGIS server: ``DATABASE_URL``, or the project's own cluster (``make db``). A separate
database ``outreach_bench_gazetteer`` is created, migrated and seeded; a synthetic gazetteer in
the official layouts (``service.usecases.places.synthetic``: ONSPD with its header, OS Open
Names without) is written to a temporary directory and loaded with the import the CLI uses
(COPY into staging, one upsert), whose time is printed.

Then, for a fixed mix of queries (full postcodes, outward codes, sectors, name prefixes, street
and town, misspellings), each is answered by:

* ``ours``  — the use case behind ``GET /v1/places/search`` (autocommit reads: prefix ranges on
  ``text_pattern_ops`` indexes, ``pg_trgm`` word similarity on a GIN index, the authority of
  each answer from the in-memory area index);
* ``ilike`` — the same tables scanned with ``ILIKE`` (``postcode ILIKE 'q%'``, ``name ILIKE
  '%q%'``), on the same kind of session (autocommit reads).

It prints p50/p99 in milliseconds for each and the ratio ilike/ours (above 1: ours faster).
Target: ours p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np

from bench.admin import drop_database

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = "outreach_bench_gazetteer"
JWT_SECRET = "bench-only-" + "x" * 40
TARGET_P99_MS = 20.0


def _database(server: str, name: str) -> str:
    plain = server.replace("postgresql+asyncpg://", "postgresql://")
    return urlunsplit(urlsplit(plain)._replace(path=f"/{name}"))


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _prepare(server: str, url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from service.settings import Settings
    from service.usecases.operations.cli_jobs import seed

    admin = _database(server, "postgres")
    asyncio.run(drop_database(admin, BENCH_DB))
    asyncio.run(_execute(admin, f'CREATE DATABASE "{BENCH_DB}"'))
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
    asyncio.run(seed(Settings(database_url=url, jwt_secret=JWT_SECRET)))


KIND_LABELS = (
    "full postcode",
    "outward code",
    "postcode sector",
    "name prefix (3-8)",
    "whole name",
    "misspelt name",
)


def _queries(rng: random.Random, postcodes: list[str], names: list[str], n: int) -> list[str]:
    """A fixed mix: a third postcodes (full, outward, sector), two thirds names (prefixes of
    3-8 letters, a street with the start of its town, a misspelling)."""
    queries: list[str] = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            queries.append(rng.choice(postcodes).lower().replace(" ", ""))
        elif kind == 1:
            queries.append(rng.choice(postcodes).split()[0])
        elif kind == 2:
            postcode = rng.choice(postcodes)
            queries.append(postcode[: postcode.index(" ") + 2])
        elif kind == 3:
            queries.append(rng.choice(names)[: rng.randint(3, 8)])
        elif kind == 4:
            queries.append(rng.choice(names))
        else:
            name = rng.choice(names)
            cut = rng.randrange(1, len(name) - 1)
            queries.append(name[:cut] + name[cut + 1 :])  # one letter dropped
    return queries


async def _measure(url: str, queries: list[str], repeat: int) -> dict[str, list[float]]:
    from service.db import places as repo
    from service.db.engine import statements
    from service.runtime import build_runtime
    from service.settings import Settings
    from service.usecases.places import formats
    from service.usecases.places.search import search

    runtime = build_runtime(Settings(database_url=url, jwt_secret=JWT_SECRET))
    await runtime.areas.refresh(runtime.sessions)
    times: dict[str, list[float]] = {"ours": [], "ilike": []}
    answered = {"ours": 0, "ilike": 0}

    async def ilike(q: str) -> list[dict[str, Any]]:
        async with statements(runtime.engine) as db:
            postcode = formats.postcode_query(q)
            if postcode is not None:
                return await repo.scan_postcodes(db, query=postcode[0], limit=10)
            return await repo.scan_names(db, query=q, limit=10)

    try:
        for q in queries[:20]:  # warm the pool, caches and prepared statements
            await search(runtime, q, limit=10)
            await ilike(q)
        for _ in range(repeat):
            for q in queries:
                t0 = time.perf_counter()
                ours = await search(runtime, q, limit=10)
                t1 = time.perf_counter()
                theirs = await ilike(q)
                t2 = time.perf_counter()
                times["ours"].append((t1 - t0) * 1000)
                times["ilike"].append((t2 - t1) * 1000)
                answered["ours"] += bool(ours.results)
                answered["ilike"] += bool(theirs)
    finally:
        await runtime.http.aclose()
        await runtime.engine.dispose()
    total = repeat * len(queries)
    print(
        f"queries answered (non-empty): ours {answered['ours']}/{total}, "
        f"ilike {answered['ilike']}/{total} (misspellings find nothing by ILIKE)"
    )
    return times


def _load(url: str, postcodes: int, names: int, seed: int) -> tuple[list[str], list[str]]:
    from service.settings import Settings
    from service.usecases.operations.cli_jobs import import_gazetteer
    from service.usecases.places.synthetic import write_fixture

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        made = write_fixture(Path(tmp), postcodes=postcodes, names=names, seed=seed)
        t1 = time.perf_counter()
        report = asyncio.run(
            import_gazetteer(
                Settings(database_url=url, jwt_secret=JWT_SECRET),
                [made.onspd, made.open_names],
                keep_all=False,
            )
        )
        t2 = time.perf_counter()
    kept = [f.kept for f in report.files]
    print(
        f"fixture written in {t1 - t0:.1f} s; imported {kept[0]} postcodes and {kept[1]} names "
        f"in {t2 - t1:.1f} s ({sum(kept) / (t2 - t1):,.0f} rows/s, COPY + upsert)"
    )
    return asyncio.run(_fetch(url))


async def _fetch(url: str) -> tuple[list[str], list[str]]:
    conn = await asyncpg.connect(url)
    try:
        postcodes = [r[0] for r in await conn.fetch("SELECT postcode FROM gazetteer_postcodes")]
        names = [
            r[0] for r in await conn.fetch("SELECT DISTINCT name FROM gazetteer_names ORDER BY 1")
        ]
        await conn.execute("ANALYZE gazetteer_postcodes; ANALYZE gazetteer_names")
    finally:
        await conn.close()
    return sorted(postcodes), names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.gazetteer", description=__doc__)
    parser.add_argument("--postcodes", type=int, default=50_000)
    parser.add_argument("--names", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5k postcodes, 2k names, 120 queries")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    local = ROOT / ".data" / "database_url"
    server = os.environ.get("DATABASE_URL") or os.environ.get("OUTREACH_DATABASE_URL")
    server = server or (local.read_text(encoding="utf-8").strip() if local.exists() else "")
    if not server:
        print("set DATABASE_URL (make db prints it; or .data/database_url)", file=sys.stderr)
        return 2
    if args.quick:
        args.postcodes, args.names, args.queries, args.repeat = 5_000, 2_000, 120, 1
    url = _database(server, BENCH_DB)
    print(f"postcodes={args.postcodes} names={args.names} queries={args.queries}x{args.repeat}")
    _prepare(server, url)
    postcodes, names = _load(url, args.postcodes, args.names, args.seed)
    queries = _queries(random.Random(args.seed), postcodes, names, args.queries)
    times = asyncio.run(_measure(url, queries, args.repeat))
    p = {k: np.percentile(v, [50, 99]) for k, v in times.items()}
    ours = np.array(times["ours"]).reshape(args.repeat, len(queries))
    for kind, label in enumerate(KIND_LABELS):
        column = ours[:, kind::6].ravel()
        print(
            f"  ours {label:22s} p50 {np.percentile(column, 50):6.2f} ms  "
            f"p99 {np.percentile(column, 99):6.2f} ms"
        )
    for key in ("ours", "ilike"):
        print(f"{key:6s} p50 {p[key][0]:7.2f} ms   p99 {p[key][1]:7.2f} ms")
    print(
        f"ratio ilike/ours: p50 {p['ilike'][0] / p['ours'][0]:.1f}x, "
        f"p99 {p['ilike'][1] / p['ours'][1]:.1f}x; target ours p99 < {TARGET_P99_MS:.0f} ms: "
        f"{'met' if p['ours'][1] < TARGET_P99_MS else 'NOT met'}"
    )
    if not args.keep:
        asyncio.run(drop_database(_database(server, "postgres"), BENCH_DB))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
