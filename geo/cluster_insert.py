"""Incremental DBSCAN insertion against a stored clustering, looking only at a neighbourhood.

The service keeps each layer's clustering in the database (member rows: point -> hotspot,
core flag). When new points arrive it reads the *neighbourhood*: every stored point within
``2 * eps_m`` of a new point, with its stored hotspot and core flag, plus the new points.
:func:`insert_points` then says what changes, with the semantics of
:func:`geo.clustering.dbscan` on all points (the insertion half of incremental DBSCAN):

* inserting points only ever adds neighbours, so only points within ``eps_m`` of a new point
  can become core, and their whole eps-neighbourhood lies inside the ``2 * eps_m`` ring, so
  their neighbour counts are exact;
* every newly core point links the clusters of all core points within ``eps_m`` of it; the
  stored hotspots so linked are *merged* (the caller keeps one id and retires the others);
  a component without a stored hotspot is a *birth*;
* a new non-core point, or a stored noise point, within ``eps_m`` of a core point becomes a
  border point of its nearest core's cluster; stored border points stay where they are (the
  one place where DBSCAN itself depends on input order).

Stored noise points are passed with hotspot ``-1`` and core ``False``. A point flagged new
may already be stored (another batch's update read it as a neighbour and folded it in early,
or it is folded twice): it keeps its stored membership and core flag as a starting point.

Three points 100 m apart with ``min_samples=3``: the third makes the middle one core, and
all three form one new cluster (no stored hotspot):

>>> xy = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
>>> up = insert_points(xy, stored_hotspot=[-1, -1, -1], stored_core=[False, False, False],
...                    new=[False, False, True], eps_m=100.0, min_samples=3)
>>> up.core.tolist(), up.component.tolist(), up.merged_hotspots
([False, True, False], [0, 0, 0], {0: ()})

A point bridging two stored hotspots merges them:

>>> xy = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [60.0, 0.0],
...                [100.0, 0.0], [110.0, 0.0], [120.0, 0.0]])
>>> up = insert_points(xy, stored_hotspot=[7, 7, 7, -1, 9, 9, 9],
...                    stored_core=[True, True, True, False, True, True, True],
...                    new=[False, False, False, True, False, False, False],
...                    eps_m=40.0, min_samples=3)
>>> up.core[3], up.merged_hotspots
(np.True_, {0: (7, 9)})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

NOISE: Final = -1
#: The tree is asked for a hair more than eps; the exact squared test then decides.
_QUERY_SLACK: Final = 1.0 + 1e-9


@dataclass(frozen=True, slots=True, eq=False)
class LocalInsert:
    """What an insertion changes in the neighbourhood, one entry per neighbourhood point.

    ``core``: core flags after the insertion (exact for points within ``eps_m`` of a new point,
    the stored flag elsewhere). ``component``: for points whose membership must be written
    (new points, points that became core, noise points that became border points), the index
    of their cluster among the changed clusters; ``-1`` otherwise. The other members of merged
    hotspots (inside or outside the neighbourhood) follow their hotspot: the caller re-points
    them to the id it keeps. ``joins_hotspot``: for a new point or stored noise point that became a
    border point of an *unchanged* stored hotspot, that hotspot's id; ``-1`` otherwise.
    Points with ``-1`` in both keep their stored membership (or stay noise).
    ``merged_hotspots``: for each changed cluster, the stored hotspot ids it joins (none for
    a birth, several for a merge), in ascending order.
    """

    core: NDArray[np.bool_]
    component: NDArray[np.int64]
    joins_hotspot: NDArray[np.int64]
    merged_hotspots: dict[int, tuple[int, ...]]


def insert_points(
    xy_bng: ArrayLike,
    *,
    stored_hotspot: ArrayLike,
    stored_core: ArrayLike,
    new: ArrayLike,
    eps_m: float,
    min_samples: int,
) -> LocalInsert:
    """Insert the points flagged ``new`` into the stored clustering of the others.

    ``xy_bng`` must hold every stored point within ``2 * eps_m`` of a new point (more is
    harmless). Every point weighs 1.
    """
    xy = np.asarray(xy_bng, dtype=np.float64).reshape(-1, 2)
    hotspot = np.asarray(stored_hotspot, dtype=np.int64)
    # A point flagged new may already be stored as core: another batch's update, committed
    # after it, folded it in early (it was in that batch's neighbourhood), or a recompute
    # ran in between. It stays core (inserting never demotes) and stays linked to its stored
    # hotspot: treated as not yet core, its hotspot fell out of the merge and the members
    # left on that hotspot (border points) ended in a cluster of their own.
    core_before = np.asarray(stored_core, dtype=np.bool_)
    is_new = np.asarray(new, dtype=np.bool_)
    if not (len(hotspot) == len(core_before) == len(is_new) == len(xy)):
        raise ValueError("one stored hotspot, core flag and new flag per point")
    # Only pairs with an end that may become core, or may become a border point, matter (see
    # below), so the tree is asked about those points alone: the new points, and stored
    # points near them that are not core yet. Measuring every pair of the neighbourhood
    # instead cost a fold of 100 referrals among 20,000 stored points in a dense town
    # 70-110 ms of the app's CPU (5 million pairs, nearly all between stored core points).
    tree = cKDTree(xy)
    a, b = _eps_pairs(tree, xy, np.flatnonzero(is_new), eps_m)
    near_new = is_new.copy()
    near_new[b] = True
    # Stored points near a new one gain neighbours: those not core yet may become core, and
    # their counts are exact because their whole eps-neighbourhood is here.
    asked = is_new | (near_new & ~core_before)
    more_a, more_b = _eps_pairs(tree, xy, np.flatnonzero(asked & ~is_new), eps_m)
    a, b = np.concatenate([a, more_a]), np.concatenate([b, more_b])
    degree = np.bincount(a, minlength=len(xy)) + 1
    core = core_before | (near_new & (degree >= min_samples))
    promoted = core & ~core_before
    return _components(xy, hotspot, core, promoted, is_new, Neighbours(tree, a, b, asked), eps_m)


Pairs = tuple[NDArray[np.int64], NDArray[np.int64]]


@dataclass(frozen=True, slots=True, eq=False)
class Neighbours:
    """Every eps-pair (a, b) of the points ``asked`` about, from that end, and the tree to ask
    about more."""

    tree: cKDTree
    a: NDArray[np.int64]
    b: NDArray[np.int64]
    asked: NDArray[np.bool_]


def _eps_pairs(
    tree: cKDTree, xy: NDArray[np.float64], points: NDArray[np.int64], eps_m: float
) -> Pairs:
    """Every other point within ``eps_m`` of each of ``points`` (exact ``<=`` on squared
    distances, as the batch engine and scikit-learn test), as (point, neighbour) arrays."""
    if not len(points):
        empty = np.zeros(0, np.int64)
        return empty, empty
    found = cKDTree(xy[points]).sparse_distance_matrix(
        tree, eps_m * _QUERY_SLACK, output_type="ndarray"
    )
    a, b = points[found["i"]], found["j"].astype(np.int64)
    d = xy[a] - xy[b]
    keep = (a != b) & ((d * d).sum(axis=1) <= eps_m * eps_m)
    return a[keep], b[keep]


def _components(
    xy: NDArray[np.float64],
    hotspot: NDArray[np.int64],
    core: NDArray[np.bool_],
    promoted: NDArray[np.bool_],
    is_new: NDArray[np.bool_],
    pairs: Neighbours,
    eps_m: float,
) -> LocalInsert:
    """``pairs`` holds every pair with a newly core end (that point was asked about)."""
    n = len(xy)
    stored_ids = np.unique(hotspot[core & (hotspot >= 0)])
    node_of_hotspot = {int(h): n + i for i, h in enumerate(stored_ids.tolist())}
    a, b = pairs.a, pairs.b
    linking = core[a] & core[b] & (promoted[a] | promoted[b])
    rows = [a[linking]]
    cols = [b[linking]]
    stored_core = np.flatnonzero(core & ~promoted & (hotspot >= 0))
    rows.append(stored_core)
    cols.append(np.array([node_of_hotspot[int(h)] for h in hotspot[stored_core]], np.int64))
    size = n + len(stored_ids)
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    changed_roots = np.unique(comp[np.flatnonzero(promoted)])
    component = np.full(n, NOISE, np.int64)
    index = {int(root): i for i, root in enumerate(changed_roots.tolist())}
    merged: dict[int, tuple[int, ...]] = {i: () for i in index.values()}
    for h, node in node_of_hotspot.items():
        if (i := index.get(int(comp[node]))) is not None:
            merged[i] = (*merged[i], h)
    changed_core = core & np.isin(comp[:n], changed_roots)
    component[changed_core] = [index[int(x)] for x in comp[:n][changed_core]]
    joins = np.full(n, NOISE, np.int64)
    nearest = _nearest_cores(xy, hotspot, core, is_new, promoted, pairs, eps_m)
    for point, core_point in nearest.items():
        if (i := index.get(int(comp[core_point]))) is not None:
            component[point] = i
        else:
            joins[point] = hotspot[core_point]
    return LocalInsert(core=core, component=component, joins_hotspot=joins, merged_hotspots=merged)


def _nearest_cores(
    xy: NDArray[np.float64],
    hotspot: NDArray[np.int64],
    core: NDArray[np.bool_],
    is_new: NDArray[np.bool_],
    promoted: NDArray[np.bool_],
    pairs: Neighbours,
    eps_m: float,
) -> dict[int, int]:
    """New non-core points near any core, and stored noise near a newly core point, become
    border points of their nearest core (ties: the lower point index): point -> that core."""
    a, b = pairs.a, pairs.b
    near_promoted = promoted.copy()
    near_promoted[b[promoted[a]]] = True
    stored_noise = ~is_new & ~core & (hotspot < 0)
    candidate = (is_new & ~core) | (stored_noise & near_promoted)
    # Stored noise within eps of a newly core point but not of a new one was not asked
    # about yet.
    more_a, more_b = _eps_pairs(pairs.tree, xy, np.flatnonzero(candidate & ~pairs.asked), eps_m)
    p, q = np.concatenate([a, more_a]), np.concatenate([b, more_b])
    keep = candidate[p] & core[q]
    p, q = p[keep], q[keep]
    d2 = ((xy[p] - xy[q]) ** 2).sum(axis=1)
    order = np.lexsort((q, d2, p))  # by point, then distance, then the lower core index
    p, q = p[order], q[order]
    first = np.ones(len(p), np.bool_)
    first[1:] = p[1:] != p[:-1]
    return dict(zip(p[first].tolist(), q[first].tolist(), strict=True))
