"""Anonymous catalog lookups are limited per client address and tenant (issue 15, HTTP): past
the limit a 429 problem with Retry-After, nothing reaching the library system; a new window
lets the address in again; the counts are shared through Redis; the document says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import tenant_toml

from ils_gateway.api.app import create_app
from ils_gateway.api.openapi import build_openapi
from ils_gateway.runtime.settings import GatewaySettings, trusted_networks
from ils_gateway.state.ratelimit import RateLimit
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants
from sealed_state import TEST_SECRET

T = "/v1/tenants/koha-demo"
LIMIT = RateLimit(limit=3, window=60)


class CountingBackend:
    def __init__(self, backend: object) -> None:
        self._backend = backend
        self.items = 0

    async def get_item(self, item_id: str):  # type: ignore[no-untyped-def]
        self.items += 1
        return await self._backend.get_item(item_id)  # type: ignore[attr-defined]

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._backend, name)


@pytest.fixture
def make(aiohttp_client, koha_url, clock):  # type: ignore[no-untyped-def]
    async def build(**settings: object):  # type: ignore[no-untyped-def]
        counted: list[CountingBackend] = []

        def wrap(tenant, backend, cache, seconds):  # type: ignore[no-untyped-def]
            counted.append(CountingBackend(backend))
            return counted[-1]

        registry = TenantRegistry(parse_tenants(tenant_toml(koha_url)).tenants)
        settings.setdefault("anonymous_lookup_limit", LIMIT)
        app = create_app(
            GatewaySettings(tenants=registry, clock=clock, wrap_backend=wrap, **settings)
        )
        return await aiohttp_client(app), counted

    return build


async def test_lookups_past_the_limit_get_429_with_retry_after(make, clock) -> None:
    client, (backend,) = await make()
    for path in ("/items/3000000001", "/libraries", "/items/3000000002"):
        assert (await client.get(T + path)).status in (200, 404), path
    seen = backend.items
    assert seen == 2
    limited = await client.get(f"{T}/items/3000000001")
    assert limited.status == 429
    assert limited.headers["Content-Type"].startswith("application/problem+json")
    doc = await limited.json()
    assert doc["type"].endswith("/lookup-rate-limited")
    retry = int(limited.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert "no-store" in limited.headers["Cache-Control"]
    assert backend.items == seen  # nothing reached the library system
    assert (await client.get(f"{T}/libraries")).status == 429
    clock.advance(timedelta(seconds=retry))
    assert (await client.get(f"{T}/items/3000000001")).status in (200, 404)


async def test_each_client_behind_a_trusted_proxy_has_its_own_count(make) -> None:
    client, _ = await make(trusted_proxies=trusted_networks(["127.0.0.1"]))
    for _ in range(3):
        await client.get(f"{T}/libraries", headers={"X-Forwarded-For": "203.0.113.1"})
    assert (
        await client.get(f"{T}/libraries", headers={"X-Forwarded-For": "203.0.113.1"})
    ).status == 429
    assert (
        await client.get(f"{T}/libraries", headers={"X-Forwarded-For": "203.0.113.2"})
    ).status == 200


async def test_patron_routes_are_not_counted(make) -> None:
    client, _ = await make()
    for _ in range(5):
        assert (await client.get(f"{T}/loans")).status == 401  # needs a session; not limited
    assert (await client.get(f"{T}/libraries")).status == 200


async def test_the_count_is_shared_between_processes_through_redis(
    make, redis_url, redis_prefix
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix, "secret": TEST_SECRET}
    first, _ = await make(**shared)
    second, _ = await make(**shared)
    for client in (first, second, first):
        assert (await client.get(f"{T}/libraries")).status == 200
    assert (await second.get(f"{T}/libraries")).status == 429


def test_the_document_states_the_429() -> None:
    doc = build_openapi()
    for path in (f"{T.replace('koha-demo', '{tenant}')}/items/{{item_id}}",
                 f"{T.replace('koha-demo', '{tenant}')}/libraries"):  # fmt: skip
        response = doc["paths"][path]["get"]["responses"]["429"]
        assert response["headers"]["Retry-After"]["schema"]["type"] == "integer"
        assert "application/problem+json" in response["content"]
    assert (
        "429" not in doc["paths"][T.replace("koha-demo", "{tenant}") + "/loans"]["get"]["responses"]
    )
