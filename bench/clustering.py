"""Benchmark of geo.clustering against scikit-learn's DBSCAN (and PostGIS, when available).

    .venv/bin/python -m bench.clustering                       # 10k, 100k and 1M points
    .venv/bin/python -m bench.clustering --sizes 10000,100000  # chosen sizes
    .venv/bin/python -m bench.clustering --quick               # 10k only, small incremental run

For every size, on the same synthetic Essex-like points (bench.synthetic), each measurement
runs in its own subprocess so that peak memory (ru_maxrss, and tracemalloc around the call)
is clean: this engine's full recompute, scikit-learn's ``DBSCAN(eps, min_samples).fit``
(default algorithm, ``n_jobs=None``), their ratio and an agreement check (same cores, same
clusters up to relabelling, same noise, border points attached to a core of their own
cluster). Then the latency of inserting one new point into a stored clustering of 100k
active points as the service does between recomputes (the ``2 * eps`` neighbourhood found in a
k-d tree standing in for the database's index, :func:`geo.cluster_insert.insert_points`, and
the merges, births and border points applied to the stored hotspot ids), then folds of many
new points at once (a flood's), against a batch recompute in the same run, and PostGIS
``ST_ClusterDBSCAN(geom, eps, minpoints) OVER ()`` on the same points when ``DATABASE_URL``
is set. Times are wall-clock seconds, best of ``--repeat``
runs for our engine (one run of scikit-learn at 1M points, which takes minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench.synthetic import essex_points
from geo.cluster_insert import LocalInsert, insert_points
from geo.clustering import dbscan

FULL_SIZES = (10_000, 100_000, 1_000_000)
INCREMENTAL_ACTIVE = 100_000


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments; run a worker or the whole benchmark."""
    args = _parser().parse_args(argv)
    if args.worker:
        print(json.dumps(_WORKERS[args.worker](args)))
        return 0
    sizes = (10_000,) if args.quick else tuple(int(s) for s in args.sizes.split(","))
    print(
        f"eps_m={args.eps_m} min_samples={args.min_samples} seed={args.seed} cores={os.cpu_count()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-clustering-") as out:
        for n in sizes:
            _bench_size(args, n, Path(out))
        _bench_incremental(args)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.clustering", description=__doc__.split("\n")[0]
    )
    p.add_argument("--sizes", default=",".join(str(n) for n in FULL_SIZES))
    p.add_argument("--quick", action="store_true", help="10k points, small incremental run")
    p.add_argument("--eps-m", type=float, default=200.0)
    p.add_argument("--min-samples", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=3, help="runs of our engine (best is kept)")
    p.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn (no ratio)")
    p.add_argument("--worker", choices=sorted(_WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--out", default="", help=argparse.SUPPRESS)
    p.add_argument("--inserts", type=int, default=2_000, help=argparse.SUPPRESS)
    return p


# --------------------------------------------------------------------------- parent side


def _run_worker(args: argparse.Namespace, worker: str, **extra: Any) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.clustering", "--worker", worker]
    cmd += [f"--eps-m={args.eps_m}", f"--min-samples={args.min_samples}", f"--seed={args.seed}"]
    cmd += [f"--repeat={args.repeat}"]
    cmd += [f"--{k.replace('_', '-')}={v}" for k, v in extra.items()]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _bench_size(args: argparse.Namespace, n: int, out: Path) -> None:
    print(f"\n== {n:,} points ==")
    ours = _run_worker(args, "engine", size=n, out=out)
    _report("geo.clustering", ours)
    ref: dict[str, Any] = {"error": "skipped (--no-sklearn)"}
    if not args.no_sklearn:
        ref = _run_worker(args, "sklearn", size=n, out=out)
        _report("scikit-learn DBSCAN", ref)
    if "seconds" in ours and "seconds" in ref:
        print(f"  ratio engine/sklearn: {ours['seconds'] / ref['seconds']:.3f}")
        print(f"  agreement with sklearn: {_agreement(out, n, args.eps_m)}")
    _bench_postgis(args, n, ref)


def _report(name: str, r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"  {name}: {r['error']}")
        return
    runs = ", ".join(f"{s:.3f}" for s in r["runs"])
    traced = r.get("traced_peak_mb")
    traced_text = "" if traced is None else f"; tracemalloc peak during the call {traced:.0f} MB"
    print(
        f"  {name}: {r['seconds']:.3f} s (runs: {runs}); {r['clusters']} clusters; "
        f"peak RSS {r['maxrss_mb']:.0f} MB (data alone {r['baseline_mb']:.0f} MB){traced_text}"
    )


def _agreement(out: Path, n: int, eps_m: float) -> str:
    a = np.load(out / f"engine_{n}.npz")
    b = np.load(out / f"sklearn_{n}.npz")
    xy = essex_points(n, seed=int(a["seed"])).xy_bng
    return _compare(xy, eps_m, a["labels"], a["core"], b["labels"], b["core"])


def _compare(
    xy: NDArray[np.float64],
    eps_m: float,
    labels: NDArray[np.int64],
    core: NDArray[np.bool_],
    ref_labels: NDArray[np.int64],
    ref_core: NDArray[np.bool_],
) -> str:
    if not np.array_equal(core, ref_core):
        return f"FAIL: {int((core != ref_core).sum())} core flags differ"
    if not np.array_equal(labels == -1, ref_labels == -1):
        return "FAIL: noise differs"
    pairs = np.unique(np.column_stack([labels[core], ref_labels[core]]), axis=0)
    if len(pairs) != len(np.unique(labels[core])) or len(pairs) != len(np.unique(ref_labels[core])):
        return "FAIL: core clusters differ"
    border = np.flatnonzero(~core & (labels >= 0))
    ref_border = _mapped(pairs, ref_labels[border])
    off, single = _border_faults(xy, eps_m, labels, core, border, ref_border)
    if off or single:
        return (
            f"FAIL: {off} border points not within eps of a core of their cluster, {single} "
            "differ though near cores of one cluster only"
        )
    moved = int((labels[border] != ref_border).sum())
    return (
        f"OK ({int(core.sum()):,} cores, {len(pairs):,} clusters identical; {len(border):,} border "
        f"points, {moved} of them, near cores of two clusters, attached to the other one)"
    )


def _mapped(pairs: NDArray[np.int64], ref: NDArray[np.int64]) -> NDArray[np.int64]:
    lookup = dict(zip(pairs[:, 1].tolist(), pairs[:, 0].tolist(), strict=True))
    return np.array([lookup[int(r)] for r in ref], dtype=np.int64)


def _border_faults(
    xy: NDArray[np.float64],
    eps_m: float,
    labels: NDArray[np.int64],
    core: NDArray[np.bool_],
    border: NDArray[np.int64],
    ref_border: NDArray[np.int64],
) -> tuple[int, int]:
    """Borders off their cluster, and borders differing from the reference without cause."""
    from scipy.spatial import cKDTree

    cores = np.flatnonzero(core)
    tree = cKDTree(xy[cores])
    off = single = 0
    near_all = tree.query_ball_point(xy[border], eps_m * (1 + 1e-9))
    for i, ref, near in zip(border.tolist(), ref_border.tolist(), near_all, strict=True):
        d2 = ((xy[cores[near]] - xy[i]) ** 2).sum(axis=1)
        clusters = set(labels[cores[near]][d2 <= eps_m * eps_m].tolist())
        off += int(labels[i] not in clusters)
        single += int(labels[i] != ref and len(clusters) < 2)
    return off, single


def _bench_incremental(args: argparse.Namespace) -> None:
    active = 10_000 if args.quick else INCREMENTAL_ACTIVE
    inserts = 500 if args.quick else args.inserts
    print(f"\n== incremental insert, {active:,} active points, {inserts:,} inserts ==")
    r = _run_worker(args, "incremental", size=active, inserts=inserts)
    if "error" in r:
        print(f"  {r['error']}")
        return
    print(
        f"  load (batch recompute + k-d tree): {r['load_s']:.3f} s; insert latency "
        f"p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms, max {r['max_ms']:.3f} ms"
    )
    print(f"  incremental result equals batch after the inserts: {r['equal_to_batch']}")
    _bench_folds(args, active)


FOLDS = ((100, 10), (2_000, 3), (20_000, 1))
"""(new points a fold, folds): a referral flood's folds, contact batches', then the fold after
a contact flood (bench.ingest: about 20,000 contacts around a few towns in 5 s)."""


def _bench_folds(args: argparse.Namespace, active: int) -> None:
    print(f"\n== folds of many new points at once into {active:,} stored points ==")
    r = _run_worker(args, "folds", size=active)
    if "error" in r:
        print(f"  {r['error']}")
        return
    for fold in r["folds"]:
        print(
            f"  {fold['new']:,} new points a fold ({fold['folds']} folds, neighbourhoods of "
            f"{fold['hood']:,.0f} points): p50 {fold['p50_ms']:.1f} ms a fold, against "
            f"{r['recompute_ms']:.0f} ms for a batch recompute of all the stored points "
            f"(ratio {fold['p50_ms'] / r['recompute_ms']:.3f})"
        )
    print(f"  result equals batch after the folds: {r['equal_to_batch']}")


def _bench_postgis(args: argparse.Namespace, n: int, ref: dict[str, Any]) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgresql://", "postgres://")):
        print("  PostGIS ST_ClusterDBSCAN: skipped (no DATABASE_URL)")
        return
    data = essex_points(n, seed=args.seed)
    try:
        seconds, clusters = asyncio.run(
            _postgis_time(url, data.xy_bng, args.eps_m, args.min_samples)
        )
    except Exception as exc:
        print(f"  PostGIS ST_ClusterDBSCAN: failed ({type(exc).__name__})")
        return
    ratio = f"; ratio PostGIS/sklearn {seconds / ref['seconds']:.3f}" if "seconds" in ref else ""
    print(f"  PostGIS ST_ClusterDBSCAN: {seconds:.3f} s; {clusters} clusters{ratio}")


async def _postgis_time(
    url: str, xy: NDArray[np.float64], eps_m: float, min_samples: int
) -> tuple[float, int]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE TEMP TABLE bench_xy (id int, x float8, y float8)")
        rows = [(i, float(x), float(y)) for i, (x, y) in enumerate(xy.tolist())]
        await conn.copy_records_to_table("bench_xy", records=rows)
        await conn.execute(
            "CREATE TEMP TABLE bench_pts AS SELECT id, "
            "ST_SetSRID(ST_MakePoint(x, y), 27700) AS geom FROM bench_xy"
        )
        await conn.execute("ANALYZE bench_pts")
        sql = (
            "SELECT count(DISTINCT cid) FROM (SELECT ST_ClusterDBSCAN(geom, $1, $2) "
            "OVER () AS cid FROM bench_pts) s"
        )
        start = time.perf_counter()
        clusters = await conn.fetchval(sql, eps_m, min_samples)
        return time.perf_counter() - start, int(clusters)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- workers


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn: Any, repeat: int) -> tuple[Any, list[float], float]:
    """Best-of-``repeat`` timings, then one run under tracemalloc for the peak."""
    runs: list[float] = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, runs, peak / 2**20


def _worker_engine(args: argparse.Namespace) -> dict[str, Any]:
    data = essex_points(args.size, seed=args.seed)
    baseline = _maxrss_mb()
    result, runs, traced = _timed(
        lambda: dbscan(data.xy_bng, eps_m=args.eps_m, min_samples=args.min_samples), args.repeat
    )
    np.savez(
        Path(args.out) / f"engine_{args.size}.npz",
        labels=result.labels,
        core=result.core,
        seed=args.seed,
    )
    return {
        "seconds": min(runs),
        "runs": runs,
        "clusters": result.n_clusters,
        "maxrss_mb": _maxrss_mb(),
        "baseline_mb": baseline,
        "traced_peak_mb": traced,
    }


def _worker_sklearn(args: argparse.Namespace) -> dict[str, Any]:
    from sklearn.cluster import DBSCAN

    data = essex_points(args.size, seed=args.seed)
    baseline = _maxrss_mb()
    repeat = 1 if args.size >= 500_000 else args.repeat
    runs: list[float] = []
    model = DBSCAN(eps=args.eps_m, min_samples=args.min_samples)
    for _ in range(repeat):
        start = time.perf_counter()
        model.fit(data.xy_bng)
        runs.append(time.perf_counter() - start)
    core = np.zeros(args.size, np.bool_)
    core[model.core_sample_indices_] = True
    np.savez(Path(args.out) / f"sklearn_{args.size}.npz", labels=model.labels_, core=core)
    return {
        "seconds": min(runs),
        "runs": runs,
        "clusters": int(model.labels_.max()) + 1,
        "maxrss_mb": _maxrss_mb(),
        "baseline_mb": baseline,
    }


def _worker_incremental(args: argparse.Namespace) -> dict[str, Any]:
    """Insert ``inserts`` points one by one into a stored clustering of ``size`` points, as
    ``service.usecases.hotspots.insert_new_points`` does, then compare with a batch run."""
    from scipy.spatial import cKDTree

    n, k = args.size, args.inserts
    xy, hotspot, core, next_id, recompute_s = _stored(args, n, k)
    start = time.perf_counter()
    tree = cKDTree(xy)  # stands in for the database's spatial index (rows < i are stored)
    load_s = recompute_s + time.perf_counter() - start
    latency = []
    for i in range(n, n + k):
        start = time.perf_counter()
        hood = np.array(sorted(j for j in tree.query_ball_point(xy[i], 2 * args.eps_m) if j <= i))
        up = insert_points(
            xy[hood],
            stored_hotspot=hotspot[hood],
            stored_core=core[hood],
            new=hood == i,
            eps_m=args.eps_m,
            min_samples=args.min_samples,
        )
        next_id = _apply_insert(up, hood, hotspot, core, next_id)
        latency.append(time.perf_counter() - start)
    ms = np.array(latency) * 1e3
    batch = dbscan(xy, eps_m=args.eps_m, min_samples=args.min_samples)
    verdict = _compare(xy, args.eps_m, hotspot, core, batch.labels, batch.core)
    return {
        "load_s": load_s,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "equal_to_batch": verdict,
    }


def _worker_folds(args: argparse.Namespace) -> dict[str, Any]:
    """Fold many new points at once into a stored clustering of ``size`` points, as the
    service's updater does under a flood: the neighbourhood is every stored point within
    ``2 * eps`` of a new point; only :func:`insert_points` is timed (the app's CPU of a fold).
    The baseline, in the same run: a batch recompute of the stored points."""
    from scipy.spatial import cKDTree

    n = args.size
    xy, hotspot, core, next_id, recompute_s = _stored(
        args, n, sum(new * folds for new, folds in FOLDS)
    )
    tree = cKDTree(xy)
    end, out = n, []
    for new, folds in FOLDS:
        times, sizes = [], []
        for _ in range(folds):
            fresh = np.arange(end, end + new)
            near = tree.query_ball_point(xy[fresh], 2 * args.eps_m)
            hood = np.unique(np.concatenate([np.asarray(j, np.int64) for j in near]))
            hood = hood[hood < end + new]
            start = time.perf_counter()
            up = insert_points(
                xy[hood],
                stored_hotspot=hotspot[hood],
                stored_core=core[hood],
                new=hood >= end,
                eps_m=args.eps_m,
                min_samples=args.min_samples,
            )
            times.append(time.perf_counter() - start)
            sizes.append(len(hood))
            next_id = _apply_insert(up, hood, hotspot, core, next_id)
            end += new
        out.append(
            {
                "new": new,
                "folds": folds,
                "hood": float(np.mean(sizes)),
                "p50_ms": float(np.percentile(np.array(times) * 1e3, 50)),
            }
        )
    batch = dbscan(xy, eps_m=args.eps_m, min_samples=args.min_samples)
    verdict = _compare(xy, args.eps_m, hotspot, core, batch.labels, batch.core)
    return {"recompute_ms": recompute_s * 1e3, "folds": out, "equal_to_batch": verdict}


def _stored(
    args: argparse.Namespace, n: int, k: int
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_], int, float]:
    """``n + k`` synthetic points, the first ``n`` clustered as the stored hotspots (the
    others noise for now): points, hotspot ids, core flags, the next free id, and the
    seconds the batch clustering took."""
    xy = essex_points(n + k, seed=args.seed).xy_bng
    start = time.perf_counter()
    stored = dbscan(xy[:n], eps_m=args.eps_m, min_samples=args.min_samples)
    seconds = time.perf_counter() - start
    hotspot = np.full(n + k, -1, np.int64)
    hotspot[:n] = stored.labels
    core = np.zeros(n + k, np.bool_)
    core[:n] = stored.core
    return xy, hotspot, core, stored.n_clusters, seconds


def _apply_insert(
    up: LocalInsert,
    hood: NDArray[np.int64],
    hotspot: NDArray[np.int64],
    core: NDArray[np.bool_],
    next_id: int,
) -> int:
    """Write an insertion into the stored ids: a merge keeps its lowest id (the service keeps
    the biggest hotspot's), a birth takes a new id; returns the next free id."""
    target: dict[int, int] = {}
    for component, ids in up.merged_hotspots.items():
        if ids:
            target[component] = ids[0]
            hotspot[np.isin(hotspot, ids[1:])] = ids[0]
        else:
            target[component], next_id = next_id, next_id + 1
    core[hood] = up.core
    changed = up.component >= 0
    hotspot[hood[changed]] = [target[int(c)] for c in up.component[changed]]
    joins = up.joins_hotspot >= 0
    hotspot[hood[joins]] = up.joins_hotspot[joins]
    return next_id


_WORKERS = {
    "engine": _worker_engine,
    "sklearn": _worker_sklearn,
    "incremental": _worker_incremental,
    "folds": _worker_folds,
}

if __name__ == "__main__":
    sys.exit(main())
