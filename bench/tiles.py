"""Benchmark of the vector-tile endpoint against tipg serving the same table, in the same run.

    .venv/bin/python -m bench.tiles                  # 100k and 1M referrals
    .venv/bin/python -m bench.tiles --sizes 100000   # chosen sizes
    .venv/bin/python -m bench.tiles --quick          # 20k referrals, fewer repetitions
    .venv/bin/python -m bench.tiles --no-tipg        # ours only (no ratio)

Needs a PostGIS server: ``DATABASE_URL``, or the project's own cluster (``make db``). A separate
database ``outreach_bench_tiles`` is created on it, migrated and seeded, and for each size the
synthetic Essex-like points (bench.synthetic) are bulk-copied into ``referrals`` (COPY into a
staging table, then one INSERT … SELECT that routes each point to its authority and team).

Then, on a fixed set of tiles at zoom 8, 11 and 14 (the tiles of a seeded sample of the
points, so busy tiles weigh as they do in use), with the same cap (``--cap`` features a tile),
the same 4096 extent and 64-pixel buffer, the same properties and the same time window:

* ``sql``   — our ``tiles_referrals.sql`` run directly (asyncpg through SQLAlchemy);
* ``4326``  — the same query on the 4326 column with its GiST index, transforming each point
  to Web Mercator (what we would do without migration 0007's stored ``geom_mercator``);
* ``ours``  — ``GET /v1/tiles/{z}/{x}/{y}.mvt?layers=referrals`` through a uvicorn process,
  as an admin (sign-in checked, user loaded and the read audited on every request, as in use);
* ``tipg``  — tipg (installed from PyPI into ``.bench-venvs/tipg``) in its own uvicorn process
  against the same database, ``/collections/public.referrals/tiles/WebMercatorQuad/{z}/{x}/{y}``.

Requests are sequential from one keep-alive client, ours and tipg's interleaved tile by tile.
It prints p50/p99 in milliseconds per zoom and the ratio ours/tipg (below 1: faster).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import numpy as np

from bench.admin import drop_database
from bench.synthetic import essex_points
from geo.tiles import TileAddress, tile_for_lonlat

ROOT = Path(__file__).resolve().parents[1]
TIPG_VENV = ROOT / ".bench-venvs" / "tipg"
BENCH_DB = "outreach_bench_tiles"
ZOOMS = (8, 11, 14)
JWT_SECRET = "bench-only-" + "x" * 40
PASSWORD = "bench password, not a secret"
WINDOW = ("2025-06-01T00:00:00Z", "2026-06-01T00:00:00Z")
PROPERTIES = "id,reference,status,outcome,urgent,team_id,authority_code,attempts,received_at"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    local = ROOT / ".data" / "database_url"  # the project's own cluster (make db)
    server = os.environ.get("DATABASE_URL") or os.environ.get("OUTREACH_DATABASE_URL")
    server = server or (local.read_text(encoding="utf-8").strip() if local.exists() else "")
    if not server:
        print("set DATABASE_URL (make db prints it; or .data/database_url)", file=sys.stderr)
        return 2
    sizes = (20_000,) if args.quick else tuple(int(s) for s in args.sizes.split(","))
    repeat = 2 if args.quick else args.repeat
    url = _database(server, BENCH_DB)
    print(f"cap={args.cap} tiles/zoom={args.tiles} repeat={repeat} cores={os.cpu_count()}")
    _prepare_database(server, url)
    tipg = None if args.no_tipg else _tipg_python()
    for n in sizes:
        _load_points(url, n, seed=args.seed)
        tiles = _tile_set(url, args.tiles, seed=args.seed)
        with contextlib.ExitStack() as stack:
            ours = stack.enter_context(_serve_ours(url, args.cap))
            theirs = stack.enter_context(_serve_tipg(tipg, url, args.cap)) if tipg else None
            _bench_size(n, tiles, url, ours, theirs, args.cap, repeat)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.tiles", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--quick", action="store_true", help="20k points, 2 repetitions")
    p.add_argument("--tiles", type=int, default=12, help="tiles per zoom")
    p.add_argument("--repeat", type=int, default=5, help="requests per tile and server")
    p.add_argument("--cap", type=int, default=5000, help="features per tile, both servers")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-tipg", action="store_true", help="skip tipg (no ratio)")
    return p


# --------------------------------------------------------------------------- database


def _database(server: str, name: str) -> str:
    plain = server.replace("postgresql+asyncpg://", "postgresql://")
    return urlunsplit(urlsplit(plain)._replace(path=f"/{name}"))


def _run(url: str, statement: str, *args: Any) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(statement, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def _prepare_database(server: str, url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from service.settings import Settings
    from service.usecases.operations.cli_jobs import add_user, seed

    t0 = time.perf_counter()
    admin_db = _database(server, "postgres")
    asyncio.run(drop_database(admin_db, BENCH_DB))
    _run(admin_db, f'CREATE DATABASE "{BENCH_DB}"')
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
    settings = Settings(database_url=url, jwt_secret=JWT_SECRET)
    asyncio.run(seed(settings))
    asyncio.run(
        add_user(
            settings,
            username="bench_admin",
            display_name="Bench admin",
            password=PASSWORD,
            role="admin",
            teams=[],
            authorities=[],
        )
    )
    print(f"database {BENCH_DB}: migrated and seeded in {time.perf_counter() - t0:.1f}s")


INSERT_SQL = """
INSERT INTO referrals (reference, status_token_hash, token_salt, fingerprint, source,
    received_at, seen_at, seen_exact, seen_time_band, geom, location_quality, gender,
    age_band, people_count, immediate_danger, appears_under_18, self_referral, urgent,
    status, routing_reason, outcome_due_at, authority_code, team_id)
