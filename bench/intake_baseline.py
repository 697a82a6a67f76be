"""Baselines for ``bench.ingest``: the intake's own SQL without the service around it.

* :class:`OwnIntake` runs, through a bare asyncpg connection, the two statements the service
  runs for one referral: the covering teams (``area_lookup_teams.sql``) and the one-statement
  write (``referral_intake.sql``), routed and parameterised by the service's own code
  (``route_position`` on the connection, as ``Statements``, and ``intake_values``: the same
  normalising, the same in-memory area index, the same duplicate-search window). Driven
  directly, that is the database-bound limit of this design.
* :func:`create_bare_app` is a Litestar app with one msgspec handler, ``POST /v1/referrals``,
  that decodes the same body into the same ``StreetLinkAlert`` and runs :class:`OwnIntake` on
  a pooled asyncpg connection: no middleware, no SQLAlchemy, no background work. That is the
  framework's floor. Run it with
  ``uvicorn bench.intake_baseline:create_bare_app_from_env --factory`` (``DATABASE_URL``).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Response, get, post

from service.db.engine import Statements, positional
from service.runtime import build_runtime
from service.settings import Settings
from service.usecases.areas.sync import ensure_loaded
from service.usecases.referrals.intake import intake_values, pinned, route_position
from streetlink.normalise import normalise
from streetlink.schema import StreetLinkAlert


class OwnIntake:
    """The service's intake statements and parameters on plain asyncpg connections."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime = build_runtime(settings)
        self.intake_sql, self.intake_names = positional("referral_intake")

    async def load(self) -> None:
        """The area index, as the service loads it (then the SQLAlchemy engine is closed)."""
        await ensure_loaded(self.runtime)
        await self.runtime.engine.dispose()
        await self.runtime.http.aclose()

    async def values(
        self, conn: asyncpg.Connection, alert: StreetLinkAlert, now: dt.datetime
    ) -> dict[str, Any]:
        """Normalise and route one alert the way the service does: the intake statement's
        parameters (``intake_names`` orders them)."""
        referral = normalise(alert, now=now)
        position = pinned(referral)
        if position is None:
            raise ValueError("the baseline takes alerts with a map pin")
        routing = await route_position(self.runtime, Statements(conn), position)
        values, _ = intake_values(
            self.settings,
            referral,
            routing,
            source="api",
            key=secrets.token_urlsafe(32),
            keyed=False,
            now=now,
        )
        return values

    async def submit(self, conn: asyncpg.Connection, alert: StreetLinkAlert) -> dict[str, Any]:
        """Normalise, route and store one alert the way the service does; the stored row."""
        values = await self.values(conn, alert, dt.datetime.now(dt.UTC))
        row = await conn.fetchrow(self.intake_sql, *(values[n] for n in self.intake_names))
        return {"id": str(row["id"]), "reference": values["reference"]} if row else {}


async def keep_session(conn: asyncpg.Connection) -> None:
    """The bare handler's pool hands connections back as they are, as the service's does.

    asyncpg's default reset runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release: a round trip a referral that the service never makes (its
    SQLAlchemy pool only rolls back a transaction it left open, and :class:`Statements` leaves
    none), about a tenth of the bare handler's app samples (py-spy) and database work besides.
    With it the framework floor was the floor of a slower design. The handler changes no session
    state, and an open transaction is still rolled back by asyncpg before this is called."""


def bare_pool(dsn: str) -> asyncpg.Pool:
    """The bare handler's connection pool."""
    return asyncpg.create_pool(dsn, min_size=2, max_size=16, reset=keep_session)


class Receipt(msgspec.Struct, frozen=True):
    id: str
    reference: str


def create_bare_app(database_url: str) -> Litestar:
    settings = Settings(database_url=database_url, jwt_secret="bench-bare")
    intake = OwnIntake(settings)
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: Litestar) -> Any:
        await intake.load()
        dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
        state["pool"] = await bare_pool(dsn)
        try:
            yield
        finally:
            await state["pool"].close()

    @get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @post("/v1/referrals", status_code=201)
    async def create(data: StreetLinkAlert) -> Response[Receipt]:
        async with state["pool"].acquire() as conn:
            row = await intake.submit(conn, data)
        return Response(Receipt(**row), status_code=201)

    return Litestar(route_handlers=[create, ready], lifespan=[lifespan], openapi_config=None)


def create_bare_app_from_env() -> Litestar:
    return create_bare_app(os.environ["DATABASE_URL"])
