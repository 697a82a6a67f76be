"""Hotspot clustering: DBSCAN semantics on British National Grid metres (EPSG:27700).

Pure: numpy arrays in, labels out. Coordinates are ``(n, 2)`` float arrays of
(easting, northing) metres. The service picks the points of a layer's rolling window and
clusters them with :func:`dbscan` (a full recompute); new points between recomputes go
through :mod:`geo.cluster_insert`.

Semantics are scikit-learn's ``DBSCAN(eps, min_samples, metric="euclidean")``:

* ``q`` is a neighbour of ``p`` when ``(px - qx)**2 + (py - qy)**2 <= eps_m**2``; a point is
  its own neighbour;
* a point is *core* when it has at least ``min_samples`` neighbours (itself included);
* cores within ``eps_m`` of each other share a cluster; a non-core point within ``eps_m`` of a
  core is a *border* point and joins the cluster of its **nearest** core (ties: the lower
  label); any other point is noise (label ``-1``);
* clusters are numbered ``0, 1, ...`` in the order of their lowest-index core point, so core
  labels are exactly scikit-learn's. Border points within ``eps_m`` of cores of two clusters
  are the one place where scikit-learn's answer depends on input order; ours does not.

scikit-learn is only the reference of the tests, never imported here. Agreement is exact for
integer-metre coordinates; with arbitrary floats the two can only differ when a squared
distance lies within rounding of ``eps_m**2``. Each layer (public reports, contacts, ...) is
clustered by its own call.

The batch engine hashes points into a grid of cells of side ``eps_m / sqrt(2)``: any two
points of one cell are neighbours, so a cell holding ``min_samples`` points makes all of
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
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

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
    ``neighbourhood_weight``: number of points in the eps-neighbourhood; exact for points of
    light cells, a lower bound already ``>= min_samples`` for points of dense cells.
    """

    labels: IntArray
    core: BoolArray
    neighbourhood_weight: FloatArray

    @property
    def n_clusters(self) -> int:
        """Number of clusters (labels run from 0 to ``n_clusters - 1``)."""
        return int(self.labels.max()) + 1 if self.labels.size else 0


# --------------------------------------------------------------------------- public API


def dbscan(
    xy_bng: ArrayLike,
    *,
    eps_m: float = 200.0,
    min_samples: int = 5,
) -> Clustering:
    """DBSCAN of ``(n, 2)`` BNG points; equal to scikit-learn's (see the module docstring)."""
    xy = _as_xy(xy_bng)
    weight = np.ones(len(xy))
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
    def group(
        cls, cell_keys: IntArray, members: IntArray, span: int, *, table_min: int = _TABLE_MIN
    ) -> _Buckets:
        """Group ``members`` by their non-decreasing ``cell_keys`` (all below ``span``); a
        table of the whole span is built when it is at most ``table_min`` entries or
        ``_TABLE_PER_KEY`` per bucket (a few buckets looked up a few times search instead)."""
        starts = np.flatnonzero(np.diff(cell_keys, prepend=-1)).astype(np.int64)
        counts = np.diff(starts, append=len(cell_keys)).astype(np.int64)
        keys = cell_keys[starts]
        table = None
        if span <= max(table_min, _TABLE_PER_KEY * len(keys)) and len(keys) < 2**31:
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
    grid: _Grid, weight: FloatArray, min_samples: float, *, asked: BoolArray | None = None
) -> tuple[FloatArray, BoolArray]:
    """Neighbourhood weight (a lower bound in dense cells) and core flag per sorted point.

    With ``asked``, only those points of light cells are counted pair by pair (an insertion's
    points that may become core); the others keep their cell's weight, a lower bound."""
    cell_weight = np.add.reduceat(weight, grid.cells.starts)
    nsum = np.repeat(cell_weight, grid.cells.counts)
    light = np.flatnonzero((nsum < min_samples) & (True if asked is None else asked))
    exact = np.zeros(len(light))
    for rows, q, _ in _near_pairs(grid, light, grid.cells):
        exact += np.bincount(rows, weights=weight[q], minlength=len(light))
    nsum[light] = exact
    return nsum, nsum >= min_samples


# --------------------------------------------------------------------------- clusters


def _core_components(grid: _Grid, core: BoolArray, *, table_min: int = _TABLE_MIN) -> IntArray:
    """Component number per sorted point (``-1`` for non-core) of the core graph."""
    core_pos = np.flatnonzero(core)
    comp = np.full(len(core), NOISE, np.int64)
    if len(core_pos) == 0:
        return comp
    cells = _Buckets.group(grid.keys[core_pos], core_pos, grid.span, table_min=table_min)
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
    point, nearest = _nearest_cores(grid, np.flatnonzero(~core), core, tie=labels)
    labels[point] = labels[nearest]


def _nearest_cores(
    grid: _Grid, loose: IntArray, core: BoolArray, *, tie: IntArray, table_min: int = _TABLE_MIN
) -> tuple[IntArray, IntArray]:
    """Those of ``loose`` (sorted positions) within eps of a core, and each one's nearest core;
    between equally near cores, the one with the lower ``tie`` (per sorted position)."""
    core_pos = np.flatnonzero(core)
    found = []
    if len(loose) and len(core_pos):
        cores = _Buckets.group(grid.keys[core_pos], core_pos, grid.span, table_min=table_min)
        found = list(_near_pairs(grid, loose, cores))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows, q, d2 = (np.concatenate([f[k] for f in found]) for k in range(3))
    best = np.lexsort((tie[q], d2, rows))
    rows, q = rows[best], q[best]
    first = np.ones(len(rows), np.bool_)
    first[1:] = rows[1:] != rows[:-1]
    return loose[rows[first]], q[first]
