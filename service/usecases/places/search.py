"""``GET /v1/places/search``: postcodes and names from the gazetteer, ranked.

The answer depends on the imported gazetteer (and the boundaries) only: nothing anyone
reported changes it, so it tells nobody where people were reported.
"""

from __future__ import annotations

from typing import Any

from service.db import places as repo
from service.db.engine import statements
from service.runtime import Runtime
from service.schemas import places as wire
from service.schemas.areas import AuthorityRef
from service.usecases.areas.sync import ensure_loaded
from service.usecases.places import formats

NO_GAZETTEER = (
    "No gazetteer is loaded, so postcodes and place names cannot be looked up: drop a pin on "
    "the map. A referral with no pin waits for a coordinator to place it (triage)."
)


def prefix_range(prefix: str) -> tuple[str, str]:
    """Byte-wise bounds of every text starting with ``prefix`` (ASCII keys).

    >>> prefix_range("CM1 ")
    ('CM1 ', 'CM1!')
    """
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def search(runtime: Runtime, query: str, *, limit: int) -> wire.PlaceSearch:
    await ensure_loaded(runtime)
    text = " ".join(query.split())
    async with statements(runtime.engine) as db:  # reads only: no BEGIN/COMMIT trips
        rows = await _find(db, text, limit)
        loaded = bool(rows) or await repo.loaded(db)
    return wire.PlaceSearch(
        query=text,
        results=[_result(runtime, row) for row in rows],
        gazetteer_loaded=loaded,
        note=None if loaded else NO_GAZETTEER,
    )


async def _find(session: Any, text: str, limit: int) -> list[dict[str, Any]]:
    postcode = formats.postcode_query(text)
    if postcode is not None:
        spaced, key, full = postcode
        lo, hi = prefix_range(spaced if " " in spaced or full else spaced + " ")
        key_lo, key_hi = prefix_range(key) if " " not in spaced and not full else (None, None)
        rows = await repo.search_postcodes(
            session, lo=lo, hi=hi, key_lo=key_lo, key_hi=key_hi, limit=limit
        )
        return [{**row, "kind": "postcode", "name": row["postcode"], "place": None} for row in rows]
    key = formats.search_key(text)
    if not key:
        return []
    lo, hi = prefix_range(key)
    return await repo.search_names(session, query=key, lo=lo, hi=hi, limit=limit)


def _result(runtime: Runtime, row: dict[str, Any]) -> wire.PlaceResult:
    matches = runtime.areas.index.lookup(row["lon"], row["lat"])
    authority = (
        AuthorityRef(code=matches[0].code, name=matches[0].name, kind=matches[0].kind)
        if matches
        else None
    )
    return wire.PlaceResult(
        kind=row["kind"],
        name=row["name"],
        context=row.get("place"),
        lon=round(row["lon"], 6),
        lat=round(row["lat"], 6),
        accuracy_m=round(float(row["accuracy_m"]), 1),
        authority=authority,
    )
