"""The audit log (admins only): who read or changed what, when, and through which route."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from service.auth import require_role
from service.runtime import RuntimeDep
from service.schemas.audit import AuditPage, AuditQuery
from service.schemas.persons import PRINTABLE
from service.schemas.problems import problem_responses
from service.usecases.staff import audit as audit_views

CURSOR = r"^[A-Za-z0-9_-]*$"
"""Cursors are base64url without padding."""


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]
    guards = [require_role("admin")]

    @get(
        "/",
        operation_id="listAuditEntries",
        summary="Audit log entries, newest first, filtered and keyset-paginated (admins)",
        responses=problem_responses(401, 403, 422),
    )
    async def list_entries(
        self,
        runtime: RuntimeDep,
        user_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        username: Annotated[str | None, QueryParameter(max_length=100, pattern=PRINTABLE)] = None,
        subject_type: Annotated[
            str | None, QueryParameter(max_length=40, pattern=PRINTABLE)
        ] = None,
        subject_id: Annotated[str | None, QueryParameter(max_length=64, pattern=PRINTABLE)] = None,
        action: Annotated[str | None, QueryParameter(max_length=40, pattern=PRINTABLE)] = None,
        since: Annotated[dt.datetime | None, QueryParameter(description="inclusive")] = None,
        until: Annotated[dt.datetime | None, QueryParameter(description="exclusive")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=200, pattern=CURSOR)] = None,
    ) -> AuditPage:
        query = AuditQuery(
            user_id=user_id,
            username=username,
            subject_type=subject_type,
            subject_id=subject_id,
            action=action,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
        return await audit_views.list_entries(runtime, query)
