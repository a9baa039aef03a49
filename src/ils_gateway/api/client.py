"""The client's address (issue 15, trusted proxies): what the login guard, the rate limits and
the request's log lines count and name.

It is the socket peer, unless the peer is one of the server's trusted proxies
(``GatewaySettings.trusted_proxies``, CIDRs, none by default): then it is the rightmost address
of the forwarding header (``GatewaySettings.forwarded_header``: ``X-Forwarded-For`` or
RFC 7239 ``Forwarded``) that is not itself a trusted proxy. Everything left of that address was
written by the client and may be forged; everything right of it was written by proxies the
operator trusts. A header that is missing, empty or not a list of addresses (``unknown``, an
obfuscated identifier, garbage) gives the peer: a forged header cannot choose the address.

Only the one configured header is read: a proxy that sets ``Forwarded`` passes on a client's
own ``X-Forwarded-For`` untouched, so reading both would let the client choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

X_FORWARDED_FOR = "X-Forwarded-For"
FORWARDED = "Forwarded"
FORWARDED_HEADERS = (X_FORWARDED_FOR, FORWARDED)


def client_address(
    peer: str | None,
    header_values: Sequence[str],
    trusted: Sequence[Network],
    header: str = X_FORWARDED_FOR,
) -> str | None:
    """The client's address: ``peer`` unless it is trusted, else the rightmost untrusted
    address of the forwarding ``header`` (all its lines, ``header_values``, in order)."""
    if not trusted or peer is None:
        return peer
    peer_ip = _address(peer)
    if peer_ip is None or not _trusted(peer_ip, trusted):
        return peer
    hops = _hops(header_values, header)
    if not hops:
        return peer
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return str(hop)
    return str(hops[0])  # every hop is a trusted proxy: the first is where it started


def _hops(values: Sequence[str], header: str) -> list[Address] | None:
    """The addresses of the header, left to right; None when any element is not one."""
    hops: list[Address] = []
    for value in values:
        for element in value.split(","):
            text = element.strip() if header != FORWARDED else _forwarded_for(element)
            hop = _address(text) if text else None
            if hop is None:
                return None
            hops.append(hop)
    return hops


def _forwarded_for(element: str) -> str | None:
    """The ``for=`` value of one RFC 7239 element (quotes removed), None without one."""
    for pair in element.split(";"):
        name, sep, value = pair.strip().partition("=")
        if sep and name.strip().lower() == "for":
            return value.strip().strip('"')
    return None


def _address(text: str) -> Address | None:
    """``text`` as an address: ``1.2.3.4``, ``1.2.3.4:80``, ``2001:db8::1``, ``[2001:db8::1]``
    or ``[2001:db8::1]:80``; None for anything else."""
    if text.startswith("["):
        text, sep, _ = text[1:].partition("]")
        if not sep:
            return None
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        found = ip_address(text)
    except ValueError:
        return None
    if isinstance(found, IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)
