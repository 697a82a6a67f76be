"""Place a referral that has no map pin from its postcode or a place name in its description.

Tried in order: the postcode field; a full postcode written in the description; a street or
named place written in the description (``Duke Street``, ``Chelmsford Station``) when its
town is also named or its name is unique; else a town or village named in it. What cannot
be placed this way waits for a coordinator (triage): nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.db import places as repo
from service.db.engine import Db
from service.usecases.places import formats
from service.vocabularies import LocatedBy
from streetlink.schema import NormalisedReferral


@dataclass(frozen=True, slots=True)
class Located:
    lon: float
    lat: float
    accuracy_m: float
    located_by: LocatedBy
    label: str
    """What was matched, for the routing reason (``postcode CM1 1AA``, ``Duke Street, …``)."""


async def locate(db: Db, referral: NormalisedReferral) -> Located | None:
    for postcode in _postcodes(referral):
        row = await repo.find_postcode(db, formats.postcode_key(postcode))
        if row is not None:
            return Located(
                row["lon"], row["lat"], float(row["accuracy_m"]), "postcode",
                f"postcode {row['postcode']}",
            )  # fmt: skip
    if not referral.location_description:
        return None
    phrases = formats.phrases(referral.location_description)
    return best_name(await repo.names_matching(db, phrases), set(phrases))


def _postcodes(referral: NormalisedReferral) -> list[str]:
    found = [referral.postcode] if referral.postcode else []
    if referral.location_description:
        found += formats.postcodes_in(referral.location_description)
    return list(dict.fromkeys(found))


def best_name(rows: Sequence[dict[str, Any]], phrases: set[str]) -> Located | None:
    """The most specific name a description gives, if it is unambiguous.

    >>> def row(name, kind, place=None, weight=6):
    ...     return {"name": name, "name_key": formats.search_key(name), "kind": kind,
    ...             "place": place, "weight": weight, "lon": 0.0, "lat": 51.0,
    ...             "accuracy_m": 100.0}
    >>> high = [row("High Street", "street", "Maldon"), row("High Street", "street", "Witham")]
    >>> best_name(high, {"high street"}) is None               # which High Street?
    True
    >>> best_name([*high, row("Maldon", "place", weight=1)], {"high street", "maldon"}).label
    'High Street, Maldon'
    >>> best_name([row("Witham", "place", weight=1)], {"witham"}).label
    'Witham'
    """
    named = [r for r in rows if r["kind"] != "place"]
    in_named_town = [r for r in named if formats.search_key(r["place"] or "") in phrases]
    if in_named_town:
        return _located(in_named_town[0])
    for row in named:  # longest names first (the query orders them)
        if sum(1 for r in named if r["name_key"] == row["name_key"]) == 1:
            return _located(row)
    places = sorted((r for r in rows if r["kind"] == "place"), key=lambda r: -r["weight"])
    if places and sum(1 for r in places if r["weight"] == places[0]["weight"]) == 1:
        return _located(places[0])
    return None


def _located(row: dict[str, Any]) -> Located:
    label = f"{row['name']}, {row['place']}" if row["place"] else row["name"]
    return Located(row["lon"], row["lat"], float(row["accuracy_m"]), "place", label)
