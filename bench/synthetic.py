"""Synthetic Essex-like point data in British National Grid metres (EPSG:27700).

Reusable by every benchmark: towns are gaussian blobs around real Essex town centres (each
town a few sub-blobs of sigma 100-800 m, as reports gather around a station, a high street,
a park), plus uniform rural scatter over the county bounding box. Times are float epoch
seconds spread over a period ending at ``now_s``.

>>> data = essex_points(1000, seed=1)
>>> data.xy_bng.shape, data.t_s.shape
((1000, 2), (1000,))
>>> bool((data.t_s <= data.now_s).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: County bounding box in BNG metres (easting min, northing min, easting max, northing max).
ESSEX_BBOX_BNG = (545_000.0, 170_000.0, 625_000.0, 245_000.0)

#: (name, easting, northing, relative size) of twenty Greater Essex towns.
TOWNS_BNG: tuple[tuple[str, float, float, float], ...] = (
    ("Southend-on-Sea", 588_300.0, 185_900.0, 3.0),
    ("Chelmsford", 570_900.0, 206_900.0, 2.8),
    ("Colchester", 599_700.0, 225_200.0, 2.6),
    ("Basildon", 571_500.0, 189_000.0, 2.5),
    ("Harlow", 544_800.0, 210_300.0, 1.8),
    ("Brentwood", 559_500.0, 193_700.0, 1.0),
    ("Grays", 561_500.0, 177_800.0, 1.6),
    ("Braintree", 575_600.0, 222_900.0, 1.0),
    ("Clacton-on-Sea", 617_600.0, 214_800.0, 1.4),
    ("Billericay", 567_400.0, 194_400.0, 0.8),
    ("Wickford", 575_000.0, 193_600.0, 0.6),
    ("Canvey Island", 579_400.0, 183_500.0, 0.8),
    ("Rayleigh", 580_600.0, 190_600.0, 0.7),
    ("Loughton", 542_400.0, 196_000.0, 0.6),
    ("Epping", 546_300.0, 202_300.0, 0.4),
    ("Witham", 582_100.0, 214_600.0, 0.6),
    ("Maldon", 584_900.0, 206_900.0, 0.4),
    ("Saffron Walden", 553_800.0, 238_500.0, 0.3),
    ("Harwich", 624_600.0, 232_000.0, 0.5),
    ("Halstead", 581_300.0, 230_600.0, 0.3),
)

_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class SyntheticPoints:
    """Points in BNG metres with float epoch-second times ending at ``now_s``."""

    xy_bng: NDArray[np.float64]
    t_s: NDArray[np.float64]
    now_s: float


def essex_points(
    n: int,
    *,
    seed: int = 0,
    rural_fraction: float = 0.15,
    blobs_per_town: int = 6,
    sigma_range_m: tuple[float, float] = (100.0, 800.0),
    town_radius_m: float = 2_500.0,
    period_days: float = 28.0,
    now_s: float = 1_767_225_600.0,  # 2026-01-01T00:00:00Z
    integer_metres: bool = False,
) -> SyntheticPoints:
    """``n`` Essex-like points: town blobs plus ``rural_fraction`` uniform rural scatter.

    Each town has ``blobs_per_town`` gaussian blobs with sigma drawn log-uniformly from
    ``sigma_range_m``, their centres within ``town_radius_m`` of the town centre; towns take
    points in proportion to their size. Times are uniform over the ``period_days`` before
    ``now_s``. ``integer_metres`` rounds coordinates (exact distances, handy for tests).
    """
    rng = np.random.default_rng(seed)
    n_rural = round(n * rural_fraction)
    xy = np.concatenate(
        [
            _town_points(rng, n - n_rural, blobs_per_town, sigma_range_m, town_radius_m),
            _rural_points(rng, n_rural),
        ]
    )
    xy = xy[rng.permutation(n)]
    if integer_metres:
        xy = np.round(xy)
    t_s = now_s - rng.uniform(0.0, period_days * _DAY_S, size=n)
    return SyntheticPoints(xy_bng=xy, t_s=t_s, now_s=now_s)


def _town_points(
    rng: np.random.Generator,
    n: int,
    blobs_per_town: int,
    sigma_range_m: tuple[float, float],
    town_radius_m: float,
) -> NDArray[np.float64]:
    """``n`` points from the gaussian blobs of every town."""
    centres = np.array([(e, nn) for _, e, nn, _ in TOWNS_BNG])
    sizes = np.array([s for *_, s in TOWNS_BNG])
    n_blobs = len(TOWNS_BNG) * blobs_per_town
    town_of_blob = np.repeat(np.arange(len(TOWNS_BNG)), blobs_per_town)
    offset = rng.normal(0.0, town_radius_m / 2.0, size=(n_blobs, 2))
    blob_centres = centres[town_of_blob] + offset
    lo, hi = np.log(sigma_range_m[0]), np.log(sigma_range_m[1])
    sigma = np.exp(rng.uniform(lo, hi, size=n_blobs))
    share = sizes[town_of_blob] * rng.uniform(0.3, 1.0, size=n_blobs)
    blob = rng.choice(n_blobs, size=n, p=share / share.sum())
    return blob_centres[blob] + rng.normal(size=(n, 2)) * sigma[blob, None]


def _rural_points(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """``n`` points uniform over the county bounding box."""
    e0, n0, e1, n1 = ESSEX_BBOX_BNG
    return np.column_stack([rng.uniform(e0, e1, n), rng.uniform(n0, n1, n)])
