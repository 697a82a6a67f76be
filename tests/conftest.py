"""Shared fixtures: a real PostGIS database built by the migrations, one copy per test.

The server comes from ``DATABASE_URL`` (``make test`` starts the project-local cluster and
sets it). A template database is migrated and seeded once per session; each test that asks
for ``db_url`` gets its own database cloned from that template, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import msgspec
import pytest
from alembic import command
from alembic.config import Config
from litestar import Litestar
from litestar.testing import TestClient

from bench.admin import drop_database as bench_drop_database
from service.app import create_app, login_throttle, rate_limit_store
from service.auth import build_jwt_auth
from service.runtime import Runtime, build_runtime
from service.settings import Settings, to_plain_postgres_url
from service.usecases.operations.cli_jobs import add_user, seed

ROOT = Path(__file__).resolve().parents[1]
#: The evaluation data (``../shared/reference`` next to the checkout; a git worktree elsewhere
#: can point at it with ``OUTREACH_REFERENCE_DIR``). Tests that need it skip when it is absent.
REFERENCE = Path(os.environ.get("OUTREACH_REFERENCE_DIR") or ROOT.parent / "shared" / "reference")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _no_tls_on_loopback() -> None:
    """A test server on loopback has no TLS: asking for it first on every new connection
    (asyncpg's default ``prefer``) only costs time. Read by asyncpg and libpq, and inherited
    by the servers the tests start."""
    url = os.environ.get("OUTREACH_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    if urlsplit(to_plain_postgres_url(url)).hostname in LOOPBACK:
        os.environ.setdefault("PGSSLMODE", "disable")


_no_tls_on_loopback()


def _one_default_tls_context() -> None:
    """Each app opens an httpx client (routing, Open311 relays), whose default TLS context
    loads the system's CA bundle: about 0.1 s of CPU per test. The tests share one (a context
    is meant to be shared; nothing in the tests changes it). Left alone if httpx moves it."""
    transports = getattr(httpx, "_transports", None)
    default = getattr(transports, "default", None)
    original = getattr(default, "create_ssl_context", None)
    if original is None:
        return
    shared = functools.cache(original)

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is True and cert is None:
            return shared(verify=True, cert=None, trust_env=trust_env)
        return original(verify=verify, cert=cert, trust_env=trust_env)

    default.create_ssl_context = create_ssl_context


_one_default_tls_context()


def server_url() -> str:
    url = os.environ.get("OUTREACH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit("DATABASE_URL is not set: run the tests with `make test`", returncode=2)
    return to_plain_postgres_url(url)


def url_for_database(name: str) -> str:
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


def run_sql(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement on its own connection, outside any app event loop."""

    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return in_thread(asyncio.run, go())


