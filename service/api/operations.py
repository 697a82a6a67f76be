"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac
import os
from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import SecurityScheme
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from service.auth import BEARER, PUBLIC, load_user
from service.runtime import Runtime, RuntimeDep
from service.schemas.areas import Health, Readiness
from service.schemas.problems import problem_responses
from service.usecases.messages.admin import outbox_metrics
from service.usecases.operations.health import readiness


class HealthController(Controller):
    tags = ["health"]
    opt = PUBLIC

    @get(
        "/healthz",
        operation_id="healthz",
        summary="The process is up",
        responses=problem_responses(),
    )
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        operation_id="readyz",
        summary="The database is reachable and migrated",
        responses=problem_responses(),
    )
    async def readyz(self, runtime: RuntimeDep) -> Readiness:
        migration, version = await readiness(runtime)
        return Readiness(
            status="ready", database="ok", migration=migration, boundary_version=version
        )


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


METRICS_SCHEME = "MetricsToken"
METRICS_SECURITY_SCHEME = SecurityScheme(
    type="http",
    scheme="Bearer",
    description="The Prometheus scrape token, OUTREACH_METRICS_TOKEN (GET /metrics only)",
)


class ScraperOrAdmin:
    """The scrape token (``OUTREACH_METRICS_TOKEN``), or a valid admin's staff token."""

    roles = frozenset({"admin"})
    schemes = (METRICS_SCHEME, BEARER)

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        runtime: Runtime = connection.app.state.runtime
        presented = _bearer(connection)
        if not presented:
            raise NotAuthorizedException("a bearer token is needed")
        expected = runtime.settings.metrics_token
        if expected and hmac.compare_digest(presented.encode(), expected.encode()):
            return
        jwt_auth = connection.app.state.jwt_auth
        token = jwt_auth.token_cls.decode(presented, jwt_auth.token_secret, jwt_auth.algorithm)
        user = await load_user(runtime, int(token.sub), token)
        if user is None:
            raise NotAuthorizedException("sign in first")
        if user.role not in self.roles:
            raise PermissionDeniedException("metrics are for admins")


scraper_or_admin = ScraperOrAdmin()


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


class MetricsController(Controller):
    @get(
        "/metrics",
        operation_id="metrics",
        summary="Prometheus metrics",
        guards=[scraper_or_admin],
        responses=problem_responses(401, 403),
        media_type=MediaType.TEXT,
    )
    async def metrics(self, runtime: RuntimeDep) -> Response[bytes]:
        shared = _Families(await outbox_metrics(runtime))  # the outbox, from the database
        body = generate_latest(_registry()) + generate_latest(shared)
        return Response(body, headers={"content-type": CONTENT_TYPE_LATEST})


class _Families:
    """Metric families read at scrape time, in the shape ``generate_latest`` reads."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families
