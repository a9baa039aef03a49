"""Issue 19 (money): GET …/patron/fees through the HTTP API, against each backend kind's
simulator on the sample library.

吉田恵子 (1000000011) owes 1650 yen of a lost copy's replacement (やさしいPython入門,
2100000088); 山田花子 (1000000001) owes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from loan_sites import BACKENDS, BASE, backend_toml, login, serving, tenant_text

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators import koha as koha_face
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

KEIKO = ("1000000011", "keiko011")
HANAKO = ("1000000001", "hanako01")
FEES = f"{BASE}/patron/fees"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SAMPLE_NOW)


@pytest.fixture
def library(clock: ManualClock) -> SimulatedLibrary:
    return sample_library(clock=clock)


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def _fees(client: Any, auth: dict[str, str], **headers: str) -> dict[str, Any]:
    response = await client.get(FEES, headers={**auth, **headers})
    assert response.status == 200, await response.text()
    return dict((await response.json())["account"])


@pytest.mark.parametrize("kind", BACKENDS)
async def test_lost_item_charge_on_every_backend(
    aiohttp_client: Any, kind: str, library: SimulatedLibrary, clock: ManualClock, stack: Any
) -> None:
    client = await serving(aiohttp_client, kind, library, clock, stack)
    account = await _fees(client, await login(client, *KEIKO))
    assert (account["total"], account["currency"], account["items_match"]) == (1650, "JPY", True)
    (fee,) = account["fees"]
    assert fee["type"] == "lost_item" and fee["type_label"] == "紛失資料の弁償金"
    assert fee["amount"] == 1650 and fee["item_id"] == "2100000088"
    assert account["payment"] == {"online": False, "where": "図書館のカウンターでお支払いください"}
    sources = [b["source"] for b in account["blocks"]]
    # The SIP2 simulator flags "excessive outstanding fees" in 64 for any debt (its rule):
    # that block is listed as the library system's, with its rule.
    assert sources == (["ils"] if kind == "sip2" else [])
    nothing = await _fees(client, await login(client, *HANAKO))
    assert (nothing["fees"], nothing["total"], nothing["blocks"]) == ([], 0, [])


@pytest.mark.parametrize("kind", ["sip2", "koha"])
async def test_total_matches_the_summary_where_it_says(
    aiohttp_client: Any, kind: str, library: SimulatedLibrary, clock: ManualClock, stack: Any
) -> None:
    client = await serving(aiohttp_client, kind, library, clock, stack)
    auth = await login(client, *KEIKO)
    summary = await (await client.get(f"{BASE}/patron", headers=auth)).json()
    account = await _fees(client, auth)
    owed = summary["patron"]["fees_owed"]
    assert owed == (account["total"] if kind == "sip2" else None)


async def test_tenant_threshold_blocks_holds_and_is_listed_with_its_rule(
    aiohttp_client: Any, library: SimulatedLibrary, clock: ManualClock, stack: Any
) -> None:
    rules = """
[tenants.policy.fees]
holds_blocked_from = 1000
renewals_blocked_from = 5000
payment = "中央図書館 2階カウンターでお支払いください"
"""
    client = await serving(aiohttp_client, "koha", library, clock, stack, tenant_extra=rules)
    auth = await login(client, *KEIKO)
    account = await _fees(client, auth)
    (block,) = account["blocks"]
    assert block["source"] == "tenant_rule" and block["actions"] == ["holds"]
    assert block["threshold"] == 1000 and "1,000円" in block["rule"]
    assert account["payment"]["where"] == "中央図書館 2階カウンターでお支払いください"
    refused = await client.post(
        f"{BASE}/holds",
        headers=auth,
        json={"item_ids": ["2100000001"], "pickup_library": "CEN"},
    )
    assert refused.status == 422, await refused.text()
    problem = await refused.json()
    assert problem["reason"] == "patron_blocked"
    english = await _fees(client, auth, **{"Accept-Language": "en"})
    assert english["blocks"][0]["rule"] == "No new holds while ¥1,000 or more is owed"
    assert english["fees"][0]["type_label"] == "Lost item charge"
    assert english["payment"]["where"] == "Please pay at a library counter"


async def test_tenant_labels_and_kiosk_rule(
    aiohttp_client: Any, library: SimulatedLibrary, clock: ManualClock, stack: Any
) -> None:
    extra = """
[tenants.labels.ja.fee_type]
lost_item = "弁償金 (紛失)"

[tenants.policy.disabled_features]
kiosk = ["fees"]
"""
    backend = await backend_toml("sip2", library, stack)
    text = tenant_text(backend, extra).replace(
        'name = "テスト市立図書館"', 'name = "テスト市立図書館"\nkiosk_keys = ["kiosk-secret-1"]'
    )
    registry = TenantRegistry(parse_tenants(text).tenants)
    client = await aiohttp_client(create_app(GatewaySettings(tenants=registry, clock=clock)))
    web = await login(client, *KEIKO)
    assert (await _fees(client, web))["fees"][0]["type_label"] == "弁償金 (紛失)"
    kiosk_login = await client.post(
        f"{BASE}/sessions",
        json={"card_number": KEIKO[0], "password": KEIKO[1]},
        headers={"X-Kiosk-Key": "kiosk-secret-1"},
    )
    assert kiosk_login.status == 201, await kiosk_login.text()
    token = (await kiosk_login.json())["token"]
    kiosk = {"Authorization": f"Bearer {token}", "X-Kiosk-Key": "kiosk-secret-1"}
    refused = await client.get(FEES, headers=kiosk)
    assert refused.status == 403
    assert (await refused.json())["type"].endswith("feature-disabled")


async def test_bad_requests_are_4xx(
    aiohttp_client: Any, library: SimulatedLibrary, clock: ManualClock, stack: Any
) -> None:
    client = await serving(aiohttp_client, "koha", library, clock, stack)
    assert (await client.get(FEES)).status == 401
    auth = await login(client, *KEIKO)
    assert (await client.post(FEES, headers=auth, json={})).status == 405
    assert (await client.get(FEES, headers={"Authorization": "Bearer nope"})).status == 401


@pytest.mark.parametrize(
    "body",
    [
        {"balance": "a lot"},
        {"outstanding_debits": {"lines": []}},
        {"balance": 10.0, "outstanding_debits": {"total": 10, "lines": [{"amount": 1}]}},
        [],
    ],
    ids=["text-balance", "no-balance", "line-without-patron", "a-list"],
)
async def test_odd_backend_answers_are_never_500(
    aiohttp_client: Any,
    library: SimulatedLibrary,
    clock: ManualClock,
    stack: Any,
    monkeypatch: pytest.MonkeyPatch,
    body: Any,
) -> None:
    monkeypatch.setattr(koha_face, "patron_account_json", lambda patron: body)
    client = await serving(aiohttp_client, "koha", library, clock, stack)
    response = await client.get(FEES, headers=await login(client, *KEIKO))
    assert response.status == 502, await response.text()
    assert response.content_type == "application/problem+json"


async def test_negative_balance_is_a_credit_not_a_debt(
    aiohttp_client: Any,
    library: SimulatedLibrary,
    clock: ManualClock,
    stack: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credit = {
        "balance": -500.0,
        "outstanding_debits": {"total": 0, "lines": []},
        "outstanding_credits": {"total": -500.0, "lines": []},
    }
    monkeypatch.setattr(koha_face, "patron_account_json", lambda patron: credit)
    client = await serving(aiohttp_client, "koha", library, clock, stack)
    account = await _fees(client, await login(client, *KEIKO))
    assert (account["total"], account["credit"], account["fees"]) == (0, 500, [])
