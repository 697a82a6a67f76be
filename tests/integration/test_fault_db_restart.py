"""Fault test: the database stops for 10 s under steady load, then comes back.

A throwaway PostgreSQL cluster (same binaries, a temp directory, its own loopback port) holds
the app's database, so the shared test cluster is never touched. A live server
(``outreach serve``) takes referrals and contact batches from several threads; the cluster is
stopped with ``pg_ctl -m immediate`` (as a crash would) for 10 s and started again.

Checked: while it is down every answer is a 503 problem with Retry-After, fast (no hangs) and
never a 500; the app recovers without a restart; every referral and contact acknowledged with
a 2xx is in the database afterwards (counted); nothing is half-written (each referral has its
``received`` and ``routed`` events and, when routed to a team, its change-feed row; each
contact its change-feed row).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from alembic import command

from service.usecases.operations.cli_jobs import add_user, seed
from tests.conftest import (
    PASSWORD,
    alembic_config,
    in_thread,
    make_settings,
    run_sql,
    wait_for,
)
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert
from tests.liveserver import LiveServer, free_port

pytestmark = pytest.mark.fault

DOWN_S = 10.0
ANSWER_BOUND_S = 8.0  # the slowest acceptable answer while the database is away
USER = "fault_worker"


def pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return found[0].parent if found else None


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Cluster:
    """A PostgreSQL cluster of its own in a temp directory, on a free loopback port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="outreach-fault-"))
        self.root.chmod(0o755)
        self.data = self.root / "pg"
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self.port = free_port()
        self.url = self.url_for("outreach")

    def url_for(self, database: str) -> str:
        return f"postgresql://outreach@127.0.0.1:{self.port}/{database}"

    def pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            as_postgres([str(self.bindir / tool), *args]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self.pg("initdb", "-D", str(self.data), "-U", "outreach", "--auth=trust", "-E", "UTF8")
        conf = (
            f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
            "unix_socket_directories = ''\nmax_connections = 100\nfsync = on\n"
            "synchronous_commit = on\n"
        )
        subprocess.run(
            as_postgres(["sh", "-c", f"cat >> '{self.data}/postgresql.conf'"]),
            input=conf.encode(),
            check=True,
        )
        self.start()
        run_sql(self.url_for("postgres"), "CREATE DATABASE outreach")

    def start(self) -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.data / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries under /usr/lib/postgresql")
    own = Cluster(bindir)
    try:
        own.init()
        in_thread(command.upgrade, alembic_config(own.url), "head")
        settings = make_settings(own.url)
        in_thread(asyncio.run, seed(settings))
        in_thread(
            asyncio.run,
            add_user(
                settings,
                username=USER,
                display_name=USER,
                password=PASSWORD,
                role="worker",
                teams=["Mid Essex Outreach"],
                authorities=[],
            ),
        )
        yield own
    finally:
        own.remove()


@dataclass
class Ledger:
    """What the clients saw: acknowledged writes, and every non-2xx answer."""

    referrals: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    answers: list[tuple[float, int, float]] = field(default_factory=list)  # at, status, took
    bad: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, response: httpx.Response) -> None:
        took = time.monotonic() - started
        with self.lock:
            self.answers.append((started, response.status_code, took))
            if response.status_code >= 500 and not self._is_retryable_problem(response):
                self.bad.append(f"{response.status_code} {response.text[:200]}")

    @staticmethod
    def _is_retryable_problem(response: httpx.Response) -> bool:
        return (
            response.status_code == 503
            and response.headers.get("content-type", "").startswith("application/problem+json")
            and int(response.headers.get("retry-after", "0")) > 0
            and response.json().get("status") == 503
        )


