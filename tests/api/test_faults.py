"""Faults through the API: the Koha simulator behind a proxy that drops, stalls or loses answers.

The resilient backend runs with small limits (1 s per call: short, yet long enough for a
loaded machine; two read attempts, no waits between them) and the gateway's ``ManualClock``
(the ``seconds`` the gateway hands its wrapper), so the breaker and the cache's freshness move
only when the test moves the clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from api_helpers import CARD, login, tenant_toml
from fault_proxy import FaultProxy, start_fault_proxy

from ils_gateway.adapters.resilience.backend import CallTimeouts, ResilientBackend
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.api.app import create_app
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

T = "/v1/tenants/koha-demo"
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
async def proxy(koha_url: str) -> AsyncIterator[FaultProxy]:
    proxy = await start_fault_proxy(koha_url)
    try:
        yield proxy
    finally:
        proxy.release()
        await proxy.runner.cleanup()


def _settings(url: str, clock, *, failure_threshold: int, extra: str = "") -> GatewaySettings:
    toml = tenant_toml(url, extra).replace("read_attempts = 3", "read_attempts = 1")

    def wrap(tenant, backend, cache, seconds):
        return ResilientBackend(
            backend,
            tenant_id=tenant.id,
            cache=cache,
            breaker=CircuitBreaker(
                tenant.id, failure_threshold=failure_threshold, cooldown=30, clock=seconds
            ),
            retry=RetryPolicy(attempts=2, first_wait=0, max_wait=0),
            timeouts=CallTimeouts(read=1.0, write=1.0),
            clock=seconds,
        )

    registry = TenantRegistry(parse_tenants(toml).tenants)
    return GatewaySettings(tenants=registry, clock=clock, wrap_backend=wrap)


@pytest.fixture
def faulty_client(aiohttp_client, proxy, clock):
    async def make(failure_threshold: int = 2, extra: str = ""):
        settings = _settings(proxy.url, clock, failure_threshold=failure_threshold, extra=extra)
        return await aiohttp_client(create_app(settings))

    return make


def _renewable(loans: dict) -> str:
    return next(loan["item"]["id"] for loan in loans["loans"] if loan["renewable"])


async def test_backend_down_serves_stale_reads_and_refuses_writes_fast(faulty_client, proxy, clock):
    client = await faulty_client()
    auth = await login(client)
    fresh = await (await client.get(f"{T}/loans", headers=auth)).json()
    assert fresh["stale"] is False
    item_id = _renewable(fresh)
    # No longer fresh (1 min), still kept as last good data (personal_data_minutes, 5 min).
    clock.advance(minutes=2)
    await proxy.go_down()
    stale = await client.get(f"{T}/loans", headers=auth)
    body = await stale.json()
    assert stale.status == 200
    assert body["stale"] is True and body["as_of"] is not None
    assert body["loans"] == fresh["loans"]
    reached = len(proxy.seen)
    refused = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
    assert refused.status == 503
    assert refused.content_type == "application/problem+json"
    assert (await refused.json())["type"].endswith("/backend-unavailable")
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(proxy.seen) == reached, "the open breaker answers without calling the backend"


async def test_slow_backend_read_is_a_timeout_problem(faulty_client, proxy):
    client = await faulty_client(failure_threshold=5)
    auth = await login(client)
    proxy.mode = "hang"
    response = await client.get(f"{T}/holds", headers=auth)
    problem = await response.json()
    assert response.status == 503
    assert problem["type"].endswith("/backend-unavailable")
    assert "Retry-After" in response.headers
    assert "timed out" not in problem["detail"], "the operator detail stays in the logs"


async def test_slow_backend_write_is_an_unknown_outcome(faulty_client, proxy):
    client = await faulty_client(failure_threshold=5)
    auth = await login(client)
    item_id = _renewable(await (await client.get(f"{T}/loans", headers=auth)).json())
    proxy.mode = "hang"
    response = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
    assert response.status == 504
    assert (await response.json())["type"].endswith("/outcome-unknown")


async def test_a_keyed_write_that_failed_with_5xx_runs_again_on_retry(
    faulty_client, proxy, library, clock
):
    client = await faulty_client(failure_threshold=5)
    auth = await login(client)
    item_id = _renewable(await (await client.get(f"{T}/loans", headers=auth)).json())
    keyed = {**auth, "Idempotency-Key": "renew-after-timeout"}
    proxy.mode = "hang"
    unknown = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert unknown.status == 504
    proxy.release()
    proxy.mode = "pass"
    # An outcome-unknown answer is not kept as "the first answer": the retry reads back and,
    # once a timed-out request can no longer land late, sends the renewal (exactly once).
    too_soon = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert too_soon.status == 504 and too_soon.headers["Retry-After"] == "5"
    clock.advance(seconds=5)
    retry = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert retry.status == 200, await retry.text()
    assert "Idempotent-Replayed" not in retry.headers
    assert [loan.renewals for loan in library.loans(CARD) if loan.barcode == item_id] == [1]


async def test_lost_answer_is_read_back_and_a_keyed_retry_is_not_a_duplicate(
    faulty_client, proxy, library
):
    client = await faulty_client()
    auth = await login(client)
    item_id = _renewable(await (await client.get(f"{T}/loans", headers=auth)).json())
    proxy.mode, proxy.lose_pattern = "lose_answer", r"^POST .*/renewal$"
    keyed = {**auth, "Idempotency-Key": "0f8b7c2e-renew"}
    first = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert first.status == 200, await first.text()
    assert proxy.mode == "pass", "the proxy did lose the renewal's answer"
    assert (await first.json())["outcome"] == "ok"
    # The client never saw that answer either and sends the same request again.
    retry = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert retry.status == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert await retry.read() == await first.read()
    assert [loan.renewals for loan in library.loans(CARD) if loan.barcode == item_id] == [1]
    assert sum(line.endswith("/renewal") for line in proxy.seen) == 1
