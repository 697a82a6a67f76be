"""Order one team's shift visits into a closed tour from its base and back.

The solvers work on a square cost matrix whose node 0 is the team's base and
nodes ``1..n`` are the stops. Any non-negative finite matrix works, symmetric or
not: straight-line BNG metres from :func:`straight_line_matrix_m`, minutes
derived from them by :func:`travel_minutes_from_distance`, or road travel times
fetched elsewhere (e.g. an OSRM ``table`` response; fetching is not done here).

* :func:`exact_tour` is Held-Karp dynamic programming, O(2^n n^2), vectorised
  with numpy per subset size; it is used for up to ``exact_max_stops`` stops.
* :func:`heuristic_tour` builds a nearest-neighbour tour and improves it by local
  search (asymmetric-safe 2-opt and Or-opt with segments of 1-3 stops, best
  improvement first), then iterated local search: ``kicks`` double-bridge
  perturbations (random restarts on small instances) from a seeded generator,
  keeping the best tour. About 35 ms for 60 stops.
* :func:`plan_shift_route` adds the shift: per-visit dwell time, a shift length,
  and visits that cannot fit are dropped lowest priority first, with a reason.

Edge cases:

>>> exact_tour(np.zeros((1, 1)))
Tour(order=(), cost=0.0, method='trivial')
>>> plan = plan_shift_route((570000.0, 207000.0), [], shift_minutes=60)
>>> plan.visits, plan.dropped, plan.total_minutes
((), (), 0.0)

One stop 5 km from base at 30 km/h: 10 minutes out, 20 minutes dwell, 10 back.

>>> plan = plan_shift_route(
...     (570000.0, 207000.0), [Stop("r1", (573000.0, 211000.0))], shift_minutes=60
... )
>>> plan.order, plan.travel_minutes, plan.total_minutes, plan.visits[0].arrive_minutes
(('r1',), 20.0, 40.0, 10.0)

The same stop with a 30-minute shift cannot be visited at all:

>>> plan_shift_route(
...     (570000.0, 207000.0), [Stop("r1", (573000.0, 211000.0))], shift_minutes=30
... ).dropped[0].reason
<DropReason.UNREACHABLE_IN_SHIFT: 'unreachable_in_shift'>
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    FloatMatrix = NDArray[np.float64]
    IntArray = NDArray[np.intp]

__all__ = [
    "DropReason",
    "DroppedVisit",
    "RoutePlan",
    "RouteVisit",
    "Stop",
    "Tour",
    "exact_tour",
    "heuristic_tour",
    "nearest_neighbour_tour",
    "plan_shift_route",
    "solve_tour",
    "straight_line_matrix_m",
    "tour_cost",
    "travel_minutes_from_distance",
]

EXACT_LIMIT_STOPS = 16
"""Held-Karp refuses more stops than this (2^16 x 16 states is already ~8 MB)."""

_REL_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class Tour:
    """A closed tour: base (node 0), ``order`` (node indices 1..n), back to base."""

    order: tuple[int, ...]
    cost: float
    method: str


@dataclass(frozen=True, slots=True)
class Stop:
    """One visit to place in a shift; a higher ``priority`` is kept longer."""

    id: str
    location_bng: tuple[float, float]
    priority: float = 0.0
    dwell_minutes: float | None = None


class DropReason(StrEnum):
    """Why a visit is not in the shift's route."""

    UNREACHABLE_IN_SHIFT = "unreachable_in_shift"
    """Base -> stop -> base plus dwell is longer than the whole shift."""
    SHIFT_FULL = "shift_full"
    """It does not fit alongside the higher-priority visits that were kept."""


@dataclass(frozen=True, slots=True)
class RouteVisit:
    """A kept visit with its times in minutes from the start of the shift."""

    stop_id: str
    arrive_minutes: float
    leave_minutes: float


