"""Readiness: the database answers and is migrated to the revision this code expects."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from service.db.engine import get_migration_revision, transaction
from service.exceptions import NotReadyError
from service.runtime import Runtime


async def readiness(runtime: Runtime) -> tuple[str, int | None]:
    try:
        async with transaction(runtime.sessions) as session:
            current = await get_migration_revision(session)
    except (DBAPIError, OSError, TimeoutError) as exc:
        raise NotReadyError("the database is not reachable") from exc
    if current != runtime.migration_head:
        raise NotReadyError(
            f"the database is at migration {current!r}, expected {runtime.migration_head!r}"
        )
    if not runtime.areas.loaded:
        await runtime.areas.refresh(runtime.sessions)
    return current, runtime.areas.version_id
