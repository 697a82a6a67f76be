"""The Litestar application: ``create_app(settings)`` wires controllers, errors, OpenAPI,
static assets and the lifespan that owns the engine, the HTTP client and the caches."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, cast

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig

from service import errors, metrics
from service.api.areas import AreasController
from service.api.assignments import AssignmentsController, ShiftPlanController, SwepController
from service.api.basemap import BasemapController
from service.api.contacts import ContactReadController, ContactsController
from service.api.figures import ExportsController, StatsController
from service.api.hotspots import HotspotRecomputeController, HotspotsController
from service.api.messages import OutboxController, PushController, UnsubscribeController
from service.api.open311 import Open311Controller
from service.api.operations import (
    METRICS_SCHEME,
    METRICS_SECURITY_SCHEME,
    HealthController,
    MetricsController,
)
from service.api.pages import (
    ConsolePageController,
    DocsController,
    FieldAppController,
    MapPageController,
    ReportPagesController,
    UnsubscribePageController,
)
from service.api.persons import PersonsController
from service.api.places import PlacesController
from service.api.referrals import (
    PublicReferralsController,
    ReferralDuplicatesController,
    ReferralQueueController,
    StaffReferralsController,
)
from service.api.staff import AuditController, AuthController, DevicesController, MeController
from service.api.strict_structs import ExactStructSchemaPlugin
from service.api.tiles import TilesController
from service.auth import OpenAPIAccess, build_jwt_auth
from service.client_key import ClientKeys, HashedClientKeys, trusted_networks
from service.db.kv_store import PostgresStore
from service.logs import RequestContext, configure_logging
from service.runtime import Runtime, build_runtime
from service.settings import PACKAGE_DIR, Settings
from service.usecases.areas import sync as area_sync
from service.usecases.assignments import incremental
from service.usecases.assignments import runs as assignment
from service.usecases.basemap import style as basemap
from service.usecases.hotspots import clustering as hotspots
from service.usecases.messages import sender as outbox
from service.usecases.operations.retention import retention_loop
from service.usecases.staff.login_throttle import LoginThrottle

log = logging.getLogger(__name__)
API_VERSION = "0.1.0"


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="essex-outreach",
        version=API_VERSION,
        description=(
            "Street-homelessness outreach across Greater Essex: public referrals, outreach "
            "contacts, hotspots and assignment. Errors are RFC 9457 problem details."
        ),
        path="/openapi",
        render_plugins=[JsonRenderPlugin(path="/openapi.json")],
        # JWTAuth adds the staff token's scheme (BearerToken); OpenAPIAccess says which
        # operations need which scheme.
        components=Components(security_schemes={METRICS_SCHEME: METRICS_SECURITY_SCHEME}),
        use_handler_docstrings=False,
    )


def security_headers(
    settings: Settings, map_origins: frozenset[str] | None = None
) -> list[tuple[str, str]]:
    """Headers on every response (pages, API, static files, 404s): no sniffing, no framing,
    no referrer (status links carry a private token), and a Content-Security-Policy without
    inline script that lets the map pages load their base map from exactly the origins it
    needs (``service.usecases.basemap.style``). Added by the outermost ASGI layer
    (:class:`service.logs.RequestContext`) unless a handler set its own."""
    origins = map_origins if map_origins is not None else basemap.configured_origins(settings)
    allowed = "".join(f" {o}" for o in sorted(origins))
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob:{allowed}; connect-src 'self'{allowed}; "
        "worker-src 'self' blob:; child-src blob:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'"
    )
    return [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]


async def is_public(request: Any) -> bool:
    # async: Litestar would run a sync check in a worker thread on every request
    return bool(request.route_handler.opt.get("public"))


def rate_limit_store(runtime: Runtime, namespace: str = "rate_limit") -> Any:
    if runtime.settings.rate_limit_store == "postgres":
        return PostgresStore(runtime.sessions, namespace)
    return MemoryStore()


def counter_secret(settings: Settings, purpose: str) -> bytes:
    """The key a throttle's store keys are hashed with, one for each ``purpose``: derived from
    the token secret, which every process of a deployment shares, so that counters kept in the
    PostgreSQL store meet across processes."""
    return hashlib.sha256(f"outreach-{purpose}\0".encode() + settings.jwt_secret.encode()).digest()


def login_throttle(runtime: Runtime) -> LoginThrottle:
    settings = runtime.settings
    return LoginThrottle(
        store=rate_limit_store(runtime, "login"),
        secret=counter_secret(settings, "login-throttle"),
        per_user=settings.login_failures_per_user,
        per_address=settings.login_failures_per_address,
        base_s=settings.login_backoff_base_s,
        window_s=settings.login_failure_window_s,
        known_s=settings.login_known_address_days * 86400,
    )


async def sweep_counters(app: Litestar, interval_s: float) -> None:
    """Drop expired counters from the in-memory stores every ``interval_s``.

    A ``MemoryStore`` forgets an expired key only when the same key is read again. Unswept, a
    counter for every client that ever called a public endpoint would stay in the process's
    memory for its whole life: pseudonymous personal data (a keyed hash of the address) kept
    past the schedule's ``expired_counters`` rule, and memory that a caller rotating addresses
    could grow without bound (one IPv6 /48 holds 65,536 client keys). The stores are looked up
    at each sweep: tests rebind an app to new ones."""
    while True:
        await asyncio.sleep(interval_s)
        for store in (app.stores.get("rate_limit"), app.state.login_throttle.store):
            if isinstance(store, MemoryStore):
                await store.delete_expired()


def current_login_throttle(state: State) -> LoginThrottle:
    """The app's throttle, read from its state: the tests bind one app to database after
    database, each with a throttle that remembers nothing of the last."""
    return cast(LoginThrottle, state.login_throttle)


def create_app(settings: Settings) -> Litestar:
    """The app for these settings; nothing is read from the environment here."""
    runtime = build_runtime(settings)
    jwt_auth = build_jwt_auth(runtime)
    throttle = login_throttle(runtime)
    client_keys = ClientKeys(trusted_networks(settings.trusted_proxies))
    public = Router(
        path="/",
        route_handlers=[
            PublicReferralsController,
            AuthController,
            ReportPagesController,
            UnsubscribePageController,
            UnsubscribeController,
            MapPageController,
            ConsolePageController,
            BasemapController,
            Open311Controller,
        ],
        request_max_body_size=settings.max_public_body_bytes,
    )
    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.public_rate_limit_per_minute),
        check_throttle_handler=is_public,
        identifier_for_request=HashedClientKeys(
            client_keys, secret=counter_secret(settings, "rate-limit")
        ),
        # the field app's shell is static and loaded offline-first
        exclude=["/static", "/basemap", "/app"],
    )

    context_holder: list[RequestContext] = []

    async def allow_base_map_origins() -> None:
        origins = await basemap.discover_origins(runtime)
        context_holder[0].set_headers(security_headers(settings, origins))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await area_sync.initial_load(runtime)
        tasks = [
            asyncio.create_task(allow_base_map_origins(), name="base-map-origins"),
            asyncio.create_task(area_sync.keep_areas_fresh(runtime), name="area-sync"),
            asyncio.create_task(
                runtime.hotspots.run(
                    partial(hotspots.apply_update, runtime),
                    poll_s=settings.hotspot_queue_poll_s,
                ),
                name="hotspot-updates",
            ),
        ]
        if settings.hotspot_recompute_interval_s > 0:
            tasks.append(
                asyncio.create_task(hotspots.recompute_loop(runtime), name="hotspot-recompute")
            )
        if settings.retention_interval_s > 0:
            tasks.append(asyncio.create_task(retention_loop(runtime), name="retention"))
        if settings.counter_sweep_s > 0:
            tasks.append(
                asyncio.create_task(
                    sweep_counters(app, settings.counter_sweep_s), name="counter-sweep"
                )
            )
        if settings.assignment_auto_recompute:
            runtime.assignment_runs.start(
                lambda trigger: assignment.run(runtime, trigger=trigger),
                debounce_s=settings.assignment_debounce_s,
                apply=lambda trigger, items: incremental.apply(runtime, items, trigger=trigger),
            )
        senders = outbox.start_senders(runtime)
        try:
            yield
        finally:
            await outbox.stop_senders(senders)
            await runtime.assignment_runs.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runtime.http.aclose()
            await runtime.engine.dispose()

    app = Litestar(
        route_handlers=[
            HealthController,
            AreasController,
            DocsController,
            FieldAppController,
            ReferralDuplicatesController,
            ReferralQueueController,
            StaffReferralsController,
            ContactsController,
            ContactReadController,
            PersonsController,
            PlacesController,
            AuditController,
            DevicesController,
            MeController,
            AssignmentsController,
            ShiftPlanController,
            SwepController,
            HotspotsController,
            HotspotRecomputeController,
            StatsController,
            ExportsController,
            TilesController,
            OutboxController,
            PushController,
            MetricsController,
            public,
            create_static_files_router(path="/static", directories=[settings.static_dir]),
        ],
        dependencies={
            "runtime": Provide(lambda: runtime, use_cache=True, sync_to_thread=False),
            "jwt_auth": Provide(lambda: jwt_auth, use_cache=True, sync_to_thread=False),
            "login_throttle": Provide(current_login_throttle, sync_to_thread=False),
            "client_key": Provide(client_keys.provide),
        },
        on_app_init=[jwt_auth.on_app_init],
        middleware=[metrics.prometheus_config().middleware, rate_limit.middleware],
        stores=StoreRegistry({"rate_limit": rate_limit_store(runtime)}),
        request_max_body_size=settings.max_body_bytes,
        lifespan=[lifespan],
        state=State({"runtime": runtime, "jwt_auth": jwt_auth, "login_throttle": throttle}),
        plugins=[
            ProblemDetailsPlugin(
                ProblemDetailsConfig(exception_to_problem_detail_map=errors.exception_map())
            ),
            ExactStructSchemaPlugin(),
            OpenAPIAccess(jwt_auth),
        ],
        openapi_config=openapi_config(),
        template_config=TemplateConfig(
            directory=PACKAGE_DIR / "web" / "templates", engine=JinjaTemplateEngine
        ),
        cors_config=CORSConfig(allow_origins=list(settings.cors_origins))
        if settings.cors_origins
        else None,
        debug=False,
        logging_config=None,  # service.logs configures logging for the server (JSON lines)
    )
    # The outermost layer, around Litestar's router and exception handling, so that 404s for
    # unknown paths and CORS answers get the request id and security headers too.
    app.asgi_handler = RequestContext(app.asgi_handler, security_headers(settings))
    context_holder.append(app.asgi_handler)
    return app


def create_app_from_env() -> Litestar:
    """Factory for uvicorn (``--factory``): settings are read when the server starts, and
    logging is set up for a server (JSON lines on stderr)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, json=settings.log_json)
    app = create_app(settings)
    app.on_startup.append(freeze_startup_objects)  # after the lifespan has loaded everything
    return app


def freeze_startup_objects() -> None:
    """Put what a started server holds for its whole life (modules, routes, schemas, the
    area index: some 175,000 objects) out of the cycle collector's reach.

    Every full collection walked them all: 95 ms a time, every few seconds under load, with
    every request of the process waiting (bench.ingest's open-loop p99). Garbage is collected
    first so none is kept. Only servers do this, not the tests' many short-lived apps: what
    is frozen is never collected."""
    gc.collect()
    gc.freeze()
