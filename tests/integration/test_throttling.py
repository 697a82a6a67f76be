"""Throttles behind a reverse proxy: a real server (``outreach serve``) behind a real TCP proxy
on loopback (:mod:`tests.httpproxy`) that appends the client's address to
``X-Forwarded-For``, with ``OUTREACH_TRUSTED_PROXIES`` naming the proxy's address.

The public rate limit and the sign-in throttle count each client behind the proxy on its own
(IPv6 clients by their /64), believe the header only from the proxy, and never keep a member
of staff out of their usual address, however many wrong passwords others send.

Each kind of server is started once for the module (a server process and its proxy take about
4 s to start): the tests share it, and each uses addresses, networks and accounts of its own,
so that no test depends on another's budget, in whatever order they run."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.httpproxy import ForwardingProxy
from tests.liveserver import LiveServer

PROXY = "127.0.0.2"
STATUS = "/v1/referrals/ESX-2345-67/status?token=abcdef"
LIMIT = 5


def from_address(url: str, source: str) -> httpx.Client:
    """A client whose connections come from this loopback address."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, transport=transport, timeout=10)


def statuses(client: httpx.Client, n: int, peer: str | None = None) -> list[int]:
    """``n`` requests to a public endpoint (from ``peer``, as the proxy will say)."""
    headers = {"x-test-peer": peer} if peer else {}
    return [client.get(STATUS, headers=headers).status_code for _ in range(n)]


@pytest.fixture(scope="module")
def limited(module_db_url: str) -> Iterator[tuple[LiveServer, ForwardingProxy]]:
    """The app with a public limit of 5 a minute, and the proxy in front of it."""
    with (
        LiveServer(
            module_db_url, trusted_proxies=PROXY, public_rate_limit_per_minute=LIMIT
        ) as server,
        ForwardingProxy(server.port, source=PROXY) as proxy,
    ):
        yield server, proxy


# ---------------------------------------------------------------- the public rate limit


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(limited):
    _, proxy = limited
    with from_address(proxy.url, "127.0.0.10") as one, from_address(proxy.url, "127.0.0.11") as two:
        assert statuses(one, LIMIT + 1) == [404] * LIMIT + [429]
        assert statuses(two, LIMIT) == [404] * LIMIT
        assert statuses(two, 1) == [429]


def test_a_forwarded_address_is_believed_only_from_the_trusted_proxy(limited):
    server, proxy = limited
    victim = "127.0.0.14"
    spoofs = [victim, victim, "203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]
    # Straight to the app (not through the proxy): the header is ignored, whatever it says.
    with from_address(server.url, "127.0.0.12") as direct:
        answers = [direct.get(STATUS, headers={"X-Forwarded-For": s}) for s in spoofs]
    assert [a.status_code for a in answers] == [404] * LIMIT + [429]
    # Through the proxy, what the client wrote left of its own address is ignored too.
    with from_address(proxy.url, "127.0.0.13") as through:
        answers = [through.get(STATUS, headers={"X-Forwarded-For": s}) for s in spoofs]
    assert [a.status_code for a in answers] == [404] * LIMIT + [429]
    # Neither used up the budget of the address they named.
    with from_address(proxy.url, victim) as honest:
        assert statuses(honest, LIMIT) == [404] * LIMIT


def test_ipv6_clients_are_counted_by_their_64(limited):
    _, proxy = limited
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        assert statuses(client, 3, peer="2001:db8:1:2::1") == [404] * 3
        assert statuses(client, 2, peer="2001:db8:1:2:ffff:ffff:ffff:fffe") == [404] * 2
        # Any address of that /64 has used up the same budget ...
        assert statuses(client, 1, peer="2001:db8:1:2:1234::99") == [429]
        # ... and the next /64 has its own.
        assert statuses(client, LIMIT, peer="2001:db8:1:3::1") == [404] * LIMIT
        # IPv4 clients behind the proxy are counted by address.
        assert statuses(client, LIMIT, peer="198.51.100.1") == [404] * LIMIT
        assert statuses(client, LIMIT, peer="198.51.100.2") == [404] * LIMIT


# ---------------------------------------------------------------- sign-in throttling


@pytest.fixture(scope="module")
def signing_in(module_db_url: str) -> Iterator[httpx.Client]:
    """The app behind the proxy: its public limit out of the way, ten failures free per
    address, and the first wait after too many a minute long (it must not run out during a
    test)."""
    with (
        LiveServer(
            module_db_url,
            trusted_proxies=PROXY,
            login_failures_per_address=10,
            login_backoff_base_s=60,
        ) as server,
        ForwardingProxy(server.port, source=PROXY) as proxy,
        httpx.Client(base_url=proxy.url, timeout=10) as client,
    ):
        yield client


def sign_in(client: httpx.Client, username: str, password: str, address: str) -> httpx.Response:
    return client.post(
        "/v1/auth/token",
        json={"username": username, "password": password},
        headers={"x-test-peer": address},
    )


def test_an_attacker_spraying_the_admin_does_not_keep_the_admin_out(signing_in):
    client = signing_in
    usual = "198.51.100.7"
    assert sign_in(client, "admin", PASSWORD, usual).status_code == 200
    # Wrong passwords for the admin from many addresses: five, then each has to wait.
    sprayed = [sign_in(client, "admin", "guess", f"203.0.113.{i}") for i in range(1, 16)]
    assert [r.status_code for r in sprayed] == [401] * 5 + [429] * 10
    assert 0 < int(sprayed[-1].headers["retry-after"]) <= 60
    # Wrong passwords for anyone from one address: ten (as configured), then it has to wait.
    guesses = [sign_in(client, f"user{i}", "guess", "203.0.113.200") for i in range(15)]
    assert [r.status_code for r in guesses] == [401] * 10 + [429] * 5
    # All of it came through the same proxy: the admin still gets in from their usual address,
    assert sign_in(client, "admin", PASSWORD, usual).status_code == 200
    # and other staff from theirs, even for the first time from there.
    assert sign_in(client, "worker_mid", PASSWORD, "198.51.100.20").status_code == 200
    # Only an address never used by the admin has to wait its turn for the admin's account.
    assert sign_in(client, "admin", PASSWORD, "198.51.100.8").status_code == 429


def test_five_wrong_passwords_do_not_lock_the_right_one_out_of_a_known_address(signing_in):
    client = signing_in
    usual = "2001:db8:7:7::10"
    assert sign_in(client, "coord_south", PASSWORD, usual).status_code == 200
    # Five mistakes from the usual place (another host of the same /64) ...
    mistakes = [sign_in(client, "coord_south", "typo", "2001:db8:7:7::11") for _ in range(5)]
    assert [r.status_code for r in mistakes] == [401] * 5
    # ... and from anywhere else now has to wait:
    elsewhere = sign_in(client, "coord_south", "typo", "203.0.113.77")
    assert elsewhere.status_code == 429
    assert 0 < int(elsewhere.headers["retry-after"]) <= 60
    # the right password from the usual place is not refused.
    assert sign_in(client, "coord_south", PASSWORD, usual).status_code == 200
