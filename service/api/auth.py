"""Staff sign-in."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, post
from litestar.di import Dependency
from litestar.params import JSONBody

from service.auth import PUBLIC, JwtAuthDep
from service.runtime import RuntimeDep
from service.schemas.problems import problem_responses
from service.usecases.staff.login_throttle import LoginThrottle
from service.usecases.staff.tokens import issue_token

LoginThrottleDep = Annotated[LoginThrottle, Dependency(kind="named")]


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
        request: Request[Any, Any, Any],
        data: JSONBody[Credentials],
    ) -> AccessToken:
        address = request.client.host if request.client else "unknown"
        token, expires_in, role = await issue_token(
            runtime, jwt_auth, login_throttle, (data.username, data.password), address
        )
        return AccessToken(
            access_token=token,
            token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
            expires_in=expires_in,
            role=role,
        )
