"""The sign-in throttle's waits, on a clock the test moves, in Litestar's memory store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.stores.memory import MemoryStore

from service.exceptions import TooManyAttemptsError
from service.usecases.staff.login_throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, store: Any = None, **overrides: Any) -> LoginThrottle:
    settings: dict[str, Any] = {
        "per_user": 5,
        "per_address": 20,
        "base_s": 2.0,
        "window_s": 900,
        "known_s": 90 * 86400,
    }
    settings.update(overrides)
    return LoginThrottle(store=store or MemoryStore(), secret=b"k", clock=clock, **settings)


async def fail(t: LoginThrottle, username: str, client: str) -> None:
    await t.failed(await t.check(username, client))


async def refused_for(t: LoginThrottle, username: str, client: str) -> int | None:
    """Seconds to wait if the attempt is refused, else ``None`` (the attempt is let through
    and reported as failed, as a wrong password would be)."""
    try:
        attempt = await t.check(username, client)
    except TooManyAttemptsError as exc:
        return exc.retry_after_s
    await t.failed(attempt)
    return None


def test_waits_grow_with_each_failure_up_to_the_window() -> None:
    async def go() -> list[int | None]:
        clock = Clock()
        t = throttle(clock)
        seen = []
        for i in range(5):
            seen.append(await refused_for(t, "admin", f"10.0.0.{i}"))
        for i in range(12):
            wait = await refused_for(t, "admin", f"10.0.1.{i}")
            seen.append(wait)
            clock.now += wait or 0
        return seen

    seen = asyncio.run(go())
    # Five free failures; then every other attempt comes too soon and is told how long to wait,
    # and the one after waiting fails again: 2, 4, 8 ... seconds, never more than 900.
    assert seen[:5] == [None] * 5
    assert seen[5::2] == [2, 4, 8, 16, 32, 64]
    assert seen[6::2] == [None] * 6
    assert throttle(Clock()).wait_after(100, 5) == 900


def test_an_attempt_let_through_during_waits_takes_the_turn() -> None:
    async def go() -> list[int | None]:
        clock = Clock()
        t = throttle(clock)
        for i in range(5):
            await fail(t, "admin", f"10.0.0.{i}")
        clock.now += 2
        first = await t.check("admin", "10.0.2.1")  # its password is still being checked ...
        seconds = [await refused_for(t, "admin", f"10.0.2.{i}") for i in range(2, 5)]
        await t.failed(first)
        return seconds

    # ... so the guesses sent at the same moment wait as long as it would have made them.
    assert asyncio.run(go()) == [2, 2, 2]


def test_a_known_client_is_not_kept_waiting_by_anyone_elses_failures() -> None:
    async def go() -> tuple[int | None, int | None, int | None]:
        clock = Clock()
        t = throttle(clock)
        await t.succeeded(await t.check("admin", "198.51.100.7"))
        for i in range(50):  # a spray from many addresses
            await refused_for(t, "admin", f"203.0.113.{i}")
        for i in range(30):  # and many usernames from the admin's own address
            await refused_for(t, f"user{i}", "198.51.100.7")
        usual = await refused_for(t, "ADMIN ", "198.51.100.7")
        other_user = await refused_for(t, "someone", "198.51.100.7")
        new_place = await refused_for(t, "admin", "198.51.100.8")
        return usual, other_user, new_place

    usual, other_user, new_place = asyncio.run(go())
    assert usual is None
    assert other_user is not None  # the address is not known for everybody
    assert new_place is not None


def test_a_known_clients_own_failures_slow_it_down_after_many_and_a_success_forgives_them() -> None:
    async def go() -> list[int | None]:
        clock = Clock()
        t = throttle(clock)
        await t.succeeded(await t.check("admin", "198.51.100.7"))
        seen = [await refused_for(t, "admin", "198.51.100.7") for _ in range(21)]
        clock.now += 2
        await t.succeeded(await t.check("admin", "198.51.100.7"))
        seen.append(await refused_for(t, "admin", "198.51.100.7"))
        return seen

    seen = asyncio.run(go())
    assert seen == [None] * 20 + [2, None]


def test_the_store_holds_no_username_or_address() -> None:
    async def go() -> dict[str, Any]:
        store = MemoryStore()
        t = throttle(Clock(), store)
        await fail(t, "admin", "198.51.100.7")
        await t.succeeded(await t.check("admin", "198.51.100.7"))
        await fail(t, "admin", "198.51.100.7")
        return dict(store._store)

    keys = asyncio.run(go())
    assert len(keys) == 4  # failures of the username, address and pair; the known pair
    for key in keys:
        assert "admin" not in key
        assert "198.51" not in key


@pytest.mark.parametrize("value", [b"garbage", b"1", b""])
def test_an_unreadable_counter_counts_as_none(value: bytes) -> None:
    async def go() -> int | None:
        store = MemoryStore()
        t = throttle(Clock(), store)
        await fail(t, "admin", "10.0.0.1")
        for key in list(store._store):
            await store.set(key, value)
        return await refused_for(t, "admin", "10.0.0.1")

    assert asyncio.run(go()) is None
