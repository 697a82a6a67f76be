"""Small-number suppression for figures meant for wide audiences: a pure rule, no I/O.

Councils do not publish counts under 5: they can identify people. In a suppressed view:

* a count under :data:`THRESHOLD` (zero included: "none" is as telling as "one" next to
  other figures) is shown as :data:`SUPPRESSED` (``"<5"``);
* a rate or share is withheld (:data:`WITHHELD`) when its numerator, its denominator or the
  rest (denominator minus numerator) is under the threshold, since any of them can be worked
  back from a rate and a shown total;
* a median over fewer than :data:`THRESHOLD` values is withheld (it is nearly one person's
  time);
* in a partition shown next to its total (outcomes of the closed referrals, a snapshot's
  genders...) a single suppressed cell could be recovered by subtraction, so the smallest
  other cell is suppressed as well (secondary suppression).

An exact view returns every figure as it is; a rate over nothing is ``None`` either way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

THRESHOLD = 5
SUPPRESSED: Literal["<5"] = "<5"
WITHHELD: Literal["suppressed"] = "suppressed"

Count = int | Literal["<5"]
Derived = float | Literal["suppressed"] | None


def count(n: int, *, exact: bool) -> Count:
    """A count as shown.

    >>> count(4, exact=False), count(5, exact=False), count(0, exact=False), count(3, exact=True)
    ('<5', 5, '<5', 3)
    """
    return n if exact or n >= THRESHOLD else SUPPRESSED


def rate(numerator: int, denominator: int, *, exact: bool, digits: int = 4) -> Derived:
    """``numerator / denominator``, withheld when it could reveal a small number.

    >>> rate(6, 20, exact=False), rate(3, 20, exact=False), rate(6, 8, exact=False)
    (0.3, 'suppressed', 'suppressed')
    >>> rate(20, 20, exact=False)  # "all of them" reveals that none were left
    'suppressed'
    >>> rate(3, 20, exact=True), rate(0, 0, exact=False) is None
    (0.15, True)
    """
    if denominator <= 0:
        return None
    small = min(numerator, denominator, denominator - numerator) < THRESHOLD
    if small and not exact:
        return WITHHELD
    return round(numerator / denominator, digits)


def median(value: float | None, n: int, *, exact: bool, digits: int = 2) -> Derived:
    """A median of ``n`` values, withheld over fewer than :data:`THRESHOLD` of them.

    >>> median(12.345, 5, exact=False), median(12.345, 4, exact=False)
    (12.35, 'suppressed')
    >>> median(None, 0, exact=False) is None, median(3.0, 1, exact=True)
    (True, 3.0)
    """
    if value is None or n == 0:
        return None
    if n < THRESHOLD and not exact:
        return WITHHELD
    return round(value, digits)


def partition(cells: Mapping[str, int], *, exact: bool) -> dict[str, Count]:
    """The cells of a partition whose total is shown, with secondary suppression.

    >>> partition({"male": 9, "female": 3, "unknown": 7}, exact=False)
    {'male': 9, 'female': '<5', 'unknown': '<5'}
    >>> partition({"male": 9, "female": 3, "unknown": 2}, exact=False)  # two small: safe
    {'male': 9, 'female': '<5', 'unknown': '<5'}
    >>> partition({"male": 9, "female": 6}, exact=False)
    {'male': 9, 'female': 6}
    >>> partition({"male": 9, "female": 3}, exact=True)
    {'male': 9, 'female': 3}
    """
    shown: dict[str, Count] = {key: count(n, exact=exact) for key, n in cells.items()}
    hidden = [key for key, value in shown.items() if value == SUPPRESSED]
    if len(hidden) == 1:
        visible = sorted((n, key) for key, n in cells.items() if shown[key] != SUPPRESSED)
        if visible:
            shown[visible[0][1]] = SUPPRESSED
    return shown


# --- Figures outside the caller's scope: one calendar month, one grid, nested suppression ---
#
# Differencing: two suppressed answers that overlap give their difference exactly (a month's
# count minus a day's, a zoom-13 cell minus its zoom-14 children, a team minus the authorities
# it covers). So every figure outside the caller's own scope counts one *calendar month* (Europe/
# London) that has ended: months never overlap, so answers about different months share no
# record. Within a month the answers form one hierarchy (a laminar family): authority rows,
# and grid cells of one fixed size split by authority (each cell lies inside one authority's
# row). Team rows outside the caller's scope are not given at all: a team cuts across the
# authority rows, and the two partitions together would let a small number be worked out.
#
# In a laminar family the numbers a reader can derive exactly are sums of *blocks*: each shown
# node minus its largest shown descendants (every 0/1 vector in the span of a laminar family's
# indicators is a union of such blocks, and the blocks are disjoint). Records the reader may
# see anyway are known; they are taken out first. So no count under the threshold can be
# derived as long as every block holds no hidden record or at least THRESHOLD of them.
# :func:`suppress_month` enforces exactly that: a node is shown only when its count is at
# least THRESHOLD and its hidden records are none or at least THRESHOLD, and for each shown
# authority the smallest shown cells inside it are suppressed until the hidden records in its
# suppressed cells (and those with no cell) are none or at least THRESHOLD.

MonthKey = tuple[str | None, int, int]
"""A cell of the month's grid: the authority it is counted for, and its column and row."""


