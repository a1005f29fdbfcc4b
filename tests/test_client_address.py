"""Whose address a request counts as: X-Forwarded-For only from trusted proxies, IPv6 per
/64, IPv4-mapped IPv6 as IPv4."""

from __future__ import annotations

from pixtrio.config import parse_networks
from pixtrio.edge.client_address import resolve
from pixtrio.features.ratelimit import address_subject, client_network

TRUSTED = parse_networks("10.0.0.0/8,2001:db8:ffff::/48")


def test_forwarded_for_is_read_only_from_a_trusted_peer() -> None:
    assert resolve("203.0.113.9", ["198.51.100.1"], TRUSTED) == "203.0.113.9"
    assert resolve("10.1.1.1", ["198.51.100.1"], TRUSTED) == "198.51.100.1"
    assert resolve("10.1.1.1", ["198.51.100.1"], ()) == "10.1.1.1"
    assert resolve("10.1.1.1", [], TRUSTED) == "10.1.1.1"


def test_the_right_most_untrusted_hop_is_the_client() -> None:
    # the left entries are the client's own word; the right-most untrusted one is the
    # address the last trusted proxy saw
    assert resolve("10.1.1.1", ["6.6.6.6, 198.51.100.1, 10.2.2.2"], TRUSTED) == "198.51.100.1"
    assert resolve("10.1.1.1", ["6.6.6.6", "198.51.100.1,10.2.2.2"], TRUSTED) == "198.51.100.1"
    assert resolve("10.1.1.1", ["10.3.3.3, 10.2.2.2"], TRUSTED) == "10.3.3.3"
    assert resolve("2001:db8:ffff::1", ["2001:db8::5"], TRUSTED) == "2001:db8::5"
    assert resolve("::ffff:10.1.1.1", [" ::ffff:198.51.100.1 "], TRUSTED) == "198.51.100.1"


def test_an_unreadable_hop_stops_at_the_last_trusted_one() -> None:
    assert resolve("10.1.1.1", ["198.51.100.1, garbage, 10.2.2.2"], TRUSTED) == "10.2.2.2"
    assert resolve("10.1.1.1", ["unknown"], TRUSTED) == "10.1.1.1"
    assert resolve("unknown", ["198.51.100.1"], TRUSTED) == "unknown"


def test_ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert client_network("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:2::9") == client_network("2001:db8:1:2:ffff::1")
    assert client_network("2001:db8:1:3::1") != client_network("2001:db8:1:2::1")
    assert client_network("::ffff:192.0.2.1") == client_network("192.0.2.1") == "192.0.2.1"
    assert client_network("192.0.2.1") != client_network("192.0.2.2")
    assert address_subject("::1") == "a:::/64"
