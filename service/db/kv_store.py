"""A Litestar :class:`~litestar.stores.base.Store` in PostgreSQL, so that several app
processes share rate-limit counters (``OUTREACH_RATE_LIMIT_STORE=postgres``)."""

from __future__ import annotations

import datetime as dt

from litestar.stores.base import Store
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.engine import transaction


def _expiry(expires_in: int | dt.timedelta | None) -> dt.datetime | None:
    if expires_in is None:
        return None
    delta = expires_in if isinstance(expires_in, dt.timedelta) else dt.timedelta(seconds=expires_in)
    return dt.datetime.now(dt.UTC) + delta


class PostgresStore(Store):
    """Key/value pairs in the ``kv_store`` table, one namespace per store."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], namespace: str) -> None:
        self._sessions = sessions
        self.namespace = namespace

    async def set(
        self, key: str, value: str | bytes, expires_in: int | dt.timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        async with transaction(self._sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO kv_store (namespace, key, value, expires_at) "
                    "VALUES (:ns, :key, :value, :exp) ON CONFLICT (namespace, key) DO UPDATE "
                    "SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at"
                ),
                {"ns": self.namespace, "key": key, "value": data, "exp": _expiry(expires_in)},
            )

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        async with transaction(self._sessions) as session:
            row = (
                await session.execute(
                    text(
                        "SELECT value FROM kv_store WHERE namespace = :ns AND key = :key "
                        "AND (expires_at IS NULL OR expires_at > now())"
                    ),
                    {"ns": self.namespace, "key": key},
                )
            ).first()
            if row is not None and renew_for is not None:
                await session.execute(
                    text(
                        "UPDATE kv_store SET expires_at = :exp WHERE namespace = :ns AND key = :key"
                    ),
                    {"ns": self.namespace, "key": key, "exp": _expiry(renew_for)},
                )
        return bytes(row.value) if row else None

    async def delete(self, key: str) -> None:
        async with transaction(self._sessions) as session:
            await session.execute(
                text("DELETE FROM kv_store WHERE namespace = :ns AND key = :key"),
                {"ns": self.namespace, "key": key},
            )

    async def delete_all(self) -> None:
        async with transaction(self._sessions) as session:
            await session.execute(
                text("DELETE FROM kv_store WHERE namespace = :ns"), {"ns": self.namespace}
            )

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with transaction(self._sessions) as session:
            row = (
                await session.execute(
                    text(
                        "SELECT extract(epoch FROM expires_at - now())::int AS s FROM kv_store "
                        "WHERE namespace = :ns AND key = :key"
                    ),
                    {"ns": self.namespace, "key": key},
                )
            ).first()
        return int(row.s) if row and row.s is not None else None
