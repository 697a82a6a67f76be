"""Throttling of failed sign-ins by growing waits, never by locking a known client out.

Failures are counted per username (from any client), per client (for any usernames) and per
(username, known client). A "client" is the client key of :mod:`service.client_key` (the
address, behind trusted proxies the forwarded one; IPv6 by its /64). Once a counter has its
free failures, every further attempt it covers has to wait: ``base_s`` after the last free
failure, doubling with each further failure up to ``window_s``. An attempt that comes too soon
is refused (429, ``Retry-After``) before any password is checked, and an attempt let through
while waits are in force takes the turn, so that concurrent guesses cannot share it. Failures
are remembered for ``window_s`` after the wait they cause.

A client that has signed in as a user is *known* for that user (for ``known_s`` after its
last success). Its attempts for that user are slowed only by the failures made for that user
from that client (``per_address`` of them are free), never by the username's or the client's
other failures: someone spraying wrong passwords for the admin from anywhere else, or from
behind the same proxy, cannot keep the admin out of their usual address. Unknown clients wait
as the username and the client counters say.

Every key in the store is a keyed hash (usernames and addresses are not stored). Counters are
read and written under a lock in each process; with several processes sharing the PostgreSQL
store, a burst that arrives at the same moment may still get an attempt or two more.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from service.exceptions import TooManyAttemptsError

MAX_DOUBLINGS = 30


class CounterStore(Protocol):
    """The part of a Litestar store (memory or ``PostgresStore``) used here."""

    async def get(self, key: str, renew_for: int | None = None) -> bytes | None: ...

    async def set(self, key: str, value: str | bytes, expires_in: int | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Counter:
    """Failures counted under one key, and until when (epoch seconds) attempts must wait."""

    key: str
    free: int
    failures: int = 0
    wait_until: float = 0.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in let through by :meth:`LoginThrottle.check`, to report back on."""

    username: str
    client: str
    known: bool


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    store: CounterStore
    secret: bytes
    """Keys the hashes of usernames and clients in the store."""
    per_user: int
    per_address: int
    base_s: float
    window_s: int
    known_s: int
    clock: Callable[[], float] = time.time
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _key(self, kind: str, *parts: str) -> str:
        digest = hmac.new(self.secret, "\0".join((kind, *parts)).encode(), hashlib.sha256)
        return f"login:{kind}:{digest.hexdigest()[:40]}"

    def _counted(self, attempt: Attempt) -> list[tuple[str, int]]:
        """The counters that slow this attempt down: (key, free failures)."""
        if attempt.known:
            return [(self._key("pair", attempt.username, attempt.client), self.per_address)]
        return [
            (self._key("user", attempt.username), self.per_user),
            (self._key("client", attempt.client), self.per_address),
        ]

    def wait_after(self, failures: int, free: int) -> float:
        """How long attempts wait after this many failures (0 while some are still free)."""
        if failures < free:
            return 0.0
        return float(min(self.window_s, self.base_s * 2 ** min(failures - free, MAX_DOUBLINGS)))

    async def check(self, username: str, client: str) -> Attempt:
        """Let the attempt through, or refuse it (before any password is checked) while it
        must wait."""
        name = username.strip().lower()
        known = await self.store.get(self._key("known", name, client)) is not None
        attempt = Attempt(username=name, client=client, known=known)
        async with self._lock:
            counters = [await self._read(key, free) for key, free in self._counted(attempt)]
            now = self.clock()
            wait = max(counter.wait_until for counter in counters) - now
            if wait > 0:
                raise TooManyAttemptsError(
                    "too many failed sign-ins, try again later", retry_after_s=math.ceil(wait)
                )
            for counter in counters:
                if counter.failures >= counter.free:  # waits are in force: this is the turn
                    await self._write(counter, counter.failures, now)
        return attempt

    async def failed(self, attempt: Attempt) -> None:
        # Every failure counts against the username and the client; a known client's also
        # against its own (username, client) counter, the only one that slows it down.
        keys = self._counted(replace(attempt, known=False))
        if attempt.known:
            keys += self._counted(attempt)
        async with self._lock:
            for key, free in keys:
                counter = await self._read(key, free)
                await self._write(counter, counter.failures + 1, self.clock())

    async def succeeded(self, attempt: Attempt) -> None:
        """Remember the client as known for the user; forgive its failures for them."""
        name, client = attempt.username, attempt.client
        await self.store.set(self._key("known", name, client), b"1", expires_in=self.known_s)
        await self.store.delete(self._key("pair", name, client))

    async def _read(self, key: str, free: int) -> Counter:
        value = await self.store.get(key)
        try:
            failures, wait_until = (value or b"0 0").split()
            return Counter(key, free, int(failures), float(wait_until))
        except ValueError:
            return Counter(key, free)

    async def _write(self, counter: Counter, failures: int, now: float) -> None:
        wait_until = now + self.wait_after(failures, counter.free)
        await self.store.set(
            counter.key,
            f"{failures} {wait_until:.3f}",
            expires_in=math.ceil(wait_until - now) + self.window_s,
        )
