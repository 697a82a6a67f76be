"""Repository for the gazetteer: postcodes (ONSPD / Code-Point Open) and OS Open Names.

Imports go through ``COPY`` into a temporary table, then one upsert: a re-import of the same
file changes nothing, a newer file updates the rows it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import Db, fetch_dicts, sql

POSTCODE_COLUMNS = ("postcode_key", "postcode", "authority_code", "lon", "lat", "accuracy_m")
NAME_COLUMNS = (
    "id",
    "name",
    "name_key",
    "search_key",
    "kind",
    "weight",
    "local_type",
    "place",
    "postcode_district",
    "authority_code",
    "lon",
    "lat",
    "accuracy_m",
)


async def _raw(session: AsyncSession) -> Any:
    """The asyncpg connection under this session (for ``COPY``)."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def stage_postcodes(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> None:
    """``COPY`` a batch of :data:`POSTCODE_COLUMNS` tuples into this transaction's staging
    table (made on first use, dropped at commit)."""
    await session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS gazetteer_postcodes_in ("
            "postcode_key text, postcode text, authority_code text, lon float8, lat float8, "
            "accuracy_m real) ON COMMIT DROP"
        )
    )
    await (await _raw(session)).copy_records_to_table(
        "gazetteer_postcodes_in", records=records, columns=POSTCODE_COLUMNS
    )


async def stage_names(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> None:
    await session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS gazetteer_names_in ("
            "id text, name text, name_key text, search_key text, kind text, weight smallint, "
            "local_type text, place text, postcode_district text, authority_code text, "
            "lon float8, lat float8, accuracy_m real) ON COMMIT DROP"
        )
    )
    await (await _raw(session)).copy_records_to_table(
        "gazetteer_names_in", records=records, columns=NAME_COLUMNS
    )


async def merge_postcodes(session: AsyncSession, *, source: str) -> tuple[int, int]:
    """Upsert the staged postcodes: ``(new, changed)`` (unchanged rows are not rewritten)."""
    row = (await session.execute(sql("gazetteer_merge_postcodes"), {"source": source})).one()
    return int(row.added), int(row.changed)


async def merge_names(session: AsyncSession) -> tuple[int, int]:
    row = (await session.execute(sql("gazetteer_merge_names"))).one()
    return int(row.added), int(row.changed)


async def counts(session: AsyncSession) -> tuple[int, int]:
    """How many postcodes and names are loaded (estimates are not good enough for zero)."""
    row = (
        await session.execute(
            text(
                "SELECT (SELECT count(*) FROM gazetteer_postcodes) AS postcodes, "
                "(SELECT count(*) FROM gazetteer_names) AS names"
            )
        )
    ).one()
    return int(row.postcodes), int(row.names)


async def loaded(db: Db) -> bool:
    return bool((await fetch_dicts(db, "gazetteer_loaded", {}))[0]["loaded"])


async def search_postcodes(
    db: Db,
    *,
    lo: str,
    hi: str,
    key_lo: str | None,
    key_hi: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Postcodes in ``[lo, hi)`` (written form), then keys in ``[key_lo, key_hi)``."""
    return await fetch_dicts(
        db,
        "gazetteer_search_postcodes",
        {"lo": lo, "hi": hi, "key_lo": key_lo, "key_hi": key_hi, "limit": limit},
    )


async def search_names(db: Db, *, query: str, lo: str, hi: str, limit: int) -> list[dict[str, Any]]:
    """Names whose search key starts in ``[lo, hi)``, then fuzzy matches of ``query``."""
    return await fetch_dicts(
        db, "gazetteer_search_names", {"q": query, "lo": lo, "hi": hi, "limit": limit}
    )


async def scan_names(db: Db, *, query: str, limit: int) -> list[dict[str, Any]]:
    """The same question as :func:`search_names` by a plain ``ILIKE`` scan (the benchmark's
    baseline; not used by the service)."""
    return await fetch_dicts(db, "gazetteer_scan_names", {"q": query, "limit": limit})


async def scan_postcodes(db: Db, *, query: str, limit: int) -> list[dict[str, Any]]:
    return await fetch_dicts(db, "gazetteer_scan_postcodes", {"q": query, "limit": limit})


async def find_postcode(db: Db, key: str) -> dict[str, Any] | None:
    rows = await fetch_dicts(db, "gazetteer_find_postcode", {"key": key})
    return rows[0] if rows else None


async def names_matching(db: Db, keys: list[str]) -> list[dict[str, Any]]:
    """Gazetteer names whose key is exactly one of ``keys`` (phrases of a description)."""
    if not keys:
        return []
    return await fetch_dicts(db, "gazetteer_names_matching", {"keys": keys})
