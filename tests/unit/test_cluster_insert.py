"""geo.cluster_insert: inserting into a stored clustering equals batch DBSCAN of all points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from bench.synthetic import essex_points
from geo.cluster_insert import insert_points
from geo.clustering import dbscan
from tests.unit.test_clustering import assert_same_clustering

FRESH = 1_000


def apply_insert(
    xy: NDArray[np.float64],
    is_new: NDArray[np.bool_],
    eps_m: float,
    min_samples: int,
    *,
    ring_only: bool,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Store DBSCAN of the old points as hotspots 100, 101, ..., insert the new ones reading
    only the 2 eps neighbourhood (or everything), and return the resulting labels and cores."""
    old = np.flatnonzero(~is_new)
    stored = dbscan(xy[old], eps_m=eps_m, min_samples=min_samples)
    hotspot = np.full(len(xy), -1, np.int64)
    core = np.zeros(len(xy), np.bool_)
    hotspot[old] = np.where(stored.labels >= 0, stored.labels + 100, -1)
    core[old] = stored.core
    ring = np.ones(len(xy), np.bool_)
    if ring_only and is_new.any():
        d2 = ((xy[:, None, :] - xy[None, is_new, :]) ** 2).sum(axis=2)
        ring = (d2 <= (2 * eps_m) ** 2).any(axis=1)
    r = np.flatnonzero(ring)
    up = insert_points(
        xy[r],
        stored_hotspot=hotspot[r],
        stored_core=core[r],
        new=is_new[r],
        eps_m=eps_m,
        min_samples=min_samples,
    )
    retired = {h for ids in up.merged_hotspots.values() for h in ids}
    assert not retired & set(up.joins_hotspot.tolist()), "a point joins a hotspot merged away"
    target = {
        i: (ids[0] if ids else FRESH + i) for i, ids in up.merged_hotspots.items()
    }  # the caller keeps one id per changed cluster
    follow = {h: target[i] for i, ids in up.merged_hotspots.items() for h in ids}
    labels = np.array([follow.get(int(h), int(h)) if h >= 0 else -1 for h in hotspot])
    core_after = core.copy()
    core_after[r] = up.core
    for k, point in enumerate(r.tolist()):
        if up.component[k] >= 0:
            labels[point] = target[int(up.component[k])]
        elif up.joins_hotspot[k] >= 0:
            labels[point] = follow.get(int(up.joins_hotspot[k]), int(up.joins_hotspot[k]))
    return labels, core_after


def check(xy, is_new, eps_m, min_samples, *, ring_only=True):
    labels, core = apply_insert(xy, is_new, eps_m, min_samples, ring_only=ring_only)
    batch = dbscan(xy, eps_m=eps_m, min_samples=min_samples)
    assert_same_clustering(xy, eps_m, labels, core, batch.labels, batch.core)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("ring_only", [True, False])
def test_random_insertions_equal_batch(seed, ring_only):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    xy = np.round(rng.uniform(0, 2_000, size=(n, 2)))
    is_new = rng.random(n) < rng.choice([0.01, 0.1, 0.5, 1.0])
    check(
        xy,
        is_new,
        float(rng.choice([50.0, 100.0, 200.0])),
        int(rng.integers(1, 7)),
        ring_only=ring_only,
    )


@pytest.mark.parametrize("seed", range(3))
def test_essex_like_insertions_equal_batch(seed):
    data = essex_points(4_000, seed=seed)
    rng = np.random.default_rng(seed)
    is_new = rng.random(len(data.xy_bng)) < 0.02
    check(np.round(data.xy_bng), is_new, 200.0, 5, ring_only=False)


def test_bridge_merges_and_duplicates_and_exact_eps():
    # two stored clusters 100 m apart at their edges; a duplicated point exactly eps from both
    left = [[0.0, 0.0]] * 3
    right = [[200.0, 0.0]] * 3
    xy = np.array([*left, *right, [100.0, 0.0], [100.0, 0.0]])
    is_new = np.array([False] * 6 + [True, True])
    check(xy, is_new, 100.0, 3)
    labels, _ = apply_insert(xy, is_new, 100.0, 3, ring_only=True)
    assert len(set(labels.tolist())) == 1  # one hotspot: bridged


