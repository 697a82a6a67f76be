"""Repository for pseudonymised person records, their merges and their contact history.

Every query that finds persons for a member of staff takes the scope parameters and applies
:data:`SCOPE_SQL`, so an out-of-scope record is indistinguishable from a missing one.
Contacts are never rewritten by a merge: a person's history is the contacts of its *family*
(the record itself and every record merged into it, transitively).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = (
    "p.id, p.pseudonym, p.known_as, p.age_band, p.gender, p.consent_status, p.team_id, "
    "p.merged_into, p.created_at, p.updated_at"
)
EDITABLE = ("known_as", "age_band", "gender", "consent_status", "nationality_band", "team_id")
MAX_MERGE_DEPTH = 50

SCOPE_SQL = """(
    CAST(:scope_all AS boolean)
    OR p.team_id = ANY(CAST(:scope_teams AS integer[]))
    OR EXISTS (SELECT 1 FROM contacts sc
                WHERE sc.person_id = p.id
                  AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                                    sc.authority_code, sc.team_id))
)"""
"""A person in the caller's scope (``service.access.may_see_person``), reading
``service.access.params``."""

FAMILY_CTE = f"""family(id, depth) AS (
    SELECT CAST(:person_id AS uuid), 0
    UNION
    SELECT child.id, family.depth + 1 FROM persons child
      JOIN family ON child.merged_into = family.id
     WHERE family.depth < {MAX_MERGE_DEPTH}
)"""


def _one(row: Any) -> dict[str, Any] | None:
    return dict(row) if row else None


async def insert(session: AsyncSession, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """Insert a person; ``None`` when the pseudonym is taken already (draw another)."""
    row = (
        (
            await session.execute(
                text(
                    "INSERT INTO persons AS p (pseudonym, known_as, age_band, gender, "
                    "consent_status, nationality_band, team_id) VALUES (:pseudonym, "
                    ":known_as, :age_band, :gender, :consent_status, :nationality_band, "
                    ":team_id) "
                    f"ON CONFLICT (pseudonym) DO NOTHING RETURNING {COLUMNS}"
                ),
                dict(values),
            )
        )
        .mappings()
        .first()
    )
    return _one(row)


async def get(
    session: AsyncSession,
    person_id: uuid.UUID,
    scope: Mapping[str, Any],
    *,
    for_update: bool = False,
) -> dict[str, Any] | None:
    lock = " FOR UPDATE OF p" if for_update else ""
    row = (
        (
            await session.execute(
                text(f"SELECT {COLUMNS} FROM persons p WHERE p.id = :id AND {SCOPE_SQL}{lock}"),
                {"id": person_id, **scope},
            )
        )
        .mappings()
        .first()
    )
    return _one(row)


async def ids_in_scope(
    session: AsyncSession, ids: set[uuid.UUID], scope: Mapping[str, Any]
) -> set[uuid.UUID]:
    """Which of these persons exist and are in the caller's scope (the others look missing)."""
    if not ids:
        return set()
    rows = await session.execute(
        text(f"SELECT p.id FROM persons p WHERE p.id = ANY(CAST(:ids AS uuid[])) AND {SCOPE_SQL}"),
        {"ids": list(ids), **scope},
    )
    return {row.id for row in rows}