@dataclass(frozen=True, slots=True)
class DroppedVisit:
    """A visit left out of the route, with the reason."""

    stop_id: str
    priority: float
    reason: DropReason


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The route of one shift: visits in order, what was dropped and the times."""

    visits: tuple[RouteVisit, ...]
    dropped: tuple[DroppedVisit, ...]
    travel_minutes: float
    dwell_minutes: float
    shift_minutes: float
    method: str

    @property
    def total_minutes(self) -> float:
        """Travel plus dwell, base to base."""
        return self.travel_minutes + self.dwell_minutes

    @property
    def order(self) -> tuple[str, ...]:
        """Stop ids in visiting order."""
        return tuple(v.stop_id for v in self.visits)


# --- matrices ---------------------------------------------------------------


def straight_line_matrix_m(points_bng: ArrayLike) -> FloatMatrix:
    """Pairwise straight-line distances in metres between (easting, northing) points.

    >>> straight_line_matrix_m([(0.0, 0.0), (3.0, 4.0)]).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    pts = np.asarray(points_bng, dtype=np.float64).reshape(-1, 2)
    diff = pts[:, None, :] - pts[None, :, :]
    return np.asarray(np.hypot(diff[..., 0], diff[..., 1]), dtype=np.float64)


def travel_minutes_from_distance(
    distance_m: ArrayLike, *, speed_kmh: float, detour_factor: float = 1.0
) -> FloatMatrix:
    """Minutes to cover ``distance_m`` at ``speed_kmh``, times a road ``detour_factor``.

    >>> travel_minutes_from_distance([[0.0, 5000.0]], speed_kmh=30.0).tolist()
    [[0.0, 10.0]]
    """
    if speed_kmh <= 0 or detour_factor <= 0:
        raise ValueError("speed_kmh and detour_factor must be positive")
    dist = np.asarray(distance_m, dtype=np.float64)
    return np.asarray(dist * detour_factor * 60.0 / (speed_kmh * 1000.0), dtype=np.float64)


def _check_matrix(cost: ArrayLike) -> FloatMatrix:
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"cost matrix must be square and non-empty, got shape {c.shape}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("cost matrix entries must be finite and non-negative")
    return c


def tour_cost(cost: ArrayLike, order: Sequence[int]) -> float:
    """Cost of base -> ``order`` -> base.

    >>> tour_cost([[0, 1, 9], [9, 0, 2], [3, 9, 0]], [1, 2])
    6.0
    """
    if len(order) == 0:
        return 0.0
    c = np.asarray(cost, dtype=np.float64)
    nodes = np.asarray([0, *order, 0], dtype=np.intp)
    return float(c[nodes[:-1], nodes[1:]].sum())


def _eps(c: FloatMatrix) -> float:
    return float(c.max(initial=0.0)) * float(c.shape[0]) * _REL_EPS + 1e-12


# --- exact ------------------------------------------------------------------


def _popcounts(n: int) -> IntArray:
    masks = np.arange(1 << n, dtype=np.intp)
    pop = np.zeros_like(masks)
    for bit in range(n):
        pop += (masks >> bit) & 1
    return pop


def _held_karp_tables(c: FloatMatrix) -> tuple[FloatMatrix, IntArray]:
    """dp[mask, j]: cheapest path base -> all stops in mask, ending at stop j (0-based)."""
    n = c.shape[0] - 1
    dp = np.full((1 << n, n), np.inf)
    parent = np.full((1 << n, n), -1, dtype=np.intp)
    for j in range(n):
        dp[1 << j, j] = c[0, j + 1]
    masks = np.arange(1 << n, dtype=np.intp)
    pop = _popcounts(n)
    inner = c[1:, 1:]
    for size in range(2, n + 1):
        layer = masks[pop == size]
        for j in range(n):
            with_j = layer[(layer >> j) & 1 == 1]
            cand = dp[with_j ^ (1 << j)] + inner[:, j]
            best = np.argmin(cand, axis=1)
            dp[with_j, j] = cand[np.arange(with_j.size), best]
            parent[with_j, j] = best
    return dp, parent


