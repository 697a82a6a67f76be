"""Staff sign-in: argon2 password hashes, JWT bearer tokens (Litestar's JWTAuth), roles and
scopes. Every route is protected unless it is marked public with ``opt={"public": True}``.

What the OpenAPI document says about security is read from the same objects that enforce it
(:class:`OpenAPIAccess`): JWTAuth's exclusions decide which operations need the bearer token,
and the guards (:func:`require_role`) decide which roles each operation names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Iterable
from copy import copy
from typing import Annotated, Any, Protocol, TypeGuard, runtime_checkable

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection, Request
from litestar.di import Dependency
from litestar.exceptions import (
    ImproperlyConfiguredException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins import InitPlugin, ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.security.jwt import JWTAuth, Token

from service.access import StaffUser
from service.db import users
from service.db.engine import statements
from service.runtime import Runtime
from service.vocabularies import ROLES

PUBLIC = {"public": True}
BEARER = "BearerToken"
"""The OpenAPI security scheme of the staff token (JWTAuth's)."""
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


DEVICE_CLAIM = "device"
"""The claim of an access token issued to a registered phone: the device's id. Such a token
stops working as soon as the device is revoked."""


def device_of_token(token: Token | None) -> uuid.UUID | None:
    """The device an access token was issued to, or ``None`` (a password token).

    >>> import datetime as dt
    >>> t = Token(exp=dt.datetime(2030, 1, 1), sub="1", extras={"device": "0" * 32})
    >>> device_of_token(t)
    UUID('00000000-0000-0000-0000-000000000000')
    >>> device_of_token(Token(exp=dt.datetime(2030, 1, 1), sub="1", extras={"device": "x"}))
    Traceback (most recent call last):
    ValueError: badly formed hexadecimal UUID string
    """
    claim = token.extras.get(DEVICE_CLAIM) if token is not None else None
    return uuid.UUID(claim) if isinstance(claim, str) else None


async def load_user(runtime: Runtime, user_id: int, token: Token | None = None) -> StaffUser | None:
    """The active user, if the token (when given) is not bound to a device that has been
    revoked or does not belong to them."""
    try:
        device_id = device_of_token(token)
    except ValueError:
        return None
    # Every signed-in request: one statement on its own, no BEGIN/COMMIT (it was four round
    # trips and 6% of the app's CPU under bench.ingest's contact batches, py-spy).
    async with statements(runtime.engine) as db:
        row = await users.get(db, user_id, device_id=device_id)
    return msgspec.convert(row, StaffUser) if row else None


def build_jwt_auth(runtime: Runtime) -> JWTAuth[StaffUser, Token]:
    async def retrieve_user(
        token: Token, _: ASGIConnection[Any, Any, Any, Any]
    ) -> StaffUser | None:
        # A deactivated user loses access at once: the user is read on every request.
        # ... and so is the device a phone's token was issued to.
        return await load_user(runtime, int(token.sub), token)

    return JWTAuth[StaffUser, Token](
        retrieve_user_handler=retrieve_user,
        token_secret=runtime.settings.jwt_secret,
        default_token_expiration=TOKEN_LIFETIME,
        exclude_opt_key="public",
        exclude=["/static", "/docs", "/openapi", "/schema", "^/metrics$"],
        openapi_security_scheme_name=BEARER,
        description="A staff token from POST /v1/auth/token",
    )


@runtime_checkable
class DocumentedGuard(Protocol):
    """A guard that says whom it admits, for the OpenAPI document: these roles, presenting a
    token of one of these security schemes. Every guard on a route must be one."""

    roles: frozenset[str]
    schemes: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RoleGuard:
    """Admits signed-in staff whose role is one of ``roles``; build it with :func:`require_role`."""

    roles: frozenset[str]
    schemes: tuple[str, ...] = (BEARER,)

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        # async: Litestar would run a sync guard in a worker thread on every request
        if connection.scope.get("method") == "OPTIONS":
            return  # Litestar's automatic Allow answer: never authenticated, carries no data
        user = connection.scope.get("user")
        if not isinstance(user, StaffUser):
            raise NotAuthorizedException("sign in first")
        if user.role not in self.roles:
            raise PermissionDeniedException("your role does not allow this")


def require_role(*roles: str) -> RoleGuard:
    """A guard admitting only these roles (admin always passes)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    return RoleGuard(frozenset(roles) | {"admin"})


@dataclasses.dataclass(frozen=True)
class Access:
    """Who may call an operation: ``schemes`` empty means anyone, without a token."""

    schemes: tuple[str, ...]
    roles: tuple[str, ...]

    @property
    def security(self) -> list[dict[str, list[str]]]:
        """OpenAPI security requirements: any one of the schemes suffices."""
        return [{scheme: []} for scheme in self.schemes]

    def describe(self, description: str | None) -> str | None:
        """The operation's description followed by the roles that may call it."""
        if not self.schemes:
            return description
        note = f"Roles: {', '.join(self.roles)}."
        others = [scheme for scheme in self.schemes if scheme != BEARER]
        if others:
            note += f" Or a token of the {' or '.join(others)} scheme instead of a staff token."
        return f"{description}\n\n{note}" if description else note


def route_access(
    handler: HTTPRouteHandler, path: str, jwt_auth: JWTAuth[StaffUser, Token]
) -> Access:
    """Who may call ``handler`` at ``path``, read from what enforces it: JWTAuth lets a route
    through without a token when its ``opt`` carries the exclusion key or its path matches an
    exclusion; each guard admits its own roles (the caller needs all of them)."""
    every = [guard for layer in handler.ownership_layers for guard in (layer.guards or [])]
    guards = [guard for guard in every if _documented(guard)]
    undocumented = [guard for guard in every if not _documented(guard)]
    if undocumented:
        raise ImproperlyConfiguredException(
            f"{path}: guards must say whom they admit (DocumentedGuard): {undocumented}"
        )
    key = jwt_auth.exclude_opt_key
    exempt = bool(key and handler.opt.get(key)) or _excluded(path, jwt_auth.exclude)
    schemes = _intersect(((BEARER,),) if not exempt else (), (g.schemes for g in guards))
    roles = _intersect((ROLES,), (tuple(g.roles) for g in guards))
    return Access(schemes=schemes, roles=roles)


def _documented(guard: object) -> TypeGuard[DocumentedGuard]:
    return isinstance(guard, DocumentedGuard)


def _excluded(path: str, exclude: str | list[str] | None) -> bool:
    if not exclude:
        return False
    patterns = [exclude] if isinstance(exclude, str) else exclude
    return re.compile("|".join(patterns)).search(path) is not None


def _intersect(*groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """Names present in every tuple, in the order of the first."""
    tuples = [t for group in groups for t in group]
    if not tuples:
        return ()
    return tuple(name for name in tuples[0] if all(name in t for t in tuples[1:]))


class OpenAPIAccess(InitPlugin, ReceiveRoutePlugin):
    """Writes each operation's security requirement and roles into the OpenAPI document,
    from :func:`route_access`. JWTAuth declares its requirement for the whole document, which
    would put it on public operations too; this plugin drops that and states it per operation."""

    def __init__(self, jwt_auth: JWTAuth[StaffUser, Token]) -> None:
        self.jwt_auth = jwt_auth
        self._done: set[int] = set()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # Runs after JWTAuth.on_app_init (app hooks run before plugins').
        if app_config.openapi_config is not None:
            app_config.openapi_config = copy(app_config.openapi_config)
            app_config.openapi_config.security = None
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler, _ in route.route_handler_map.values():
            if id(handler) in self._done:  # one handler serves all its methods (and paths)
                continue
            self._done.add(id(handler))
            access = route_access(handler, route.path, self.jwt_auth)
            handler.security = access.security or None
            handler.description = access.describe(handler.description)


# Typed as Any: Litestar cannot build a signature model for the JWTAuth dataclass itself.
JwtAuthDep = Annotated[Any, Dependency(kind="named")]

StaffRequest = Request[StaffUser, Any, Any]
"""A request whose ``user`` is the signed-in member of staff."""


async def user_of_header(
    runtime: Runtime, jwt_auth: JWTAuth[StaffUser, Token], authorization: str | None
) -> StaffUser | None:
    """The member of staff whose bearer token this ``Authorization`` header carries, or
    ``None`` (no header, a bad or expired token, a deactivated user). For public pages that
    answer differently to a caller who presents a token (``/console`` refuses workers)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not encoded:
        return None
    try:
        token = jwt_auth.token_cls.decode(
            encoded_token=encoded, secret=jwt_auth.token_secret, algorithm=jwt_auth.algorithm
        )
    except NotAuthorizedException:
        return None
    return await load_user(runtime, int(token.sub))
