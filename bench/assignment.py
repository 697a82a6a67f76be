"""Benchmark of geo.assignment and geo.routing on synthetic Greater Essex data.

Run ``.venv/bin/python -m bench.assignment`` (``--quick`` for fewer repeats).

Assignment: 500 open items across the 14 authorities, 14 teams, three shifts each;
the median time of ``assign`` against the 200 ms target, and against a naive
baseline measured in the same run (nearest covering team, no capacity, no reasons).

Routing: the heuristic's gap to the Held-Karp optimum on small instances, and its
improvement over nearest neighbour (the baseline) on 30-60 stops, with times.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from geo.assignment import ShiftPattern, Team, WorkItem, WorkKind, assign, shifts_from_pattern
from geo.projections import wgs84_to_bng
from geo.routing import (
    Stop,
    exact_tour,
    heuristic_tour,
    nearest_neighbour_tour,
    plan_shift_route,
    straight_line_matrix_m,
)

if TYPE_CHECKING:
    from collections.abc import Callable

TARGET_MS = 200.0
NOW = datetime(2025, 1, 13, 15, 0, tzinfo=UTC)

# name: (ONS code, lat, lon, relative share of open items)
AUTHORITIES: dict[str, tuple[str, float, float, float]] = {
    "Basildon": ("E07000066", 51.576, 0.488, 1.0),
    "Braintree": ("E07000067", 51.878, 0.553, 0.6),
    "Brentwood": ("E07000068", 51.621, 0.305, 0.4),
    "Castle Point": ("E07000069", 51.556, 0.561, 0.4),
    "Chelmsford": ("E07000070", 51.736, 0.479, 1.6),
    "Colchester": ("E07000071", 51.889, 0.901, 1.2),
    "Epping Forest": ("E07000072", 51.700, 0.109, 0.6),
    "Harlow": ("E07000073", 51.769, 0.094, 0.7),
    "Maldon": ("E07000074", 51.731, 0.677, 0.3),
    "Rochford": ("E07000075", 51.582, 0.707, 0.3),
    "Tendring": ("E07000076", 51.789, 1.156, 0.8),
    "Uttlesford": ("E07000077", 52.022, 0.240, 0.3),
    "Southend-on-Sea": ("E06000033", 51.538, 0.714, 1.8),
    "Thurrock": ("E06000034", 51.476, 0.325, 0.9),
}

NIGHT = ShiftPattern(clock(22, 0), 6 * 60)
EARLY = ShiftPattern(clock(6, 0), 4 * 60)
RURAL = ShiftPattern(clock(6, 0), 5 * 60, weekdays=frozenset({0, 3}))  # Mon and Thu

# team id: (base authority, covered authorities, shift pattern, visits per shift)
TEAMS: dict[str, tuple[str, tuple[str, ...], ShiftPattern, int]] = {
    "mid-chelmsford": ("Chelmsford", ("Chelmsford", "Maldon", "Brentwood"), EARLY, 9),
    "mid-braintree": ("Braintree", ("Braintree", "Chelmsford", "Uttlesford"), EARLY, 7),
    "mid-maldon": ("Maldon", ("Maldon", "Chelmsford", "Rochford"), RURAL, 8),
    "south-basildon": ("Basildon", ("Basildon", "Castle Point", "Brentwood"), NIGHT, 8),
    "south-benfleet": ("Castle Point", ("Castle Point", "Basildon", "Rochford"), EARLY, 6),
    "southend-early": ("Southend-on-Sea", ("Southend-on-Sea", "Rochford"), EARLY, 10),
    "southend-night": ("Southend-on-Sea", ("Southend-on-Sea",), NIGHT, 10),
    "colchester": ("Colchester", ("Colchester", "Tendring"), EARLY, 9),
    "tendring": ("Tendring", ("Tendring", "Colchester"), RURAL, 8),
    "harlow": ("Harlow", ("Harlow", "Epping Forest"), NIGHT, 8),
    "epping": ("Epping Forest", ("Epping Forest", "Harlow", "Uttlesford"), EARLY, 6),
    "uttlesford": ("Uttlesford", ("Uttlesford",), RURAL, 6),
    "thurrock-early": ("Thurrock", ("Thurrock",), EARLY, 8),
    "thurrock-night": ("Thurrock", ("Thurrock", "Basildon"), NIGHT, 8),
}


def centre_bng(name: str) -> tuple[float, float]:
    _, lat, lon, _ = AUTHORITIES[name]
    return wgs84_to_bng(lon, lat)


def make_teams() -> list[Team]:
    teams = []
    for tid, (base, covered, pattern, visits) in TEAMS.items():
        codes = frozenset(AUTHORITIES[a][0] for a in covered)
        shifts = shifts_from_pattern(pattern, now=NOW, count=3)
        teams.append(Team(tid, codes, centre_bng(base), visits, shifts))
    return teams


def _sla(kind: WorkKind, received: datetime, rng: np.random.Generator) -> datetime | None:
    if kind is WorkKind.URGENT_REFERRAL:
        return received + timedelta(hours=12)
    if kind is WorkKind.REFERRAL:
        return received + timedelta(hours=72)
    return None if rng.random() < 0.5 else received + timedelta(days=7)


def make_items(n: int, seed: int) -> list[WorkItem]:
    rng = np.random.default_rng(seed)
    names = list(AUTHORITIES)
    share = np.array([AUTHORITIES[a][3] for a in names])
    kinds = [WorkKind.URGENT_REFERRAL, WorkKind.REFERRAL, WorkKind.HOTSPOT]
    team_ids = list(TEAMS)
    items = []
    for k in range(n):
        name = names[int(rng.choice(len(names), p=share / share.sum()))]
        ex, ny = centre_bng(name)
        kind = kinds[int(rng.choice(3, p=[0.08, 0.62, 0.30]))]
        received = NOW - timedelta(hours=float(rng.uniform(0, 72)))
        pinned = team_ids[int(rng.integers(len(team_ids)))] if rng.random() < 0.03 else None
        items.append(
            WorkItem(
                id=f"item-{k:04d}",
                kind=kind,
                location_bng=(ex + rng.normal(0, 2500), ny + rng.normal(0, 2500)),
                authority_code=AUTHORITIES[name][0],
                received_at=received,
                sla_due_at=_sla(kind, received, rng),
                urgent_safety=bool(rng.random() < 0.03),
                hotspot_activity_count=int(rng.poisson(4)) if kind is WorkKind.HOTSPOT else 0,
                pinned_team_id=pinned,
            )
        )
    return items


def naive_nearest_team(items: list[WorkItem], teams: list[Team]) -> dict[str, str | None]:
    """Baseline: nearest covering team by base, no priority, capacity or reasons."""
    out: dict[str, str | None] = {}
    for it in items:
        covering = [t for t in teams if it.authority_code in t.authority_codes]
        best = min(covering, key=lambda t: math.dist(t.base_bng, it.location_bng), default=None)
        out[it.id] = None if best is None else best.id
    return out


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_assignment(repeats: int) -> None:
    items, teams = make_items(500, seed=1), make_teams()
    swep = frozenset({AUTHORITIES["Tendring"][0], AUTHORITIES["Uttlesford"][0]})
    result = assign(items, teams, now=NOW, swep_authorities=swep)
    rules = Counter(a.rule.value for a in result.assignments)
    late = sum(1 for a in result.assignments if a.within_sla is False)
    print(f"assign: {len(items)} items x {len(teams)} teams, 3 shifts each, SWEP in 2 areas")
    print("  outcome: " + ", ".join(f"{r} {n}" for r, n in sorted(rules.items())))
    print(f"  assigned but past SLA: {late}; shifts: {len(result.loads)}")
    ms = median_ms(lambda: assign(items, teams, now=NOW, swep_authorities=swep), repeats)
    base_ms = median_ms(lambda: naive_nearest_team(items, teams), repeats)
    print(
        f"  assign median {ms:.2f} ms over {repeats} runs "
        f"= {ms / TARGET_MS:.3f} x the {TARGET_MS:.0f} ms target"
    )
    print(
        f"  baseline (naive nearest covering team) {base_ms:.2f} ms; "
        f"assign / baseline = {ms / base_ms:.2f}"
    )


@dataclass
class Quality:
    gaps_pct: list[float]
    nn_gaps_pct: list[float]
    heuristic_ms: list[float]
    exact_ms: list[float]
    nn_ms: list[float]


def _timed(fn: Callable[[], float]) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000


def _exact_cost(c: np.ndarray) -> float:
    return exact_tour(c).cost


def _heuristic_cost(c: np.ndarray, seed: int) -> float:
    return heuristic_tour(c, seed=seed).cost


def _nn_cost(c: np.ndarray) -> float:
    return nearest_neighbour_tour(c).cost


def stops_near_base(items: list[WorkItem], base: tuple[float, float], n: int) -> np.ndarray:
    pts = np.array([it.location_bng for it in items])
    nearest = np.argsort(np.hypot(pts[:, 0] - base[0], pts[:, 1] - base[1]))[:n]
    return np.vstack([np.array(base)[None, :], pts[nearest]])


def instances(items: list[WorkItem], sizes: list[int], per_size: int) -> list[np.ndarray]:
    rng = np.random.default_rng(2)
    bases = [t.base_bng for t in make_teams()]
    out = []
    for n in sizes:
        for _ in range(per_size):
            base = bases[int(rng.integers(len(bases)))]
            pool = [items[int(k)] for k in rng.choice(len(items), size=200, replace=False)]
            out.append(straight_line_matrix_m(stops_near_base(pool, base, n)))
    return out


def bench_small_routes(items: list[WorkItem], per_size: int) -> None:
    q = Quality([], [], [], [], [])
    for seed, c in enumerate(instances(items, list(range(5, 11)), per_size)):
        opt, ems = _timed(partial(_exact_cost, c))
        heur, hms = _timed(partial(_heuristic_cost, c, seed))
        nn, nms = _timed(partial(_nn_cost, c))
        q.gaps_pct.append((heur / opt - 1) * 100)
        q.nn_gaps_pct.append((nn / opt - 1) * 100)
        q.heuristic_ms.append(hms)
        q.exact_ms.append(ems)
        q.nn_ms.append(nms)
    print(f"routes, 5-10 stops ({len(q.gaps_pct)} instances), gap to the Held-Karp optimum:")
    print(
        f"  heuristic mean {statistics.mean(q.gaps_pct):.3f} %, max {max(q.gaps_pct):.3f} % "
        f"(target <= 2 %); {statistics.median(q.heuristic_ms):.2f} ms per route"
    )
    print(
        f"  baseline nearest neighbour mean {statistics.mean(q.nn_gaps_pct):.2f} %, "
        f"max {max(q.nn_gaps_pct):.2f} %; {statistics.median(q.nn_ms):.3f} ms per route"
    )
    print(f"  exact (Held-Karp) {statistics.median(q.exact_ms):.2f} ms per route")


def bench_large_routes(items: list[WorkItem], per_size: int) -> None:
    print("routes, 30-60 stops, heuristic vs nearest neighbour (baseline):")
    for n in (30, 45, 60):
        ratios, hms, nms = [], [], []
        for seed, c in enumerate(instances(items, [n], per_size)):
            heur, h = _timed(partial(_heuristic_cost, c, seed))
            nn, t = _timed(partial(_nn_cost, c))
            ratios.append(heur / nn)
            hms.append(h)
            nms.append(t)
        print(
            f"  {n} stops: heuristic / NN length = {statistics.mean(ratios):.3f} "
            f"(improvement {100 * (1 - statistics.mean(ratios)):.1f} %, "
            f"worst {100 * (1 - max(ratios)):.1f} %); "
            f"{statistics.median(hms):.1f} ms per route vs NN {statistics.median(nms):.2f} ms"
        )


def bench_shift_plan(items: list[WorkItem], repeats: int) -> None:
    base = centre_bng("Chelmsford")
    pts = stops_near_base(items, base, 40)[1:]
    stops = [Stop(f"s{k}", (float(x), float(y)), priority=k % 4) for k, (x, y) in enumerate(pts)]
    plan = plan_shift_route(base, stops, shift_minutes=360, dwell_minutes=15, detour_factor=1.3)
    ms = median_ms(
        lambda: plan_shift_route(
            base, stops, shift_minutes=360, dwell_minutes=15, detour_factor=1.3
        ),
        repeats,
    )
    print(
        f"plan_shift_route: 40 candidate visits, 6 h shift: kept {len(plan.visits)}, "
        f"dropped {len(plan.dropped)}, {plan.total_minutes:.0f} min; {ms:.1f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and instances")
    args = parser.parse_args(argv)
    repeats, per_size = (7, 5) if args.quick else (31, 30)
    bench_assignment(repeats)
    items = make_items(500, seed=1)
    bench_small_routes(items, per_size)
    bench_large_routes(items, max(3, per_size // 3))
    bench_shift_plan(items, max(3, repeats // 6))


if __name__ == "__main__":
    main()
