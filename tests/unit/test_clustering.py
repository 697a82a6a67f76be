"""geo.clustering against scikit-learn's DBSCAN (the test-only reference), no database."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from shapely.geometry import LineString, Point, Polygon
from sklearn.cluster import DBSCAN

from bench.synthetic import essex_points
from geo.clustering import (
    SECONDS_PER_DAY,
    Clustering,
    IncrementalDBSCAN,
    cluster_window,
    dbscan,
    epoch_seconds,
    recency_weights,
    summarise_cluster,
    summarise_clusters,
    window_mask,
)

DAY = SECONDS_PER_DAY


# --------------------------------------------------------------------------- helpers


def reference(
    xy: NDArray[np.float64], eps_m: float, min_samples: int, weight: NDArray[np.float64] | None
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """scikit-learn's labels and core flags (default algorithm, as the issue asks)."""
    if len(xy) == 0:
        return np.empty(0, np.int64), np.empty(0, np.bool_)
    if weight is not None and not weight.any():  # scikit-learn refuses; nothing can be core
        return np.full(len(xy), -1, np.int64), np.zeros(len(xy), np.bool_)
    model = DBSCAN(eps=eps_m, min_samples=min_samples).fit(xy, sample_weight=weight)
    core = np.zeros(len(xy), np.bool_)
    core[model.core_sample_indices_] = True
    return model.labels_.astype(np.int64), core


def assert_same_clustering(
    xy: NDArray[np.float64],
    eps_m: float,
    labels: NDArray[np.int64],
    core: NDArray[np.bool_],
    ref_labels: NDArray[np.int64],
    ref_core: NDArray[np.bool_],
) -> None:
    """Same cores, same clusters up to relabelling, same noise; borders only where allowed."""
    np.testing.assert_array_equal(core, ref_core, err_msg="core points differ")
    np.testing.assert_array_equal(labels == -1, ref_labels == -1, err_msg="noise differs")
    mapping = dict(zip(labels[core].tolist(), ref_labels[core].tolist(), strict=True))
    assert len(mapping) == len(set(mapping.values())) == len(set(labels[core].tolist()))
    assert all(mapping[a] == b for a, b in zip(labels[core], ref_labels[core], strict=True))
    for i in np.flatnonzero(~core & (labels >= 0)):
        d2 = ((xy[core] - xy[i]) ** 2).sum(axis=1)
        near = set(labels[core][d2 <= eps_m * eps_m].tolist())
        assert labels[i] in near, f"border {i} is not within eps of a core of its cluster"
        if len(near) == 1:  # not an order-dependent border point: must agree
            assert mapping[int(labels[i])] == ref_labels[i]


def check_against_sklearn(
    xy: NDArray[np.float64],
    eps_m: float,
    min_samples: int,
    weight: NDArray[np.float64] | None = None,
) -> Clustering:
    result = dbscan(xy, eps_m=eps_m, min_samples=min_samples, sample_weight=weight)
    ref_labels, ref_core = reference(xy, eps_m, min_samples, weight)
    assert_same_clustering(xy, eps_m, result.labels, result.core, ref_labels, ref_core)
    # documented: cluster numbers follow the lowest-index core, as in scikit-learn
    np.testing.assert_array_equal(result.labels[ref_core], ref_labels[ref_core])
    return result


def assert_same_as_batch(inc: IncrementalDBSCAN) -> None:
    batch = dbscan(
        inc.xy_bng, eps_m=inc.eps_m, min_samples=inc.min_samples, sample_weight=inc.weights
    )
    got = inc.clustering()
    assert_same_clustering(inc.xy_bng, inc.eps_m, got.labels, got.core, batch.labels, batch.core)
    np.testing.assert_array_equal(got.labels[got.core], batch.labels[batch.core])


