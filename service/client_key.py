"""Who a request comes from, as the throttles count it: the "client key".

The connection's address, unless that address is a trusted reverse proxy
(``OUTREACH_TRUSTED_PROXIES``, addresses or CIDR ranges): then ``X-Forwarded-For`` is walked
from the right, skipping the trusted proxies, and the first address not in the trusted set is
the client. Proxies append the address they received the request from, so everything left of
that address was written by the client and is ignored; a header from a connection that is not
a trusted proxy is ignored altogether (anyone can send one).

IPv6 clients are keyed by their /64 (one subscriber's prefix: a host can rotate through its
addresses at will), IPv4 clients by their address.

>>> proxies = trusted_networks(["10.0.0.0/8"])
>>> client_key(client_address("10.0.0.5", ["6.6.6.6, 203.0.113.9"], proxies))
'203.0.113.9'
>>> client_key(client_address("198.51.100.1", ["203.0.113.9"], proxies))
'198.51.100.1'
>>> client_key(client_address("10.0.0.5", ["2001:db8:1:2:aaaa::1, 10.0.0.6"], proxies))
'2001:db8:1:2::/64'
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = "x-forwarded-for"
IPV6_PREFIX = 64


def trusted_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse ``OUTREACH_TRUSTED_PROXIES`` entries (``10.0.0.1``, ``10.0.0.0/8``, ``fd00::/8``);
    a bad entry raises ``ValueError``."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def parse_address(text: str | None) -> IPAddress | None:
    """An IP address from a peer or a forwarded hop (``[v6]:port`` and ``v4:port`` allowed),
    IPv4-mapped IPv6 as IPv4; ``None`` when it is not an address."""
    value = (text or "").strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]
) -> IPAddress | str:
    """The client's address: the peer's, or through trusted proxies the rightmost forwarded
    hop that is not a trusted proxy. A peer that is not an IP address (a Unix socket, a test
    client) is returned as it is."""
    current = parse_address(peer)
    if current is None:
        return peer or "unknown"
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    while hops and _is_trusted(current, trusted):
        hop = parse_address(hops.pop())
        if hop is None:  # a garbled header: the last proxy we trust is all we know
            break
        current = hop
    return current


def client_key(address: IPAddress | str) -> str:
    """The throttles' key for an address: IPv6 by its /64, anything else as it is."""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


@dataclass(frozen=True, slots=True)
class ClientKeys:
    """The client key of a request, for these trusted proxies: Litestar's rate limiter calls it
    (``RateLimitConfig.identifier_for_request``) and the sign-in handler gets it injected."""

    trusted: tuple[IPNetwork, ...] = ()

    def __call__(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        peer = connection.client.host if connection.client else None
        forwarded = connection.headers.getall(FORWARDED_FOR, []) if self.trusted else []
        return client_key(client_address(peer, forwarded, self.trusted))

    async def provide(self, request: ASGIConnection[Any, Any, Any, Any]) -> str:
        """Dependency provider (``client_key``) for handlers."""
        return self(request)


@dataclass(frozen=True, slots=True)
class HashedClientKeys:
    """The rate limiter's identifier: a keyed hash of the client key, so that neither a
    process's memory nor the shared ``kv_store`` holds the addresses of the public's requests
    (the sign-in throttle hashes its own keys). Every process of a deployment derives the same
    ``secret`` from the token secret, so shared counters still meet."""

    keys: ClientKeys
    secret: bytes

    def __call__(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        key = self.keys(connection).encode()
        return hmac.new(self.secret, key, hashlib.sha256).hexdigest()[:40]
