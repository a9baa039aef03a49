"""Issue 16: renewability that does not lie.

- The demo (SIP2 simulator; its tenant names the vendor fields with the renewal count) lists no
  loan as renewable that the library system then refuses: every loan said renewable renews,
  every loan said not renewable is refused with the same reason.
- A SIP2 tenant that names no such field gets ``renewable: null`` with the reason, not ``true``.
- Koha and FOLIO give their renewal counts: each loan says how many renewals remain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from loan_sites import BASE, login, serving

from ils_gateway.api.app import create_app
from ils_gateway.api.openapi import build_openapi
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library

HANAKO = ("1000000001", "hanako01")
DEMO = "/v1/tenants/demo"


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


async def test_demo_lists_as_renewable_only_what_the_library_renews(aiohttp_client) -> None:
    settings, acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW), elibrary=False)
    client = await aiohttp_client(create_app(settings))
    response = await client.post(
        f"{DEMO}/sessions", json={"card_number": HANAKO[0], "password": HANAKO[1]}
    )
    auth = {"Authorization": f"Bearer {(await response.json())['token']}"}
    loans = (await (await client.get(f"{DEMO}/loans", headers=auth)).json())["loans"]
    assert loans and all(loan["renewable"] is not None for loan in loans)
    limited = [loan for loan in loans if loan["refusal_reason"] == "renewal_limit"]
    assert limited, "花子 renewed 細雪 once already: the list says so"
    assert all(loan["renewals_remaining"] == 0 for loan in limited)
    for loan in loans:
        item_id = loan["item"]["id"]
        answer = await client.post(f"{DEMO}/loans/{item_id}/renewal", headers=auth)
        if loan["renewable"]:
            assert answer.status == 200, await answer.text()
        else:
            assert answer.status == 422, await answer.text()
            assert (await answer.json())["reason"] == loan["refusal_reason"]
    assert acs.library.loans(HANAKO[0])


async def test_sip2_without_a_renewal_count_says_it_does_not_know(
    aiohttp_client, library: SimulatedLibrary, clock: ManualClock, stack
) -> None:
    client = await serving(aiohttp_client, "sip2", library, clock, stack)
    auth = await login(client, *HANAKO)
    loans = (await (await client.get(f"{BASE}/loans", headers=auth)).json())["loans"]
    unknown = [loan for loan in loans if loan["renewable"] is None]
    assert unknown, "no loan is listed as renewable on a guess"
    assert all(loan["renewable"] is not True for loan in loans)
    for loan in unknown:
        assert loan["renewable_unknown"] == "renewal_count_unknown"
        assert loan["refusal_reason"] is None
        assert loan["renewals_used"] is None and loan["renewals_remaining"] is None
    # Unknown is not "no": the renewal is asked of the library system, which decides.
    item_id = unknown[0]["item"]["id"]
    truth = {v.barcode: v.renewable for v in library.loans(HANAKO[0])}
    answer = await client.post(f"{BASE}/loans/{item_id}/renewal", headers=auth)
    assert answer.status == (200 if truth[item_id] else 422), await answer.text()


async def test_sip2_renewal_count_field_named_by_the_tenant(
    aiohttp_client, library: SimulatedLibrary, clock: ManualClock, stack
) -> None:
    client = await serving(
        aiohttp_client,
        "sip2",
        library,
        clock,
        stack,
        backend_extra='loan_fields = { renewals_used = "ZR", renewals_allowed = "ZL" }\n',
    )
    auth = await login(client, *HANAKO)
    loans = (await (await client.get(f"{BASE}/loans", headers=auth)).json())["loans"]
    truth = {v.barcode: v for v in library.loans(HANAKO[0])}
    for loan in loans:
        lent = truth[loan["item"]["id"]]
        assert loan["renewals_used"] == lent.renewals
        assert loan["renewable"] is not None
        if loan["renewable"]:
            assert lent.renewable


@pytest.mark.parametrize("kind", ["koha", "folio"])
async def test_rest_backends_give_their_renewal_counts(
    aiohttp_client, kind: str, library: SimulatedLibrary, clock: ManualClock, stack
) -> None:
    client = await serving(aiohttp_client, kind, library, clock, stack)
    auth = await login(client, *HANAKO)
    loans = (await (await client.get(f"{BASE}/loans", headers=auth)).json())["loans"]
    used = sorted(v.renewals for v in library.loans(HANAKO[0]))
    assert sorted(loan["renewals_used"] for loan in loans) == used
    assert all(loan["renewals_remaining"] is not None for loan in loans)
    assert all(loan["renewable"] is not None for loan in loans)
    assert any(loan["refusal_reason"] == "renewal_limit" for loan in loans)
    # The library system's own limit: Koha's renewability check, FOLIO's loan policy.
    assert {loan["renewals_allowed"] for loan in loans} == {library.rules.max_renewals}


def test_openapi_documents_unknown_renewability() -> None:
    loan = build_openapi()["components"]["schemas"]["Loan"]["properties"]
    assert "null" in str(loan["renewable"]) and "renewable_unknown" in loan
    assert "renewals_remaining" in loan
