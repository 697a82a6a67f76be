"""geo.clustering against scikit-learn's DBSCAN (the test-only reference), no database."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sklearn.cluster import DBSCAN

from bench.synthetic import essex_points
from geo.clustering import Clustering, dbscan

# --------------------------------------------------------------------------- helpers


def reference(
    xy: NDArray[np.float64], eps_m: float, min_samples: int
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """scikit-learn's labels and core flags (default algorithm, as the issue asks)."""
    if len(xy) == 0:
        return np.empty(0, np.int64), np.empty(0, np.bool_)
    model = DBSCAN(eps=eps_m, min_samples=min_samples).fit(xy)
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
) -> Clustering:
    result = dbscan(xy, eps_m=eps_m, min_samples=min_samples)
    ref_labels, ref_core = reference(xy, eps_m, min_samples)
    assert_same_clustering(xy, eps_m, result.labels, result.core, ref_labels, ref_core)
    # documented: cluster numbers follow the lowest-index core, as in scikit-learn
    np.testing.assert_array_equal(result.labels[ref_core], ref_labels[ref_core])
    return result


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
    check_against_sklearn(xy, eps, int(rng.integers(1, 9)))


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
)
def test_hypothesis_integer_grids_agree_with_sklearn(
    points: list[tuple[int, int]], eps: float, min_samples: int
) -> None:
    xy = np.array(points, dtype=np.float64) * 5.0  # many exact ties at eps, many duplicates
    check_against_sklearn(xy, eps * 5.0, min_samples)


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
    counts = dbscan(xy, eps_m=200.0, min_samples=10**9).neighbourhood_weight
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(counts, (d2 <= 200.0**2).sum(axis=1))


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
    ],
)
def test_invalid_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"xy_bng": [[1.0, 2.0]], "eps_m": 10.0, "min_samples": 2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        dbscan(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("east_first", [False, True])
def test_a_border_point_equally_near_two_clusters_takes_the_lower_label(east_first: bool) -> None:
    """The documented tie rule, whatever order the clusters come in (labels follow the order
    of each cluster's first core)."""
    east = [[10.0, 0.0], [13.0, 0.0], [16.0, 0.0], [19.0, 0.0]]
    west = [[-x, y] for x, y in east]
    first, second = (east, west) if east_first else (west, east)
    result = dbscan(np.array([*first, *second, [0.0, 0.0]]), eps_m=10.0, min_samples=4)
    assert not result.core[8]
    assert result.labels.tolist() == [0] * 4 + [1] * 4 + [0]
