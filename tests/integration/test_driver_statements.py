"""``service.db.engine.fetch_dicts``: on the asyncpg connection itself in an autocommit
session (referral intake's two statements), through SQLAlchemy in a transaction; the same rows
either way, and asyncpg's own errors answered as SQLAlchemy's are."""

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
        async with statements(runtime.sessions) as session:
            direct = await fetch_dicts(session, "area_lookup_teams", CHELMSFORD)
        async with transaction(runtime.sessions) as session:
            wrapped = await fetch_dicts(session, "area_lookup_teams", CHELMSFORD)
        return direct, wrapped

    direct, wrapped = with_runtime(settings, both)
    assert direct == wrapped
    assert [t["name"] for t in direct] == ["Mid Essex Outreach"]


def test_an_autocommit_session_runs_on_the_driver_and_a_transaction_does_not(settings):
    wrong = {**CHELMSFORD, "lon": "east"}  # asyncpg refuses to encode it before sending

    async def autocommit(runtime: Any) -> None:
        async with statements(runtime.sessions) as session:
            await fetch_dicts(session, "area_lookup_teams", wrong)

    async def in_transaction(runtime: Any) -> None:
        async with transaction(runtime.sessions) as session:
            await fetch_dicts(session, "area_lookup_teams", wrong)

    with pytest.raises(asyncpg.DataError):
        with_runtime(settings, autocommit)
    with pytest.raises(DBAPIError):
        with_runtime(settings, in_transaction)


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