def exact_tour(cost: ArrayLike) -> Tour:
    """The optimal tour by Held-Karp dynamic programming (at most 16 stops).

    Ties are broken towards lower node indices, so the result is deterministic.

    >>> c = [[0, 1, 9, 9], [9, 0, 1, 9], [9, 9, 0, 1], [1, 9, 9, 0]]
    >>> exact_tour(c)
    Tour(order=(1, 2, 3), cost=4.0, method='exact')
    """
    c = _check_matrix(cost)
    n = c.shape[0] - 1
    if n > EXACT_LIMIT_STOPS:
        raise ValueError(f"exact_tour handles at most {EXACT_LIMIT_STOPS} stops, got {n}")
    if n <= 1:
        return Tour(tuple(range(1, n + 1)), tour_cost(c, range(1, n + 1)), "trivial")
    dp, parent = _held_karp_tables(c)
    full = (1 << n) - 1
    last = int(np.argmin(dp[full] + c[1:, 0]))
    order: list[int] = []
    mask = full
    while last >= 0:
        order.append(last + 1)
        mask, last = mask ^ (1 << last), int(parent[mask, last])
    order.reverse()
    return Tour(tuple(order), tour_cost(c, order), "exact")


# --- construction -----------------------------------------------------------


def nearest_neighbour_tour(cost: ArrayLike) -> Tour:
    """From the base, always go to the nearest unvisited stop (ties: lowest index).

    >>> nearest_neighbour_tour([[0, 1, 2], [1, 0, 5], [2, 5, 0]]).order
    (1, 2)
    """
    c = _check_matrix(cost)
    n = c.shape[0] - 1
    unvisited = np.ones(n + 1, dtype=bool)
    unvisited[0] = False
    current, order = 0, []
    for _ in range(n):
        row = np.where(unvisited, c[current], np.inf)
        current = int(np.argmin(row))
        unvisited[current] = False
        order.append(current)
    return Tour(tuple(order), tour_cost(c, order), "nearest_neighbour")


# --- local search -----------------------------------------------------------


def _prefix_costs(c: FloatMatrix, t: IntArray) -> tuple[FloatMatrix, FloatMatrix, FloatMatrix]:
    """Forward edge costs of the cyclic tour ``t`` and prefix sums forward/backward."""
    nxt = np.concatenate([t[1:], t[:1]])
    fwd = c[t, nxt]
    zero = np.zeros(1)
    return fwd, np.concatenate([zero, np.cumsum(fwd)]), np.concatenate([zero, np.cumsum(c[nxt, t])])


def _best_two_opt(c: FloatMatrix, t: IntArray) -> tuple[float, int, int]:
    """Best move reversing positions i+1..j of the cyclic tour (asymmetric-safe)."""
    m = t.size
    fwd, f, b = _prefix_costs(c, t)
    nxt_pos = (np.arange(m) + 1) % m
    tn = t[nxt_pos]
    i = np.arange(m)[:, None]
    j = np.arange(m)[None, :]
    internal = (b[None, :m] - b[nxt_pos][:, None]) - (f[None, :m] - f[nxt_pos][:, None])
    delta = c[t[:, None], t[None, :]] + c[tn[:, None], tn[None, :]]
    delta = delta - fwd[:, None] - fwd[None, :] + internal
    delta = np.where(j >= i + 2, delta, np.inf)
    flat = int(np.argmin(delta))
    bi, bj = divmod(flat, m)
    return float(delta[bi, bj]), bi, bj


def _best_or_opt_len(c: FloatMatrix, t: IntArray, seg_len: int) -> tuple[float, int, int, bool]:
    """Best move of a segment of ``seg_len`` stops to another edge, maybe reversed."""
    m = t.size
    fwd, f, b = _prefix_costs(c, t)
    starts = np.arange(1, m - seg_len + 1)
    ends = starts + seg_len - 1
    s0, sl = t[starts], t[ends]
    prv, nx = t[starts - 1], t[(ends + 1) % m]
    gain = c[prv, s0] + c[sl, nx] - c[prv, nx]
    tn = np.concatenate([t[1:], t[:1]])
    p = np.arange(m)[None, :]
    ins_fwd = c[t[None, :], s0[:, None]] + c[sl[:, None], tn[None, :]] - fwd[None, :]
    rev_extra = (b[ends] - b[starts]) - (f[ends] - f[starts])
    ins_rev = c[t[None, :], sl[:, None]] + c[s0[:, None], tn[None, :]] - fwd[None, :]
    ins_rev = ins_rev + rev_extra[:, None]
    invalid = (p >= starts[:, None] - 1) & (p <= ends[:, None])
    d_fwd = np.where(invalid, np.inf, ins_fwd - gain[:, None])
    d_rev = np.where(invalid, np.inf, ins_rev - gain[:, None])
    reverse = bool(d_rev.min() < d_fwd.min())
    delta = d_rev if reverse else d_fwd
    row, col = divmod(int(np.argmin(delta)), m)
    return float(delta[row, col]), int(starts[row]), col, reverse


