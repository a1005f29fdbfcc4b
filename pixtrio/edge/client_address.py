"""Who sent a request: the TCP peer, or, behind a trusted proxy, the address it forwarded.

`X-Forwarded-For` is honoured only when the peer is inside one of
`PIXTRIO_TRUSTED_PROXIES`; anyone else could write any address into it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from quart import request

from pixtrio.config import Network
from pixtrio.edge.services import services


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def resolve(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: `peer`, unless it is inside a `trusted` network; then, reading
    `forwarded_for` (the header's values, in order) from the right, the first address not
    itself trusted (the left-most if all are; the last trusted hop if an entry is not an
    address)."""
    client = _address(peer)
    if client is None or not trusted:
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        if not any(client in network for network in trusted):
            break
        forwarded = _address(hop)
        if forwarded is None:
            break
        client = forwarded
    return str(client)


def client_address() -> str:
    """The address the current request comes from (see `resolve`)."""
    return resolve(request.remote_addr or "unknown", request.headers.getlist("X-Forwarded-For"),
                   services().settings.trusted_proxies)