# --------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("seed", range(40))
def test_random_inputs_agree_with_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 600))
    scale = float(rng.choice([150.0, 1_000.0, 5_000.0]))
    if seed % 3 == 0:
        xy = np.round(rng.uniform(0, scale, (n, 2)))
    elif seed % 3 == 1:
        centres = rng.uniform(0, 10 * scale, (5, 2))
        xy = centres[rng.integers(0, 5, n)] + rng.normal(0, scale / 4, (n, 2))
    else:
        xy = 560_000.0 + rng.normal(0, scale, (n, 2))
    eps = float(rng.choice([50.0, 150.0, 200.0, 250.0]))
    weight = rng.uniform(0, 2, n) if seed % 4 == 0 else None
    check_against_sklearn(xy, eps, int(rng.integers(1, 9)), weight)


@pytest.mark.parametrize("seed", [0, 1])
def test_essex_like_data_agrees_with_sklearn(seed: int) -> None:
    data = essex_points(20_000, seed=seed)
    result = check_against_sklearn(data.xy_bng, 200.0, 5)
    assert result.n_clusters > 10


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    points=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=120),
    eps=st.sampled_from([1.0, 2.0, 5.0, 10.0]),
    min_samples=st.integers(1, 6),
    weights=st.none() | st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]), min_size=120),
)
def test_hypothesis_integer_grids_agree_with_sklearn(
    points: list[tuple[int, int]], eps: float, min_samples: int, weights: list[float] | None
) -> None:
    xy = np.array(points, dtype=np.float64) * 5.0  # many exact ties at eps, many duplicates
    weight = None if weights is None else np.array(weights[: len(xy)])
    check_against_sklearn(xy, eps * 5.0, min_samples, weight)


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(
            st.floats(500_000, 502_000, allow_nan=False),
            st.floats(200_000, 201_000, allow_nan=False),
        ),
        min_size=1,
        max_size=200,
    ),
    eps=st.floats(20.0, 400.0),
    min_samples=st.integers(1, 5),
)
def test_hypothesis_bng_floats_agree_with_sklearn(
    points: list[tuple[float, float]], eps: float, min_samples: int
) -> None:
    check_against_sklearn(np.array(points), eps, min_samples)


# --------------------------------------------------------------------------- adversarial


def test_points_exactly_eps_apart_are_neighbours() -> None:
    xy = np.array([[0.0, 0.0], [200.0, 0.0]])
    assert dbscan(xy, eps_m=200.0, min_samples=2).labels.tolist() == [0, 0]
    apart = xy + np.array([[0.0, 0.0], [1.0, 0.0]])
    assert dbscan(apart, eps_m=200.0, min_samples=2).labels.tolist() == [-1, -1]


def test_pythagorean_offsets_exactly_eps_and_just_beyond() -> None:
    """Integer vectors of length exactly 200 m (and sqrt(200**2 + 1)) in every direction."""
    rng = np.random.default_rng(5)
    on = [(200, 0), (0, 200), (120, 160), (160, 120), (56, 192), (192, 56)]
    off = [(200, 1), (1, 200)]  # 40001 > 40000: not neighbours
    vectors = [(sx * a, sy * b) for a, b in on + off for sx in (1, -1) for sy in (1, -1)]
    base = np.round(rng.uniform(550_000, 560_000, (60, 2)))
    xy = np.concatenate([base + v for v in vectors] + [base])
    for min_samples in (2, 3, 5, 9):
        check_against_sklearn(xy, 200.0, min_samples)


def test_duplicates_count_once_each() -> None:
    xy = np.array([[570_000.0, 200_000.0]] * 1_000 + [[570_300.0, 200_000.0]] * 4)
    result = check_against_sklearn(xy, 200.0, 5)  # four copies 300 m away: noise
    assert result.labels.tolist() == [0] * 1_000 + [-1] * 4
    assert not result.core[-4:].any()
    four = check_against_sklearn(xy, 200.0, 4)
    assert four.core.all()
    assert four.labels.tolist() == [0] * 1_000 + [1] * 4


def test_collinear_chain_spaced_exactly_eps() -> None:
    xy = np.column_stack([np.arange(0, 200 * 50, 200, dtype=np.float64), np.zeros(50)])
    result = check_against_sklearn(xy, 200.0, 3)
    assert result.n_clusters == 1
    assert result.core.tolist() == [False] + [True] * 48 + [False]
    assert check_against_sklearn(xy, 199.0, 2).labels.tolist() == [-1] * 50


