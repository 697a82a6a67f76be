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
    tree = cKDTree(xy)
    pairs = tree.query_pairs(eps_m * _QUERY_SLACK, p=2.0, output_type="ndarray")
    pairs = pairs[_within(xy, pairs, eps_m)]
    near_new = _near(is_new, pairs)
    degree = np.bincount(pairs.ravel(), minlength=len(xy)) + 1
    core = core_before | (near_new & (degree >= min_samples))
    promoted = core & ~core_before
    return _components(xy, hotspot, core, promoted, is_new, pairs)


def _within(xy: NDArray[np.float64], pairs: NDArray[np.int64], eps_m: float) -> NDArray[np.bool_]:
    """Exact ``<=`` test on squared distances, as the batch engine and scikit-learn use."""
    d = xy[pairs[:, 0]] - xy[pairs[:, 1]]
    return np.asarray((d * d).sum(axis=1) <= eps_m * eps_m)


def _near(flag: NDArray[np.bool_], pairs: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Points flagged, or within eps of a flagged point."""
    out = flag.copy()
    a, b = pairs[:, 0], pairs[:, 1]
    out[a[flag[b]]] = True
    out[b[flag[a]]] = True
    return out


def _components(
    xy: NDArray[np.float64],
    hotspot: NDArray[np.int64],
    core: NDArray[np.bool_],
    promoted: NDArray[np.bool_],
    is_new: NDArray[np.bool_],
    pairs: NDArray[np.int64],
) -> LocalInsert:
    n = len(xy)
    stored_ids = np.unique(hotspot[core & (hotspot >= 0)])
    node_of_hotspot = {int(h): n + i for i, h in enumerate(stored_ids.tolist())}
    a, b = pairs[:, 0], pairs[:, 1]
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
    for point, nearest in _nearest_cores(xy, hotspot, core, is_new, promoted, pairs).items():
        if (i := index.get(int(comp[nearest]))) is not None:
            component[point] = i
        else:
            joins[point] = hotspot[nearest]
    return LocalInsert(core=core, component=component, joins_hotspot=joins, merged_hotspots=merged)


def _nearest_cores(
    xy: NDArray[np.float64],
    hotspot: NDArray[np.int64],
    core: NDArray[np.bool_],
    is_new: NDArray[np.bool_],
    promoted: NDArray[np.bool_],
    pairs: NDArray[np.int64],
) -> dict[int, int]:
    """New non-core points near any core, and stored noise near a newly core point, become
    border points of their nearest core (ties: the lower point index): point -> that core."""
    stored_noise = ~is_new & ~core & (hotspot < 0)
    candidate = (is_new & ~core) | (stored_noise & _near(promoted, pairs))
    a, b = pairs[:, 0], pairs[:, 1]
    best: dict[int, tuple[float, int]] = {}
    for p, q in ((a, b), (b, a)):
        keep = candidate[p] & core[q]
        d2 = ((xy[p[keep]] - xy[q[keep]]) ** 2).sum(axis=1)
        for point, other, dist in zip(p[keep].tolist(), q[keep].tolist(), d2.tolist(), strict=True):
            if (dist, other) < best.get(point, (np.inf, -1)):
                best[point] = (dist, other)
    return {point: nearest for point, (_, nearest) in best.items()}
