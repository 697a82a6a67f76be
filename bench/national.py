"""A year of England in the database: the service at national scale.

    .venv/bin/python -m bench.national --quick      # a whole year, fewer requests a figure
    .venv/bin/python -m bench.national              # more requests a figure
    .venv/bin/python -m bench.national --scale 0.2  # a fifth of the rows (a quick look)

Synthetic but shaped like the real thing: 300 authorities (a 20 x 15 grid over England in
British National Grid, imported through the service's own boundary import), one team each
(every fourth also covering its eastern neighbour), ``60,000 x scale`` referrals and
``500,000 x scale`` contacts over the last 12 months, dense in 30 cities (London by far the
densest), sparse in the country, loaded with COPY into staging tables and one INSERT ... SELECT
each (routed by ``ST_Covers`` on the subdivided boundaries), with their change-feed rows.
Referrals older than 14 days are closed with an outcome.

Then, against ``uvicorn`` with the app factory (one worker, as a coordinator would use it):

* p99 of ``GET /v1/stats`` for a year, per authority (target < 200 ms);
* p99 of staff map tiles (``/v1/tiles/{z}/{x}/{y}.mvt``, referrals and contacts) at z8, z11 and
  z14, against tipg on the same table when tipg can be installed (else said so);
* p99 of ``GET /v1/sync`` pages for the busiest team's worker;
* a streamed export (``/v1/exports/contacts.csv`` for the year) in rows/s against
  ``COPY (SELECT ...) TO STDOUT`` of the same rows;
* the time of a full hotspot recompute and of a full assignment run;
* the peak memory (VmHWM) of the app process.

Each figure prints its baseline or target and MET / NOT MET.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np

from bench.admin import drop
from bench.ingest import free_port
from geo.projections import bng_to_wgs84
from geo.tiles import tile_for_lonlat

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = "outreach_bench_national"
PASSWORD = "bench password, not a secret"
JWT_SECRET = "bench-only-" + "x" * 40
GRID = (20, 15)
BBOX_BNG = (135_000.0, 10_000.0, 655_000.0, 655_000.0)
STATS_P99_MS = 200.0

#: (name, easting, northing, weight): where people sleep rough, roughly in proportion.
CITIES = (
    ("London", 530_000, 180_000, 30.0),
    ("Birmingham", 407_000, 287_000, 4.0),
    ("Manchester", 384_000, 398_000, 4.0),
    ("Leeds", 430_000, 433_000, 2.5),
    ("Liverpool", 335_000, 390_000, 2.5),
    ("Bristol", 359_000, 173_000, 2.5),
    ("Brighton", 531_000, 104_000, 2.0),
    ("Sheffield", 435_000, 387_000, 1.5),
    ("Newcastle", 425_000, 564_000, 1.5),
    ("Nottingham", 457_000, 340_000, 1.5),
    ("Leicester", 458_000, 304_000, 1.0),
    ("Southampton", 442_000, 112_000, 1.0),
    ("Bournemouth", 408_000, 91_000, 1.0),
    ("Plymouth", 248_000, 55_000, 0.8),
    ("Norwich", 623_000, 308_000, 0.7),
    ("Oxford", 451_000, 206_000, 0.9),
    ("Cambridge", 545_000, 258_000, 0.9),
    ("Exeter", 292_000, 92_000, 0.6),
    ("York", 460_000, 451_000, 0.6),
    ("Coventry", 433_000, 279_000, 0.8),
    ("Stoke", 388_000, 347_000, 0.6),
    ("Hull", 509_000, 429_000, 0.7),
    ("Reading", 471_000, 173_000, 0.7),
    ("Southend", 588_000, 186_000, 0.6),
    ("Chelmsford", 571_000, 207_000, 0.5),
    ("Colchester", 600_000, 225_000, 0.4),
    ("Blackpool", 331_000, 436_000, 0.6),
    ("Middlesbrough", 449_000, 520_000, 0.6),
    ("Derby", 435_000, 336_000, 0.6),
    ("Luton", 509_000, 221_000, 0.6),
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    server = _server_url()
    url = _with_db(server, BENCH_DB)
    n_ref, n_con = round(60_000 * args.scale), round(500_000 * args.scale)
    samples = 40 if args.quick else 150
    print(
        f"national bench: 300 authorities, {n_ref:,} referrals and {n_con:,} contacts over "
        f"12 months, {samples} requests a figure, cores={os.cpu_count()}"
    )
    t0 = time.perf_counter()
    _create(server, url)
    _load(url, n_ref, n_con)
    print(f"  loaded in {time.perf_counter() - t0:.0f} s: {_counts(url)}")
    results: dict[str, Any] = {
        "hotspots_s": _timed_cli(url, ["hotspots", "recompute"]),
        "assignments_s": _timed_cli(url, ["assignments", "run"]),
    }
    with _serve(url) as (base, pid):
        admin = _token(base, "bench_admin")
        worker = _token(base, "bench_worker")
        results["stats"] = _stats(base, admin, url, samples)
        results["tiles"] = _tiles(base, admin, url, samples)
        results["sync"] = _sync(base, worker, samples)
        results["export"] = _export(base, admin, url)
        results["peak_mb"] = _peak_mb(pid)
    results["tipg"] = _tipg(url, samples) if not args.no_tipg else {"error": "--no-tipg"}
    _print(results)
    if not args.keep:
        drop(server, BENCH_DB)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.national", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer requests a figure")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of a year's rows")
    p.add_argument("--no-tipg", action="store_true", help="skip the tipg comparison")
    p.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database")
    return p


# --------------------------------------------------------------------------- database


def _server_url() -> str:
    from bench.ingest import _server_url as server_url

    return server_url()


def _with_db(url: str, name: str) -> str:
    from bench.ingest import _with_db as with_db

    return with_db(url, name)


def _admin(server: str, statement: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(_with_db(server, "postgres"))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(go())


def _fetch(url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(statement, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


def _grid_collection() -> dict[str, Any]:
    """300 rectangular authorities over England, in BNG metres."""
    e0, n0, e1, n1 = BBOX_BNG
    cols, rows = GRID
    w, h = (e1 - e0) / cols, (n1 - n0) / rows
    features = []
    for r in range(rows):
        for c in range(cols):
            x, y = e0 + c * w, n0 + r * h
            ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
            k = r * cols + c
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": f"E07{k:06d}", "name": f"Area {k}"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    return {"type": "FeatureCollection", "features": features}


TEAMS = """
INSERT INTO teams (name, base, shift_capacity, shift_start, shift_end)
SELECT 'Team ' || a.code, ST_PointOnSurface(a.geom), 10, '05:30', '09:30'
FROM authorities a JOIN boundary_versions v ON v.id = a.version_id AND v.is_current
"""
TEAM_AREAS = """
INSERT INTO team_areas (team_id, authority_code)
SELECT t.id, substr(t.name, 6) FROM teams t WHERE t.name LIKE 'Team E07%'
UNION
SELECT t.id, 'E07' || lpad((substr(t.name, 9)::int + 1)::text, 6, '0')
FROM teams t WHERE t.name LIKE 'Team E07%' AND substr(t.name, 9)::int % 4 = 0
  AND substr(t.name, 9)::int % 20 <> 19
