"""The audit log: who read or changed what, when, and through which route."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import jsonb


async def record(
    session: AsyncSession,
    *,
    user_id: int | None,
    username: str,
    action: str,
    subject_type: str,
    subject_id: str,
    route: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO audit_log (user_id, username, action, subject_type, subject_id, "
            "route, detail) VALUES (:user_id, :username, :action, :subject_type, "
            ":subject_id, :route, CAST(:detail AS jsonb))"
        ),
        {
            "user_id": user_id,
            "username": username,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "route": route[:200],
            "detail": jsonb(detail or {}),
        },
    )


AUDIT_PAGE_SQL = text(
    """
    SELECT id, at, user_id, username, action, subject_type, subject_id, route, detail
      FROM audit_log
     WHERE (CAST(:user_id AS integer) IS NULL OR user_id = :user_id)
       AND (CAST(:username AS text) IS NULL OR username = :username)
       AND (CAST(:subject_type AS text) IS NULL OR subject_type = :subject_type)
       AND (CAST(:subject_id AS text) IS NULL OR subject_id = :subject_id)
       AND (CAST(:action AS text) IS NULL OR action = :action)
       AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)
       AND (CAST(:until AS timestamptz) IS NULL OR at < :until)
       AND (CAST(:after_at AS timestamptz) IS NULL
            OR (at, id) < (:after_at, CAST(:after_id AS bigint)))
     ORDER BY at DESC, id DESC
     LIMIT :limit
    """
)


async def page(session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Filtered entries, newest first, after a keyset position (see the query)."""
    return [dict(r) for r in (await session.execute(AUDIT_PAGE_SQL, params)).mappings()]
