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