"""


def _create(server: str, url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from service.settings import Settings
    from service.usecases.operations.cli_jobs import add_user, import_areas

    drop(server, BENCH_DB)
    _admin(server, f'CREATE DATABASE "{BENCH_DB}"')
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
    settings = Settings(database_url=url, jwt_secret=JWT_SECRET)
    asyncio.run(
        import_areas(
            settings,
            _grid_collection(),
            code_field="code",
            name_field="name",
            srid=27700,
            label="bench-england-grid",
            source="bench.national (synthetic)",
            keep_all=True,
        )
    )
    for statement in (TEAMS, TEAM_AREAS):
        _fetch(url, statement)
    busiest = _busiest_team(url)
    for name, role, teams in (
        ("bench_admin", "admin", []),
        ("bench_worker", "worker", [busiest]),
    ):
        asyncio.run(
            add_user(
                settings,
                username=name,
                display_name=name,
                password=PASSWORD,
                role=role,
                teams=teams,
                authorities=[],
            )
        )


def _busiest_team(url: str) -> str:
    e, n = CITIES[0][1], CITIES[0][2]
    lon, lat = bng_to_wgs84(e, n)
    rows = _fetch(
        url,
        "SELECT a.code FROM authorities a WHERE ST_Covers(a.geom, "
        "ST_SetSRID(ST_MakePoint($1, $2), 4326)) LIMIT 1",
        lon,
        lat,
    )
    return f"Team {rows[0]['code']}"


def _points(n: int, rng: np.random.Generator, rural: float) -> np.ndarray:
    weights = np.array([c[3] for c in CITIES])
    n_rural = round(n * rural)
    city = rng.choice(len(CITIES), size=n - n_rural, p=weights / weights.sum())
    centres = np.array([(c[1], c[2]) for c in CITIES], dtype=float)
    sigma = rng.choice([300.0, 1_000.0, 3_000.0], size=n - n_rural, p=[0.4, 0.4, 0.2])
    town = centres[city] + rng.normal(size=(n - n_rural, 2)) * sigma[:, None]
    e0, n0, e1, n1 = BBOX_BNG
    country = np.column_stack([rng.uniform(e0, e1, n_rural), rng.uniform(n0, n1, n_rural)])
    xy = np.concatenate([town, country])
    xy[:, 0] = np.clip(xy[:, 0], e0 + 1, e1 - 1)
    xy[:, 1] = np.clip(xy[:, 1], n0 + 1, n1 - 1)
    return xy[rng.permutation(n)]


REFERRALS = """
INSERT INTO referrals (reference, status_token_hash, token_salt, fingerprint, source,
    received_at, updated_at, seen_at, seen_exact, seen_time_band, geom, location_quality,
    gender, age_band, people_count, immediate_danger, appears_under_18, self_referral, urgent,
    status, outcome, closed_at, attempts, routing_reason, next_shift_due_at, outcome_due_at,
    authority_code, boundary_version_id, team_id)