def _apply_or_opt(t: IntArray, start: int, seg_len: int, after: int, reverse: bool) -> IntArray:
    seg = t[start : start + seg_len]
    if reverse:
        seg = seg[::-1]
    rest = np.concatenate([t[:start], t[start + seg_len :]])
    q = after if after < start else after - seg_len
    return np.concatenate([rest[: q + 1], seg, rest[q + 1 :]])


def _best_or_opt(c: FloatMatrix, t: IntArray) -> tuple[float, IntArray | None]:
    best_delta, best = 0.0, None
    for seg_len in range(1, min(3, t.size - 2) + 1):
        delta, start, after, reverse = _best_or_opt_len(c, t, seg_len)
        if delta < best_delta:
            best_delta, best = delta, (start, seg_len, after, reverse)
    if best is None:
        return 0.0, None
    return best_delta, _apply_or_opt(t, *best)


def _local_search(c: FloatMatrix, t: IntArray, eps: float) -> IntArray:
    """Best-improvement 2-opt until stuck, then one Or-opt move; repeat until neither helps.

    2-opt is evaluated first because it is several times cheaper than Or-opt.
    """
    if t.size < 4:
        return t
    for _ in range(20 * t.size * t.size):
        d2, i, j = _best_two_opt(c, t)
        if d2 < -eps:
            t = np.concatenate([t[: i + 1], t[i + 1 : j + 1][::-1], t[j + 1 :]])
            continue
        d3, moved = _best_or_opt(c, t)
        if d3 >= -eps or moved is None:
            break
        t = moved
    return t


def _double_bridge(t: IntArray, rng: np.random.Generator) -> IntArray:
    """Cut the stops (not the base) into A B C D and reconnect as A C B D."""
    n = t.size - 1
    if n < 4:
        return np.concatenate([t[:1], rng.permutation(t[1:])])
    a, b, c = np.sort(rng.choice(np.arange(1, n), size=3, replace=False)) + 1
    return np.concatenate([t[:a], t[b:c], t[a:b], t[c:]])


def _cycle_cost(c: FloatMatrix, t: IntArray) -> float:
    return float(c[t, np.roll(t, -1)].sum())


def _perturb(t: IntArray, rng: np.random.Generator, *, restart: bool) -> IntArray:
    """A double-bridge kick, or a fresh random tour when ``restart``."""
    if restart:
        return np.concatenate([t[:1], rng.permutation(t[1:])])
    return _double_bridge(t, rng)


def heuristic_tour(
    cost: ArrayLike, *, seed: int = 0, kicks: int | None = None, restart_max_stops: int = 15
) -> Tour:
    """Iterated local search from the nearest-neighbour tour, seeded and deterministic.

    Local search is 2-opt and Or-opt (see the module docstring). Then ``kicks``
    times (default ``max(30, n)`` for ``n`` stops) the current tour is
    perturbed by a double-bridge move and locally re-optimised; improvements are
    kept. For at most ``restart_max_stops`` stops every third kick is a restart
    from a random tour instead: there double bridges are too coarse to diversify
    and restarts are cheap. Instances of 3 stops or fewer are solved exactly.

    >>> c = [[0, 1, 9, 9], [9, 0, 1, 9], [9, 9, 0, 1], [1, 9, 9, 0]]
    >>> heuristic_tour(c).order
    (1, 2, 3)
    """
    c = _check_matrix(cost)
    n = c.shape[0] - 1
    if n <= 3:
        return exact_tour(c)
    eps = _eps(c)
    start = np.asarray([0, *nearest_neighbour_tour(c).order], dtype=np.intp)
    best = current = _local_search(c, start, eps)
    best_cost = current_cost = _cycle_cost(c, best)
    rng = np.random.default_rng(seed)
    for k in range(max(30, n) if kicks is None else kicks):
        restart = n <= restart_max_stops and k % 3 == 2
        cand = _local_search(c, _perturb(current, rng, restart=restart), eps)
        cand_cost = _cycle_cost(c, cand)
        if restart or cand_cost < current_cost - eps:
            current, current_cost = cand, cand_cost
        if current_cost < best_cost - eps:
            best, best_cost = current, current_cost
    return Tour(tuple(int(v) for v in best[1:]), best_cost, "heuristic")


