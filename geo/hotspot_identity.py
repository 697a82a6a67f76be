"""Stable hotspot identity across re-clustering.

Clustering numbers its clusters afresh on every run; coordinators need a hotspot to keep its
id while it persists. :func:`match_hotspots` compares the previous hotspots (id -> member
ids) with the new clusters (label -> member ids):

* an old hotspot and a new cluster are *linked* when their shared members are a strict
  majority of the old hotspot or of the new cluster;
* ids are inherited one-to-one along links, the link with most shared members first (then
  the higher Jaccard index, then the lower old id, then the lower new label), so the result
  depends only on the contents of the inputs, never on their order;
* a new cluster that inherits nothing gets a fresh id from the caller's ``new_id`` factory
  (called in ascending label order);
* an old hotspot linked to several new clusters is reported as a :class:`Split`, a new
  cluster linked to several old hotspots as a :class:`Merge`, and an old hotspot linked to
  none as a :class:`Disappearance`.

Nothing before (every cluster is new) and nothing after (every hotspot disappears):

>>> ids = iter(range(100, 200))
>>> m = match_hotspots({}, {0: {"a", "b"}, 1: {"c"}}, new_id=lambda: next(ids))
>>> dict(m.ids), [b.hotspot_id for b in m.births]
({0: 100, 1: 101}, [100, 101])
>>> m = match_hotspots({7: {"a"}}, {}, new_id=lambda: next(ids))
>>> dict(m.ids), m.disappearances
({}, (Disappearance(hotspot_id=7),))

One new report joining a hotspot keeps its id:

>>> m = match_hotspots({7: {"a", "b", "c"}}, {0: {"a", "b", "c", "d"}}, new_id=lambda: 0)
>>> dict(m.ids), m.continuations
({0: 7}, (Continuation(hotspot_id=7, label=0, shared=3),))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar


class _Sortable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


H = TypeVar("H", bound=_Sortable)
L = TypeVar("L", bound=_Sortable)
M = TypeVar("M", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Continuation(Generic[H, L]):
    """New cluster ``label`` carries on hotspot ``hotspot_id`` (``shared`` members in common)."""

    hotspot_id: H
    label: L
    shared: int


@dataclass(frozen=True, slots=True)
class Birth(Generic[H, L]):
    """New cluster ``label`` is a new hotspot with the fresh id ``hotspot_id``."""

    hotspot_id: H
    label: L


@dataclass(frozen=True, slots=True)
class Split(Generic[H]):
    """Old hotspot ``hotspot_id`` went on as several hotspots, ``into`` (most shared first)."""

    hotspot_id: H
    into: tuple[H, ...]


@dataclass(frozen=True, slots=True)
class Merge(Generic[H]):
    """Several old hotspots, ``from_ids`` (most shared first), went on as ``hotspot_id``."""

    hotspot_id: H
    from_ids: tuple[H, ...]


@dataclass(frozen=True, slots=True)
class Disappearance(Generic[H]):
    """Old hotspot ``hotspot_id`` has no successor."""

    hotspot_id: H


@dataclass(frozen=True, slots=True)
class IdentityMatch(Generic[H, L]):
    """Outcome of :func:`match_hotspots`; ``ids`` maps every new label to its hotspot id."""

    ids: Mapping[L, H]
    continuations: tuple[Continuation[H, L], ...]
    births: tuple[Birth[H, L], ...]
    splits: tuple[Split[H], ...]
    merges: tuple[Merge[H], ...]
    disappearances: tuple[Disappearance[H], ...]


@dataclass(frozen=True, slots=True)
class _Link(Generic[H, L]):
    old: H
    new: L
    shared: int
    union: int


def match_hotspots(
    previous: Mapping[H, AbstractSet[M]],
    current: Mapping[L, AbstractSet[M]],
    *,
    new_id: Callable[[], H],
) -> IdentityMatch[H, L]:
    """Give each new cluster a hotspot id, inheriting ids along majority links.

    A split keeps the id on its larger part and gives the others fresh ids:

    >>> fresh = iter(["h9"])
    >>> m = match_hotspots({"h1": {1, 2, 3, 4, 5, 6}}, {0: {1, 2, 3, 4}, 1: {5, 6}},
    ...                    new_id=lambda: next(fresh))
    >>> dict(m.ids), m.splits
    ({0: 'h1', 1: 'h9'}, (Split(hotspot_id='h1', into=('h1', 'h9')),))

    ``new_id`` must not return an id already in use (``ValueError``).
    """
    links = _links(previous, current)
    ids = _inherit(links)
    continuations = tuple(
        Continuation(ids[lk.new], lk.new, lk.shared) for lk in links if ids.get(lk.new) == lk.old
    )
    births = _births(previous, current, ids, new_id)
    return IdentityMatch(
        ids=MappingProxyType(dict(sorted(ids.items(), key=lambda kv: kv[0]))),
        continuations=tuple(sorted(continuations, key=lambda c: c.label)),
        births=births,
        splits=_splits(links, ids),
        merges=_merges(links, ids),
        disappearances=tuple(
            Disappearance(h) for h in sorted(set(previous) - {lk.old for lk in links})
        ),
    )


def _links(
    previous: Mapping[H, AbstractSet[M]], current: Mapping[L, AbstractSet[M]]
) -> list[_Link[H, L]]:
    """Majority links, best first: most shared, then highest Jaccard, then lowest ids."""
    owners: dict[M, list[H]] = {}
    for hotspot, members in previous.items():
        for member in members:
            owners.setdefault(member, []).append(hotspot)
    links: list[_Link[H, L]] = []
    for label, members in current.items():
        shared = Counter(h for m in members for h in owners.get(m, ()))
        for hotspot, k in shared.items():
            n_old, n_new = len(previous[hotspot]), len(members)
            if 2 * k > n_old or 2 * k > n_new:
                links.append(_Link(hotspot, label, k, n_old + n_new - k))
    links.sort(key=lambda lk: (-lk.shared, lk.union, lk.old, lk.new))
    return links


def _inherit(links: list[_Link[H, L]]) -> dict[L, H]:
    """Greedy one-to-one inheritance along the links, in their order."""
    ids: dict[L, H] = {}
    taken: set[H] = set()
    for lk in links:
        if lk.new not in ids and lk.old not in taken:
            ids[lk.new] = lk.old
            taken.add(lk.old)
    return ids


def _births(
    previous: Mapping[H, AbstractSet[M]],
    current: Mapping[L, AbstractSet[M]],
    ids: dict[L, H],
    new_id: Callable[[], H],
) -> tuple[Birth[H, L], ...]:
    """Fresh ids, in ascending label order, for the clusters that inherited none."""
    used: set[H] = set(previous) | set(ids.values())
    births: list[Birth[H, L]] = []
    for label in sorted(set(current) - set(ids)):
        fresh = new_id()
        if fresh in used:
            raise ValueError(f"new_id returned {fresh!r}, which is already in use")
        used.add(fresh)
        ids[label] = fresh
        births.append(Birth(fresh, label))
    return tuple(births)


def _splits(links: list[_Link[H, L]], ids: dict[L, H]) -> tuple[Split[H], ...]:
    """Old hotspots linked to two or more new clusters."""
    by_old: dict[H, list[H]] = {}
    for lk in links:
        by_old.setdefault(lk.old, []).append(ids[lk.new])
    return tuple(Split(h, tuple(into)) for h, into in sorted(by_old.items()) if len(into) > 1)


def _merges(links: list[_Link[H, L]], ids: dict[L, H]) -> tuple[Merge[H], ...]:
    """New clusters linked to two or more old hotspots."""
    by_new: dict[H, list[H]] = {}
    for lk in links:
        by_new.setdefault(ids[lk.new], []).append(lk.old)
    return tuple(Merge(h, tuple(old)) for h, old in sorted(by_new.items()) if len(old) > 1)