SELECT 'N' || lpad(p.i::text, 9, '0'), '\\x00', '\\x00', md5('n' || p.i), 'api',
       p.t, p.t, p.t - interval '1 hour', true, 'night', p.geom, 'pin', 'unknown', 'unknown',
       1, false, false, false, p.i % 50 = 0,
       CASE WHEN p.t < now() - interval '14 days' THEN 'closed' ELSE 'assigned' END,
       CASE WHEN p.t < now() - interval '14 days'
            THEN (ARRAY['not_found', 'already_known', 'found_engaged', 'found_accommodated',
                        'found_declined'])[1 + p.i % 5] END,
       CASE WHEN p.t < now() - interval '14 days' THEN p.t + interval '3 days' END,
       CASE WHEN p.t < now() - interval '14 days' THEN 1 ELSE 0 END,
       'bench', p.t + interval '8 hours', p.t + interval '14 days', a.code, a.version_id,
       ta.team_id
  FROM (SELECT i, t, ST_Transform(ST_SetSRID(ST_MakePoint(e, n), 27700), 4326) AS geom
          FROM bench_points) p
  JOIN LATERAL (
       SELECT au.code, au.version_id FROM authority_parts ap
         JOIN authorities au ON au.id = ap.authority_id
         JOIN boundary_versions v ON v.id = au.version_id AND v.is_current
        WHERE ST_Covers(ap.geom, p.geom) LIMIT 1) a ON true
  JOIN LATERAL (
       SELECT min(team_id) AS team_id FROM team_areas WHERE authority_code = a.code) ta ON true
"""
CONTACTS = """
INSERT INTO contacts (id, content_hash, team_id, worker_id, observed_at, received_at, geom,
    accuracy_m, authority_code, bedded_down, contact_type, engagement, offers_made,
    offers_accepted, outcome, safeguarding_concern, notes)
SELECT gen_random_uuid(), md5('c' || p.i), ta.team_id, $1, p.t, p.t, p.geom, 10, a.code,
       p.i % 3 <> 0, 'street_outreach', 'engaged', '["health"]', '[]', 'talked', false, NULL
  FROM (SELECT i, t, ST_Transform(ST_SetSRID(ST_MakePoint(e, n), 27700), 4326) AS geom
          FROM bench_points) p
  JOIN LATERAL (
       SELECT au.code FROM authority_parts ap
         JOIN authorities au ON au.id = ap.authority_id
         JOIN boundary_versions v ON v.id = au.version_id AND v.is_current
        WHERE ST_Covers(ap.geom, p.geom) LIMIT 1) a ON true
  JOIN LATERAL (
       SELECT min(team_id) AS team_id FROM team_areas WHERE authority_code = a.code) ta ON true
