"""Staff: signing in (POST /v1/auth/token), phones (POST /v1/devices, POST /v1/auth/refresh,
GET and DELETE /v1/devices), the caller (GET /v1/me) and the audit log (GET /v1/audit)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import Dependency
from litestar.params import FromPath, JSONBody, QueryParameter

from service.auth import PUBLIC, JwtAuthDep, StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.persons import PRINTABLE
from service.schemas.problems import problem_responses
from service.schemas.staff import (
    AuditPage,
    AuditQuery,
    DeviceIn,
    DeviceOut,
    DeviceTokens,
    Me,
    RefreshIn,
)
from service.usecases.staff import audit as audit_views
from service.usecases.staff import devices
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

    @post(
        "/refresh",
        operation_id="refreshDeviceToken",
        summary="A registered phone swaps its refresh token for a new one and an access token",
        description=(
            "The refresh token is replaced at every use. A revoked device (or a deactivated "
            "user) gets 401: the phone then wipes what it holds."
        ),
        status_code=200,
        responses=problem_responses(401, 429),
    )
    async def refresh(
        self, runtime: RuntimeDep, jwt_auth: JwtAuthDep, data: JSONBody[RefreshIn]
    ) -> DeviceTokens:
        return await devices.refresh(runtime, jwt_auth, data.refresh_token)


class DevicesController(Controller):
    path = "/v1/devices"
    tags = ["auth"]

    @post(
        "/",
        operation_id="registerDevice",
        summary="Register this phone: a refresh token bound to it and a short access token",
        guards=[require_role("worker", "coordinator")],
        status_code=201,
        responses=problem_responses(401, 403, 422),
    )
    async def register(
        self,
        runtime: RuntimeDep,
        jwt_auth: JwtAuthDep,
        request: StaffRequest,
        data: JSONBody[DeviceIn],
    ) -> DeviceTokens:
        return await devices.register(runtime, jwt_auth, request.user, data.label)

    @get(
        "/",
        operation_id="listDevices",
        summary="The phones of the people in your teams (coordinators), or all (admins)",
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403),
    )
    async def list_devices(self, runtime: RuntimeDep, request: StaffRequest) -> list[DeviceOut]:
        return await devices.list_devices(runtime, request.user)

    @delete(
        "/{device_id:uuid}",
        operation_id="revokeDevice",
        summary="Revoke a phone (audited): its next call gets 401 and it wipes its data",
        description=(
            "Coordinators revoke the phones of people in their teams; anyone may revoke "
            "their own (the app does when it signs out)."
        ),
        guards=[require_role("worker", "coordinator")],
        status_code=204,
        responses=problem_responses(401, 403, 404),
    )
    async def revoke(
        self, runtime: RuntimeDep, request: StaffRequest, device_id: FromPath[uuid.UUID]
    ) -> None:
        await devices.revoke(runtime, request.user, device_id, route=request.url.path)


class MeController(Controller):
    path = "/v1/me"
    tags = ["auth"]
    guards = [require_role("worker", "coordinator")]

    @get(
        "/",
        operation_id="getMe",
        summary="Who you are: role, teams, authorities, today's shift, this device",
        responses=problem_responses(401),
    )
    async def me(self, runtime: RuntimeDep, request: StaffRequest) -> Me:
        return await devices.me(runtime, request.user, request.auth)


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
