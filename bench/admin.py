"""Dropping a scratch database on a cluster where the app's role is not a superuser."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ATTEMPTS = 50


async def drop_database(admin_url: str, name: str, attempts: int = ATTEMPTS) -> None:
    """Drop database ``name`` (if it exists), whoever is still in it; ``admin_url`` names
    another database of the cluster (``postgres``).

    ``WITH (FORCE)`` ends the other sessions, but PostgreSQL refuses it (``must be a member of
    the role whose process is being terminated``) while an autovacuum worker, which runs as the
    bootstrap superuser, is in the database: it checks every session's role before it ends any.
    A plain ``DROP`` tells that worker to stop itself, but fails while our own sessions remain.
    So try one, then the other, until the worker has gone. The project-local cluster gives the
    app a role that is not a superuser (``scripts/dev.sh``), so the benches' ``FORCE`` alone
    failed on it whenever a bench had written enough for autovacuum to start, after the whole
    run and before its summary was printed.
    """
    conn = await asyncpg.connect(admin_url)
    try:
        for _ in range(attempts):
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.InsufficientPrivilegeError:
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    return
                except asyncpg.ObjectInUseError:
                    await asyncio.sleep(0.1)
        raise RuntimeError(f"could not drop the database {name}")
    finally:
        await conn.close()


def drop(server: str, name: str) -> None:
    """:func:`drop_database` from synchronous code, on the cluster of the plain
    ``postgresql://`` URL ``server`` (whichever of its databases it names)."""
    admin_url = urlunsplit(urlsplit(server)._replace(path="/postgres"))
    asyncio.run(drop_database(admin_url, name))