def wait_for(predicate: Any, timeout_s: float = 20.0, interval_s: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true (``True``) or the time is up (``False``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return False


def in_thread(fn: Any, *args: Any) -> Any:
    """Run in a thread of its own: the caller may already run an event loop (Playwright)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def with_runtime(settings: Settings, use: Callable[[Runtime], Awaitable[Any]]) -> Any:
    """``await use(runtime)`` on a runtime of its own, closed afterwards, in a thread and event
    loop of its own (as a use case runs in the app, without the app around it)."""

    async def go() -> Any:
        runtime = build_runtime(settings)
        try:
            return await use(runtime)
        finally:
            await runtime.http.aclose()
            await runtime.engine.dispose()

    return in_thread(asyncio.run, go())


def admin(sql: str) -> None:
    run_sql(url_for_database("postgres"), sql)


def drop_database(name: str) -> None:
    in_thread(asyncio.run, bench_drop_database(url_for_database("postgres"), name))


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    return config


def make_settings(url: str, **overrides: Any) -> Settings:
    # Tests make many public requests from one address: the limit is tested on its own.
    overrides.setdefault("public_rate_limit_per_minute", 100_000)
    # The periodic hotspot recompute runs only in the tests that ask for it.
    overrides.setdefault("hotspot_recompute_interval_s", 0)
    # Background assignment passes run only in the tests that ask for them (a shorter debounce):
    # one landing mid-test would make the newest run, or the run ids, depend on timing.
    overrides.setdefault("assignment_debounce_s", 3600.0)
    # Offline: no public base map (the tests that need one serve a style on loopback).
    overrides.setdefault("map_style_url", "")
    return Settings(database_url=url, jwt_secret="test-secret-" + "x" * 32, **overrides)


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    """Migrated, seeded, and holding the :data:`STAFF` users (hashed once, not per test)."""
    name = f"outreach_tpl_{os.getpid()}"
    drop_database(name)
    admin(f'CREATE DATABASE "{name}"')
    url = url_for_database(name)
    in_thread(command.upgrade, alembic_config(url), "head")
    settings = make_settings(url)
    in_thread(asyncio.run, seed(settings))
    in_thread(asyncio.run, add_staff(settings))
    yield name
    drop_database(name)


class Clones:
    """The tests' own databases, cloned from the template ahead of need, and dropped after use
    on a thread of their own.

    A ``DROP DATABASE`` waits for a checkpoint (a second or more while both workers write);
    with one thread for both, each test's clone queued behind the previous test's drop, and
    short tests waited for it (0.36 s a test in ``test_authorization``)."""

    SPARES = 2

    def __init__(self, template: str) -> None:
        self.template = template
        # Read once: the threads below run while tests that set DATABASE_URL (to a bad
        # address, say) are under way, and read the environment then.
        self.admin_url = url_for_database("postgres")
        self.creator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-db-clone")
        # Drops that wait together share one checkpoint: three threads keep up where one
        # fell 28 s behind by the end of a run.
        self.dropper = ThreadPoolExecutor(max_workers=3, thread_name_prefix="test-db-drop")
        self.drops: list[Future[None]] = []
        self.spares: dict[str, list[Future[str]]] = {}
        self._keep_spares(template)

    def _keep_spares(self, source: str) -> list[Future[str]]:
        spares = self.spares.setdefault(source, [])
        while len(spares) < self.SPARES:
            spares.append(self.creator.submit(self._create, source))
        return spares

    def _create(self, template: str) -> str:
        name = f"outreach_t_{uuid.uuid4().hex[:12]}"
        # A test's commits need not wait for the disk (they stay visible at once to other
        # sessions; only a crash of the server could lose the last ones).
        asyncio.run(
            _execute(
                self.admin_url,
                f'CREATE DATABASE "{name}" TEMPLATE "{template}"',
                f'ALTER DATABASE "{name}" SET synchronous_commit = off',
            )
        )
        return name

    def _drop(self, name: str) -> None:
        asyncio.run(bench_drop_database(self.admin_url, name))

    def take(self, template: str | None = None) -> str:
        """A fresh database (its name), cloned from the template, or from a database taken
        before that nothing is connected to any more: a world that many tests start from,
        built once. The next clones are made while the test runs."""
        source = template or self.template
        name = self._keep_spares(source).pop(0).result()
        self._keep_spares(source)
        return name

    def give_back(self, name: str) -> None:
        # The clones made ahead from it go first (waited for: one may be under way).
        for spare in self.spares.pop(name, []):
            self.give_back(spare.result())
        self.drops.append(self.dropper.submit(self._drop, name))

    def close(self) -> None:
        self.creator.shutdown(wait=True)
        for spares in self.spares.values():
            for spare in spares:
                with contextlib.suppress(Exception):  # a failed spare has nothing to drop
                    self.give_back(spare.result())
        self.dropper.shutdown(wait=True)
        for dropped in self.drops:
            dropped.result()  # a failed drop fails the session


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def clones(template_db: str) -> Iterator[Clones]:
    pool = Clones(template_db)
    yield pool
    pool.close()


@pytest.fixture
def db_url(clones: Clones) -> Iterator[str]:
    """This test's own database, a copy of the template."""
    name = clones.take()
    yield url_for_database(name)
    clones.give_back(name)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


class Apps:
    """Apps for the tests, built once a worker for each configuration they ask for, and bound
    afresh to each test's database.

    Building the app (registering some 160 handlers) took 0.3 s of CPU, and a test run built
    about 700: a fifth of the suite's time on two cores. Only the routes are shared: before
    each use the app gets a new runtime (engine, HTTP client, caches, queues: everything
    :func:`~service.runtime.build_runtime` makes) and a login throttle and rate-limit store
    that remember nothing, and its lifespan runs again when the test client starts it. An app
    is lent to one client at a time (a module's client and a test's may be open together)."""

    def __init__(self) -> None:
        self.idle: dict[bytes, list[Litestar]] = {}

    @contextlib.contextmanager
    def lend(self, settings: Settings) -> Iterator[Litestar]:
        if settings.rate_limit_store != "memory":  # its stores hold the runtime's sessions
            yield create_app(settings)
            return
        key = msgspec.json.encode(msgspec.structs.replace(settings, database_url=""))
        idle = self.idle.setdefault(key, [])
        app = self._rebind(idle.pop(), settings) if idle else create_app(settings)
        try:
            yield app
        finally:
            idle.append(app)

    @staticmethod
    def _rebind(app: Litestar, settings: Settings) -> Litestar:
        runtime = app.state.runtime
        fresh = build_runtime(settings)
        for runtime_field in dataclasses.fields(Runtime):
            setattr(runtime, runtime_field.name, getattr(fresh, runtime_field.name))
        app.state.login_throttle = login_throttle(runtime)
        app.stores.register("rate_limit", rate_limit_store(runtime), allow_override=True)
        return app


APPS = Apps()


@contextlib.contextmanager
def started_client(settings: Settings) -> Iterator[TestClient[Any]]:
    """A started test client of an app for these settings (see :class:`Apps`)."""
    with APPS.lend(settings) as app, TestClient(app=app) as started:
        yield started


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Any]]:
    with started_client(settings) as started:
        yield started


