"""``service.db.engine.fetch_dicts``: on the asyncpg connection itself in
``statements(engine)`` (referral intake's two statements, the user behind a token, place
search), through SQLAlchemy in a transaction; the same rows either way, and asyncpg's own errors
answered as SQLAlchemy's are. ``statements`` hands its connection back to the pool, and one the
server ended is replaced, not handed to the next request."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from service.db.engine import fetch_dicts, statements, transaction
from tests.conftest import assert_problem, with_runtime
from tests.integration.test_referrals import alert

CHELMSFORD = {"code": "E07000070", "lon": 0.4691, "lat": 51.7356}


def test_the_same_rows_on_the_driver_and_through_sqlalchemy(settings):
    async def both(runtime: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with statements(runtime.engine) as db:
            direct = await fetch_dicts(db, "area_lookup_teams", CHELMSFORD)
        async with transaction(runtime.sessions) as session:
            wrapped = await fetch_dicts(session, "area_lookup_teams", CHELMSFORD)
        return direct, wrapped

    direct, wrapped = with_runtime(settings, both)
    assert direct == wrapped
    assert [t["name"] for t in direct] == ["Mid Essex Outreach"]


def test_statements_run_on_the_driver_and_a_transaction_does_not(settings):
    wrong = {**CHELMSFORD, "lon": "east"}  # asyncpg refuses to encode it before sending

    async def autocommit(runtime: Any) -> None:
        async with statements(runtime.engine) as db:
            await fetch_dicts(db, "area_lookup_teams", wrong)

    async def in_transaction(runtime: Any) -> None:
        async with transaction(runtime.sessions) as session:
            await fetch_dicts(session, "area_lookup_teams", wrong)

    with pytest.raises(asyncpg.DataError):
        with_runtime(settings, autocommit)
    with pytest.raises(DBAPIError):
        with_runtime(settings, in_transaction)


def test_statements_hand_their_connection_back_and_a_closed_one_is_replaced(settings, sql):
    async def go(runtime: Any) -> tuple[int, int, int, int, list[dict[str, Any]]]:
        pool: Any = runtime.engine.pool
        async with statements(runtime.engine) as db:
            first = (await db.driver.fetchrow("SELECT pg_backend_pid() AS pid"))["pid"]
        async with statements(runtime.engine) as db:  # the same connection, from the pool
            again = (await db.driver.fetchrow("SELECT pg_backend_pid() AS pid"))["pid"]
            # the server ends this connection (a restart, an idle timeout, an administrator)
            sql("SELECT pg_terminate_backend($1)", again)
            with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)):
                await db.driver.fetch("SELECT 1")
        out = pool.checkedout()
        async with statements(runtime.engine) as db:  # a new connection, not the dead one
            after = (await db.driver.fetchrow("SELECT pg_backend_pid() AS pid"))["pid"]
            rows = await fetch_dicts(db, "area_lookup_teams", CHELMSFORD)
        return first, again, after, out + pool.checkedout(), rows

    first, again, after, checked_out, rows = with_runtime(settings, go)
    assert first == again != after
    assert checked_out == 0
    assert [t["name"] for t in rows] == ["Mid Essex Outreach"]


@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [("22023", 400), ("57014", 503)],  # a value the database refuses; a cancelled statement
)
def test_a_database_error_on_the_driver_is_answered_like_one_through_sqlalchemy(
    client, sql, sqlstate, status
):
    sql(
        "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.appearance LIKE '%amber%' THEN "
        f"RAISE EXCEPTION 'refused' USING ERRCODE = '{sqlstate}'; END IF; RETURN NEW; END $$"
    )
    sql(
        "CREATE TRIGGER test_refuse BEFORE INSERT ON referrals "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse()"
    )
    response = client.post("/v1/referrals", json=alert(appearance="amber coat, grey bag"))
    assert_problem(response, status)
    if status == 503:
        assert int(response.headers["retry-after"]) > 0
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 0
    assert client.post("/v1/referrals", json=alert()).status_code == 201
