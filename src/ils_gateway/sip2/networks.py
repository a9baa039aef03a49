"""Whether a peer's address lies in configured networks (trusted load balancers, a
terminal profile's or login's subnets)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

__all__ = ["Network", "covers"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def covers(networks: Sequence[Network], address: str) -> bool:
    """Whether ``address`` (an IP, possibly IPv4-mapped IPv6) lies in one of ``networks``; an
    address that is not an IP (a Unix socket, "?") lies in none."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