@dataclass(frozen=True, slots=True)
class Group:
    """Records of one month that share an authority and a grid cell (``cx``/``cy`` are
    ``None`` for records with no position): how many, how many the reader may not see, and how
    many the map's cell counts (those the reader does not get as points)."""

    authority_code: str | None
    cx: int | None
    cy: int | None
    records: int
    hidden: int
    counted: int


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """Which authority rows may be shown, and each cell's count as shown."""

    authorities: Mapping[str, bool]
    cells: Mapping[MonthKey, Count]


def suppress_month(groups: Iterable[Group]) -> MonthFigures:
    """Primary and secondary suppression for one month's authority rows and cells.

    >>> g = [Group("A", 1, 1, 6, 6, 6), Group("A", 1, 2, 2, 2, 2), Group("B", 1, 3, 7, 7, 7)]
    >>> f = suppress_month(g)
    >>> dict(f.authorities), dict(f.cells)  # A = 8 less the cell of 6 would give 2
    ({'A': True, 'B': True}, {('A', 1, 1): '<5', ('A', 1, 2): '<5', ('B', 1, 3): 7})
    >>> f = suppress_month([Group("A", 1, 1, 7, 2, 7)])  # 5 of the 7 known: 2 would show
    >>> dict(f.authorities), dict(f.cells)
    ({'A': False}, {('A', 1, 1): '<5'})
    >>> dict(suppress_month([Group(None, 1, 1, 9, 9, 9)]).cells)  # no row above it
    {(None, 1, 1): 9}
    """
    cells: dict[MonthKey, list[int]] = {}
    areas: dict[str, list[int]] = {}
    for g in groups:
        if g.authority_code is not None:
            area = areas.setdefault(g.authority_code, [0, 0])
            area[0] += g.records
            area[1] += g.hidden
        if g.cx is not None and g.cy is not None and g.counted:
            cell = cells.setdefault((g.authority_code, g.cx, g.cy), [0, 0])
            cell[0] += g.counted
            cell[1] += g.hidden
    shown = {key for key, (n, hidden) in cells.items() if _safe(n, hidden)}
    authorities = {code: _safe(n, hidden) for code, (n, hidden) in areas.items()}
    for code, is_shown in authorities.items():
        if is_shown:
            _protect_rest(code, areas[code][1], cells, shown)
    return MonthFigures(
        authorities=authorities,
        cells={key: n if key in shown else SUPPRESSED for key, (n, _) in cells.items()},
    )


def _safe(n: int, hidden: int) -> bool:
    """Shown only when the count is not small and neither are the hidden records in it."""
    return n >= THRESHOLD and not 0 < hidden < THRESHOLD


def _protect_rest(
    code: str, hidden: int, cells: Mapping[MonthKey, list[int]], shown: set[MonthKey]
) -> None:
    """Suppress the smallest shown cells of a shown authority until its hidden records outside
    the shown cells are none or at least THRESHOLD."""
    inside = sorted(
        (cells[key][1], key[1], key[2], key)
        for key in shown
        if key[0] == code and cells[key][1] > 0
    )
    rest = hidden - sum(h for h, *_ in inside)
    for h, _, _, key in inside:
        if not 0 < rest < THRESHOLD:
            break
        shown.discard(key)
        rest += h


def month_start(day: dt.date) -> dt.date:
    """The first day of the calendar month holding ``day``."""
    return day.replace(day=1)


def next_month(first: dt.date) -> dt.date:
    """The first day of the month after the one starting on ``first``.

    >>> next_month(dt.date(2025, 12, 1)), next_month(dt.date(2025, 1, 1))
    (datetime.date(2026, 1, 1), datetime.date(2025, 2, 1))
    """
    return (first + dt.timedelta(days=32)).replace(day=1)


def is_whole_month(from_date: dt.date, to_date: dt.date, *, today: dt.date) -> bool:
    """Whether ``from_date``..``to_date`` (both included) is one calendar month that has ended
    before ``today``: the only periods figures outside the caller's scope are given for.

    >>> today = dt.date(2025, 3, 15)
    >>> is_whole_month(dt.date(2025, 2, 1), dt.date(2025, 2, 28), today=today)
    True
    >>> is_whole_month(dt.date(2025, 3, 1), dt.date(2025, 3, 31), today=today)  # not ended
    False
    >>> is_whole_month(dt.date(2025, 1, 1), dt.date(2025, 2, 28), today=today)  # two months
    False
    >>> is_whole_month(dt.date(2025, 2, 2), dt.date(2025, 2, 28), today=today)
    False
    """
    end = next_month(from_date)
    return from_date.day == 1 and to_date == end - dt.timedelta(days=1) and end <= today


def last_whole_month(moment_london: dt.date) -> dt.date:
    """The first day of the last calendar month that has ended by a moment on the day
    ``moment_london`` (the month before that day's month: a month ends at midnight as the
    next one begins).

    >>> last_whole_month(dt.date(2025, 3, 15)), last_whole_month(dt.date(2025, 3, 1))
    (datetime.date(2025, 2, 1), datetime.date(2025, 2, 1))
    >>> last_whole_month(dt.date(2025, 1, 1))
    datetime.date(2024, 12, 1)
    """
    return month_start(month_start(moment_london) - dt.timedelta(days=1))
