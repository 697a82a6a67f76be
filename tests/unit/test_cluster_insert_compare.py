"""bench.cluster_compare: what counts as the incremental path disagreeing with DBSCAN."""

from __future__ import annotations

import doctest

import numpy as np

import bench.cluster_compare
from bench.cluster_compare import compare
from geo.clustering import dbscan
from tests.unit.test_cluster_insert_chunks import replay

LINE = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 0]])
KEYS = list(range(7))


def test_doctests():
    assert doctest.testmod(bench.cluster_compare).failed == 0


def test_ids_do_not_matter_and_one_point_does_not_count_its_whole_cluster():
    before = {0: (7, True), 1: (7, True), 2: (7, True), 3: (7, False)}
    after = {0: (1, True), 1: (1, True), 2: (1, True)}  # 3 is noise after
    c = compare(KEYS, LINE, before, after, eps_m=1.0)
    assert (c.noise_differs, c.core_differs, c.core_cluster_differs, c.wrong) == (1, 0, 0, 1)


def test_split_and_merged_cores_and_orphaned_borders_count():
    before = {0: (7, True), 1: (7, True), 4: (7, True), 5: (7, True), 6: (9, False)}
    after = {0: (1, True), 1: (1, True), 4: (2, True), 5: (2, True), 6: (2, False)}
    c = compare(KEYS, LINE, before, after, eps_m=1.0)
    assert c.core_cluster_differs == 4  # 7 split into 1 and 2
    assert c.border_elsewhere == 1  # 6 sits in hotspot 9, which has no core near it
    assert compare(KEYS, LINE, before, after, eps_m=1.0, focus={0, 1}).wrong == 2


def test_members_that_left_the_layer_are_reported_apart():
    before = {0: (7, True), 1: (7, True), "gone": (7, False)}
    after = {0: (1, True), 1: (1, True)}
    c = compare(KEYS, LINE, before, after, eps_m=1.0)
    assert (c.left_layer, c.wrong) == (1, 0)


def test_the_chunked_incremental_path_agrees_with_dbscan():
    """All batches stored before any fold (a burst), folded in any order: no disagreement
    (before the fix of geo.cluster_insert: two border points left on a hotspot without cores)."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 8_000, size=(12, 2))
    xy = np.round(centres[rng.integers(0, 12, 600)] + rng.normal(0, 250, size=(600, 2)))
    batch_of = [i // 50 for i in range(600)]
    order = [("commit", b) for b in range(12)]
    order += [("fold", int(b)) for b in rng.permutation(12)]
    labels, core = replay(xy, batch_of, order, 200.0, 3)
    ref = dbscan(xy, eps_m=200.0, min_samples=3)

    def state(lab, cor):
        return {
            i: (int(h), bool(c)) for i, (h, c) in enumerate(zip(lab, cor, strict=True)) if h >= 0
        }

    c = compare(list(range(600)), xy, state(labels, core), state(ref.labels, ref.core), eps_m=200.0)
    assert c.wrong == 0, c
