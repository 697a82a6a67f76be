"""``/metrics`` for Prometheus: only for a scraper holding the scrape token, or an admin."""

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

from service.api.problems import problem_responses
from service.auth import BEARER, load_user
from service.state import Runtime


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
        user = await load_user(runtime, int(token.sub))
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
        sync_to_thread=False,
    )
    def metrics(self) -> Response[bytes]:
        return Response(generate_latest(_registry()), headers={"content-type": CONTENT_TYPE_LATEST})
