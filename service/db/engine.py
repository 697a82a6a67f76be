"""The engine and session factory, owned by the app's lifespan (or a CLI command)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import greenlet_spawn

from service.settings import Settings

SQL_DIR = Path(__file__).resolve().parent / "sql"


def create_engine(settings: Settings) -> AsyncEngine:
    """An asyncpg engine that never waits forever.

    No ``pool_pre_ping``: with asyncpg it costs three round trips (BEGIN, an empty statement,
    ROLLBACK) on every checkout, about a tenth of the app's CPU under a referral flood
    (py-spy, ``bench.ingest``). A connection that died with the server instead fails its
    first statement; SQLAlchemy sees the disconnect and discards the whole pool, and the
    request answers 503 with Retry-After (``service.errors``), which clients retry. Checked
    by ``tests/integration/test_fault_db_restart.py``. ``pool_recycle`` retires connections
    before a firewall or a server's idle timeout can silently cut them."""
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_max_overflow,
        pool_recycle=1800,
        pool_timeout=settings.db_connect_timeout_s,
        hide_parameters=True,  # values (personal data) never appear in errors or logs
        connect_args={
            "timeout": settings.db_connect_timeout_s,
            "command_timeout": settings.db_statement_timeout_ms / 1000 + 5,
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "essex-outreach",
            },
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed on success, rolled back on any error."""
    async with factory() as session, session.begin():
        yield session


CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
"""For the queries with optional filters (``CAST(:x AS t) IS NULL OR col = :x``): asyncpg
prepares every statement, and after five runs PostgreSQL may switch a prepared statement to a
generic plan, which cannot know that ``:authority`` is set and scans the whole table. On a year
of England, /v1/stats for one authority went from ~50 ms to ~400 ms from the sixth request of
a connection on (the contacts figures: an index-only range, 99 buffers, became a seq scan of
500,000 rows). Planning each time costs well under a millisecond. Run it first in the
transaction; it ends with it."""


class Statements:
    """A pooled connection whose statements each commit on their own (autocommit: no
    BEGIN/COMMIT round trips), run on its asyncpg connection with asyncpg's own prepared
    statement cache. Only for work that is one writing statement, atomic by itself, plus reads
    that need no snapshot shared with it: referral intake, the user behind a token, place
    search. :func:`fetch_dicts` takes it where it takes a session."""

    __slots__ = ("driver",)

    def __init__(self, driver: asyncpg.Connection) -> None:
        self.driver = driver


Db = AsyncSession | Statements
"""What :func:`fetch_dicts` runs on: a session (in its transaction) or :class:`Statements`."""


@asynccontextmanager
async def statements(engine: AsyncEngine) -> AsyncIterator[Statements]:
    """A connection from the engine's pool for :class:`Statements`, handed back after.

    No ORM session: under a referral flood the session's bookkeeping (its connection, the
    AUTOCOMMIT option set and reset, the greenlet each step runs in) cost about 230 µs of app
    CPU a referral, as much as its two statements (``bench.ingest``). A connection the server
    or the network ended is discarded, not handed back, so the pool opens a new one
    (``test_driver_statements.py``, ``test_fault_db_restart.py``)."""
    dbapi = engine.dialect.loaded_dbapi
    try:
        raw = await engine.raw_connection()
    except dbapi.Error as exc:  # wrapped as engine.connect() wraps it: service.errors says 503
        disconnect = engine.dialect.is_disconnect(exc, None, None)
        raise DBAPIError.instance(
            None, None, exc, dbapi.Error, connection_invalidated=disconnect, dialect=engine.dialect
        ) from exc
    driver: Any = raw.driver_connection
    try:
        yield Statements(driver)
    finally:
        if driver.is_closed():
            await greenlet_spawn(raw.invalidate)
        await greenlet_spawn(raw.close)


_INCLUDE = re.compile(r"^-- include: (\w+)$", re.MULTILINE)


def _sql_text(name: str) -> str:
    """The text of ``service/db/sql/<name>.sql``, a line ``-- include: other`` replaced by
    the text of ``other.sql`` (a fragment several queries share)."""
    source = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: _sql_text(m.group(1)).rstrip("\n"), source)


@cache
def sql(name: str) -> TextClause:
    """A hand-written query from ``service/db/sql/<name>.sql`` (with its includes)."""
    return text(_sql_text(name))


_PARAM = re.compile(r"(?<![:\w]):(\w+)")


async def fetch_dicts(db: Db, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the ``service/db/sql`` query ``name`` as dicts.

    On :class:`Statements` the query runs on the asyncpg connection itself, with asyncpg's own
    prepared statement cache: SQLAlchemy's ORM session, compiled-statement and result layers
    cost about 0.8 ms of app CPU a referral, a fifth of the app's work under a referral flood
    (py-spy and the app CPU a request of ``bench.ingest``). Errors are then asyncpg's own
    (``asyncpg.PostgresError``, which ``service.errors`` maps as it maps SQLAlchemy's; a lost
    connection is ``asyncpg.InterfaceError`` or ``PostgresConnectionError``, answered 503). In
    a session it runs through SQLAlchemy, which tracks the transaction."""
    if isinstance(db, Statements):
        return [dict(row) for row in await _driver_fetch(db.driver, name, params)]
    result = await db.execute(sql(name), params)
    return [dict(row) for row in result.mappings()]


async def fetch_records(session: AsyncSession, name: str, params: dict[str, Any]) -> list[Any]:
    """The rows of the ``service/db/sql`` read ``name`` as the driver's records, for reads whose
    rows are many (a fold's neighbourhood): SQLAlchemy's result rows cost more app CPU than the
    work done with them. The statement runs on the session's connection, in its transaction
    once one has begun (else on its own; under READ COMMITTED each statement takes its own
    snapshot either way). Errors are asyncpg's own: only for reads whose callers need no
    SQLAlchemy error (a failed fold is logged and repaired by the next recompute)."""
    raw = await (await session.connection()).get_raw_connection()
    return await _driver_fetch(raw.driver_connection, name, params)


async def _driver_fetch(driver: Any, name: str, params: dict[str, Any]) -> list[Any]:
    """The query ``name`` on an asyncpg connection, with its prepared statement cache."""
    statement, names = positional(name)
    return list(await driver.fetch(statement, *(params[n] for n in names)))


@cache
def positional(name: str) -> tuple[str, tuple[str, ...]]:
    """A ``service/db/sql`` query with its ``:name`` parameters as ``$1, $2, …`` (for plain
    asyncpg: the benchmarks' baselines, and tests that read a query's plan), and the names
    in that order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PARAM.sub(number, _sql_text(name)), tuple(names)


async def try_xact_lock(session: AsyncSession, key: int) -> bool:
    """Take the advisory lock ``key`` to the end of this transaction, unless another
    transaction holds it; whether it was taken."""
    got = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})
    return bool(got.scalar_one())


async def get_migration_revision(session: AsyncSession) -> str | None:
    """The Alembic revision the database is migrated to (``None`` when it has none)."""
    result = await session.execute(text("SELECT version_num FROM alembic_version"))
    return result.scalar_one_or_none()


def constraint_name(exc: BaseException) -> str:
    """The violated constraint of a database error (asyncpg reports it), or ``""``: an
    error wrapped by SQLAlchemy, or asyncpg's own (:func:`fetch_dicts` on the driver)."""
    orig = getattr(exc, "orig", None)
    for candidate in (exc, orig, getattr(orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return ""


def jsonb(value: Any) -> str:
    """A value as JSON text for a ``CAST(:param AS jsonb)`` parameter."""
    return msgspec.json.encode(value).decode()
