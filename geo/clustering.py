"""Hotspot clustering: DBSCAN semantics on British National Grid metres (EPSG:27700).

Pure: numpy arrays in, labels out. Coordinates are ``(n, 2)`` float arrays of
(easting, northing) metres; times are **float seconds since the Unix epoch (UTC)**
(convert ``datetime64`` values with :func:`epoch_seconds`).

Semantics are scikit-learn's ``DBSCAN(eps, min_samples, metric="euclidean")``:

* ``q`` is a neighbour of ``p`` when ``(px - qx)**2 + (py - qy)**2 <= eps_m**2``; a point is
  its own neighbour;
* a point is *core* when the summed weight of its neighbours (itself included) is
  ``>= min_samples`` (weight 1 each unless ``sample_weight`` is given);
* cores within ``eps_m`` of each other share a cluster; a non-core point within ``eps_m`` of a
  core is a *border* point and joins the cluster of its **nearest** core (ties: the lower
  label); any other point is noise (label ``-1``);
* clusters are numbered ``0, 1, ...`` in the order of their lowest-index core point, so core
  labels are exactly scikit-learn's. Border points within ``eps_m`` of cores of two clusters
  are the one place where scikit-learn's answer depends on input order; ours does not.

scikit-learn is only the reference of the tests, never imported here. Agreement is exact for
integer-metre coordinates and unit or dyadic weights (such as half-lives in whole steps);
with arbitrary floats the two can only differ when a squared distance lies within rounding
of ``eps_m**2`` or a neighbourhood weight within rounding of ``min_samples``. Each layer
(street count, public reports, ...) is clustered by calling these functions per layer.

The batch engine hashes points into a grid of cells of side ``eps_m / sqrt(2)``: any two
points of one cell are neighbours, so a cell holding ``min_samples`` of weight makes all of
its points core without measuring a distance, and all cores of one cell share a cluster.
Only points of lighter cells are counted pair by pair (in bounded chunks), and clusters are
the connected components of cells linked by at least one close pair of cores.

Points exactly ``eps_m`` apart are neighbours (200 m and 400 m are core, 0 m and 401 m are
border points, 5 km is noise); every copy of a duplicated point counts:

>>> xy = np.array([[0.0, 0.0], [200.0, 0.0], [400.0, 0.0], [401.0, 0.0], [5000.0, 0.0]])
>>> result = dbscan(xy, eps_m=200.0, min_samples=3)
>>> result.labels.tolist(), result.core.tolist()
([0, 0, 0, 0, -1], [False, True, True, False, False])
>>> dbscan(np.array([[7.0, 7.0]] * 3), eps_m=1.0, min_samples=3).labels.tolist()
[0, 0, 0]

With ``min_samples=1`` every point is core; an empty input gives empty labels:

>>> dbscan(xy, eps_m=200.0, min_samples=1).labels.tolist()
[0, 0, 0, 0, 1]
>>> dbscan(np.empty((0, 2)), eps_m=200.0, min_samples=3).n_clusters
0

Only points inside the rolling window ``now_s - window_days < t_s <= now_s`` take part:

>>> day = SECONDS_PER_DAY
>>> t = np.array([0.0, 0.0, 0.0, 0.0, 0.0]) + 100 * day
>>> cluster_window(xy, t, now_s=100 * day, eps_m=200.0, min_samples=3).labels.tolist()
[0, 0, 0, 0, -1]
>>> empty = cluster_window(xy, t, now_s=200 * day, eps_m=200.0, min_samples=3)
>>> empty.labels.tolist(), int(empty.in_window.sum())
([-1, -1, -1, -1, -1], 0)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
_T = TypeVar("_T", bound=np.generic)

SECONDS_PER_DAY: Final = 86_400.0
NOISE: Final = -1

#: Cell side as a fraction of eps: a hair under 1/sqrt(2) so that two points of one cell are
#: neighbours even after rounding of the cell assignment and of the squared distance.
_CELL_FRACTION: Final = (1.0 - 1e-9) / math.sqrt(2.0)
#: Relative slack when discarding cells as too far: never discard a possible neighbour.
_PRUNE_SLACK: Final = 1.0 + 1e-7
#: Candidate pairs measured per vectorised chunk (bounds memory to ~100 MB per chunk).
_PAIR_BUDGET: Final = 2_000_000
#: A dense key -> cell table is used when the key span is at most this many entries, or
#: this many per occupied cell (binary search over the occupied keys otherwise).
_TABLE_MIN: Final = 1 << 20
_TABLE_PER_KEY: Final = 16
#: Offsets of the cells that may hold an eps-neighbour of a point (cell side ~ eps/sqrt 2).
_OFFSETS: Final = tuple((di, dj) for di in range(-2, 3) for dj in range(-2, 3))
_FORWARD_OFFSETS: Final = tuple((di, dj) for di, dj in _OFFSETS if (di, dj) > (0, 0))
#: Eight compass directions; extreme points of a cell along each one link cells cheaply.
_DIRECTIONS: Final = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


@dataclass(frozen=True, slots=True, eq=False)
class Clustering:
    """Result of :func:`dbscan`, one entry per input point.

    ``labels``: cluster number or ``-1`` for noise. ``core``: core-point flags.
    ``neighbourhood_weight``: summed weight of the eps-neighbourhood; exact for points of
    light cells, a lower bound already ``>= min_samples`` for points of dense cells.
    """

    labels: IntArray
    core: BoolArray
    neighbourhood_weight: FloatArray

    @property
    def n_clusters(self) -> int:
        """Number of clusters (labels run from 0 to ``n_clusters - 1``)."""
        return int(self.labels.max()) + 1 if self.labels.size else 0


@dataclass(frozen=True, slots=True, eq=False)
class WindowClustering:
    """Result of :func:`cluster_window`, one entry per input point.

    Points outside the window have label ``-1``, ``core`` False and ``weight`` 0.
    """

    labels: IntArray
    core: BoolArray
    in_window: BoolArray
    weight: FloatArray

    @property
    def n_clusters(self) -> int:
        """Number of clusters (labels run from 0 to ``n_clusters - 1``)."""
        return int(self.labels.max()) + 1 if self.labels.size else 0


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """One cluster at a glance: size, centroid and convex hull in BNG, activity span."""

    member_count: int
    centroid_bng: tuple[float, float]
    hull_bng: BaseGeometry
    first_seen_s: float
    last_seen_s: float


# --------------------------------------------------------------------------- public API


def epoch_seconds(t: ArrayLike) -> FloatArray:
    """Times as float epoch seconds; ``datetime64`` values are converted, numbers kept.

    >>> epoch_seconds(np.array(["1970-01-02T00:00:01"], dtype="datetime64[s]")).tolist()
    [86401.0]
    >>> epoch_seconds([1.5]).tolist()
    [1.5]
    """
    arr = np.asarray(t)
    if np.issubdtype(arr.dtype, np.datetime64):
        delta = arr.astype("datetime64[us]") - np.datetime64(0, "us")
        return np.asarray(delta / np.timedelta64(1, "s"), dtype=np.float64)
    return np.asarray(arr, dtype=np.float64)


def window_mask(t_s: ArrayLike, *, now_s: float, window_days: float = 28.0) -> BoolArray:
    """Points inside the rolling window ``now_s - window_days < t_s <= now_s``.

    >>> window_mask([0.0, 1.0, 2.0, 3.0], now_s=2.0, window_days=1 / SECONDS_PER_DAY).tolist()
    [False, False, True, False]
    """
    t = epoch_seconds(t_s)
    return np.asarray((t > now_s - window_days * SECONDS_PER_DAY) & (t <= now_s))


def recency_weights(t_s: ArrayLike, *, now_s: float, half_life_days: float) -> FloatArray:
    """Exponential recency weight ``0.5 ** (age / half_life)``: 1 now, 0.5 one half-life ago.

    >>> recency_weights([10 * SECONDS_PER_DAY, 9 * SECONDS_PER_DAY, 8 * SECONDS_PER_DAY],
    ...                 now_s=10 * SECONDS_PER_DAY, half_life_days=1.0).tolist()
    [1.0, 0.5, 0.25]
    """
    if not half_life_days > 0:
        raise ValueError("half_life_days must be positive")
    age_days = (now_s - epoch_seconds(t_s)) / SECONDS_PER_DAY
    return np.asarray(np.exp2(-age_days / half_life_days), dtype=np.float64)


def dbscan(
    xy_bng: ArrayLike,
    *,
    eps_m: float = 200.0,
    min_samples: int = 5,
    sample_weight: ArrayLike | None = None,
) -> Clustering:
    """DBSCAN of ``(n, 2)`` BNG points; equal to scikit-learn's (see the module docstring).

    ``sample_weight`` (non-negative, default 1 each) is summed over a neighbourhood and
    compared with ``min_samples``, as scikit-learn's ``sample_weight``.
    """
    xy = _as_xy(xy_bng)
    weight = _as_weights(sample_weight, len(xy))
    _check_parameters(eps_m, min_samples)
    if len(xy) == 0:
        return Clustering(np.empty(0, np.int64), np.empty(0, np.bool_), np.empty(0))
    grid = _Grid.build(xy, eps_m)
    nsum_sorted, core_sorted = _core_points(grid, weight[grid.order], float(min_samples))
    comp_sorted = _core_components(grid, core_sorted)
    labels_sorted = _number_clusters(grid, comp_sorted)
    _attach_borders(grid, core_sorted, labels_sorted)
    labels = np.empty(len(xy), np.int64)
    labels[grid.order] = labels_sorted
    core = np.empty(len(xy), np.bool_)
    core[grid.order] = core_sorted
    nsum = np.empty(len(xy))
    nsum[grid.order] = nsum_sorted
    return Clustering(labels, core, nsum)


def cluster_window(
    xy_bng: ArrayLike,
    t_s: ArrayLike,
    *,
    now_s: float,
    eps_m: float = 200.0,
    min_samples: int = 5,
    window_days: float = 28.0,
    half_life_days: float | None = None,
) -> WindowClustering:
    """:func:`dbscan` of the points inside the window ending at ``now_s``.

    With ``half_life_days`` each point weighs :func:`recency_weights` (a report from one
    half-life ago counts half); without it every point in the window weighs 1.
    """
    xy = _as_xy(xy_bng)
    t = epoch_seconds(t_s)
    if t.shape != (len(xy),):
        raise ValueError("t_s must hold one time per point")
    inside = window_mask(t, now_s=now_s, window_days=window_days)
    weight = np.zeros(len(xy))
    weight[inside] = (
        1.0
        if half_life_days is None
        else recency_weights(t[inside], now_s=now_s, half_life_days=half_life_days)
    )
    sub = dbscan(xy[inside], eps_m=eps_m, min_samples=min_samples, sample_weight=weight[inside])
    labels = np.full(len(xy), NOISE, np.int64)
    labels[inside] = sub.labels
    core = np.zeros(len(xy), np.bool_)
    core[inside] = sub.core
    return WindowClustering(labels, core, inside, weight)


def summarise_cluster(xy_bng: ArrayLike, t_s: ArrayLike) -> ClusterSummary:
    """Summary of one cluster's members: count, centroid, convex hull (BNG), first/last time.

    The hull is a Point for one distinct location, a LineString for collinear members.

    >>> s = summarise_cluster([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], [30.0, 10.0, 20.0])
    >>> s.member_count, s.centroid_bng, s.hull_bng.geom_type, s.hull_bng.area
    (3, (1.3333333333333333, 1.3333333333333333), 'Polygon', 8.0)
    >>> s.first_seen_s, s.last_seen_s
    (10.0, 30.0)
    >>> summarise_cluster([[1.0, 2.0], [1.0, 2.0]], [5.0, 5.0]).hull_bng.wkt
    'POINT (1 2)'
    """
    xy = _as_xy(xy_bng)
    t = epoch_seconds(t_s)
    if len(xy) == 0 or t.shape != (len(xy),):
        raise ValueError("a cluster needs at least one member and one time per member")
    hull: BaseGeometry = shapely.multipoints(xy).convex_hull
    centroid = xy.mean(axis=0)
    return ClusterSummary(
        member_count=len(xy),
        centroid_bng=(float(centroid[0]), float(centroid[1])),
        hull_bng=hull,
        first_seen_s=float(t.min()),
        last_seen_s=float(t.max()),
    )


def summarise_clusters(
    xy_bng: ArrayLike, t_s: ArrayLike, labels: ArrayLike
) -> dict[int, ClusterSummary]:
    """:func:`summarise_cluster` for every label ``>= 0``, keyed by label (noise skipped).

    >>> sums = summarise_clusters([[0.0, 0.0], [2.0, 0.0], [9.0, 9.0]], [1.0, 2.0, 3.0],
    ...                           [0, 0, -1])
    >>> list(sums), sums[0].centroid_bng
    ([0], (1.0, 0.0))
    """
    xy = _as_xy(xy_bng)
    t = epoch_seconds(t_s)
    lab = np.asarray(labels, dtype=np.int64)
    members = np.flatnonzero(lab >= 0)
    order = members[np.argsort(lab[members], kind="stable")]
    keys, starts = np.unique(lab[order], return_index=True)
    groups = np.split(order, starts[1:]) if len(order) else []
    return {
        int(k): summarise_cluster(xy[g], t[g]) for k, g in zip(keys.tolist(), groups, strict=True)
    }


# --------------------------------------------------------------------------- validation


def _as_xy(xy_bng: ArrayLike) -> FloatArray:
    xy = np.asarray(xy_bng, dtype=np.float64)
    if xy.size == 0:
        return np.empty((0, 2))
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError("coordinates must be an (n, 2) array of (easting, northing) metres")
    if not np.isfinite(xy).all():
        raise ValueError("coordinates must be finite")
    return xy


def _as_weights(sample_weight: ArrayLike | None, n: int) -> FloatArray:
    if sample_weight is None:
        return np.ones(n)
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.shape != (n,):
        raise ValueError("sample_weight must hold one weight per point")
    if not (np.isfinite(weight).all() and (weight >= 0).all()):
        raise ValueError("sample_weight must be finite and non-negative")
    return weight


def _check_parameters(eps_m: float, min_samples: int) -> None:
    if not (math.isfinite(eps_m) and eps_m > 0):
        raise ValueError("eps_m must be a positive number of metres")
    if int(min_samples) != min_samples or min_samples < 1:
        raise ValueError("min_samples must be a positive integer")


# --------------------------------------------------------------------------- grid


@dataclass(frozen=True, slots=True, eq=False)
class _Buckets:
    """Sorted positions grouped by grid cell: ``members[starts[c]:starts[c] + counts[c]]``.

    ``table`` maps every possible key to its bucket (``-1``: empty) when the key span is
    small enough; otherwise keys are looked up by binary search.
    """

    keys: IntArray
    starts: IntArray
    counts: IntArray
    members: IntArray
    table: NDArray[np.int32] | None

    @classmethod
    def group(cls, cell_keys: IntArray, members: IntArray, span: int) -> _Buckets:
        """Group ``members`` by their non-decreasing ``cell_keys`` (all below ``span``)."""
        starts = np.flatnonzero(np.diff(cell_keys, prepend=-1)).astype(np.int64)
        counts = np.diff(starts, append=len(cell_keys)).astype(np.int64)
        keys = cell_keys[starts]
        table = None
        if span <= max(_TABLE_MIN, _TABLE_PER_KEY * len(keys)) and len(keys) < 2**31:
            table = np.full(span, -1, np.int32)
            table[keys] = np.arange(len(keys), dtype=np.int32)
        return cls(keys, starts, counts, members, table)

    def find(self, keys: IntArray) -> IntArray:
        """Bucket index of each key, ``-1`` where no bucket has that key."""
        if self.table is not None:
            return self.table[keys].astype(np.int64)
        idx = np.searchsorted(self.keys, keys)
        idx[idx == len(self.keys)] = 0
        return np.where(self.keys[idx] == keys, idx, -1)


@dataclass(frozen=True, slots=True, eq=False)
class _Grid:
    """Points sorted by cell of side ``eps / sqrt 2`` (a hair less), keyed ``i * stride + j``."""

    eps_m: float
    cell_m: float
    stride: int
    span: int
    origin: FloatArray
    order: IntArray
    x: FloatArray
    y: FloatArray
    ij: IntArray
    keys: IntArray
    cells: _Buckets

    @classmethod
    def build(cls, xy: FloatArray, eps_m: float) -> _Grid:
        """Hash ``xy`` into cells and sort the points by cell."""
        cell_m = eps_m * _CELL_FRACTION
        origin = xy.min(axis=0)
        ij = np.floor((xy - origin) / cell_m).astype(np.int64) + 2
        stride = int(ij[:, 1].max()) + 3
        span = (int(ij[:, 0].max()) + 3) * stride  # every key of a cell +-2 from a point
        if span >= 2**62:
            raise ValueError("eps_m is too small for the extent of the points")
        keys = ij[:, 0] * stride + ij[:, 1]
        order = np.argsort(keys, kind="stable").astype(np.int64)
        keys = keys[order]
        cells = _Buckets.group(keys, np.arange(len(order), dtype=np.int64), span)
        x, y = (np.ascontiguousarray(xy[order, k]) for k in (0, 1))
        return cls(eps_m, cell_m, stride, span, origin, order, x, y, ij[order], keys, cells)

    @property
    def eps2(self) -> float:
        """Squared eps, the neighbour threshold on squared distances."""
        return self.eps_m * self.eps_m

    def within(self, p: IntArray, q: IntArray) -> tuple[BoolArray, FloatArray]:
        """Which pairs of sorted positions are neighbours, and their squared distances."""
        dx = self.x[p] - self.x[q]
        dy = self.y[p] - self.y[q]
        d2 = dx * dx + dy * dy
        return d2 <= self.eps2, d2

    def candidate_rows(
        self, points: IntArray, targets: _Buckets
    ) -> tuple[IntArray, IntArray, IntArray]:
        """(index into ``points``, bucket start, bucket size) of every target cell near enough.

        A cell is kept unless its rectangle is farther than eps from the point.
        """
        local = np.column_stack([self.x[points], self.y[points]])
        local -= (self.ij[points] - 2) * self.cell_m + self.origin
        limit = (self.eps_m * _PRUNE_SLACK) ** 2
        rows: list[tuple[IntArray, IntArray]] = []
        for di, dj in _OFFSETS:
            gap2 = _gap(local[:, 0], di, self.cell_m) ** 2 + _gap(local[:, 1], dj, self.cell_m) ** 2
            loc = np.flatnonzero(gap2 <= limit)
            bucket = targets.find(self.keys[points[loc]] + di * self.stride + dj)
            found = bucket >= 0
            rows.append((loc[found], bucket[found]))
        loc = np.concatenate([r[0] for r in rows])
        bucket = np.concatenate([r[1] for r in rows])
        return loc, targets.starts[bucket], targets.counts[bucket]


def _gap(u: FloatArray, d: int, cell_m: float) -> FloatArray:
    """Distance along one axis from offset ``u`` in ``[0, cell)`` to the cell ``d`` away."""
    if d == 0:
        return np.zeros_like(u)
    if d > 0:
        return np.maximum(d * cell_m - u, 0.0)
    return np.maximum(u - (d + 1) * cell_m, 0.0)


def _chunks(count: IntArray, budget: int = _PAIR_BUDGET) -> Iterator[slice]:
    """Consecutive row slices whose counts sum to about ``budget`` (at least one row each)."""
    csum = np.cumsum(count)
    start, done = 0, 0
    while start < len(count):
        stop = int(np.searchsorted(csum, done + budget, side="right"))
        stop = max(stop, start + 1)
        yield slice(start, stop)
        done = int(csum[stop - 1])
        start = stop


def _expand(rows: IntArray, start: IntArray, count: IntArray) -> tuple[IntArray, IntArray]:
    """Each row repeated ``count`` times, with ``start, start + 1, ...`` beside it."""
    total = int(count.sum())
    first = np.cumsum(count) - count
    offsets = np.arange(total, dtype=np.int64) - np.repeat(first, count)
    return np.repeat(rows, count), np.repeat(start, count) + offsets


def _near_pairs(
    grid: _Grid, points: IntArray, targets: _Buckets
) -> Iterator[tuple[IntArray, IntArray, FloatArray]]:
    """Chunks of (index into ``points``, target sorted position, squared distance) <= eps."""
    loc, start, count = grid.candidate_rows(points, targets)
    for part in _chunks(count):
        rows, slot = _expand(loc[part], start[part], count[part])
        q = targets.members[slot]
        ok, d2 = grid.within(points[rows], q)
        yield rows[ok], q[ok], d2[ok]


# --------------------------------------------------------------------------- core points


def _core_points(
    grid: _Grid, weight: FloatArray, min_samples: float
) -> tuple[FloatArray, BoolArray]:
    """Neighbourhood weight (a lower bound in dense cells) and core flag per sorted point."""
    cell_weight = np.add.reduceat(weight, grid.cells.starts)
    nsum = np.repeat(cell_weight, grid.cells.counts)
    light = np.flatnonzero(nsum < min_samples)
    exact = np.zeros(len(light))
    for rows, q, _ in _near_pairs(grid, light, grid.cells):
        exact += np.bincount(rows, weights=weight[q], minlength=len(light))
    nsum[light] = exact
    return nsum, nsum >= min_samples


# --------------------------------------------------------------------------- clusters


def _core_components(grid: _Grid, core: BoolArray) -> IntArray:
    """Component number per sorted point (``-1`` for non-core) of the core graph."""
    core_pos = np.flatnonzero(core)
    comp = np.full(len(core), NOISE, np.int64)
    if len(core_pos) == 0:
        return comp
    cells = _Buckets.group(grid.keys[core_pos], core_pos, grid.span)
    linker = _CellLinker.build(grid, cells)
    comp[core_pos] = np.repeat(linker.link(), cells.counts)
    return comp


@dataclass(frozen=True, slots=True, eq=False)
class _CellLinker:
    """Links cells holding cores when some pair of their cores are neighbours.

    Cheap tests first (the extreme cores of the two cells facing each other), then the
    64 pairs of extreme cores, then every pair of cores near the other cell's bounding
    box; each stage skips cell pairs already joined through others.
    """

    grid: _Grid
    cells: _Buckets
    box: FloatArray  # (n_cells, 4): xmin, ymin, xmax, ymax of the cell's cores
    extreme: IntArray  # (n_cells, 8): sorted position of the extreme core per direction
    pa: IntArray
    pb: IntArray
    direction: IntArray

    @classmethod
    def build(cls, grid: _Grid, cells: _Buckets) -> _CellLinker:
        """Candidate pairs of core cells that are within eps by bounding box."""
        x, y = grid.x[cells.members], grid.y[cells.members]
        box = np.column_stack(
            [
                np.minimum.reduceat(x, cells.starts),
                np.minimum.reduceat(y, cells.starts),
                np.maximum.reduceat(x, cells.starts),
                np.maximum.reduceat(y, cells.starts),
            ]
        )
        extreme = np.column_stack(
            [cells.members[_group_argmax(a * x + b * y, cells)] for a, b in _DIRECTIONS]
        )
        pa, pb, direction = _cell_pairs(grid, cells, box)
        return cls(grid, cells, box, extreme, pa, pb, direction)

    def link(self) -> IntArray:
        """Connected component of every cell."""
        n = len(self.cells.keys)
        edges: list[tuple[IntArray, IntArray]] = []
        pa, pb = self.pa, self.pb
        hit = self._facing_extremes_close()
        edges.append((pa[hit], pb[hit]))
        comp = _components(n, edges)
        todo = np.flatnonzero(~hit & (comp[pa] != comp[pb]))
        hit2 = self._any_extremes_close(todo)
        edges.append((pa[todo[hit2]], pb[todo[hit2]]))
        comp = _components(n, edges)
        todo = todo[~hit2]
        return self._link_exhaustively(todo[comp[pa[todo]] != comp[pb[todo]]], edges, comp)

    def _facing_extremes_close(self) -> BoolArray:
        p = self.extreme[self.pa, self.direction]
        q = self.extreme[self.pb, (self.direction + 4) % 8]
        return self.grid.within(p, q)[0]

    def _any_extremes_close(self, todo: IntArray) -> BoolArray:
        hit = np.zeros(len(todo), np.bool_)
        for part in _chunks(np.full(len(todo), 64, np.int64)):
            p = self.extreme[self.pa[todo[part]]][:, :, None]
            q = self.extreme[self.pb[todo[part]]][:, None, :]
            p, q = np.broadcast_arrays(p, q)
            close = self.grid.within(p.reshape(-1), q.reshape(-1))[0]
            hit[part] = close.reshape(-1, 64).any(axis=1)
        return hit

    def _link_exhaustively(
        self, todo: IntArray, edges: list[tuple[IntArray, IntArray]], comp: IntArray
    ) -> IntArray:
        """Every pair of cores near the other cell, in batches, re-joining between batches."""
        n = len(self.cells.keys)
        work = self.cells.counts[self.pa[todo]] + self.cells.counts[self.pb[todo]]
        todo = todo[np.argsort(work, kind="stable")]
        work = np.sort(work)
        for part in _chunks(work, budget=_PAIR_BUDGET // 4):
            batch = todo[part]
            batch = batch[comp[self.pa[batch]] != comp[self.pb[batch]]]
            if len(batch) == 0:
                continue
            hit = self._close_pair_exists(self.pa[batch], self.pb[batch])
            edges.append((self.pa[batch[hit]], self.pb[batch[hit]]))
            comp = _components(n, edges)
        return comp

    def _close_pair_exists(self, pa: IntArray, pb: IntArray) -> BoolArray:
        la, qa = self._members_near_box(pa, self.box[pb])
        lb, qb = self._members_near_box(pb, self.box[pa])
        count_b = np.bincount(lb, minlength=len(pa)).astype(np.int64)
        start_b = np.cumsum(count_b) - count_b
        found = np.zeros(len(pa), np.bool_)
        for part in _chunks(count_b[la]):
            rows, slot = _expand(
                np.arange(part.start, part.stop), start_b[la[part]], count_b[la[part]]
            )
            ok = self.grid.within(qa[rows], qb[slot])[0]
            found[la[rows[ok]]] = True
        return found

    def _members_near_box(self, cell: IntArray, box: FloatArray) -> tuple[IntArray, IntArray]:
        """(pair index, sorted position) of cores of ``cell`` within eps of ``box``."""
        pair, slot = _expand(
            np.arange(len(cell), dtype=np.int64), self.cells.starts[cell], self.cells.counts[cell]
        )
        pos = self.cells.members[slot]
        b = box[pair]
        gx = np.maximum(np.maximum(b[:, 0] - self.grid.x[pos], self.grid.x[pos] - b[:, 2]), 0.0)
        gy = np.maximum(np.maximum(b[:, 1] - self.grid.y[pos], self.grid.y[pos] - b[:, 3]), 0.0)
        near = gx * gx + gy * gy <= self.grid.eps2
        return pair[near], pos[near]


def _group_argmax(values: FloatArray, cells: _Buckets) -> IntArray:
    """Index (into ``values``) of the first maximum of every bucket."""
    top = np.repeat(np.maximum.reduceat(values, cells.starts), cells.counts)
    idx = np.where(values == top, np.arange(len(values)), len(values))
    return np.asarray(np.minimum.reduceat(idx, cells.starts), dtype=np.int64)


def _cell_pairs(
    grid: _Grid, cells: _Buckets, box: FloatArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Pairs of core cells (each once) whose core bounding boxes are within eps."""
    parts: list[tuple[IntArray, IntArray, IntArray]] = []
    for di, dj in _FORWARD_OFFSETS:
        b = cells.find(cells.keys + di * grid.stride + dj)
        a = np.flatnonzero(b >= 0)
        b = b[a]
        gx = np.maximum(np.maximum(box[b, 0] - box[a, 2], box[a, 0] - box[b, 2]), 0.0)
        gy = np.maximum(np.maximum(box[b, 1] - box[a, 3], box[a, 1] - box[b, 3]), 0.0)
        near = gx * gx + gy * gy <= grid.eps2
        direction = _DIRECTIONS.index((int(np.sign(di)), int(np.sign(dj))))
        parts.append((a[near], b[near], np.full(int(near.sum()), direction, np.int64)))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]


