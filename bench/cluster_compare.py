"""Compare two clusterings of one layer's points the way DBSCAN allows them to differ.

The incremental hotspot path and a full recompute must agree on which points are core, which
are noise and which cores are together (the partition, whatever the hotspot ids). A border
point (within ``eps`` of cores of two clusters) may legitimately sit in either: DBSCAN itself
gives such points to whichever cluster reaches them first. Stored members that are no longer
points of the layer (left the rolling window, merged as a duplicate, placed from a place
name) are the recompute's to drop, not disagreements.

Counting whole member sets (as the bench first did) counted every member of a cluster as
changed when a single point of it differed, and border ties as errors.

>>> xy = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 0]])
>>> before = {0: (7, True), 1: (7, True), 2: (7, False), 4: (8, True), 5: (8, True)}
>>> after = {0: (1, True), 1: (1, True), 2: (2, False), 4: (2, True), 5: (2, True)}
>>> compare(list(range(7)), xy, before, after, eps_m=2.0).wrong
0
>>> compare(list(range(7)), xy, before, after, eps_m=2.0).border_ties
1
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Counts over the layer's points (those in ``focus`` when one was given)."""

    points: int
    left_layer: int
    """Stored members that are no longer points of the layer (dropped by the recompute)."""
    core_differs: int
    noise_differs: int
    """Clustered in one, noise in the other."""
    core_cluster_differs: int
    """Core in both, but its fellow cores differ (split or merged differently)."""
    border_elsewhere: int
    """A border point in a cluster none of whose cores is within eps of it."""
    border_ties: int
    """A border point in the other neighbouring cluster: allowed."""

    @property
    def wrong(self) -> int:
        return (
            self.core_differs
            + self.noise_differs
            + self.core_cluster_differs
            + self.border_elsewhere
        )


def compare(
    keys: Sequence[K],
    xy_bng: ArrayLike,
    before: Mapping[K, tuple[int, bool]],
    after: Mapping[K, tuple[int, bool]],
    *,
    eps_m: float,
    focus: AbstractSet[K] | None = None,
) -> Comparison:
    """``keys``/``xy_bng``: the layer's points; ``before``/``after``: key -> (hotspot, core)
    of the members (noise is absent)."""
    xy = np.asarray(xy_bng, dtype=np.float64).reshape(-1, 2)
    index = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    bh, ah = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    bc, ac = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    for state, h_arr, c_arr in ((before, bh, bc), (after, ah, ac)):
        for k, (h, c) in state.items():
            if (i := index.get(k)) is not None:
                h_arr[i], c_arr[i] = h, c
    in_focus = np.array([focus is None or k in focus for k in keys], np.bool_)
    left = sum(1 for k in before if k not in index and (focus is None or k in focus))
    core_differs = bc != ac
    noise_differs = (bh < 0) != (ah < 0)
    both_core = bc & ac
    to_after: dict[int, set[int]] = defaultdict(set)
    to_before: dict[int, set[int]] = defaultdict(set)
    for b, a in zip(bh[both_core].tolist(), ah[both_core].tolist(), strict=True):
        to_after[b].add(a)
        to_before[a].add(b)
    one_to_one = np.array(
        [
            len(to_after.get(b, ())) == 1 and len(to_before.get(a, ())) == 1
            for b, a in zip(bh.tolist(), ah.tolist(), strict=True)
        ]
    )
    cluster_differs = both_core & ~one_to_one
    mapped = {b: next(iter(a)) for b, a in to_after.items() if len(a) == 1}
    border = ~core_differs & ~noise_differs & ~ac & (ah >= 0)
    tree = cKDTree(xy[ac]) if ac.any() else None
    core_labels = ah[ac]
    elsewhere = np.zeros(n, np.bool_)
    ties = np.zeros(n, np.bool_)
    for p in np.flatnonzero(border).tolist():
        target = mapped.get(int(bh[p]), -2)
        if target == ah[p]:
            continue
        near = tree.query_ball_point(xy[p], eps_m * (1 + 1e-9)) if tree is not None else []
        if target in set(core_labels[near].tolist()):
            ties[p] = True
        else:
            elsewhere[p] = True
    f = in_focus
    return Comparison(
        points=int(f.sum()),
        left_layer=left,
        core_differs=int((core_differs & f).sum()),
        noise_differs=int((noise_differs & f).sum()),
        core_cluster_differs=int((cluster_differs & f).sum()),
        border_elsewhere=int((elsewhere & f).sum()),
        border_ties=int((ties & f).sum()),
    )
