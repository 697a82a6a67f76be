"""Staff: signing in (POST /v1/auth/token) and the audit log (GET /v1/audit)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post
from litestar.di import Dependency
from litestar.params import JSONBody, QueryParameter

from service.auth import PUBLIC, JwtAuthDep, require_role
from service.runtime import RuntimeDep
from service.schemas.persons import PRINTABLE
from service.schemas.problems import problem_responses
from service.schemas.staff import AuditPage, AuditQuery
from service.usecases.staff import audit as audit_views
from service.usecases.staff.login_throttle import LoginThrottle
from service.usecases.staff.tokens import issue_token

LoginThrottleDep = Annotated[LoginThrottle, Dependency(kind="named")]
ClientKeyDep = Annotated[str, Dependency(kind="named")]
"""Who the request comes from, as throttles count it (:mod:`service.client_key`)."""


class Credentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AccessToken(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    role: str


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]
    opt = PUBLIC

    @post(
        "/token",
        operation_id="createToken",
        summary="Sign in with a username and password; returns a bearer token",
        status_code=200,
        responses=problem_responses(401, 429),
    )
    async def token(
        self,
        runtime: RuntimeDep,
        jwt_auth: JwtAuthDep,
        login_throttle: LoginThrottleDep,
        client_key: ClientKeyDep,
        data: JSONBody[Credentials],
    ) -> AccessToken:
        token, expires_in, role = await issue_token(
            runtime, jwt_auth, login_throttle, (data.username, data.password), client_key
        )
        return AccessToken(
            access_token=token,
            token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
            expires_in=expires_in,
            role=role,
        )


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