def test_diagonal_chain_across_cell_corners() -> None:
    step = np.array([120.0, 160.0])  # |step| == 200
    xy = 550_000.0 + np.arange(40)[:, None] * step
    assert check_against_sklearn(xy, 200.0, 3).n_clusters == 1


@pytest.mark.parametrize("gap", [200.0, 201.0])
def test_two_dense_blocks_joined_only_at_eps(gap: float) -> None:
    rng = np.random.default_rng(3)
    left = np.round(rng.uniform(0, 1_000, (3_000, 2)))
    left[:, 0] = np.minimum(left[:, 0], 1_000.0)
    left[0] = (1_000.0, 500.0)
    right = left + np.array([1_000.0 + gap, 0.0])
    right[0] = (1_000.0 + gap, 500.0)
    result = check_against_sklearn(np.concatenate([left, right]), 200.0, 3)
    assert result.n_clusters == (1 if gap == 200.0 else 2)


def test_link_found_only_between_interior_points() -> None:
    """Two cells whose extreme points are all more than eps apart, yet two others are not.

    The grid is anchored at the minimum corner (the point at the origin), cell side eps/sqrt 2.
    """
    xy = np.array(
        [
            *([0, 0], [140, 105], [3, 129], [131, 18], [121, 138]),  # cell (0, 0)
            *([175, 331], [278, 301], [212, 314], [238, 321]),  # cell (1, 2)
        ],
        dtype=np.float64,
    )
    result = check_against_sklearn(xy, 200.0, 1)
    assert result.n_clusters == 1


def test_no_neighbour_lost_near_cell_boundaries() -> None:
    """Exact neighbour counts (every cell light) equal brute force, eps vectors on cell edges."""
    cell = 200.0 / 2**0.5
    edges = sorted({round(k * cell) + d for k in range(5) for d in (-1, 0, 1)} - {-1})
    base = np.array([(x, y) for x in edges for y in edges], dtype=np.float64)
    vectors = [(200, 0), (0, 200), (120, 160), (160, 120), (56, 192), (192, 56), (141, 141)]
    moves = [(sx * a, sy * b) for a, b in vectors for sx in (1, -1) for sy in (1, -1)]
    xy = np.concatenate([base] + [base + v for v in moves])
    xy = xy[(xy >= 0).all(axis=1)]
    weight = dbscan(xy, eps_m=200.0, min_samples=10**9).neighbourhood_weight
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(weight, (d2 <= 200.0**2).sum(axis=1))


def test_opposite_corners_of_a_cell_just_over_eps_apart() -> None:
    side = 200.0 / 2**0.5
    for x in [*np.nextafter(side, [0.0, 1e9]).tolist(), side, 141.7]:
        xy = np.array([[0.0, 0.0], [x, x]])
        expected = x * x + x * x <= 200.0 * 200.0
        assert dbscan(xy, eps_m=200.0, min_samples=2).core.tolist() == [expected] * 2
    assert dbscan([[0.0, 0.0], [141.7, 141.7]], eps_m=200.0, min_samples=2).n_clusters == 0


def test_sparse_rings_around_dense_cells() -> None:
    rng = np.random.default_rng(11)
    dense = rng.normal(0, 30, (2_000, 2))
    angle = rng.uniform(0, 2 * np.pi, 400)
    radius = rng.uniform(150, 600, 400)
    ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    for min_samples in (3, 6, 15):
        check_against_sklearn(np.concatenate([dense, ring]), 100.0, min_samples)


def test_empty_input() -> None:
    result = dbscan(np.empty((0, 2)), eps_m=200.0, min_samples=3)
    assert result.labels.shape == (0,)
    assert result.core.shape == (0,)
    assert result.n_clusters == 0


