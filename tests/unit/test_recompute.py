"""The debounced recompute scheduler: bursts coalesce, failures are counted, stop is clean."""

from __future__ import annotations

import asyncio

from service.usecases.assignments.scheduler import RunScheduler


def test_requests_before_start_are_ignored() -> None:
    async def go() -> None:
        scheduler = RunScheduler()
        scheduler.request("referral_created")  # the CLI: no app, no background task
        await asyncio.sleep(0.01)
        assert (scheduler.completed, scheduler.failed) == (0, 0)

    asyncio.run(go())


def test_a_burst_is_one_run_and_requests_during_a_run_make_one_more() -> None:
    async def go() -> list[str]:
        runs: list[str] = []
        release = asyncio.Event()

        async def run(trigger: str) -> None:
            runs.append(trigger)
            if len(runs) == 1:
                await release.wait()

        scheduler = RunScheduler()
        scheduler.start(run, debounce_s=0.05)
        for trigger in ("a", "b", "a"):
            scheduler.request(trigger)
        await asyncio.sleep(0.1)  # the first run is under way
        scheduler.request("c")
        scheduler.request("d")
        release.set()
        await asyncio.sleep(0.2)
        await scheduler.stop()
        return runs

    assert asyncio.run(go()) == ["a+b", "c+d"]


def test_a_failing_run_is_counted_and_the_next_request_runs_again() -> None:
    async def go() -> tuple[int, int]:
        calls = 0

        async def run(_: str) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("database away")

        scheduler = RunScheduler()
        scheduler.start(run, debounce_s=0.0)
        scheduler.request("x")
        await asyncio.sleep(0.05)
        scheduler.request("y")
        await asyncio.sleep(0.05)
        await scheduler.stop()
        return scheduler.failed, scheduler.completed

    assert asyncio.run(go()) == (1, 1)


def test_stop_lets_a_run_under_way_finish_and_drops_pending_ones() -> None:
    async def go() -> list[str]:
        done: list[str] = []

        async def run(trigger: str) -> None:
            await asyncio.sleep(0.05)
            done.append(trigger)

        scheduler = RunScheduler()
        scheduler.start(run, debounce_s=0.0)
        scheduler.request("first")
        await asyncio.sleep(0.01)  # under way
        scheduler.request("second")  # pending
        await scheduler.stop()
        scheduler.request("after stop")
        await asyncio.sleep(0.1)
        return done

    assert asyncio.run(go()) == ["first"]


def test_a_burst_of_items_is_one_incremental_pass_and_a_full_request_wins() -> None:
    async def go() -> list[tuple[str, object]]:
        calls: list[tuple[str, object]] = []

        async def run(trigger: str) -> None:
            calls.append(("full", trigger))

        async def apply(trigger: str, items: frozenset[str]) -> None:
            calls.append(("items", (trigger, sorted(items))))

        scheduler = RunScheduler()
        scheduler.start(run, debounce_s=0.02, apply=apply)
        scheduler.request("referral_created", ["referral:a"])
        scheduler.request("referral_created", ["referral:b", "referral:a"])
        scheduler.request("contacts", ["referral:c"])
        await asyncio.sleep(0.1)
        scheduler.request("referral_closed", ["referral:a"])
        scheduler.request("swep")  # names no items: everything is recomputed
        await asyncio.sleep(0.1)
        await scheduler.stop()
        return calls

    assert asyncio.run(go()) == [
        ("items", ("contacts+referral_created", ["referral:a", "referral:b", "referral:c"])),
        ("full", "referral_closed+swep"),
    ]