SELECT 'B' || lpad(p.i::text, 9, '0'), '\\x00', '\\x00', md5(p.i::text), 'bench',
       p.t, p.t, true, 'night', p.geom, 'pin', 'unknown', 'unknown', 1, false, false, false,
       p.i % 50 = 0, (ARRAY['received', 'assigned', 'attempted'])[1 + p.i % 3], 'bench',
       p.t + interval '14 days', a.code, ta.team_id
  FROM (SELECT i, t, ST_Transform(ST_SetSRID(ST_MakePoint(e, n), 27700), 4326) AS geom
          FROM bench_points) p
  LEFT JOIN LATERAL (
       SELECT au.code FROM authority_parts ap
         JOIN authorities au ON au.id = ap.authority_id
         JOIN boundary_versions v ON v.id = au.version_id AND v.is_current
        WHERE ST_Covers(ap.geom, p.geom) LIMIT 1) a ON true
  LEFT JOIN LATERAL (
       SELECT min(team_id) AS team_id FROM team_areas WHERE authority_code = a.code) ta ON true
"""


def _load_points(url: str, n: int, *, seed: int) -> None:
    points = essex_points(n, seed=seed)
    records = [
        (i, float(e), float(nn), dt.datetime.fromtimestamp(t, dt.UTC))
        for i, ((e, nn), t) in enumerate(zip(points.xy_bng, points.t_s, strict=True))
    ]

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("TRUNCATE referrals CASCADE")
            await conn.execute(
                "CREATE TEMP TABLE bench_points (i int, e float8, n float8, t timestamptz)"
            )
            await conn.copy_records_to_table("bench_points", records=records)
            await conn.execute(INSERT_SQL)
            await conn.execute("VACUUM ANALYZE referrals")
        finally:
            await conn.close()

    t0 = time.perf_counter()
    asyncio.run(go())
    print(f"\n{n:,} referrals copied in {time.perf_counter() - t0:.1f}s")


def _tile_set(url: str, per_zoom: int, *, seed: int) -> dict[int, list[TileAddress]]:
    """The first ``per_zoom`` distinct tiles holding a seeded random sample of the points."""
    rows = _run(
        url, "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM referrals ORDER BY id LIMIT 5000"
    )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    chosen: dict[int, list[TileAddress]] = {}
    for z in ZOOMS:
        seen: list[TileAddress] = []
        for k in order:
            tile = tile_for_lonlat(rows[k]["lon"], rows[k]["lat"], z)
            if tile not in seen:
                seen.append(tile)
            if len(seen) == per_zoom:
                break
        chosen[z] = seen
    return chosen


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], health: str) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    full = [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(full, env={**os.environ, **env}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + health, timeout=2).status_code < 500:
                    break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"{base} did not start")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def _serve_ours(url: str, cap: int) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_JWT_SECRET": JWT_SECRET,
        "OUTREACH_TILE_MAX_FEATURES": str(cap),
        "OUTREACH_RETENTION_INTERVAL_S": "0",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app_from_env"]
    with _server(command, env, "/healthz") as base:
        response = httpx.post(
            base + "/v1/auth/token", json={"username": "bench_admin", "password": PASSWORD}
        )
        response.raise_for_status()
        yield base, {"Authorization": f"Bearer {response.json()['access_token']}"}


def _tipg_python() -> Path:
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(
            [shutil.which("python3") or sys.executable, "-m", "venv", str(TIPG_VENV)], check=True
        )
    ready = subprocess.run([str(python), "-c", "import tipg, uvicorn"], check=False)
    if ready.returncode != 0:
        print("installing tipg (and uvicorn) from PyPI into .bench-venvs/tipg")
        install = [str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"]
        subprocess.run(install, check=True)
    version = subprocess.run(
        [str(python), "-c", "import tipg; print(tipg.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"tipg {version} in .bench-venvs/tipg")
    return python


@contextlib.contextmanager
def _serve_tipg(python: Path, url: str, cap: int) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        "DATABASE_URL": url,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.referrals"]',
        "TIPG_MAX_FEATURES_PER_TILE": str(cap),
        "TIPG_TILE_BUFFER": "64",
        "TIPG_TILE_RESOLUTION": "4096",
    }
    with _server([str(python), "-m", "uvicorn", "tipg.main:app"], env, "/healthz") as base:
        yield base, {}


# --------------------------------------------------------------------------- measuring


def _ours_path(tile: TileAddress) -> str:
    return (
        f"/v1/tiles/{tile.z}/{tile.x}/{tile.y}.mvt?layers=referrals"
        f"&since={WINDOW[0]}&until={WINDOW[1]}"
    )


def _tipg_path(tile: TileAddress) -> str:
    return (
        f"/collections/public.referrals/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
        f"?geom-column=geom&datetime-column=received_at&datetime={WINDOW[0]}/{WINDOW[1]}"
        f"&properties={PROPERTIES}"
    )


def _timed_get(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = time.perf_counter() - t0
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
    return elapsed * 1000.0, len(response.content)


BASELINE_SQL = """
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS query
), picked AS (
    SELECT r.id::text AS id, r.reference, r.status, r.outcome, r.urgent, r.team_id,
           r.authority_code, r.attempts,
           to_char(r.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS received_at,
           ST_AsMVTGeom(ST_Transform(r.geom, 3857), b.tile, :extent, :buffer) AS geom
      FROM referrals r CROSS JOIN bounds b
     WHERE r.geom && b.query AND r.received_at >= :since AND r.received_at < :until
       AND (CAST(:all AS boolean)
            OR (CAST(:coordinator AS boolean)
                AND (r.authority_code IS NULL OR r.authority_code = ANY(:codes)))
            OR (NOT CAST(:coordinator AS boolean) AND r.team_id = ANY(:teams)))
     LIMIT :cap + 1
)
SELECT (SELECT ST_AsMVT(f, 'referrals', :extent, 'geom')
          FROM (SELECT * FROM picked LIMIT :cap) f) AS mvt,
       least(count(*), :cap) AS features, count(*) > :cap AS capped
FROM picked
"""


def _sql_timer(url: str, cap: int) -> Any:
    """Times of our referrals layer query run directly, without HTTP, and of the baseline
    query transforming every point (both interleaved, tile by tile)."""
    from sqlalchemy import text

    from service.db import tiles as repo
    from service.db.engine import create_engine, session_factory
    from service.settings import Settings

    since, until = (dt.datetime.fromisoformat(w) for w in WINDOW)
    settings = Settings(database_url=url, jwt_secret=JWT_SECRET)

    baseline = text(BASELINE_SQL)
    fixed = {"extent": repo.EXTENT, "buffer": repo.BUFFER, "margin": repo.BUFFER / repo.EXTENT}

    async def measure(tiles: list[TileAddress], repeat: int) -> tuple[list[float], list[float]]:
        engine = create_engine(settings)
        sessions = session_factory(engine)
        ours: list[float] = []
        old: list[float] = []
        try:
            async with sessions() as session:
                for rnd in range(repeat + 1):  # round 0 warms the caches
                    for tile in tiles:
                        params = {"z": tile.z, "x": tile.x, "y": tile.y, "since": since}
                        params |= {"until": until, "cap": cap, "all": True}
                        params |= {"coordinator": False, "teams": [], "codes": []}
                        t0 = time.perf_counter()
                        await repo.layer(session, "referrals", params)
                        t1 = time.perf_counter()
                        await session.execute(baseline, {**fixed, **params})
                        t2 = time.perf_counter()
                        if rnd:
                            ours.append((t1 - t0) * 1000.0)
                            old.append((t2 - t1) * 1000.0)
                    await session.rollback()
        finally:
            await engine.dispose()
        return ours, old

    return measure


def _bench_size(
    n: int,
    tiles: dict[int, list[TileAddress]],
    url: str,
    ours: tuple[str, dict[str, str]],
    theirs: tuple[str, dict[str, str]] | None,
    cap: int,
    repeat: int,
) -> None:
    sql_measure = _sql_timer(url, cap)
    header = (
        f"{'zoom':>4} {'tiles':>5} {'features':>9}  {'sql p50/p99':>15}  {'4326 p50/p99':>15}  "
    )
    header += f"{'ours p50/p99':>15}  {'tipg p50/p99':>15}  {'ours/tipg p50':>13} {'p99':>6}"
    print(header)
    with (
        httpx.Client(base_url=ours[0], timeout=60) as mine,
        httpx.Client(base_url=theirs[0] if theirs else ours[0], timeout=60) as other,
    ):
        for z, chosen in tiles.items():
            sql_ms, old_ms = asyncio.run(sql_measure(chosen, repeat))
            ours_ms: list[float] = []
            tipg_ms: list[float] = []
            sizes: list[int] = []
            for rnd in range(repeat + 1):  # round 0 warms both servers
                for tile in chosen:
                    pair = [("ours", tile), ("tipg", tile)]
                    for who, t in pair if rnd % 2 == 0 else pair[::-1]:
                        if who == "ours":
                            ms, size = _timed_get(mine, _ours_path(t), ours[1])
                            if rnd:
                                ours_ms.append(ms)
                                sizes.append(size)
                        elif theirs:
                            ms, _ = _timed_get(other, _tipg_path(t), theirs[1])
                            if rnd:
                                tipg_ms.append(ms)
            features = _features(mine, chosen, ours[1])
            print(_row(z, len(chosen), features, (sql_ms, old_ms), ours_ms, tipg_ms))


def _features(client: httpx.Client, tiles: list[TileAddress], headers: dict[str, str]) -> int:
    import mapbox_vector_tile

    counts = []
    for tile in tiles:
        layers = mapbox_vector_tile.decode(client.get(_ours_path(tile), headers=headers).content)
        counts.append(len(layers.get("referrals", {}).get("features", [])))
    return int(np.mean(counts))


def _pcts(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def _row(
    z: int,
    count: int,
    features: int,
    sql_ms: tuple[list[float], list[float]],
    ours: list[float],
    tipg: list[float],
) -> str:
    s50, s99 = _pcts(sql_ms[0])
    b50, b99 = _pcts(sql_ms[1])
    o50, o99 = _pcts(ours)
    line = f"{z:>4} {count:>5} {features:>9}  {s50:>7.1f}/{s99:<7.1f}  {b50:>7.1f}/{b99:<7.1f}  "
    line += f"{o50:>7.1f}/{o99:<7.1f}  "
    if not tipg:
        return line + f"{'-':>15}  {'-':>13}"
    t50, t99 = _pcts(tipg)
    return line + f"{t50:>7.1f}/{t99:<7.1f}  {o50 / t50:>13.2f} {o99 / t99:>6.2f}"


if __name__ == "__main__":
    sys.exit(main())