def test_single_point() -> None:
    assert dbscan([[1.0, 2.0]], eps_m=5.0, min_samples=1).labels.tolist() == [0]
    assert dbscan([[1.0, 2.0]], eps_m=5.0, min_samples=2).labels.tolist() == [-1]


def test_min_samples_one_makes_every_point_core() -> None:
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 5_000, (500, 2))
    result = check_against_sklearn(xy, 100.0, 1)
    assert result.core.all()
    assert (result.labels >= 0).all()


def test_weights_match_sklearn_sample_weight() -> None:
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [500.0, 0.0]])
    weight = np.array([1.0, 0.5, 0.5, 3.0])
    result = check_against_sklearn(xy, 15.0, 2, weight)
    assert result.core.tolist() == [False, True, False, True]
    assert result.labels.tolist() == [0, 0, 0, 1]
    assert check_against_sklearn(xy, 15.0, 2, np.zeros(4)).labels.tolist() == [-1] * 4


def test_labels_do_not_depend_on_input_order_for_cores() -> None:
    data = essex_points(3_000, seed=4)
    result = dbscan(data.xy_bng, eps_m=200.0, min_samples=4)
    perm = np.random.default_rng(0).permutation(3_000)
    shuffled = dbscan(data.xy_bng[perm], eps_m=200.0, min_samples=4)
    np.testing.assert_array_equal(shuffled.core, result.core[perm])
    pairs = set(
        zip(shuffled.labels[shuffled.core], result.labels[perm][shuffled.core], strict=True)
    )
    assert len(pairs) == result.n_clusters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xy_bng": [[1.0, 2.0, 3.0]]}, "(n, 2)"),
        ({"xy_bng": [[np.nan, 2.0]]}, "finite"),
        ({"eps_m": 0.0}, "eps_m"),
        ({"eps_m": float("inf")}, "eps_m"),
        ({"min_samples": 0}, "min_samples"),
        ({"min_samples": 2.5}, "min_samples"),
        ({"sample_weight": [-1.0]}, "non-negative"),
        ({"sample_weight": [1.0, 1.0]}, "one weight per point"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"xy_bng": [[1.0, 2.0]], "eps_m": 10.0, "min_samples": 2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        dbscan(**args)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- time window


def test_window_is_half_open_ending_now() -> None:
    now = 100 * DAY
    t = np.array([now - 28 * DAY, now - 28 * DAY + 1, now, now + 1])
    assert window_mask(t, now_s=now, window_days=28).tolist() == [False, True, True, False]


def test_cluster_window_equals_dbscan_of_points_in_window() -> None:
    data = essex_points(5_000, seed=6, period_days=56)
    result = cluster_window(data.xy_bng, data.t_s, now_s=data.now_s, eps_m=200, min_samples=4)
    inside = window_mask(data.t_s, now_s=data.now_s, window_days=28)
    assert 0.3 < inside.mean() < 0.7
    np.testing.assert_array_equal(result.in_window, inside)
    direct = check_against_sklearn(data.xy_bng[inside], 200.0, 4)
    np.testing.assert_array_equal(result.labels[inside], direct.labels)
    assert (result.labels[~inside] == -1).all()
    assert not result.core[~inside].any()


def test_empty_window_when_all_points_too_old() -> None:
    xy = np.zeros((10, 2))
    result = cluster_window(xy, np.zeros(10), now_s=29 * DAY, eps_m=200, min_samples=2)
    assert result.labels.tolist() == [-1] * 10
    assert result.n_clusters == 0
    assert not result.in_window.any()
    assert not result.weight.any()


def test_recency_weighting_is_sklearn_sample_weight() -> None:
    data = essex_points(4_000, seed=8, period_days=28)
    now = data.now_s
    result = cluster_window(
        data.xy_bng, data.t_s, now_s=now, eps_m=200, min_samples=3, half_life_days=7
    )
    weight = recency_weights(data.t_s, now_s=now, half_life_days=7)
    np.testing.assert_allclose(result.weight, weight)
    ref_labels, ref_core = reference(data.xy_bng, 200.0, 3, weight)
    assert_same_clustering(data.xy_bng, 200.0, result.labels, result.core, ref_labels, ref_core)
    unweighted = cluster_window(data.xy_bng, data.t_s, now_s=now, eps_m=200, min_samples=3)
    assert unweighted.core.sum() > result.core.sum()


def test_half_life_weights_exact_at_the_threshold() -> None:
    """Two reports one half-life old weigh exactly one fresh report."""
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 0.0]])
    now = 50 * DAY
    old = cluster_window(
        xy, [now, now - 7 * DAY, now - 7 * DAY], now_s=now, min_samples=2, half_life_days=7
    )
    assert old.core.tolist() == [True, True, True]
    assert old.weight.tolist() == [1.0, 0.5, 0.5]
    older = cluster_window(
        xy, [now, now - 7 * DAY, now - 14 * DAY], now_s=now, min_samples=2, half_life_days=7
    )
    assert older.labels.tolist() == [-1, -1, -1]  # 1 + 0.5 + 0.25 < 2


