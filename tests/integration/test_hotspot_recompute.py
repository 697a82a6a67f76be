"""Only one full recompute at a time, across processes: the advisory lock, the periodic task,
and two real app processes against one database."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.db.hotspots import RECOMPUTE_LOCK
from tests.conftest import in_thread, make_settings, wait_for
from tests.integration.test_hotspots import CHELMSFORD, report
from tests.liveserver import LiveServer


class HeldLock:
    """The recompute lock held by another session (as another process would) until released."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.taken = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", RECOMPUTE_LOCK)
                self.taken.set()
                await asyncio.to_thread(self.release.wait)
            finally:
                await conn.close()

        in_thread(asyncio.run, go())

    def __enter__(self) -> HeldLock:
        self.thread.start()
        assert self.taken.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(10)


def runs(sql):
    return sql("SELECT trigger, started_at, finished_at, process FROM hotspot_runs ORDER BY id")


def test_an_on_demand_recompute_waits_for_one_running_elsewhere(client, sql, staff, db_url):
    for dx in (0, 80, 160):
        report(client, sql, CHELMSFORD, dx)
    result: dict[str, httpx.Response] = {}
    with HeldLock(db_url):
        worker = threading.Thread(
            target=lambda: result.setdefault(
                "r", client.post("/v1/hotspots:recompute", headers=staff["coord_mid"])
            )
        )
        worker.start()
        time.sleep(1.0)
        assert "r" not in result  # still waiting for the lock
        assert runs(sql) == []
    worker.join(20)
    assert result["r"].status_code == 200, result["r"].text
    assert result["r"].json()["ran"] is True
    assert len(runs(sql)) == 1


def test_the_periodic_recompute_skips_while_another_process_holds_the_lock(db_url, sql):
    settings = make_settings(db_url, hotspot_recompute_interval_s=0.2)
    with HeldLock(db_url), TestClient(app=create_app(settings)):
        time.sleep(1.5)  # about 7 attempts, all skipped
        assert runs(sql) == []
    with TestClient(app=create_app(settings)):
        assert wait_for(lambda: runs(sql), timeout_s=10)
        [first, *_] = runs(sql)
        assert first["trigger"] == "periodic"


def _fill(db_url: str, sql) -> int:  # type: ignore[no-untyped-def]
    """Many referrals around Chelmsford (copies of one, spread over 3 km): slow recomputes."""
    columns = [
        r["column_name"]
        for r in sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'referrals' "
            "AND is_generated = 'NEVER' AND column_name NOT IN ('id', 'reference', 'geom', "
            "'submission_key')"
        )
    ]
    listed = ", ".join(columns)
    sql(
        f"INSERT INTO referrals (reference, geom, {listed}) "
        f"SELECT 'ESX-T' || lpad(g::text, 8, '0'), "
        "ST_Transform(ST_SetSRID(ST_MakePoint($1 + (random() * 3000)::int, "
        "$2 + (random() * 3000)::int), 27700), 4326), "
        f"{listed} FROM referrals, generate_series(1, 8000) AS g",
        CHELMSFORD[0],
        CHELMSFORD[1],
    )
    return 8000


@pytest.fixture
def two_processes(db_url: str) -> Iterator[list[LiveServer]]:
    """Two app processes (``outreach serve``) against one database, recomputing every second."""
    servers = [LiveServer(db_url, hotspot_recompute_interval_s=1) for _ in range(2)]
    try:
        yield [server.wait_ready() for server in servers]
    finally:
        for server in servers:
            server.close()


def test_two_app_processes_never_recompute_at_the_same_time(client, sql, db_url, request):
    report(client, sql, CHELMSFORD, 0)
    _fill(db_url, sql)
    procs = request.getfixturevalue("two_processes")
    assert wait_for(lambda: len(runs(sql)) >= 3, timeout_s=60), runs(sql)
    for server in procs:
        assert server.process.poll() is None
    done = runs(sql)
    durations = [(r["finished_at"] - r["started_at"]).total_seconds() for r in done]
    assert max(durations) > 0.2, "runs too short to overlap: the test would prove nothing"
    for earlier, later in itertools.pairwise(done):
        assert later["started_at"] >= earlier["finished_at"], (earlier, later)
    assert {r["trigger"] for r in done} == {"periodic"}
