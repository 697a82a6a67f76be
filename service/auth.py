"""Staff sign-in: argon2 password hashes, JWT bearer tokens (Litestar's JWTAuth), roles and
scopes. Every route is protected unless it is marked public with ``opt={"public": True}``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection, Request
from litestar.di import Dependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token

from service.access import StaffUser
from service.db import users
from service.db.engine import transaction
from service.runtime import Runtime

PUBLIC = {"public": True}
TOKEN_LIFETIME = dt.timedelta(hours=10)
_hasher = PasswordHasher()
# Verifying against a real hash keeps the time of "no such user" like a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def load_user(runtime: Runtime, user_id: int) -> StaffUser | None:
    async with transaction(runtime.sessions) as session:
        row = await users.get(session, user_id)
    return msgspec.convert(row, StaffUser) if row else None


def build_jwt_auth(runtime: Runtime) -> JWTAuth[StaffUser, Token]:
    async def retrieve_user(
        token: Token, _: ASGIConnection[Any, Any, Any, Any]
    ) -> StaffUser | None:
        # A deactivated user loses access at once: the user is read on every request.
        return await load_user(runtime, int(token.sub))

    return JWTAuth[StaffUser, Token](
        retrieve_user_handler=retrieve_user,
        token_secret=runtime.settings.jwt_secret,
        default_token_expiration=TOKEN_LIFETIME,
        exclude_opt_key="public",
        exclude=["/static", "/docs", "/openapi", "/schema", "^/metrics$"],
        description="A staff token from POST /v1/auth/token",
    )


def require_role(*roles: str):  # type: ignore[no-untyped-def]
    """A guard admitting only these roles (admin always passes)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # Litestar's automatic Allow answer: never authenticated, carries no data
        user = connection.scope.get("user")
        if not isinstance(user, StaffUser):
            raise NotAuthorizedException("sign in first")
        if user.role not in roles and not user.is_admin:
            raise PermissionDeniedException("your role does not allow this")

    return guard


# Typed as Any: Litestar cannot build a signature model for the JWTAuth dataclass itself.
JwtAuthDep = Annotated[Any, Dependency(kind="named")]

StaffRequest = Request[StaffUser, Any, Any]
"""A request whose ``user`` is the signed-in member of staff."""
