"""The client address behind trusted proxies (issue 15, HTTP): the socket peer, unless the peer
is a configured trusted proxy; then the rightmost untrusted address of X-Forwarded-For (or
Forwarded). A client cannot choose its address by sending the header itself."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from api_helpers import CARD, PASSWORD, tenant_toml
from structlog.testing import capture_logs

from ils_gateway.api.app import create_app
from ils_gateway.api.client import client_address
from ils_gateway.logging import merge_request_context
from ils_gateway.runtime.settings import GatewaySettings, trusted_networks
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

SESSIONS = "/v1/tenants/koha-demo/sessions"
POLICY = """
[tenants.policy.login]
max_failures = 10
window_minutes = 15
lock_minutes = 15
max_failures_per_address = 3
"""
PROXIES = trusted_networks(["10.0.0.0/8", "127.0.0.1", "2001:db8::/32"])


@pytest.mark.parametrize(
    ("peer", "values", "header", "expected"),
    [
        ("198.51.100.7", ["203.0.113.9"], "X-Forwarded-For", "198.51.100.7"),  # untrusted peer
        ("10.1.1.1", ["203.0.113.9"], "X-Forwarded-For", "203.0.113.9"),
        ("10.1.1.1", ["1.1.1.1, 203.0.113.9, 10.2.2.2"], "X-Forwarded-For", "203.0.113.9"),
        ("10.1.1.1", ["1.1.1.1", "203.0.113.9"], "X-Forwarded-For", "203.0.113.9"),  # two lines
        ("10.1.1.1", ["10.3.3.3, 10.2.2.2"], "X-Forwarded-For", "10.3.3.3"),  # all trusted
        ("10.1.1.1", [], "X-Forwarded-For", "10.1.1.1"),  # no header
        ("10.1.1.1", [""], "X-Forwarded-For", "10.1.1.1"),
        ("10.1.1.1", ["203.0.113.9, garbage"], "X-Forwarded-For", "10.1.1.1"),  # malformed
        ("10.1.1.1", ["203.0.113.9:4711"], "X-Forwarded-For", "203.0.113.9"),
        ("10.1.1.1", ["[2001:db9::1]:80"], "X-Forwarded-For", "2001:db9::1"),
        ("::ffff:10.1.1.1", ["203.0.113.9"], "X-Forwarded-For", "203.0.113.9"),  # v4-mapped
        ("2001:db8::5", ["203.0.113.9"], "X-Forwarded-For", "203.0.113.9"),
        ("10.1.1.1", ['for=1.1.1.1, for="203.0.113.9:80";proto=https'], "Forwarded",
         "203.0.113.9"),
        ("10.1.1.1", ['for="[2001:db9::17]:4711", for=10.2.2.2'], "Forwarded", "2001:db9::17"),
        ("10.1.1.1", ["for=unknown"], "Forwarded", "10.1.1.1"),
        ("10.1.1.1", ["for=_hidden, for=203.0.113.9"], "Forwarded", "10.1.1.1"),
        ("10.1.1.1", ["proto=https"], "Forwarded", "10.1.1.1"),
        (None, ["203.0.113.9"], "X-Forwarded-For", None),
    ],
)  # fmt: skip
def test_client_address(peer, values, header, expected) -> None:
    assert client_address(peer, values, PROXIES, header) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address("10.1.1.1", ["203.0.113.9"], ()) == "10.1.1.1"


def test_trusted_proxies_setting_parses_cidrs_and_refuses_garbage() -> None:
    assert trusted_networks(["10.0.0.0/8, 192.0.2.1", "::1"]) == (
        ip_network("10.0.0.0/8"),
        ip_network("192.0.2.1/32"),
        ip_network("::1/128"),
    )
    with pytest.raises(ValueError, match="nope"):
        trusted_networks(["10.0.0.0/8 nope"])
    with pytest.raises(ValueError, match="forwarded_header"):
        GatewaySettings(tenants=TenantRegistry(()), forwarded_header="X-Real-IP")


@pytest.fixture
def make(aiohttp_client, koha_url, clock):  # type: ignore[no-untyped-def]
    async def build(**settings: object):  # type: ignore[no-untyped-def]
        registry = TenantRegistry(parse_tenants(tenant_toml(koha_url, POLICY)).tenants)
        return await aiohttp_client(
            create_app(GatewaySettings(tenants=registry, clock=clock, **settings))
        )

    return build


async def _login(client, password: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    body = {"card_number": CARD, "password": password}
    return await client.post(SESSIONS, json=body, headers=headers)


async def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored(make) -> None:
    client = await make()  # no trusted proxies: the test client's 127.0.0.1 is the client
    for n in range(3):
        assert (await _login(client, "wrong", f"203.0.113.{n}")).status == 401
    # Every failure was counted against 127.0.0.1, whatever the header said.
    assert (await _login(client, PASSWORD, "198.51.100.1")).status == 429


async def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(make) -> None:
    client = await make(trusted_proxies=trusted_networks(["127.0.0.1"]))
    for _ in range(3):
        assert (await _login(client, "wrong", "1.1.1.1, 203.0.113.5")).status == 401
    assert (await _login(client, PASSWORD, "203.0.113.5")).status == 429
    # A client prepending an address of its own does not escape its lock...
    assert (await _login(client, PASSWORD, "198.51.100.99, 203.0.113.5")).status == 429
    # ...and another client behind the same proxy is not locked.
    with capture_logs(processors=[merge_request_context]) as logs:
        assert (await _login(client, PASSWORD, "203.0.113.6")).status == 201
    request = next(e for e in logs if e["event"] == "request")
    assert request["client"] == "203.0.113.6"


async def test_a_malformed_header_from_a_trusted_proxy_counts_the_proxy(make) -> None:
    client = await make(trusted_proxies=trusted_networks(["127.0.0.1"]))
    for forwarded in ("garbage", "203.0.113.5, not-an-ip", ""):
        assert (await _login(client, "wrong", forwarded or None)).status == 401
    assert (await _login(client, PASSWORD, "garbage, 203.0.113.7")).status == 429
