"""One deadline per API request, a tenant setting (issue 13), through the whole gateway: the
Koha simulator behind a proxy that never answers, the gateway's default resilience wiring
(the tenant's per-phase timeouts: 16 s per read, 26 s per write). Loop time is
fast-forwarded (``looptime``), so the silent waits cost no real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from api_helpers import CARD, login, tenant_toml
from fault_proxy import FaultProxy, start_fault_proxy

from ils_gateway.api.app import create_app
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

pytestmark = pytest.mark.looptime

T = "/v1/tenants/koha-demo"


@pytest.fixture
async def proxy(koha_url: str) -> AsyncIterator[FaultProxy]:
    proxy = await start_fault_proxy(koha_url)
    try:
        yield proxy
    finally:
        proxy.release()
        await proxy.runner.cleanup()


@pytest.fixture
async def client(aiohttp_client, proxy, clock):
    toml = tenant_toml(proxy.url, fields="request_deadline = 4.0")
    registry = TenantRegistry(parse_tenants(toml).tenants)
    return await aiohttp_client(create_app(GatewaySettings(tenants=registry, clock=clock)))


async def test_login_against_a_silent_library_ends_at_the_tenants_deadline(client, proxy):
    proxy.mode = "hang"
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.post(
        f"{T}/sessions", json={"card_number": "1000000001", "password": "hanako01"}
    )
    assert response.status == 503
    assert loop.time() - started <= 4.0 + 0.5


async def test_a_write_against_a_silent_library_ends_at_the_deadline_saying_so(client, proxy):
    auth = await login(client)
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    item_id = next(loan["item"]["id"] for loan in loans if loan["renewable"])
    proxy.mode, proxy.lose_pattern = "silent_after", r"^POST .*/renewal"
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.post(
        f"{T}/loans/{item_id}/renewal", headers={**auth, "Idempotency-Key": "k-1"}
    )
    assert response.status == 504
    problem = await response.json()
    assert "延長された可能性があります" in problem["detail"]  # ja: the tenant default
    assert problem["title"] == "処理の結果を確認できませんでした"
    assert loop.time() - started <= 4.0 + 0.5


async def test_writes_resume_within_seconds_after_an_outage(client, proxy, clock, library):
    """A 10 s outage, a portal retrying every half second: the breaker opens, probes on a short
    schedule, and the first write after the library system is back succeeds within 3 s (a fixed
    30 s cool-down, re-armed by a probe that met the system still down, made it ~20 s)."""
    auth = await login(client)
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    item_id = next(loan["item"]["id"] for loan in loans if loan["renewable"])
    proxy.mode = "unavailable"
    for _ in range(20):  # 10 s of outage
        response = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
        assert response.status == 503
        clock.advance(seconds=0.5)
    proxy.mode = "pass"
    back_at = clock.now
    while (await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)).status != 200:
        clock.advance(seconds=0.5)
        assert (clock.now - back_at).total_seconds() <= 3.0, "still refused 3 s after the return"
    assert [loan.renewals for loan in library.loans(CARD) if loan.barcode == item_id] == [1]


async def test_a_write_that_timed_out_may_land_late_and_is_not_sent_again(
    client, proxy, clock, library
):
    """The renewal is held on the way for 6 s: the gateway gives up (its 60 % share of the
    4 s deadline), reads back and does not see it — but it is still on its way. Sending it
    again then would make it twice; the 504 says when a retry can learn more."""
    auth = await login(client)
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    item_id = next(loan["item"]["id"] for loan in loans if loan["renewable"])
    proxy.mode, proxy.lose_pattern, proxy.delay = "delay_forward", r"^POST .*/renewal", 6.0
    keyed = {**auth, "Idempotency-Key": "renew-late-1"}

    first = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert first.status == 504
    assert first.headers["Retry-After"] == "5"
    await asyncio.sleep(6.0)  # loop time: the held request lands
    clock.advance(seconds=5)
    retry = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert retry.status == 200, await retry.text()
    assert sum(line.endswith("/renewal") for line in proxy.forwarded) == 1
    assert [loan.renewals for loan in library.loans(CARD) if loan.barcode == item_id] == [1]