def post_referrals(base: str, ledger: Ledger, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        while not stop.is_set():
            started = time.monotonic()
            response = http.post("/v1/referrals", json=alert(appearance=uuid.uuid4().hex))
            ledger.record(started, response)
            if response.status_code == 201:
                with ledger.lock:
                    ledger.referrals.append(response.json()["reference"])
            time.sleep(0.02)


def post_contacts(base: str, token: str, ledger: Ledger, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30, headers=headers) as http:
        while not stop.is_set():
            items = [contact() for _ in range(10)]
            started = time.monotonic()
            response = http.post("/v1/contacts:batch", json={"items": items})
            ledger.record(started, response)
            if response.status_code == 200:
                stored = [r["id"] for r in response.json()["results"] if r["result"] == "created"]
                with ledger.lock:
                    ledger.contacts.extend(stored)
            time.sleep(0.02)


def test_database_stop_under_load_loses_no_acknowledged_write(cluster):
    ledger, stop = Ledger(), threading.Event()
    with LiveServer(cluster.url, db_connect_timeout_s=2) as server:
        token = httpx.post(
            f"{server.url}/v1/auth/token", json={"username": USER, "password": PASSWORD}
        ).json()["access_token"]
        threads = [
            threading.Thread(target=post_referrals, args=(server.url, ledger, stop))
            for _ in range(3)
        ] + [
            threading.Thread(target=post_contacts, args=(server.url, token, ledger, stop))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        try:
            assert wait_for(lambda: len(ledger.referrals) >= 10, 20, interval_s=0.1), (
                "no steady load"
            )
            down_at = time.monotonic()
            cluster.stop("immediate")
            time.sleep(DOWN_S)
            cluster.start()
            up_at = time.monotonic()
            recovered = wait_for(
                lambda: any(at > up_at and s < 300 for at, s, _ in ledger.answers),
                20,
                interval_s=0.1,
            )
            time.sleep(2)  # some more load after recovery
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert server.process.poll() is None, "the app must keep running"
    assert recovered, "the app did not recover after the database came back"
    assert ledger.bad == [], "only 503 problems with Retry-After may be errors"
    during = [(s, took) for at, s, took in ledger.answers if down_at + 1 < at < up_at - 1]
    assert during, "no request was answered while the database was down"
    assert {s for s, _ in during} == {503}, "while down, every answer is 503"
    assert max(took for _, took in during) < ANSWER_BOUND_S, "an answer hung"
    print(
        f"fault test: {len(ledger.referrals)} referrals and {len(ledger.contacts)} contacts "
        f"acknowledged; {len(during)} answers while down (all 503, slowest "
        f"{max(took for _, took in during):.2f} s); {len(ledger.answers)} answers in all"
    )
    assert_everything_acknowledged_is_stored(cluster.url, ledger)


def assert_everything_acknowledged_is_stored(url: str, ledger: Ledger) -> None:
    referrals = run_sql(
        url,
        "SELECT r.reference, r.team_id, "
        "  (SELECT array_agg(e.kind ORDER BY e.id) FROM referral_events e "
        "    WHERE e.referral_id = r.id) AS events, "
        "  (SELECT count(*) FROM changes c WHERE c.entity_id = r.id::text "
        "    AND c.kind = 'referral_assigned') AS assigned "
        "FROM referrals r WHERE r.reference = ANY($1::text[])",
        ledger.referrals,
    )
    assert len(ledger.referrals) > 20
    assert len(referrals) == len(set(ledger.referrals)), "an acknowledged referral was lost"
    for row in referrals:
        assert row["events"][:2] == ["received", "routed"], row
        assert row["assigned"] == (1 if row["team_id"] is not None else 0), row
    contacts = run_sql(
        url,
        "SELECT c.id, (SELECT count(*) FROM changes f WHERE f.entity_id = c.id::text "
        "  AND f.kind = 'contact_created') AS feed "
        "FROM contacts c WHERE c.id = ANY($1::uuid[])",
        [uuid.UUID(i) for i in ledger.contacts],
    )
    assert len(ledger.contacts) > 20
    assert len(contacts) == len(set(ledger.contacts)), "an acknowledged contact was lost"
    assert all(row["feed"] == 1 for row in contacts)
    # Nothing half-written anywhere, acknowledged or not: no referral without its events, no
    # contact without its change-feed row.
    orphans = run_sql(
        url,
        "SELECT (SELECT count(*) FROM referrals r WHERE NOT EXISTS (SELECT 1 FROM "
        "  referral_events e WHERE e.referral_id = r.id AND e.kind = 'routed')) AS referrals, "
        "(SELECT count(*) FROM contacts c WHERE NOT EXISTS (SELECT 1 FROM changes f "
        "  WHERE f.entity_id = c.id::text)) AS contacts",
    )[0]
    assert (orphans["referrals"], orphans["contacts"]) == (0, 0)