"""
CHANGES = """
INSERT INTO changes (seq, team_id, kind, entity_id, data, at)
SELECT row_number() OVER (ORDER BY at, entity_id), team_id, kind, entity_id, '{}'::jsonb, at
FROM (SELECT team_id, 'referral_assigned' AS kind, CAST(id AS varchar) AS entity_id,
             received_at AS at FROM referrals
      UNION ALL
      SELECT team_id, 'contact_recorded', CAST(id AS varchar), received_at FROM contacts) c
"""


def _load(url: str, n_ref: int, n_con: int) -> None:
    rng = np.random.default_rng(2026)
    now = time.time()
    year_s = 365 * 86_400.0

    def records(n: int) -> list[tuple[int, float, float, dt.datetime]]:
        xy = _points(n, rng, rural=0.1)
        t = now - rng.uniform(0, year_s, n)
        return [
            (i, float(e), float(nn), dt.datetime.fromtimestamp(s, dt.UTC))
            for i, ((e, nn), s) in enumerate(zip(xy, t, strict=True))
        ]

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            worker = await conn.fetchval("SELECT id FROM users WHERE username = 'bench_worker'")
            for statement, n, args in ((REFERRALS, n_ref, ()), (CONTACTS, n_con, (worker,))):
                await conn.execute(
                    "CREATE TEMP TABLE bench_points (i int, e float8, n float8, t timestamptz)"
                )
                await conn.copy_records_to_table("bench_points", records=records(n))
                await conn.execute(statement, *args)
                await conn.execute("DROP TABLE bench_points")
            await conn.execute(_changes_sql(conn))
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()

    asyncio.run(go())


def _changes_sql(_: asyncpg.Connection) -> str:
    return CHANGES


def _counts(url: str) -> str:
    row = _fetch(
        url,
        "SELECT (SELECT count(*) FROM referrals) AS referrals, "
        "(SELECT count(*) FROM referrals WHERE status <> 'closed') AS open, "
        "(SELECT count(*) FROM contacts) AS contacts, (SELECT count(*) FROM changes) AS changes, "
        "(SELECT count(*) FROM authorities) AS authorities, (SELECT count(*) FROM teams) AS teams",
    )[0]
    return ", ".join(f"{k} {v:,}" for k, v in dict(row).items())


def _timed_cli(url: str, job: list[str]) -> float:
    env = {**os.environ, "DATABASE_URL": url, "OUTREACH_LOG_LEVEL": "WARNING"}
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "service.cli", *job],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- the app


@contextlib.contextmanager
def _serve(url: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "OUTREACH_JWT_SECRET": JWT_SECRET,
        "OUTREACH_RETENTION_INTERVAL_S": "0",
        "OUTREACH_HOTSPOT_RECOMPUTE_INTERVAL_S": "0",
        "OUTREACH_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "uvicorn", "service.app:create_app_from_env", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _token(base: str, username: str) -> dict[str, str]:
    response = httpx.post(
        base + "/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _timed(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = (time.perf_counter() - t0) * 1000.0
    if response.status_code not in (200, 304):
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return elapsed, response


def _pcts(times: list[float]) -> dict[str, float]:
    a = np.array(times)
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "n": len(a)}


def _year() -> tuple[str, str]:
    today = dt.datetime.now(dt.UTC).date()
    return (today - dt.timedelta(days=364)).isoformat(), today.isoformat()


def _stats(base: str, headers: dict[str, str], url: str, samples: int) -> dict[str, Any]:
    start, end = _year()
    codes = [
        r["authority_code"]
        for r in _fetch(
            url,
            "SELECT authority_code, count(*) FROM referrals GROUP BY 1 ORDER BY 2 DESC LIMIT $1",
            samples,
        )
    ]
    times = []
    with httpx.Client(base_url=base, timeout=60) as client:
        _timed(client, f"/v1/stats?from={start}&to={end}&authority={codes[0]}", headers)
        for code in codes:
            ms, _ = _timed(client, f"/v1/stats?from={start}&to={end}&authority={code}", headers)
            times.append(ms)
        all_ms, _ = _timed(client, f"/v1/stats?from={start}&to={end}", headers)
    return {**_pcts(times), "all_authorities_ms": all_ms}


def _tile_set(url: str, per_zoom: int) -> dict[int, list[Any]]:
    rows = _fetch(
        url,
        "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM referrals TABLESAMPLE SYSTEM (10) "
        "LIMIT 5000",
    )
    rng = np.random.default_rng(7)
    chosen: dict[int, list[Any]] = {}
    for z in (8, 11, 14):
        seen: list[Any] = []
        for k in rng.permutation(len(rows)):
            tile = tile_for_lonlat(rows[k]["lon"], rows[k]["lat"], z)
            if tile not in seen:
                seen.append(tile)
            if len(seen) == per_zoom:
                break
        chosen[z] = seen
    return chosen


def _tiles(base: str, headers: dict[str, str], url: str, samples: int) -> dict[str, Any]:
    """The staff map's tiles (referrals and contacts), and referrals alone (as tipg serves)."""
    start, end = _year()
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for z, chosen in _tile_set(url, samples).items():
            for layers in ("layers=referrals&layers=contacts", "layers=referrals"):
                times, capped = [], 0
                for t in chosen:
                    path = (
                        f"/v1/tiles/{t.z}/{t.x}/{t.y}.mvt?{layers}"
                        f"&since={start}T00:00:00Z&until={end}T00:00:00Z"
                    )
                    ms, response = _timed(client, path, headers)
                    times.append(ms)
                    capped += response.headers.get("x-tile-capped", "") not in ("", "false")
                out[(z, layers.count("&") + 1)] = {**_pcts(times), "capped": capped}
    return out


