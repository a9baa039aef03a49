"""A cancel the library only takes as a request is not reported as a cancel (issue 4).

Over real HTTP, against the Koha REST simulator with newer Koha's cancellation request flow:
a ready hold's cancel answers 202 with a ``cancellation_requested`` body, the hold stays
listed (marked, without the cancel action) and stays out of the cancelled-hold history; a
waiting hold's cancel answers 204 and goes into the history. The OpenAPI document says both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import CARD, login, tenant_toml

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

T = "/v1/tenants/koha-demo"
SECRET = b"cancel-outcome-test-secret-0123456789"


def _toml(koha_url: str, *, request_flow: bool) -> str:
    text = tenant_toml(koha_url)
    if request_flow:
        text = text.replace("cancellation_request_flow = false", "cancellation_request_flow = true")
    # ready holds may be cancelled (as Koha lets a patron do from the OPAC)
    return text.replace(
        "cancelled_history_days = 14",
        'cancelled_history_days = 14\ncancel_allowed_states = ["waiting", "ready"]',
        1,
    )


@pytest.fixture
def make_gateway(aiohttp_client, koha_url: str, clock: ManualClock, tmp_path: Path):
    async def make(*, request_flow: bool):
        registry = TenantRegistry(parse_tenants(_toml(koha_url, request_flow=request_flow)).tenants)
        store = StoreSettings(default_url(tmp_path / "gw.db"), SECRET, kdf=KdfParams.minimal())
        # the resilience wrapper stays on: the cancel goes through it as in production
        settings = GatewaySettings(tenants=registry, clock=clock, store=store)
        return await aiohttp_client(create_app(settings))

    return make


async def _holds(client, auth: dict) -> list[dict]:
    response = await client.get(f"{T}/holds", headers=auth)
    assert response.status == 200, await response.text()
    return (await response.json())["holds"]


async def _history_ids(client, auth: dict) -> set[str]:
    response = await client.get(f"{T}/cancelled-holds", headers=auth)
    assert response.status == 200, await response.text()
    return {entry["hold_id"] for entry in (await response.json())["entries"]}


def _first(holds: list[dict], status: str) -> dict:
    return next(h for h in holds if h["status"] == status and "cancel" in h["allowed_actions"])


async def test_a_ready_hold_cancel_is_only_requested_and_says_so(make_gateway, library) -> None:
    client = await make_gateway(request_flow=True)
    auth = await login(client)
    ready = _first(await _holds(client, auth), "ready")
    assert ready["cancellation_requested"] is False
    before = await _history_ids(client, auth)

    response = await client.delete(f"{T}/holds/{ready['id']}", headers=auth)

    assert response.status == 202, await response.text()
    body = await response.json()
    assert body["status"] == "cancellation_requested"
    assert body["label"] and body["label_en"]
    listed = next(h for h in await _holds(client, auth) if h["id"] == ready["id"])
    assert listed["status"] == "ready" and listed["cancellation_requested"] is True
    assert "cancel" not in listed["allowed_actions"]
    assert library.hold_by_id(int(ready["id"])).state.is_open  # the library still holds it
    assert await _history_ids(client, auth) == before  # not in the cancelled-hold history


async def test_a_waiting_hold_cancel_is_a_cancel_and_is_kept_in_history(make_gateway) -> None:
    client = await make_gateway(request_flow=True)
    auth = await login(client)
    waiting = _first(await _holds(client, auth), "waiting")

    response = await client.delete(f"{T}/holds/{waiting['id']}", headers=auth)

    assert response.status == 204
    assert await response.read() == b""
    assert waiting["id"] not in {
        h["id"] for h in await _holds(client, auth) if h["status"] != "cancelled"
    }
    assert waiting["id"] in await _history_ids(client, auth)


async def test_without_the_flow_koha_cancels_a_ready_hold_outright(make_gateway) -> None:
    """Koha's DELETE /holds/{id} cancels any hold (Koha/REST/V1/Holds.pm ``delete``): only
    with the cancellation-request flow does a waiting hold get a request instead."""
    client = await make_gateway(request_flow=False)
    auth = await login(client)
    ready = _first(await _holds(client, auth), "ready")
    response = await client.delete(f"{T}/holds/{ready['id']}", headers=auth)
    assert response.status == 204
    assert ready["id"] in await _history_ids(client, auth)


async def test_a_replayed_request_answers_202_again(make_gateway) -> None:
    client = await make_gateway(request_flow=True)
    auth = await login(client, CARD)
    ready = _first(await _holds(client, auth), "ready")
    keyed = {**auth, "Idempotency-Key": "cancel-ready-1"}
    first = await client.delete(f"{T}/holds/{ready['id']}", headers=keyed)
    again = await client.delete(f"{T}/holds/{ready['id']}", headers=keyed)
    assert (first.status, again.status) == (202, 202)
    assert await first.json() == await again.json()


async def test_openapi_documents_204_and_202(make_gateway) -> None:
    client = await make_gateway(request_flow=True)
    doc = await (await client.get("/openapi.json")).json()
    responses = doc["paths"][f"{T.replace('koha-demo', '{tenant}')}/holds/{{hold_id}}"]["delete"][
        "responses"
    ]
    assert "204" in responses
    schema = responses["202"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CancellationRequested"}
    model = doc["components"]["schemas"]["CancellationRequested"]
    assert set(model["properties"]) == {"status", "label", "label_en"}
    assert model["properties"]["status"]["const"] == "cancellation_requested"
