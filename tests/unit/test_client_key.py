"""The client key: whose requests a throttle counts together."""

from __future__ import annotations

import pytest

from service.client_key import client_address, client_key, trusted_networks
from service.settings import Settings

PROXIES = trusted_networks(["10.0.0.0/8", "fd00::/8", "192.0.2.1"])


def key(peer: str | None, *forwarded: str) -> str:
    return client_key(client_address(peer, list(forwarded), PROXIES))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # Not from a trusted proxy: the header is ignored.
        ("198.51.100.1", ["203.0.113.9"], "198.51.100.1"),
        # From a trusted proxy: the rightmost address that is not a trusted proxy ...
        ("10.0.0.5", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.5", ["6.6.6.6, 203.0.113.9, 192.0.2.1"], "203.0.113.9"),
        ("10.0.0.5", ["6.6.6.6", "203.0.113.9, 10.1.1.1"], "203.0.113.9"),
        # ... and nothing the client wrote left of it.
        ("10.0.0.5", ["2001:db8::1, 203.0.113.9"], "203.0.113.9"),
        # Only proxies all the way: the leftmost one.
        ("10.0.0.5", ["10.0.0.9, 10.0.0.8"], "10.0.0.9"),
        # A trusted proxy without the header, or with a garbled one: the proxy itself.
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", ["unknown"], "10.0.0.5"),
        # Ports and brackets as some proxies write them; IPv4-mapped IPv6 as IPv4.
        ("10.0.0.5", ["203.0.113.9:4711"], "203.0.113.9"),
        ("10.0.0.5", ["[2001:db8:a:b::1]:443"], "2001:db8:a:b::/64"),
        ("::ffff:198.51.100.1", [], "198.51.100.1"),
        # IPv6 by its /64, also behind an IPv6 proxy.
        ("2001:db8:a:b:c:d:e:f", [], "2001:db8:a:b::/64"),
        ("fd00::1", ["2001:db8:a:c::1"], "2001:db8:a:c::/64"),
        # Not an IP address at all (a Unix socket, a test client): as it is.
        ("testclient", ["203.0.113.9"], "testclient"),
        (None, [], "unknown"),
    ],
)
def test_client_keys(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert key(peer, *forwarded) == expected


def test_trusted_proxies_are_validated_with_the_settings() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(database_url="postgresql://x/y", trusted_proxies=("10.0.0.0/33",))
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://x/y", "OUTREACH_TRUSTED_PROXIES": "10.0.0.1, fd00::/8"}
    )
    assert settings.trusted_proxies == ("10.0.0.1", "fd00::/8")