def _sync(base: str, headers: dict[str, str], samples: int) -> dict[str, Any]:
    times, rows, since = [], 0, None
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(samples):
            path = "/v1/sync?limit=500" + (f"&since={since}" if since else "")
            ms, response = _timed(client, path, headers)
            body = response.json()
            times.append(ms)
            rows += len(body["changes"])
            since = body["cursor"]
            if not body["has_more"]:
                break
    return {**_pcts(times), "rows": rows}


def _export(base: str, headers: dict[str, str], url: str) -> dict[str, Any]:
    start, end = _year()
    t0 = time.perf_counter()
    lines = 0
    with (
        httpx.Client(base_url=base, timeout=600) as client,
        client.stream(
            "GET", f"/v1/exports/contacts.csv?from={start}&to={end}", headers=headers
        ) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
    api_s = time.perf_counter() - t0
    rows = max(0, lines - 1)

    async def copy() -> tuple[float, int]:
        conn = await asyncpg.connect(url)
        try:
            with tempfile.TemporaryFile() as sink:
                t1 = time.perf_counter()
                await conn.copy_from_query(
                    COPY_CONTACTS,
                    dt.date.fromisoformat(start),
                    dt.date.fromisoformat(end),
                    output=sink,
                    format="csv",
                    header=True,
                )
                elapsed = time.perf_counter() - t1
                sink.seek(0)
                n = sum(chunk.count(b"\n") for chunk in iter(lambda: sink.read(1 << 20), b""))
            return elapsed, n - 1
        finally:
            await conn.close()

    copy_s, copy_rows = asyncio.run(copy())
    return {"rows": rows, "api_s": api_s, "copy_rows": copy_rows, "copy_s": copy_s}


COPY_CONTACTS = """
SELECT c.id, c.observed_at, c.received_at, c.team_id, c.worker_id, c.authority_code,
       round(CAST(ST_Y(c.geom) AS numeric), 6) AS lat,
       round(CAST(ST_X(c.geom) AS numeric), 6) AS lon,
       c.accuracy_m, p.pseudonym AS person, r.reference AS referral, c.bedded_down,
       c.contact_type, c.engagement, c.offers_made, c.offers_accepted, c.outcome,
       c.safeguarding_concern, c.notes
  FROM contacts c
  LEFT JOIN persons p ON p.id = c.person_id
  LEFT JOIN referrals r ON r.id = c.referral_id
 WHERE c.observed_at >= $1::date AND c.observed_at < $2::date + 1
 ORDER BY c.observed_at, c.id
"""


def _peak_mb(pid: int) -> float:
    """VmHWM of the app process (and its children, the largest), in MB."""
    peaks = []
    for p in [str(pid), *_children(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def _children(pid: int) -> list[str]:
    done = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return done.stdout.split()


def _tipg(url: str, samples: int) -> dict[str, Any]:
    """tipg on the same referrals, same tiles (when it can be installed)."""
    try:
        from bench import tiles as tiles_bench

        python = tiles_bench._tipg_python()
    except Exception as exc:  # no network, no PyPI: said so, never faked
        return {"error": f"tipg not available ({type(exc).__name__})"}
    start, end = _year()
    out: dict[str, Any] = {}
    try:
        with tiles_bench._serve_tipg(python, url, 5000) as (base, headers):  # our default cap
            chosen = _tile_set(url, samples)
            with httpx.Client(base_url=base, timeout=60) as client:
                for z, tiles in chosen.items():
                    times = []
                    for t in tiles:
                        path = (
                            f"/collections/public.referrals/tiles/WebMercatorQuad/{t.z}/{t.x}/"
                            f"{t.y}?geom-column=geom&datetime-column=received_at"
                            f"&datetime={start}T00:00:00Z/{end}T00:00:00Z"
                            f"&properties={tiles_bench.PROPERTIES}"
                        )
                        ms, _ = _timed(client, path, headers)
                        times.append(ms)
                    out[z] = _pcts(times)
    except Exception as exc:
        return {"error": f"tipg did not serve ({type(exc).__name__}: {str(exc)[:120]})"}
    return out


# --------------------------------------------------------------------------- report


def _met(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _print(r: dict[str, Any]) -> None:
    print()
    s = r["stats"]
    print(
        f"  GET /v1/stats, a year, per authority: p50 {s['p50']:.0f} ms, p99 {s['p99']:.0f} ms "
        f"({s['n']} authorities); all authorities at once {s['all_authorities_ms']:.0f} ms; "
        f"target p99 < {STATS_P99_MS:.0f} ms -> {_met(s['p99'] < STATS_P99_MS)}"
    )
    tipg = r["tipg"]
    for z in (8, 11, 14):
        both, alone = r["tiles"][(z, 2)], r["tiles"][(z, 1)]
        versus = "tipg: " + tipg["error"] if "error" in tipg else ""
        if z in tipg:
            ratio = alone["p99"] / tipg[z]["p99"] if tipg[z]["p99"] else float("nan")
            versus = (
                f"tipg, same referrals and tiles: p50 {tipg[z]['p50']:.0f} ms, "
                f"p99 {tipg[z]['p99']:.0f} ms; ratio ours/tipg p99 {ratio:.2f}"
            )
        print(
            f"  staff map tile z{z}, a year ({both['n']} tiles): referrals + contacts p50 "
            f"{both['p50']:.0f} ms, p99 {both['p99']:.0f} ms ({both['capped']} capped); "
            f"referrals alone p50 {alone['p50']:.0f} ms, p99 {alone['p99']:.0f} ms; {versus}"
        )
    y = r["sync"]
    print(
        f"  GET /v1/sync pages (busiest team's worker, 500 a page): p50 {y['p50']:.0f} ms, "
        f"p99 {y['p99']:.0f} ms over {y['n']} pages, {y['rows']:,} changes"
    )
    e = r["export"]
    api_rate = e["rows"] / e["api_s"] if e["api_s"] else 0.0
    copy_rate = e["copy_rows"] / e["copy_s"] if e["copy_s"] else 0.0
    print(
        f"  streamed export /v1/exports/contacts.csv (a year): {e['rows']:,} rows in "
        f"{e['api_s']:.1f} s = {api_rate:,.0f} rows/s; COPY ... TO STDOUT of the same rows: "
        f"{e['copy_rows']:,} rows in {e['copy_s']:.1f} s = {copy_rate:,.0f} rows/s; "
        f"ratio {api_rate / copy_rate if copy_rate else 0:.2f}"
    )
    print(f"  full hotspot recompute (CLI, whole process): {r['hotspots_s']:.1f} s")
    print(f"  full assignment run (CLI, whole process): {r['assignments_s']:.1f} s")
    print(f"  peak memory of the app process (VmHWM): {r['peak_mb']:.0f} MB")


if __name__ == "__main__":
    raise SystemExit(main())