def test_epoch_seconds_from_datetime64() -> None:
    t = np.array(["2026-01-01T00:00:00", "2026-01-01T00:00:01.5"], dtype="datetime64[ms]")
    assert epoch_seconds(t).tolist() == [1_767_225_600.0, 1_767_225_601.5]


# --------------------------------------------------------------------------- incremental


@pytest.mark.parametrize("seed", range(12))
def test_incremental_inserts_equal_batch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 500))
    xy = np.round(rng.uniform(0, 1500, (n, 2))) if seed % 2 else rng.normal(0, 300, (n, 2))
    xy[: n // 10] = xy[n // 10 : 2 * (n // 10)]  # duplicates
    inc = IncrementalDBSCAN(eps_m=100.0, min_samples=int(rng.integers(1, 7)))
    for i in rng.permutation(n):
        inc.insert(int(i), (xy[i, 0], xy[i, 1]), t_s=0.0)
        if rng.random() < 0.05:
            assert_same_as_batch(inc)
    assert_same_as_batch(inc)
    assert inc.clustering().n_clusters > 0


def test_incremental_after_load_with_weights_equals_batch() -> None:
    data = essex_points(6_000, seed=9)
    inc = IncrementalDBSCAN(eps_m=200.0, min_samples=4, half_life_days=10.0)
    inc.load(list(range(5_000)), data.xy_bng[:5_000], data.t_s[:5_000], now_s=data.now_s)
    for i in range(5_000, 6_000):
        inc.insert(i, (data.xy_bng[i, 0], data.xy_bng[i, 1]), t_s=data.t_s[i])
    assert_same_as_batch(inc)
    np.testing.assert_allclose(
        inc.weights, recency_weights(data.t_s, now_s=data.now_s, half_life_days=10.0)
    )


def test_incremental_merges_clusters_through_a_bridge() -> None:
    inc = IncrementalDBSCAN(eps_m=10.0, min_samples=3)
    for i, x in enumerate([0.0, 5.0, 10.0, 50.0, 55.0, 60.0]):
        inc.insert(i, (x, 0.0), t_s=0.0)
    assert inc.clustering().n_clusters == 2
    inc.insert("a", (20.0, 0.0), t_s=0.0)
    inc.insert("b", (40.0, 0.0), t_s=0.0)
    assert inc.clustering().n_clusters == 2
    assert not inc.clustering().core[-2:].any()
    inc.insert("c", (30.0, 0.0), t_s=0.0)  # makes "a" and "b" core: one chain
    assert inc.clusters() == {0: frozenset([0, 1, 2, 3, 4, 5, "a", "b", "c"])}
    assert_same_as_batch(inc)


def test_incremental_recompute_expires_and_equals_cluster_window() -> None:
    data = essex_points(4_000, seed=12, period_days=40)
    inc = IncrementalDBSCAN(eps_m=200.0, min_samples=4, window_days=28.0)
    for i in range(4_000):
        inc.insert(i, (data.xy_bng[i, 0], data.xy_bng[i, 1]), t_s=data.t_s[i])
    result = inc.recompute(now_s=data.now_s)
    expected = cluster_window(data.xy_bng, data.t_s, now_s=data.now_s, eps_m=200, min_samples=4)
    inside = np.flatnonzero(expected.in_window)
    assert list(inc.ids) == inside.tolist()
    np.testing.assert_array_equal(result.labels, expected.labels[inside])


def test_incremental_remove_equals_batch_of_remaining() -> None:
    data = essex_points(2_000, seed=13)
    inc = IncrementalDBSCAN(eps_m=200.0, min_samples=4)
    inc.load(list(range(2_000)), data.xy_bng, data.t_s, now_s=data.now_s)
    gone = list(range(0, 2_000, 3))
    result = inc.remove(gone)
    keep = np.setdiff1d(np.arange(2_000), gone)
    expected = dbscan(data.xy_bng[keep], eps_m=200.0, min_samples=4)
    np.testing.assert_array_equal(result.labels, expected.labels)
    assert len(inc) == len(keep)
    assert gone[1] not in inc.ids
    inc.insert(gone[1], (data.xy_bng[3, 0], data.xy_bng[3, 1]), t_s=data.now_s)
    assert_same_as_batch(inc)


def test_incremental_rejects_duplicate_ids_and_unknown_removals() -> None:
    inc = IncrementalDBSCAN()
    inc.insert("x", (0.0, 0.0), t_s=0.0)
    with pytest.raises(ValueError, match="already active"):
        inc.insert("x", (1.0, 1.0), t_s=0.0)
    with pytest.raises(KeyError):
        inc.remove(["nope"])
    with pytest.raises(ValueError, match="unique"):
        inc.load(["a", "a"], [[0.0, 0.0], [1.0, 1.0]], [0.0, 0.0], now_s=0.0)


@settings(max_examples=40, deadline=None)
@given(
    points=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=80),
    split=st.integers(0, 80),
    min_samples=st.integers(1, 5),
)
def test_hypothesis_incremental_equals_batch(
    points: list[tuple[int, int]], split: int, min_samples: int
) -> None:
    xy = np.array(points, dtype=np.float64) * 10.0
    inc = IncrementalDBSCAN(eps_m=20.0, min_samples=min_samples)
    k = min(split, len(points))
    inc.load(list(range(k)), xy[:k], np.zeros(k), now_s=0.0)
    for i in range(k, len(points)):
        inc.insert(i, (xy[i, 0], xy[i, 1]), t_s=0.0)
    assert_same_as_batch(inc)


