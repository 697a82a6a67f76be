"""Liveness and readiness probes."""

from __future__ import annotations

from litestar import Controller, get

from service.auth import PUBLIC
from service.runtime import RuntimeDep
from service.schemas.areas import Health, Readiness
from service.schemas.problems import problem_responses
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