def test_nothing_new_changes_nothing():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    up = insert_points(
        xy,
        stored_hotspot=[5, 5, 5],
        stored_core=[True] * 3,
        new=[False] * 3,
        eps_m=5.0,
        min_samples=2,
    )
    assert up.merged_hotspots == {}
    assert (up.component == -1).all()
    assert (up.joins_hotspot == -1).all()


def test_new_point_joins_an_unchanged_hotspot_as_border():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [9.0, 0.0]])
    up = insert_points(
        xy,
        stored_hotspot=[5, 5, 5, -1],
        stored_core=[True] * 3 + [False],
        new=[False] * 3 + [True],
        eps_m=7.0,
        min_samples=4,
    )
    assert up.joins_hotspot.tolist() == [-1, -1, -1, 5]
    assert up.merged_hotspots == {}


def test_a_new_border_point_near_a_merged_hotspot_joins_the_merged_cluster():
    """The new point at (0, 20) becomes core and merges hotspots 1 and 2; the new point at
    (15, 40) is a border point whose nearest core, (5, 45), is far from it: it joins the
    merged cluster, never hotspot 1 by name (merged away, its members re-pointed)."""
    up = insert_points(
        np.array([[0.0, 20.0], [0.0, 35.0], [15.0, 40.0], [5.0, 45.0], [0.0, 0.0], [0.0, 5.0]]),
        stored_hotspot=[2, 1, -1, 1, 2, 2],
        stored_core=[False, True, False, True, True, True],
        new=[True, False, True, False, True, True],
        eps_m=15.0,
        min_samples=3,
    )
    assert up.merged_hotspots == {0: (1, 2)}
    assert not up.core[2]
    assert (up.component[2], up.joins_hotspot[2]) == (0, -1)


def test_a_border_point_that_becomes_core_does_not_join_its_old_hotspot_by_name():
    """A stored border point whose hotspot's cores are no longer near it (they left the
    window) links by distance only when it becomes core: here that is a birth."""
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [100.0, 0.0], [101.0, 0.0], [102.0, 0.0]])
    up = insert_points(
        xy,
        stored_hotspot=[5, -1, -1, 5, 5, 5],
        stored_core=[False, False, False, True, True, True],
        new=[False, True, True, False, False, False],
        eps_m=10.0,
        min_samples=3,
    )
    assert up.core[:3].all()
    assert up.merged_hotspots == {0: ()}
    assert up.component[:3].tolist() == [0, 0, 0]


@pytest.mark.parametrize("first", [5, 9])
def test_a_border_point_between_two_equally_near_cores_joins_the_lower_index(first):
    """Ties go to the core listed first, whichever hotspot that is (the documented tie rule,
    which keeps a fold's answer independent of the order its pairs were found in)."""
    east = [[10.0, 0.0], [13.0, 0.0], [16.0, 0.0], [19.0, 0.0]]
    west = [[-x, y] for x, y in east]
    first_side, second_side = (west, east) if first == 5 else (east, west)
    other = 9 if first == 5 else 5
    up = insert_points(
        np.array([*first_side, *second_side, [0.0, 0.0]]),
        stored_hotspot=[first] * 4 + [other] * 4 + [-1],
        stored_core=[True] * 8 + [False],
        new=[False] * 8 + [True],
        eps_m=10.0,
        min_samples=4,
    )
    assert not up.core[8]
    assert up.joins_hotspot[8] == first


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one stored hotspot"):
        insert_points(
            [[0.0, 0.0]],
            stored_hotspot=[],
            stored_core=[False],
            new=[True],
            eps_m=1.0,
            min_samples=1,
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    points=st.lists(
        st.tuples(st.integers(0, 12), st.integers(0, 12), st.booleans()), min_size=1, max_size=60
    ),
    eps=st.integers(1, 4),
    min_samples=st.integers(1, 5),
)
def test_hypothesis_grid_insertions_equal_batch(points, eps, min_samples):
    xy = np.array([[x * 5.0, y * 5.0] for x, y, _ in points])
    is_new = np.array([new for *_, new in points])
    check(xy, is_new, eps * 5.0, min_samples)