@pytest.fixture
def quick_client(db_url: str) -> Iterator[TestClient[Any]]:
    """A client whose background assignment passes run, 1 s after a burst's first request."""
    with started_client(make_settings(db_url, assignment_debounce_s=1.0)) as started:
        yield started


@pytest.fixture
def sql(db_url: str):  # type: ignore[no-untyped-def]
    """``sql("SELECT …", *args)`` against this test's database."""

    def query(statement: str, *args: Any) -> list[asyncpg.Record]:
        return run_sql(db_url, statement, *args)

    return query


@pytest.fixture(scope="module")
def module_db_url(clones: Clones) -> Iterator[str]:
    """One database for a whole module whose tests only read what a module fixture made."""
    name = clones.take()
    yield url_for_database(name)
    clones.give_back(name)


@pytest.fixture(scope="module")
def module_settings(module_db_url: str) -> Settings:
    return make_settings(module_db_url)


@pytest.fixture(scope="module")
def module_client(module_settings: Settings) -> Iterator[TestClient[Any]]:
    with started_client(module_settings) as started:
        yield started


@pytest.fixture(scope="module")
def module_sql(module_db_url: str):  # type: ignore[no-untyped-def]
    """``module_sql("SELECT …", *args)`` against the module's database."""

    def query(statement: str, *args: Any) -> list[asyncpg.Record]:
        return run_sql(module_db_url, statement, *args)

    return query


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and problem type)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    if slug is not None:
        assert body["type"] == f"urn:essex-outreach:problem:{slug}"
    return body


STAFF = {
    # username: (role, teams, authorities)
    "admin": ("admin", [], []),
    "coord_mid": ("coordinator", [], ["E07000070", "E07000067", "E07000074"]),
    "coord_south": ("coordinator", [], ["E06000033"]),
    "worker_mid": ("worker", ["Mid Essex Outreach"], []),
    "worker_south": ("worker", ["Southend Outreach"], []),
}
PASSWORD = "correct horse battery staple"


async def add_staff(settings: Settings) -> None:
    for username, (role, teams, authorities) in STAFF.items():
        await add_user(
            settings,
            username=username,
            display_name=username,
            password=PASSWORD,
            role=role,
            teams=teams,
            authorities=authorities,
        )


@pytest.fixture(scope="session")
def staff_ids(template_db: str) -> dict[str, int]:
    """The ids of the :data:`STAFF` users, the same in every database cloned from the template."""
    rows = run_sql(
        url_for_database(template_db),
        "SELECT username, id FROM users WHERE username = ANY($1::text[])",
        list(STAFF),
    )
    return {row["username"]: row["id"] for row in rows}


def mint_token(settings: Settings, user_id: int) -> str:
    """The bearer token ``POST /v1/auth/token`` issues to this user (the app's own JWTAuth:
    same secret, claims and lifetime), without the password check. Tests of signing in
    itself sign in for real."""
    runtime = cast(Runtime, SimpleNamespace(settings=settings))  # all that JWTAuth reads
    return build_jwt_auth(runtime).create_token(identifier=str(user_id))


@pytest.fixture
def staff(settings: Settings, staff_ids: dict[str, int]) -> dict[str, dict[str, str]]:
    """Signed-in staff of each role and scope: ``staff["coord_mid"]`` is a headers dict. The
    users come with the template database (password :data:`PASSWORD`); their tokens are
    minted for this test's settings."""
    return staff_headers(settings, staff_ids)


def staff_headers(settings: Settings, staff_ids: dict[str, int]) -> dict[str, dict[str, str]]:
    """Each :data:`STAFF` user's ``Authorization`` header, minted for these settings."""
    return {
        username: {"Authorization": f"Bearer {mint_token(settings, staff_ids[username])}"}
        for username in STAFF
    }


# Under pytest-xdist (``make test`` runs ``-n <cpus> --dist loadgroup``), tests of one group
# run one after another on one worker: the browser tests share their worker's Chromium, and
# the tests that start their own servers or cluster under load never overlap each other.
XDIST_GROUPS = {
    "tests/e2e/": "browser",
    "tests/integration/test_fault_db_restart.py": "processes",
    "tests/integration/test_hotspot_recompute.py::test_two_app_processes": "processes",
    "tests/integration/test_operations.py": "processes",
    "tests/integration/test_dev_setup.py": "processes",
}


@pytest.fixture(scope="module")
def module_staff(module_settings: Settings, staff_ids: dict[str, int]) -> dict[str, dict[str, str]]:
    """As :func:`staff`, for the module's database."""
    return staff_headers(module_settings, staff_ids)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marks into groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for prefix, group in XDIST_GROUPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
