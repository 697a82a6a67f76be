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

It works on the batch engine's grid (cells of side ``eps_m / sqrt 2``, whose points are all
neighbours): a cell holding a new point is near it whole, a cell holding ``min_samples``
points makes them core, and cores are linked cell by cell, so a flood's fold, where most
points of a dense town are new, measures few distances. Only points that may change are
looked at: new points, stored points near them that are not core yet, cores near a newly
core point, and noise near one.

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

from geo.clustering import (
    _OFFSETS,
    _Buckets,
    _core_components,
    _core_points,
    _Grid,
    _near_pairs,
    _nearest_cores,
)

NOISE: Final = -1


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
    if not len(xy):
        empty = np.zeros(0, np.int64)
        return LocalInsert(core_before, empty, empty, {})
    # Grid cells of side eps / sqrt 2 (geo.clustering): two points of one cell are neighbours,
    # so a dense cell settles who is near a new point and who is core without measuring a
    # distance, and cores are linked cell by cell. Only the points that may change are asked
    # about: the pairs of a whole dense town were once all measured for a fold of 100 points.
    grid = _Grid.build(xy, eps_m)
    order = grid.order
    new_s, core_before_s = is_new[order], core_before[order]
    near_new = _near(grid, new_s)
    asked = near_new & ~core_before_s
    _, may = _core_points(grid, np.ones(len(xy)), float(min_samples), asked=asked)
    core_s = core_before_s | (asked & may)
    promoted_s = core_s & ~core_before_s
    hotspot_s = hotspot[order]
    comp = _core_components(grid, core_s & _around(grid, promoted_s), table_min=0)
    # Cores within eps of each other share a component (only those near a newly core point:
    # stored cores within eps of each other share a hotspot already); stored cores also join
    # through their stored hotspot (its members elsewhere link them), newly core points never
    # through the hotspot they were a border point of.
    stored_core = (comp >= 0) & ~promoted_s & (hotspot_s >= 0)
    stored_ids, hotspot_node = np.unique(hotspot_s[stored_core], return_inverse=True)
    n_comp = int(comp.max()) + 1 if (comp >= 0).any() else 0
    graph = coo_matrix(
        (
            np.ones(int(stored_core.sum())),
            (comp[stored_core], n_comp + hotspot_node.astype(np.int64)),
        ),
        shape=(n_comp + len(stored_ids),) * 2,
    )
    _, joined = connected_components(graph, directed=False)
    changed_roots = np.unique(joined[comp[promoted_s]])
    index = {int(root): i for i, root in enumerate(changed_roots.tolist())}
    merged: dict[int, tuple[int, ...]] = {i: () for i in index.values()}
    for h, root in zip(stored_ids.tolist(), joined[n_comp:].tolist(), strict=True):
        if (i := index.get(root)) is not None:
            merged[i] = (*merged[i], h)
    component_s = np.full(len(xy), NOISE, np.int64)
    # Every core's component: those linked above by their own, the other stored cores by their
    # stored hotspot's (one merged away is changed too, however far from the new points).
    root_of = np.full(len(xy), -1, np.int64)
    linked = comp >= 0
    root_of[linked] = joined[comp[linked]]
    far = np.flatnonzero(core_s & ~linked & np.isin(hotspot_s, stored_ids))
    root_of[far] = joined[n_comp + np.searchsorted(stored_ids, hotspot_s[far])]
    changed_core = core_s & np.isin(root_of, changed_roots)
    component_s[changed_core] = np.searchsorted(changed_roots, root_of[changed_core])
    joins_s = np.full(len(xy), NOISE, np.int64)
    stored_noise = ~new_s & ~core_s & (hotspot_s < 0)
    candidate = (new_s & ~core_s) | (stored_noise & _near(grid, promoted_s))
    loose = np.flatnonzero(candidate)
    border, nearest = _nearest_cores(grid, loose, core_s, tie=order, table_min=0)
    for point, core_point in zip(border.tolist(), nearest.tolist(), strict=True):
        if (i := index.get(int(root_of[core_point]))) is not None:
            component_s[point] = i
        else:
            joins_s[point] = hotspot_s[core_point]
    unsort = np.empty_like(order)
    unsort[order] = np.arange(len(order))
    return LocalInsert(
        core=core_s[unsort],
        component=component_s[unsort],
        joins_hotspot=joins_s[unsort],
        merged_hotspots=merged,
    )


def _near(grid: _Grid, flag: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Points (sorted positions) flagged, or within eps of a flagged point: every point of a
    cell holding a flagged point, and the others measured against the flagged points."""
    out = flag.copy()
    flagged = np.flatnonzero(flag)
    if not len(flagged):
        return out
    cells = _Buckets.group(grid.keys[flagged], flagged, grid.span, table_min=0)
    hit = np.zeros(len(grid.cells.keys), np.bool_)
    hit[grid.cells.find(cells.keys)] = True
    out |= np.repeat(hit, grid.cells.counts)
    rest = np.flatnonzero(~out & _around(grid, flag))
    for rows, _, _ in _near_pairs(grid, rest, cells):
        out[rest[rows]] = True
    return out


def _around(grid: _Grid, flag: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Points (sorted positions) of the cells that may hold an eps-neighbour of a flagged
    point: those up to two cells away from a cell holding one."""
    keys = np.unique(grid.keys[flag])
    hit = np.zeros(len(grid.cells.keys), np.bool_)
    for di, dj in _OFFSETS:
        found = grid.cells.find(keys + di * grid.stride + dj)
        hit[found[found >= 0]] = True
    return np.repeat(hit, grid.cells.counts)
