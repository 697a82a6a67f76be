"""geo.hotspot_identity: hotspot ids survive re-clustering; splits, merges, disappearances."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.hotspot_identity import (
    Birth,
    Continuation,
    Disappearance,
    Merge,
    Split,
    match_hotspots,
)


def counter(start: int = 1000) -> Callable[[], int]:
    numbers: Iterator[int] = itertools.count(start)
    return lambda: next(numbers)


def test_id_survives_when_one_new_point_joins() -> None:
    previous = {7: frozenset(range(10)), 8: frozenset(range(20, 25))}
    current = {0: frozenset(range(20, 25)), 1: frozenset(range(11))}
    m = match_hotspots(previous, current, new_id=counter())
    assert dict(m.ids) == {0: 8, 1: 7}
    assert m.continuations == (Continuation(8, 0, 5), Continuation(7, 1, 10))
    assert m.births == m.splits == m.merges == m.disappearances == ()


def test_id_survives_a_grown_hotspot_and_a_shrunk_one() -> None:
    previous = {1: frozenset(range(4)), 2: frozenset(range(100, 200))}
    current = {0: frozenset(range(40)), 1: frozenset(range(100, 130))}
    assert dict(match_hotspots(previous, current, new_id=counter()).ids) == {0: 1, 1: 2}


def test_id_survives_gradual_turnover_but_not_a_minority_overlap() -> None:
    previous = {5: frozenset(range(10))}
    assert dict(match_hotspots(previous, {0: set(range(4, 16))}, new_id=counter()).ids) == {0: 5}
    m = match_hotspots(previous, {0: set(range(6, 16))}, new_id=counter())  # 4 of 10, 4 of 10
    assert dict(m.ids) == {0: 1000}
    assert m.births == (Birth(1000, 0),)
    assert m.disappearances == (Disappearance(5),)


def test_split_keeps_the_id_on_the_larger_part() -> None:
    previous = {"h1": frozenset("abcdefgh")}
    current = {0: frozenset("abc"), 1: frozenset("defgh")}
    fresh = iter(["h2"])
    m = match_hotspots(previous, current, new_id=lambda: next(fresh))
    assert dict(m.ids) == {0: "h2", 1: "h1"}
    assert m.splits == (Split("h1", ("h1", "h2")),)
    assert m.births == (Birth("h2", 0),)
    assert m.merges == ()
    assert m.disappearances == ()


def test_merge_keeps_the_id_of_the_larger_contributor() -> None:
    previous = {1: frozenset("abc"), 2: frozenset("defgh"), 3: frozenset("xyz")}
    current = {0: frozenset("abcdefgh")}
    m = match_hotspots(previous, current, new_id=counter())
    assert dict(m.ids) == {0: 2}
    assert m.merges == (Merge(2, (2, 1)),)
    assert m.disappearances == (Disappearance(3),)
    assert m.births == ()
    assert m.splits == ()


def test_disappearance_and_birth_side_by_side() -> None:
    m = match_hotspots({1: {"a", "b"}}, {0: {"c", "d"}}, new_id=counter())
    assert dict(m.ids) == {0: 1000}
    assert m.disappearances == (Disappearance(1),)
    assert m.births == (Birth(1000, 0),)


def test_ties_break_on_jaccard_then_lowest_ids() -> None:
    # both old hotspots share 2 members with the new cluster; 9 is tighter (higher Jaccard)
    m = match_hotspots(
        {3: {"a", "b", "c"}, 9: {"d", "e"}}, {0: {"a", "b", "d", "e"}}, new_id=counter()
    )
    assert dict(m.ids) == {0: 9}
    # exact tie: the lower old id wins
    m = match_hotspots({3: {"a", "b"}, 9: {"d", "e"}}, {0: {"a", "b", "d", "e"}}, new_id=counter())
    assert dict(m.ids) == {0: 3}
    assert m.merges == (Merge(3, (3, 9)),)


def test_result_does_not_depend_on_input_order() -> None:
    previous = {1: frozenset("ab"), 2: frozenset("cd"), 3: frozenset("efg")}
    current = {10: frozenset("abcd"), 11: frozenset("ef"), 12: frozenset("gh")}
    a = match_hotspots(previous, current, new_id=counter())
    b = match_hotspots(
        dict(reversed(previous.items())), dict(reversed(current.items())), new_id=counter()
    )
    assert a == b


def test_new_id_must_be_fresh() -> None:
    with pytest.raises(ValueError, match="already in use"):
        match_hotspots({1: {"a"}}, {0: {"b"}}, new_id=lambda: 1)
    ids = iter([5, 5])
    with pytest.raises(ValueError, match="already in use"):
        match_hotspots({}, {0: {"a"}, 1: {"b"}}, new_id=lambda: next(ids))


def test_results_are_frozen() -> None:
    m = match_hotspots({1: {"a"}}, {0: {"a"}}, new_id=counter())
    with pytest.raises(AttributeError):
        m.continuations = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        m.ids[0] = 2  # type: ignore[index]


clusters = st.dictionaries(
    st.integers(0, 8), st.frozensets(st.integers(0, 40), max_size=12), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(previous=clusters, current=clusters)
def test_hypothesis_ids_are_unique_and_inherited_along_majority_links(
    previous: dict[int, frozenset[int]], current: dict[int, frozenset[int]]
) -> None:
    m = match_hotspots(previous, current, new_id=counter())
    assert set(m.ids) == set(current)
    assert len(set(m.ids.values())) == len(m.ids)
    for label, hotspot in m.ids.items():
        if hotspot in previous:
            k = len(previous[hotspot] & current[label])
            assert 2 * k > len(previous[hotspot]) or 2 * k > len(current[label])
        else:
            assert hotspot >= 1000
            assert Birth(hotspot, label) in m.births
    gone = {d.hotspot_id for d in m.disappearances}
    assert not gone & set(m.ids.values())
    for hotspot in gone:
        assert all(
            2 * len(previous[hotspot] & c) <= len(previous[hotspot]) for c in current.values()
        )
    swapped = match_hotspots(
        dict(reversed(previous.items())), dict(reversed(current.items())), new_id=counter()
    )
    assert swapped == m
