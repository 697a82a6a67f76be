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

from collections.abc import Mapping
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