def _components(n: int, edges: Sequence[tuple[IntArray, IntArray]]) -> IntArray:
    """Connected components of ``n`` nodes joined by ``edges``."""
    a = np.concatenate([e[0] for e in edges]) if edges else np.empty(0, np.int64)
    b = np.concatenate([e[1] for e in edges]) if edges else np.empty(0, np.int64)
    graph = csr_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    return np.asarray(labels, dtype=np.int64)


def _number_clusters(grid: _Grid, comp_sorted: IntArray) -> IntArray:
    """Labels per sorted point: components renumbered by their lowest original core index."""
    n = len(comp_sorted)
    comp = np.empty(n, np.int64)
    comp[grid.order] = comp_sorted
    cores = np.flatnonzero(comp >= 0)
    if len(cores) == 0:
        return np.full(n, NOISE, np.int64)
    first = np.unique(comp[cores], return_index=True)[1]
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return np.where(comp_sorted >= 0, rank[np.maximum(comp_sorted, 0)], NOISE)


def _attach_borders(grid: _Grid, core: BoolArray, labels: IntArray) -> None:
    """Give every non-core point within eps of a core the label of its nearest core."""
    loose = np.flatnonzero(~core)
    core_pos = np.flatnonzero(core)
    if len(loose) == 0 or len(core_pos) == 0:
        return
    cores = _Buckets.group(grid.keys[core_pos], core_pos, grid.span)
    found = [(r, labels[q], d2) for r, q, d2 in _near_pairs(grid, loose, cores)]
    if not found:
        return
    rows = np.concatenate([f[0] for f in found])
    label = np.concatenate([f[1] for f in found])
    d2 = np.concatenate([f[2] for f in found])
    best = np.lexsort((label, d2, rows))
    rows, label = rows[best], label[best]
    first = np.ones(len(rows), np.bool_)
    first[1:] = rows[1:] != rows[:-1]
    labels[loose[rows[first]]] = label[first]


