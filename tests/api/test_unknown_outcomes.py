"""Writes whose answer is lost, retried with the same Idempotency-Key (issue 13).

The Koha simulator behind the fault proxy: ``silent_after`` lets a write through (Koha carries
it out) and then answers nothing, read-backs included, until released — the request ends 504
``outcome-unknown``. The retry with the same key must learn the real outcome by reading back
against the state before the *first* attempt: never a second renewal, never a 404 for a cancel
that happened, and a hold listed under its record id counts as the hold placed. A provisional
answer is not replayed; the final one is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from api_helpers import CARD, login, tenant_toml
from fault_proxy import FaultProxy, start_fault_proxy

from ils_gateway.adapters.resilience.backend import CallTimeouts, ResilientBackend
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.api.app import create_app
from ils_gateway.contract.embedded import holdable_waiting_item
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

T = "/v1/tenants/koha-demo"
HOLDABLE = "2100000010"


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
    toml = tenant_toml(proxy.url).replace("read_attempts = 3", "read_attempts = 1")

    def wrap(tenant, backend, cache, seconds):
        return ResilientBackend(
            backend,
            tenant_id=tenant.id,
            cache=cache,
            breaker=CircuitBreaker(tenant.id, failure_threshold=20, cooldown=30, clock=seconds),
            retry=RetryPolicy(attempts=1, first_wait=0, max_wait=0),
            # Reads get room for a busy machine (a read over the proxy took over 0.2 s under
            # load and failed the test); only the silent library's hang waits them out.
            timeouts=CallTimeouts(read=1.5, write=0.2),
            clock=seconds,
        )

    registry = TenantRegistry(parse_tenants(toml).tenants)
    settings = GatewaySettings(tenants=registry, clock=clock, wrap_backend=wrap)
    return await aiohttp_client(create_app(settings))


async def _unknown_then_back(proxy: FaultProxy, send) -> dict:
    """Send with the library going silent after the write; it must end 504; then it is back."""
    response = await send()
    assert response.status == 504, await response.text()
    assert proxy.mode == "hang", "the write did reach the library system"
    problem = await response.json()
    proxy.release()
    proxy.mode = "pass"
    return problem


async def test_renewal_carried_out_then_silent_is_made_once(client, proxy, library) -> None:
    auth = await login(client)
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    item_id = next(loan["item"]["id"] for loan in loans if loan["renewable"])
    due_before = next(loan["due_date"] for loan in loans if loan["item"]["id"] == item_id)
    keyed = {**auth, "Idempotency-Key": "renew-silent-1"}
    proxy.mode, proxy.lose_pattern = "silent_after", r"^POST .*/checkouts/\d+/renewal"

    problem = await _unknown_then_back(
        proxy, lambda: client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    )
    assert problem["type"].endswith("/outcome-unknown")
    assert "延長された可能性があります" in problem["detail"]
    assert "Idempotency-Key" in problem["detail"]

    retry = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert retry.status == 200, await retry.text()
    body = await retry.json()
    assert body["outcome"] == "ok" and body["loan"]["due_date"] > due_before
    assert [loan.renewals for loan in library.loans(CARD) if loan.barcode == item_id] == [1]
    again = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert again.headers["Idempotent-Replayed"] == "true", "the learned outcome is kept"
    assert await again.json() == body
    renewals = [line for line in proxy.seen if line.endswith("/renewal")]
    assert len(renewals) == 1, "never sent twice"


async def test_cancel_carried_out_then_silent_answers_cancelled_on_retry(
    client, proxy, library
) -> None:
    auth = await login(client)
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    hold = next(h for h in holds if "cancel" in h["allowed_actions"])
    keyed = {**auth, "Idempotency-Key": "cancel-silent-1"}
    proxy.mode, proxy.lose_pattern = "silent_after", r"^DELETE .*/holds/\d+"

    problem = await _unknown_then_back(
        proxy, lambda: client.delete(f"{T}/holds/{hold['id']}", headers=keyed)
    )
    assert "予約が取り消された可能性があります" in problem["detail"]

    retry = await client.delete(f"{T}/holds/{hold['id']}", headers=keyed)
    assert retry.status == 204, await retry.text()
    assert not library.hold_by_id(int(hold["id"])).state.is_open
    assert sum(line.startswith("DELETE") for line in proxy.seen) == 1


async def test_lost_answer_to_a_title_level_hold_finds_the_hold(client, proxy, library) -> None:
    auth = await login(client)
    before = {h.hold_id for h in library.holds(CARD)}
    keyed = {**auth, "Idempotency-Key": "hold-lost-1"}
    proxy.mode, proxy.lose_pattern = "lose_answer", r"^POST .*/holds$"
    body = {"item_ids": [HOLDABLE], "pickup_library": "CEN"}

    first = await client.post(f"{T}/holds", headers=keyed, json=body)
    assert proxy.mode == "pass", "the hold's answer was lost"
    assert first.status == 200, await first.text()
    result = (await first.json())["results"][0]
    assert result["outcome"] == "ok", result
    assert result["hold"]["item"]["id"].startswith("biblio:"), "listed under its record"
    placed = [h for h in library.holds(CARD) if h.hold_id not in before]
    assert len(placed) == 1
    retry = await client.post(f"{T}/holds", headers=keyed, json=body)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len([h for h in library.holds(CARD) if h.hold_id not in before]) == 1


async def test_unknown_hold_in_a_batch_is_not_replayed_but_settled(client, proxy, library) -> None:
    auth = await login(client)
    before = {h.hold_id for h in library.holds(CARD)}
    keyed = {**auth, "Idempotency-Key": "hold-silent-1"}
    proxy.mode, proxy.lose_pattern = "silent_after", r"^POST .*/holds$"
    body = {"item_ids": [HOLDABLE], "pickup_library": "CEN"}

    first = await client.post(f"{T}/holds", headers=keyed, json=body)
    assert first.status == 200
    assert (await first.json())["results"][0]["error_type"] == "outcome-unknown"
    proxy.release()
    proxy.mode = "pass"

    retry = await client.post(f"{T}/holds", headers=keyed, json=body)
    assert "Idempotent-Replayed" not in retry.headers, "a provisional answer is not replayed"
    result = (await retry.json())["results"][0]
    assert result["outcome"] == "ok", result
    assert len([h for h in library.holds(CARD) if h.hold_id not in before]) == 1
    assert sum(line.startswith("POST") and line.endswith("/holds") for line in proxy.seen) == 1


async def test_a_batch_retry_keeps_the_items_done_the_first_time(client, proxy, library) -> None:
    """Two holds in one request: the first placed and answered, the second carried out and
    then silent. The retry re-runs the batch: the first is read back as placed (not refused
    as a duplicate, not placed again), the second is learned."""
    auth = await login(client)
    second = holdable_waiting_item(library, CARD)
    assert second is not None
    assert library.item_info(second).biblio_id != library.item_info(HOLDABLE).biblio_id
    before = {h.hold_id for h in library.holds(CARD)}
    keyed = {**auth, "Idempotency-Key": "holds-two-1"}
    proxy.mode, proxy.lose_pattern, proxy.lose_skip = "silent_after", r"^POST .*/holds$", 1
    body = {"item_ids": [HOLDABLE, second], "pickup_library": "CEN"}

    first = await client.post(f"{T}/holds", headers=keyed, json=body)
    outcomes = [r["outcome"] for r in (await first.json())["results"]]
    assert first.status == 200 and outcomes == ["ok", "error"]
    proxy.release()
    proxy.mode = "pass"

    retry = await client.post(f"{T}/holds", headers=keyed, json=body)
    results = (await retry.json())["results"]
    assert [r["outcome"] for r in results] == ["ok", "ok"], results
    assert len([h for h in library.holds(CARD) if h.hold_id not in before]) == 2
    assert sum(line.startswith("POST") and line.endswith("/holds") for line in proxy.seen) == 2
    again = await client.post(f"{T}/holds", headers=keyed, json=body)
    assert again.headers["Idempotent-Replayed"] == "true"
