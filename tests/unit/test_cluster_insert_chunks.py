"""geo.cluster_insert, chained: points stored and folded in chunk after chunk, the way the
service does it, end equal to batch DBSCAN of all points (up to border-point ties).

The service's write path (``service.usecases.hotspots.clustering.insert_new_points``) is
replayed on an in-memory membership table: each update reads the 2 eps neighbourhood of its
new points among the points *committed so far* (which may include points of other batches
committed but not yet folded in: they read as stored noise, as with two overlapping batches
whose updates run one after the other under the layer lock), keeps the biggest hotspot of a
merge, re-points the members of the others and upserts the written memberships.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from geo.cluster_insert import insert_points
from geo.clustering import dbscan
from tests.unit.test_clustering import assert_same_clustering


class Store:
    """``hotspot_members`` of one layer: point index -> (hotspot id, core)."""

    def __init__(self) -> None:
        self.members: dict[int, tuple[int, bool]] = {}
        self.next_id = 1

    def fold(
        self, xy: NDArray[np.float64], visible: set[int], new: set[int], eps: float, k: int
    ) -> None:
        """One ``insert_new_points``: neighbourhood read, insert, targets, upsert."""
        vis = np.array(sorted(visible), np.int64)
        new_idx = np.array(sorted(new), np.int64)
        d2 = ((xy[vis][:, None, :] - xy[new_idx][None, :, :]) ** 2).sum(axis=2)
        hood = vis[(d2 <= (2 * eps) ** 2).any(axis=1)]
        hotspot = [self.members.get(int(p), (-1, False))[0] for p in hood]
        core = [self.members.get(int(p), (-1, False))[1] for p in hood]
        up = insert_points(
            xy[hood],
            stored_hotspot=hotspot,
            stored_core=core,
            new=np.isin(hood, new_idx),
            eps_m=eps,
            min_samples=k,
        )
        targets: dict[int, int] = {}
        for i, ids in up.merged_hotspots.items():
            if not ids:
                targets[i], self.next_id = self.next_id, self.next_id + 1
                continue
            sizes = {h: sum(m[0] == h for m in self.members.values()) for h in ids}
            keep = min(ids, key=lambda h: (-sizes[h], h))
            targets[i] = keep
            for p, (h, c) in list(self.members.items()):
                if h in ids and h != keep:
                    self.members[p] = (keep, c)
        for p, c, j, is_core in zip(hood, up.component, up.joins_hotspot, up.core, strict=True):
            if c >= 0:
                self.members[int(p)] = (targets[int(c)], bool(is_core))
            elif j >= 0:
                self.members[int(p)] = (int(j), False)

    def labels(self, n: int) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        labels = np.full(n, -1, np.int64)
        core = np.zeros(n, np.bool_)
        for p, (h, c) in self.members.items():
            labels[p], core[p] = h, c
        return labels, core


def replay(
    xy: NDArray[np.float64], batch_of: list[int], order: list[tuple[str, int]], eps: float, k: int
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """``order``: ("commit", b) stores batch b's points; ("fold", b) folds them in."""
    store, visible = Store(), set[int]()
    for event, b in order:
        points = {i for i, bb in enumerate(batch_of) if bb == b}
        if event == "commit":
            visible |= points
        elif points:
            store.fold(xy, visible, points, eps, k)
    return store.labels(len(xy))


@st.composite
def schedules(draw: st.DrawFn) -> tuple[list[int], list[tuple[str, int]]]:
    """A batch per point and an interleaving of commits and folds: each batch is committed
    before it is folded; folds may run in any order (several app processes)."""
    n = draw(st.integers(1, 70))
    batches = draw(st.integers(1, 6))
    batch_of = draw(st.lists(st.integers(0, batches - 1), min_size=n, max_size=n))
    pending = list(range(batches))
    committed: list[int] = []
    order: list[tuple[str, int]] = []
    while pending or committed:
        if pending and (not committed or draw(st.booleans())):
            b = pending.pop(draw(st.integers(0, len(pending) - 1)))
            committed.append(b)
            order.append(("commit", b))
        else:
            order.append(("fold", committed.pop(draw(st.integers(0, len(committed) - 1)))))
    return batch_of, order


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    grid=st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14)), min_size=70, max_size=70),
    schedule=schedules(),
    eps=st.integers(1, 4),
    k=st.integers(1, 6),
)
def test_chunk_after_chunk_with_interleaved_commits_equals_batch(grid, schedule, eps, k):
    batch_of, order = schedule
    xy = np.array([[x * 5.0, y * 5.0] for x, y in grid[: len(batch_of)]])
    labels, core = replay(xy, batch_of, order, eps * 5.0, k)
    batch = dbscan(xy, eps_m=eps * 5.0, min_samples=k)
    assert_same_clustering(xy, eps * 5.0, labels, core, batch.labels, batch.core)


def test_essex_like_burst_in_chunks_equals_batch():
    """A shift-end-like burst: 2,000 clustered points in chunks of 50, folded in random
    order after overlapping commits, eps 200 m, min_samples 5."""
    rng = np.random.default_rng(7)
    centres = rng.uniform(0, 20_000, size=(40, 2))
    xy = np.round(centres[rng.integers(0, 40, 2_000)] + rng.normal(0, 250, size=(2_000, 2)))
    batch_of = [i // 50 for i in range(2_000)]
    order: list[tuple[str, int]] = []
    folds = list(rng.permutation(40))
    for b in range(40):
        order.append(("commit", b))
        if b % 3 == 2:  # three batches committed, then some folded in any order
            order += [("fold", int(x)) for x in folds if x <= b and ("fold", int(x)) not in order]
    order += [("fold", int(x)) for x in folds if ("fold", int(x)) not in order]
    labels, core = replay(xy, batch_of, order, 200.0, 5)
    batch = dbscan(xy, eps_m=200.0, min_samples=5)
    assert_same_clustering(xy, 200.0, labels, core, batch.labels, batch.core)


def test_a_point_folded_early_as_core_keeps_its_hotspot_when_its_own_batch_folds():
    """Batch B (b1, b2) is committed before batch A's update runs: A's update reads b1 and
    b2 as stored noise, makes b1 core of a new hotspot with a and b2 as border points. When
    B's update then folds b1 in again, b1 must stay in that hotspot, not start another one
    and leave ``a`` alone in the old one."""
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]])  # a, b1, b2
    order = [("commit", 0), ("commit", 1), ("fold", 0), ("fold", 1)]
    labels, core = replay(xy, [0, 1, 1], order, 10.0, 3)
    assert core.tolist() == [False, True, False]
    assert len(set(labels.tolist())) == 1, labels
