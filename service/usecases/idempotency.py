"""``Idempotency-Key`` on staff writes: a replayed request gets the stored response."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec

from service.access import StaffUser
from service.db import idempotency as repo
from service.db.engine import transaction
from service.exceptions import ConflictError
from service.runtime import Runtime

T = TypeVar("T")


def request_hash(body: object) -> str:
    return hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


async def replay_or_run(
    runtime: Runtime,
    user: StaffUser,
    key: str | None,
    body: object,
    result_type: type[T],
    run: Callable[[], Awaitable[T]],
) -> T:
    """Run once per (user, key); later calls with the same key get the first result."""
    if key is None:
        return await run()
    digest = request_hash(body)
    async with transaction(runtime.sessions) as session:
        row = await repo.get(session, user.id, key)
    if row is not None:
        if row["request_hash"] != digest:
            raise ConflictError("this Idempotency-Key was used for a different request")
        return msgspec.json.decode(bytes(row["body"]), type=result_type)
    result = await run()
    async with transaction(runtime.sessions) as session:
        await repo.add(session, user.id, key, request_hash=digest, body=msgspec.json.encode(result))
    return result