# --------------------------------------------------------------------------- incremental


class IncrementalDBSCAN:
    """Active points with a spatial grid; :meth:`insert` updates clusters locally.

    After any sequence of inserts the state equals :func:`dbscan` of the active points with
    their :attr:`weights` (same cores, same clusters; a border point near cores of two
    clusters keeps the cluster that first reached it). Removal and expiry rebuild the
    state with a full batch run (:meth:`recompute`, :meth:`remove`).

    With ``half_life_days`` weights are frozen as of the last :meth:`recompute` (``now_s``):
    an inserted point weighs ``0.5 ** (max(0, now_s - t_s) / half_life)``, 1 for a new report.
    Inserted points are not checked against the window; the next :meth:`recompute` expires
    them. Not thread-safe: callers serialise access (one writer).

    >>> inc = IncrementalDBSCAN(eps_m=200.0, min_samples=3)
    >>> [inc.insert(i, (100.0 * i, 0.0), t_s=0.0) for i in range(3)]
    [False, False, True]
    >>> inc.insert("far", (9000.0, 0.0), t_s=0.0), len(inc)
    (False, 4)
    >>> inc.clusters()
    {0: frozenset({0, 1, 2})}
    >>> inc.recompute(now_s=40 * SECONDS_PER_DAY).n_clusters, len(inc)
    (0, 0)
    """

    def __init__(
        self,
        *,
        eps_m: float = 200.0,
        min_samples: int = 5,
        window_days: float = 28.0,
        half_life_days: float | None = None,
    ) -> None:
        """An empty index; load points with :meth:`insert` or :meth:`load`."""
        _check_parameters(eps_m, min_samples)
        self.eps_m = float(eps_m)
        self.min_samples = int(min_samples)
        self.window_days = float(window_days)
        self.half_life_days = half_life_days
        self.now_s = -math.inf
        self._ids: list[Hashable] = []
        self._slot: dict[Hashable, int] = {}
        self._xy = np.empty((0, 2))
        self._t = np.empty(0)
        self._w = np.empty(0)
        self._nsum = np.empty(0)
        self._core = np.empty(0, np.bool_)
        self._node = np.empty(0, np.int64)
        self._parent: list[int] = []
        self._cells: dict[int, IntArray] = {}

    def __len__(self) -> int:
        """Number of active points."""
        return len(self._ids)

    # ---- queries

    @property
    def ids(self) -> tuple[Hashable, ...]:
        """Active point ids, in slot order (the order of every array below)."""
        return tuple(self._ids)

    @property
    def xy_bng(self) -> FloatArray:
        """Coordinates of the active points."""
        return self._xy[: len(self)].copy()

    @property
    def t_s(self) -> FloatArray:
        """Times of the active points."""
        return self._t[: len(self)].copy()

    @property
    def weights(self) -> FloatArray:
        """Weights of the active points (all 1 without ``half_life_days``)."""
        return self._w[: len(self)].copy()

    def clustering(self) -> Clustering:
        """Labels (numbered as :func:`dbscan` numbers them) and core flags by slot."""
        n = len(self)
        labels = self._renumbered(self._roots(self._node[:n]), self._core[:n])
        return Clustering(labels, self._core[:n].copy(), self._nsum[:n].copy())

    def clusters(self) -> dict[int, frozenset[Hashable]]:
        """Members (ids) of each cluster, keyed by label."""
        labels = self.clustering().labels
        out: dict[int, set[Hashable]] = {}
        for pid, label in zip(self._ids, labels.tolist(), strict=True):
            if label >= 0:
                out.setdefault(label, set()).add(pid)
        return {k: frozenset(v) for k, v in sorted(out.items())}

    # ---- updates

    def load(
        self, ids: Sequence[Hashable], xy_bng: ArrayLike, t_s: ArrayLike, *, now_s: float
    ) -> Clustering:
        """Replace every point with ``ids``/``xy_bng``/``t_s``, then :meth:`recompute`."""
        xy = _as_xy(xy_bng)
        t = epoch_seconds(t_s)
        if not (len(ids) == len(xy) == len(t)) or len(set(ids)) != len(ids):
            raise ValueError("ids must be unique, with one coordinate pair and time each")
        self._ids = list(ids)
        self._xy, self._t = xy.copy(), t.copy()
        return self.recompute(now_s=now_s)

    def recompute(self, *, now_s: float) -> Clustering:
        """Drop points outside the window ending at ``now_s``, reweigh, re-cluster in batch."""
        n = len(self)
        keep = window_mask(self._t[:n], now_s=now_s, window_days=self.window_days)
        self.now_s = float(now_s)
        return self._rebuild(keep)

    def remove(self, point_ids: Sequence[Hashable]) -> Clustering:
        """Remove points by id (unknown ids raise ``KeyError``) and re-cluster in batch."""
        keep = np.ones(len(self), np.bool_)
        keep[[self._slot[pid] for pid in point_ids]] = False
        return self._rebuild(keep)

    def insert(self, point_id: Hashable, xy_bng: tuple[float, float], t_s: float) -> bool:
        """Add one point and update the clusters around it; True when it joined a cluster."""
        if point_id in self._slot:
            raise ValueError(f"point {point_id!r} is already active")
        slot = self._append(point_id, xy_bng, float(t_s))
        nbrs = self._neighbours(slot)
        self._nsum[slot] = float(self._w[nbrs].sum())
        others = nbrs[nbrs != slot]
        self._nsum[others] += self._w[slot]
        rising = nbrs[~self._core[nbrs] & (self._nsum[nbrs] >= self.min_samples)]
        for c in rising.tolist():
            self._promote(c)
        if self._node[slot] < 0:
            self._attach(slot, others)
        return bool(self._node[slot] >= 0)

    # ---- internals

    def _rebuild(self, keep: BoolArray) -> Clustering:
        n = len(self)
        self._ids = [pid for pid, k in zip(self._ids, keep.tolist(), strict=True) if k]
        self._slot = {pid: i for i, pid in enumerate(self._ids)}
        self._xy, self._t = self._xy[:n][keep], self._t[:n][keep]
        self._w = self._weight_of(self._t)
        result = dbscan(
            self._xy, eps_m=self.eps_m, min_samples=self.min_samples, sample_weight=self._w
        )
        self._nsum = result.neighbourhood_weight.copy()
        self._core = result.core.copy()
        self._node = result.labels.copy()
        self._parent = list(range(result.n_clusters))
        self._cells = self._index(self._xy)
        self._grow(len(self._ids) + max(1024, len(self._ids) // 4))  # room for inserts
        return result

    def _weight_of(self, t: FloatArray) -> FloatArray:
        if self.half_life_days is None:
            return np.ones(len(t))
        age_days = np.maximum(self.now_s - t, 0.0) / SECONDS_PER_DAY
        return np.asarray(np.exp2(-age_days / self.half_life_days), dtype=np.float64)

    def _cell_key(self, x: float, y: float) -> int:
        return math.floor(x / self.eps_m) * (1 << 32) + math.floor(y / self.eps_m)

    def _index(self, xy: FloatArray) -> dict[int, IntArray]:
        if len(xy) == 0:
            return {}
        ij = np.floor(xy / self.eps_m).astype(np.int64)
        keys = ij[:, 0] * (1 << 32) + ij[:, 1]
        order = np.argsort(keys, kind="stable").astype(np.int64)
        uniq, starts = np.unique(keys[order], return_index=True)
        return dict(zip(uniq.tolist(), np.split(order, starts[1:]), strict=True))

    def _append(self, point_id: Hashable, xy_bng: tuple[float, float], t_s: float) -> int:
        slot = len(self._ids)
        if slot == len(self._t):
            self._grow(max(16, 2 * slot))
        x, y = float(xy_bng[0]), float(xy_bng[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError("coordinates must be finite")
        self._ids.append(point_id)
        self._slot[point_id] = slot
        self._xy[slot] = (x, y)
        self._t[slot] = t_s
        self._w[slot] = self._weight_of(np.array([t_s]))[0]
        self._core[slot] = False
        self._node[slot] = NOISE
        key = self._cell_key(x, y)
        cell = self._cells.get(key)
        self._cells[key] = np.array([slot]) if cell is None else np.append(cell, slot)
        return slot

    def _grow(self, capacity: int) -> None:
        self._xy, self._t, self._w = (_grown(a, capacity) for a in (self._xy, self._t, self._w))
        self._nsum = _grown(self._nsum, capacity)
        self._core = _grown(self._core, capacity)
        self._node = _grown(self._node, capacity)

    def _neighbours(self, slot: int) -> IntArray:
        """Active slots within eps of ``slot`` (itself included)."""
        x, y = float(self._xy[slot, 0]), float(self._xy[slot, 1])
        i, j = math.floor(x / self.eps_m), math.floor(y / self.eps_m)
        found = [
            cell
            for di in (-1, 0, 1)
            for dj in (-1, 0, 1)
            if (cell := self._cells.get((i + di) * (1 << 32) + j + dj)) is not None
        ]
        cand: IntArray = np.concatenate(found)
        dx = self._xy[cand, 0] - x
        dy = self._xy[cand, 1] - y
        near: IntArray = cand[dx * dx + dy * dy <= self.eps_m * self.eps_m]
        return near

    def _promote(self, c: int) -> None:
        """``c`` became core: join the clusters of its core neighbours, adopt its noise."""
        nbrs = self._neighbours(c)
        core_nbrs = nbrs[self._core[nbrs] & (nbrs != c)]
        roots = {self._find(int(n)) for n in self._node[core_nbrs].tolist()}
        root = self._union(roots)
        self._core[c] = True
        self._node[c] = root
        noise = nbrs[(self._node[nbrs] < 0) & ~self._core[nbrs]]
        self._node[noise] = root

    def _attach(self, slot: int, others: IntArray) -> None:
        """A non-core ``slot`` joins the cluster of its nearest core neighbour, if any."""
        cores = others[self._core[others]]
        if len(cores) == 0:
            return
        d = self._xy[cores] - self._xy[slot]
        nearest = cores[int(np.argmin(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]))]
        self._node[slot] = self._find(int(self._node[nearest]))

    def _find(self, node: int) -> int:
        parent = self._parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def _union(self, roots: set[int]) -> int:
        """One root for the union of ``roots`` (a new cluster when empty)."""
        if not roots:
            self._parent.append(len(self._parent))
            return len(self._parent) - 1
        root = min(roots)
        for r in roots:
            self._parent[r] = root
        return root

    def _roots(self, nodes: IntArray) -> IntArray:
        parent = np.asarray(self._parent, dtype=np.int64)
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
        return np.where(nodes >= 0, parent[np.maximum(nodes, 0)] if len(parent) else 0, NOISE)

    @staticmethod
    def _renumbered(roots: IntArray, core: BoolArray) -> IntArray:
        """Roots renumbered by the lowest slot of a core in each cluster."""
        cores = np.flatnonzero(core)
        if len(cores) == 0:
            return np.full(len(roots), NOISE, np.int64)
        uniq, first = np.unique(roots[cores], return_index=True)
        rank = np.empty(len(uniq), np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
        idx = np.searchsorted(uniq, roots)
        idx[idx >= len(uniq)] = 0
        return np.where(roots >= 0, rank[idx], NOISE)


def _grown(a: NDArray[_T], capacity: int) -> NDArray[_T]:
    """A copy of ``a`` with room for ``capacity`` rows (new rows zeroed)."""
    out = np.zeros((capacity, *a.shape[1:]), a.dtype)
    out[: len(a)] = a
    return out
