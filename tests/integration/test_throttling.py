"""Throttles behind a reverse proxy: a real server (``outreach serve``) behind a real TCP proxy
on loopback (:mod:`tests.httpproxy`) that appends the client's address to
``X-Forwarded-For``, with ``OUTREACH_TRUSTED_PROXIES`` naming the proxy's address.

The public rate limit counts each client behind the proxy on its own (IPv6 clients by their
/64) and believes the header only from the proxy."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

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


@pytest.fixture
def limited(db_url: str) -> Iterator[tuple[LiveServer, ForwardingProxy]]:
    """The app with a public limit of 5 a minute, and the proxy in front of it."""
    with (
        LiveServer(db_url, trusted_proxies=PROXY, public_rate_limit_per_minute=LIMIT) as server,
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