def solve_tour(cost: ArrayLike, *, exact_max_stops: int = 10, seed: int = 0) -> Tour:
    """Exact for at most ``exact_max_stops`` stops, otherwise :func:`heuristic_tour`.

    >>> solve_tour([[0, 2], [3, 0]])
    Tour(order=(1,), cost=5.0, method='trivial')
    """
    c = _check_matrix(cost)
    if c.shape[0] - 1 <= min(exact_max_stops, EXACT_LIMIT_STOPS):
        return exact_tour(c)
    return heuristic_tour(c, seed=seed)


# --- shift planning ---------------------------------------------------------


@dataclass(slots=True)
class _ShiftProblem:
    """Travel minutes (node 0 = base), dwell and priority per node, shift length."""

    c: FloatMatrix
    dwell: FloatMatrix
    stops: Sequence[Stop]
    shift_minutes: float
    exact_max_stops: int
    seed: int

    def minutes(self, order: Sequence[int]) -> float:
        return tour_cost(self.c, order) + float(self.dwell[list(order)].sum())

    def solve(self, nodes: Sequence[int]) -> list[int]:
        sub = [0, *nodes]
        tour = solve_tour(
            self.c[np.ix_(sub, sub)], exact_max_stops=self.exact_max_stops, seed=self.seed
        )
        return [sub[k] for k in tour.order]

    def improve(self, order: Sequence[int]) -> list[int]:
        sub = np.asarray([0, *order], dtype=np.intp)
        c = self.c[np.ix_(sub, sub)]
        t = _local_search(c, np.arange(sub.size, dtype=np.intp), _eps(c))
        return [int(sub[k]) for k in t[1:]]


def _travel_matrix(
    base_bng: tuple[float, float],
    stops: Sequence[Stop],
    matrix: ArrayLike | None,
    *,
    speed_kmh: float,
    detour_factor: float,
) -> FloatMatrix:
    if matrix is not None:
        c = _check_matrix(matrix)
        if c.shape[0] != len(stops) + 1:
            raise ValueError(f"travel matrix must be {len(stops) + 1} square, got {c.shape}")
        return c
    points = [base_bng, *(s.location_bng for s in stops)]
    dist = straight_line_matrix_m(points)
    return travel_minutes_from_distance(dist, speed_kmh=speed_kmh, detour_factor=detour_factor)


def _removal_saving(p: _ShiftProblem, order: list[int], pos: int) -> float:
    prev = order[pos - 1] if pos > 0 else 0
    nxt = order[pos + 1] if pos + 1 < len(order) else 0
    node = order[pos]
    return float(p.c[prev, node] + p.c[node, nxt] - p.c[prev, nxt] + p.dwell[node])


def _drop_until_fits(p: _ShiftProblem, order: list[int]) -> tuple[list[int], list[int]]:
    """Drop lowest priority first (ties: biggest time saving, then id) until it fits."""
    dropped: list[int] = []
    while order and p.minutes(order) > p.shift_minutes:
        pos = min(
            range(len(order)),
            key=lambda k: (
                p.stops[order[k] - 1].priority,
                -_removal_saving(p, order, k),
                p.stops[order[k] - 1].id,
            ),
        )
        dropped.append(order.pop(pos))
        order = p.improve(order)
    return order, dropped


def _cheapest_insertion(p: _ShiftProblem, order: list[int], node: int) -> list[int]:
    best_pos, best_delta = 0, math.inf
    for pos in range(len(order) + 1):
        prev = order[pos - 1] if pos > 0 else 0
        nxt = order[pos] if pos < len(order) else 0
        delta = float(p.c[prev, node] + p.c[node, nxt] - p.c[prev, nxt])
        if delta < best_delta:
            best_pos, best_delta = pos, delta
    return [*order[:best_pos], node, *order[best_pos:]]


