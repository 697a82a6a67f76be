"""Throttling of failed sign-ins: per username (from any client) and per client key
(:mod:`service.client_key`, for any usernames), in a store shared by every app process when
the PostgreSQL store is configured.

Only failures count: a successful sign-in is never slowed, and it clears its username's
failures. Once a username (or an address) has ``limit`` failures inside the window, every
attempt for it (or from it) is refused with a retry time until the window runs out, even
with the right password, so guessing cannot continue from elsewhere.

Counters are read and written in two steps, so a burst of concurrent failures may get a
few attempts more than the limit; the window still closes the door.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from service.exceptions import TooManyAttemptsError


class CounterStore(Protocol):
    """The part of a Litestar store (memory or ``PostgresStore``) used here."""

    async def get(self, key: str, renew_for: int | None = None) -> bytes | None: ...

    async def set(self, key: str, value: str | bytes, expires_in: int | None = None) -> None: ...

    async def expires_in(self, key: str) -> int | None: ...

    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    store: CounterStore
    per_user: int
    per_address: int
    window_s: int

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        return [
            (f"login:user:{user}", self.per_user),
            (f"login:address:{address}", self.per_address),
        ]

    async def check(self, username: str, address: str) -> None:
        """Refuse the attempt (before any password is checked) while either is throttled."""
        for key, limit in self._keys(username, address):
            if await self._count(key) >= limit:
                retry = await self.store.expires_in(key)
                raise TooManyAttemptsError(
                    "too many failed sign-ins, try again later",
                    retry_after_s=max(1, retry or self.window_s),
                )

    async def failed(self, username: str, address: str) -> None:
        for key, _ in self._keys(username, address):
            count = await self._count(key)
            remaining = await self.store.expires_in(key) if count else None
            await self.store.set(key, str(count + 1), expires_in=remaining or self.window_s)

    async def succeeded(self, username: str) -> None:
        user_key, _ = self._keys(username, "")[0]
        await self.store.delete(user_key)

    async def _count(self, key: str) -> int:
        value = await self.store.get(key)
        return int(value) if value else 0