# --------------------------------------------------------------------------- summaries


def test_summarise_cluster_geometry_by_shape() -> None:
    assert isinstance(summarise_cluster([[1.0, 1.0]], [5.0]).hull_bng, Point)
    line = summarise_cluster([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], [1.0, 2.0, 3.0]).hull_bng
    assert isinstance(line, LineString)
    assert line.length == pytest.approx(2 * 2**0.5)
    square = summarise_cluster([[0, 0], [0, 10], [10, 10], [10, 0], [5, 5]], [3, 1, 2, 5, 4])
    assert isinstance(square.hull_bng, Polygon)
    assert square.hull_bng.area == 100.0
    assert (square.first_seen_s, square.last_seen_s, square.member_count) == (1.0, 5.0, 5)
    assert square.centroid_bng == (5.0, 5.0)
    with pytest.raises(ValueError, match="at least one member"):
        summarise_cluster(np.empty((0, 2)), [])


def test_summarise_clusters_per_label() -> None:
    data = essex_points(3_000, seed=14)
    result = dbscan(data.xy_bng, eps_m=200.0, min_samples=5)
    sums = summarise_clusters(data.xy_bng, data.t_s, result.labels)
    assert sorted(sums) == list(range(result.n_clusters))
    counts = np.bincount(result.labels[result.labels >= 0])
    assert [sums[k].member_count for k in sorted(sums)] == counts.tolist()
    assert summarise_clusters(data.xy_bng, data.t_s, np.full(3_000, -1)) == {}