def _reinsert(
    p: _ShiftProblem, order: list[int], dropped: list[int]
) -> tuple[list[int], list[int]]:
    """Offer dropped visits back, highest priority first, where they still fit."""
    still_dropped: list[int] = []
    for node in sorted(dropped, key=lambda k: (-p.stops[k - 1].priority, p.stops[k - 1].id)):
        cand = p.improve(_cheapest_insertion(p, order, node))
        if p.minutes(cand) <= p.shift_minutes:
            order = cand
        else:
            still_dropped.append(node)
    return order, still_dropped


def _best_of(p: _ShiftProblem, *orders: list[int]) -> list[int]:
    return min(orders, key=lambda o: tour_cost(p.c, o))


def _build_plan(
    p: _ShiftProblem, order: list[int], dropped: list[tuple[int, DropReason]], method: str
) -> RoutePlan:
    visits, clock, prev = [], 0.0, 0
    for node in order:
        arrive = clock + float(p.c[prev, node])
        clock = arrive + float(p.dwell[node])
        visits.append(RouteVisit(p.stops[node - 1].id, arrive, clock))
        prev = node
    gone = tuple(
        DroppedVisit(p.stops[k - 1].id, p.stops[k - 1].priority, why)
        for k, why in sorted(dropped, key=lambda d: (p.stops[d[0] - 1].priority, d[0]))
    )
    return RoutePlan(
        visits=tuple(visits),
        dropped=gone,
        travel_minutes=tour_cost(p.c, order),
        dwell_minutes=float(p.dwell[order].sum()) if order else 0.0,
        shift_minutes=p.shift_minutes,
        method=method,
    )


def plan_shift_route(
    base_bng: tuple[float, float],
    stops: Sequence[Stop],
    *,
    shift_minutes: float,
    dwell_minutes: float = 20.0,
    speed_kmh: float = 30.0,
    detour_factor: float = 1.0,
    travel_minutes_matrix: ArrayLike | None = None,
    exact_max_stops: int = 10,
    seed: int = 0,
) -> RoutePlan:
    """Plan one shift: a short closed tour from ``base_bng`` that fits ``shift_minutes``.

    Travel minutes come from ``travel_minutes_matrix`` when given (node 0 is the
    base, node ``i + 1`` is ``stops[i]``; e.g. road times from an OSRM server),
    otherwise from straight-line BNG distance times ``detour_factor`` at
    ``speed_kmh``. Each visit takes its own ``dwell_minutes`` or the default.

    Visits that cannot be reached and left within the shift even alone are
    dropped first (``UNREACHABLE_IN_SHIFT``). If the rest does not fit, the
    lowest-priority visit is dropped (ties: the one whose removal saves most
    time, then by id) and the tour re-optimised, until it fits
    (``SHIFT_FULL``). Finally dropped visits are offered back, highest priority
    first, wherever they still fit.
    """
    if shift_minutes < 0 or dwell_minutes < 0:
        raise ValueError("shift_minutes and dwell_minutes must be non-negative")
    c = _travel_matrix(
        base_bng, stops, travel_minutes_matrix, speed_kmh=speed_kmh, detour_factor=detour_factor
    )
    dwell = np.asarray(
        [0.0, *(dwell_minutes if s.dwell_minutes is None else s.dwell_minutes for s in stops)]
    )
    p = _ShiftProblem(c, dwell, stops, float(shift_minutes), exact_max_stops, seed)
    nodes = range(1, len(stops) + 1)
    alone = [k for k in nodes if p.minutes([k]) > p.shift_minutes]
    order = p.solve([k for k in nodes if k not in set(alone)])
    order, full = _drop_until_fits(p, order)
    if full:
        order, full = _reinsert(p, _best_of(p, order, p.solve(order)), full)
        order = _best_of(p, order, p.solve(order))
    method = "exact" if len(order) <= exact_max_stops else "heuristic"
    dropped = [(k, DropReason.UNREACHABLE_IN_SHIFT) for k in alone]
    dropped += [(k, DropReason.SHIFT_FULL) for k in full]
    return _build_plan(p, order, dropped, method)