async def lock_pair(
    session: AsyncSession, ids: Sequence[uuid.UUID], scope: Mapping[str, Any]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Lock these persons (in id order, so two merges cannot deadlock); only those in scope."""
    rows = await session.execute(
        text(
            f"SELECT {COLUMNS} FROM persons p WHERE p.id = ANY(:ids) AND {SCOPE_SQL} "
            "ORDER BY p.id FOR UPDATE OF p"
        ),
        {"ids": list(ids), **scope},
    )
    return {r["id"]: dict(r) for r in rows.mappings()}


async def update(
    session: AsyncSession, person_id: uuid.UUID, changes: Mapping[str, Any]
) -> dict[str, Any]:
    assignments = ", ".join(f"{name} = :{name}" for name in EDITABLE if name in changes)
    row = (
        (
            await session.execute(
                text(
                    f"UPDATE persons AS p SET {assignments}, updated_at = now() "
                    f"WHERE p.id = :id RETURNING {COLUMNS}"
                ),
                {**{k: v for k, v in changes.items() if k in EDITABLE}, "id": person_id},
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


async def list_page(
    session: AsyncSession,
    scope: Mapping[str, Any],
    *,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
    team_id: int | None,
    include_merged: bool,
    search: tuple[str, bool] | None = None,
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on ``(created_at, id)``. ``search`` is (text, whether
    ``known_as`` may be searched too): a case-insensitive substring of the pseudonym."""
    like = None
    if search is not None:
        escaped = search[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
    rows = await session.execute(
        text(
            f"SELECT {COLUMNS} FROM persons p WHERE {SCOPE_SQL} "
            "AND (CAST(:team_id AS integer) IS NULL OR p.team_id = :team_id) "
            "AND (:include_merged OR p.merged_into IS NULL) "
            "AND (CAST(:like AS text) IS NULL OR p.pseudonym ILIKE :like "
            "     OR (:by_name AND p.known_as ILIKE :like)) "
            "AND (CAST(:after_at AS timestamptz) IS NULL "
            "     OR (p.created_at, p.id) < (:after_at, CAST(:after_id AS uuid))) "
            "ORDER BY p.created_at DESC, p.id DESC LIMIT :limit"
        ),
        {
            **scope,
            "team_id": team_id,
            "include_merged": include_merged,
            "like": like,
            "by_name": bool(search and search[1]),
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
        },
    )
    return [dict(r) for r in rows.mappings()]


async def family(session: AsyncSession, person_id: uuid.UUID) -> list[uuid.UUID]:
    """The person and every record merged into it, directly or through another merge."""
    rows = await session.execute(
        text(f"WITH RECURSIVE {FAMILY_CTE} SELECT DISTINCT id FROM family"),
        {"person_id": person_id},
    )
    return [r.id for r in rows]


async def ancestors(session: AsyncSession, person_id: uuid.UUID) -> list[uuid.UUID]:
    """The chain of records this one was merged into, nearest first (empty if not merged)."""
    rows = await session.execute(
        text(
            "WITH RECURSIVE up(id, merged_into, depth) AS ("
            "  SELECT id, merged_into, 0 FROM persons WHERE id = :id"
            "  UNION"
            "  SELECT p.id, p.merged_into, up.depth + 1 FROM persons p"
            f"   JOIN up ON p.id = up.merged_into WHERE up.depth < {MAX_MERGE_DEPTH}"
            ") SELECT id FROM up WHERE depth > 0 ORDER BY depth"
        ),
        {"id": person_id},
    )
    return [r.id for r in rows]


async def merged_from(session: AsyncSession, person_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        text("SELECT id, pseudonym FROM persons WHERE merged_into = :id ORDER BY pseudonym, id"),
        {"id": person_id},
    )
    return [dict(r) for r in rows.mappings()]


async def contact_stats(session: AsyncSession, person_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    row = (
        await session.execute(
            text(
                "SELECT count(*) AS contact_count, min(observed_at) AS first_seen, "
                "max(observed_at) AS last_seen FROM contacts WHERE person_id = ANY(:ids)"
            ),
            {"ids": list(person_ids)},
        )
    ).mappings()
    return dict(row.one())


async def contact_facts(
    session: AsyncSession, person_ids: Sequence[uuid.UUID], since: dt.datetime
) -> list[dict[str, Any]]:
    """What the cohort rule needs of each contact observed since ``since``."""
    rows = await session.execute(
        text(
            "SELECT observed_at, bedded_down, authority_code IS NOT NULL AS in_area "
            "FROM contacts WHERE person_id = ANY(:ids) AND observed_at >= :since "
            "ORDER BY observed_at"
        ),
        {"ids": list(person_ids), "since": since},
    )
    return [dict(r) for r in rows.mappings()]


DUPLICATE_CANDIDATES_SQL = f"""
WITH RECURSIVE {FAMILY_CTE},
near AS (
    SELECT c.person_id, min(ST_Distance(c.geom_bng, s.geom_bng)) AS distance_m
      FROM contacts s
      JOIN contacts c ON ST_DWithin(c.geom_bng, s.geom_bng, :radius_m)
     WHERE s.person_id IN (SELECT id FROM family)
       AND c.person_id IS NOT NULL AND c.person_id NOT IN (SELECT id FROM family)
     GROUP BY c.person_id
),
climb(id, merged_into, distance_m, depth) AS (
    SELECT p.id, p.merged_into, near.distance_m, 0
      FROM near JOIN persons p ON p.id = near.person_id
    UNION ALL
    SELECT p.id, p.merged_into, climb.distance_m, climb.depth + 1
      FROM climb JOIN persons p ON p.id = climb.merged_into
     WHERE climb.depth < {MAX_MERGE_DEPTH}
),
near_root AS (
    SELECT id, min(distance_m) AS distance_m FROM climb WHERE merged_into IS NULL GROUP BY id
)
SELECT {COLUMNS}, near_root.distance_m
  FROM persons p LEFT JOIN near_root ON near_root.id = p.id
 WHERE p.merged_into IS NULL
   AND p.id NOT IN (SELECT id FROM family)
   AND {SCOPE_SQL}
   AND (near_root.id IS NOT NULL
        OR (CAST(:initial AS text) <> ''
            AND lower(left(btrim(p.known_as), 1)) = CAST(:initial AS text)))
 ORDER BY near_root.distance_m NULLS LAST, p.updated_at DESC, p.id
 LIMIT :cap
"""


async def duplicate_candidates(
    session: AsyncSession,
    person_id: uuid.UUID,
    scope: Mapping[str, Any],
    *,
    radius_m: float,
    initial: str,
    cap: int,
) -> list[dict[str, Any]]:
    """Unmerged persons in scope, other than this one's family, who either have a contact
    within ``radius_m`` (BNG metres) of one of its family's contacts or a known-as starting
    with ``initial``; at most ``cap``, nearest first."""
    rows = await session.execute(
        text(DUPLICATE_CANDIDATES_SQL),
        {
            "person_id": person_id,
            "radius_m": radius_m,
            "initial": initial,
            "cap": cap,
            **scope,
        },
    )
    return [dict(r) for r in rows.mappings()]


async def team_exists(session: AsyncSession, team_id: int) -> bool:
    found = await session.execute(
        text("SELECT 1 FROM teams WHERE id = :id AND active"), {"id": team_id}
    )
    return found.first() is not None


MERGE_COLUMNS = "id, from_person, into_person, merged_by, merged_at, undone_by, undone_at"


async def add_merge(
    session: AsyncSession, from_person: uuid.UUID, into_person: uuid.UUID, user_id: int
) -> dict[str, Any]:
    await session.execute(
        text("UPDATE persons SET merged_into = :into, updated_at = now() WHERE id = :id"),
        {"id": from_person, "into": into_person},
    )
    row = await session.execute(
        text(
            "INSERT INTO person_merges (from_person, into_person, merged_by) "
            f"VALUES (:a, :b, :user) RETURNING {MERGE_COLUMNS}"
        ),
        {"a": from_person, "b": into_person, "user": user_id},
    )
    return dict(row.mappings().one())


async def undo_merge(
    session: AsyncSession, from_person: uuid.UUID, into_person: uuid.UUID, user_id: int
) -> dict[str, Any] | None:
    """Undo the active merge of ``from_person`` into ``into_person``; ``None`` if there is
    none. Only the link is cleared: contacts were never moved."""
    row = await session.execute(
        text(
            "UPDATE person_merges SET undone_at = now(), undone_by = :user "
            "WHERE id = (SELECT id FROM person_merges WHERE from_person = :a "
            "AND into_person = :b AND undone_at IS NULL ORDER BY merged_at DESC LIMIT 1) "
            f"RETURNING {MERGE_COLUMNS}"
        ),
        {"a": from_person, "b": into_person, "user": user_id},
    )
    merge = row.mappings().first()
    if merge is None:
        return None
    await session.execute(
        text(
            "UPDATE persons SET merged_into = NULL, updated_at = now() "
            "WHERE id = :id AND merged_into = :into"
        ),
        {"id": from_person, "into": into_person},
    )
    return dict(merge)
