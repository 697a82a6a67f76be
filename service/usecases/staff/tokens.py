"""Issue staff tokens for a username and password."""

from __future__ import annotations

from litestar.security.jwt import JWTAuth, Token

from service.access import StaffUser
from service.auth import verify_password
from service.db import users as users_repo
from service.db.engine import transaction
from service.exceptions import AuthenticationError
from service.runtime import Runtime
from service.usecases.staff.login_throttle import LoginThrottle


async def issue_token(
    runtime: Runtime,
    jwt_auth: JWTAuth[StaffUser, Token],
    throttle: LoginThrottle,
    credentials: tuple[str, str],
    client: str,
) -> tuple[str, int, str]:
    """A token for these (username, password) credentials from this client (its client key);
    failed attempts slow further ones down (:mod:`~service.usecases.staff.login_throttle`)."""
    username, password = credentials
    attempt = await throttle.check(username, client)
    async with transaction(runtime.sessions) as session:
        creds = await users_repo.get_credentials(session, username)
    if not verify_password(creds["password_hash"] if creds else None, password) or not creds:
        await throttle.failed(attempt)
        raise AuthenticationError("wrong username or password")
    await throttle.succeeded(attempt)
    token = jwt_auth.create_token(identifier=str(creds["id"]))
    return token, int(jwt_auth.default_token_expiration.total_seconds()), creds["role"]
