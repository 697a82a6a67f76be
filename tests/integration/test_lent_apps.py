"""The tests' apps are built once and lent to test after test (``tests/conftest.py``,
:class:`~tests.conftest.Apps`): a lent app must hold nothing of the test before, or tests
would pass or fail by the order they ran in."""

from __future__ import annotations

from tests.conftest import (
    PASSWORD,
    Clones,
    assert_problem,
    make_settings,
    run_sql,
    started_client,
    url_for_database,
)
from tests.integration.test_referrals import alert

PUBLIC = "/v1/referrals/ESX-2345-67/status?token=abcdef"


def sign_in(client, password):  # type: ignore[no-untyped-def]
    return client.post("/v1/auth/token", json={"username": "admin", "password": password})


def test_a_lent_app_keeps_nothing_of_the_last_test(clones: Clones) -> None:
    first, second = clones.take(), clones.take()
    try:
        # Settings of their own, so that no other test holds this app in between.
        overrides = {"public_rate_limit_per_minute": 10, "login_backoff_base_s": 60.0}
        with started_client(make_settings(url_for_database(first), **overrides)) as client:
            lent = client.app
            reference = client.post("/v1/referrals", json=alert()).json()["reference"]
            for _ in range(5):
                assert sign_in(client, "wrong").status_code == 401
            assert_problem(sign_in(client, PASSWORD), 429, "rate-limited")
            # Seven public requests so far, of the ten a minute allowed.
            assert [client.get(PUBLIC).status_code for _ in range(4)] == [404] * 3 + [429]

        with started_client(make_settings(url_for_database(second), **overrides)) as client:
            assert client.app is lent
            # Its own database: the last test's referral is not there, and what it stores
            # lands in this test's database only.
            assert client.get(f"/v1/referrals/{reference}/status?token=x").status_code == 404
            again = client.post("/v1/referrals", json=alert()).json()["reference"]
            # A throttle and a rate limit that start from nothing.
            assert sign_in(client, PASSWORD).status_code == 200
            assert client.get(PUBLIC).status_code == 404

        def stored(database: str, ref: str) -> int:
            query = "SELECT count(*) AS n FROM referrals WHERE reference = $1"
            return int(run_sql(url_for_database(database), query, ref)[0]["n"])

        assert (stored(first, reference), stored(second, reference)) == (1, 0)
        assert (stored(first, again), stored(second, again)) == (0, 1)
    finally:
        clones.give_back(first)
        clones.give_back(second)
