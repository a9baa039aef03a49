"""Issue 16: every loan carries its lending branch where the backend has it, so branch and
bookmobile rules apply; renewability is not claimed where the backend does not say.

Through the HTTP API, against each backend kind's simulator on the sample library: 山口大輔
(1000000012) borrowed 高瀬舟 from the bookmobile BM (stations BM01-BM03).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from loan_sites import BACKENDS, BASE, login, serving

from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library

DAISUKE = ("1000000012", "daisuke2")
HANAKO = ("1000000001", "hanako01")

# Ibaraki's rule: bookmobile loans are not renewable; the bookmobile and its stations by code.
BOOKMOBILE_RULES = """
[tenants.policy.renewal]
max_renewals = 1
excluded_loan_branches = ["bookmobile"]

[tenants.policy.loans]
bookmobiles = [{ code = "BM", name = "移動図書館みどり号", stations = ["BM01", "BM02", "BM03"] }]
"""


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


async def _loans(client: Any, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"{BASE}/loans", headers=auth)
    assert response.status == 200, await response.text()
    return list((await response.json())["loans"])


@pytest.mark.parametrize("kind", BACKENDS)
async def test_bookmobile_loan_carries_its_branch_and_is_refused_by_rule(
    aiohttp_client, kind: str, library: SimulatedLibrary, clock: ManualClock, stack
) -> None:
    client = await serving(
        aiohttp_client, kind, library, clock, stack, tenant_extra=BOOKMOBILE_RULES
    )
    auth = await login(client, *DAISUKE)
    loans = await _loans(client, auth)
    (lent,) = [v for v in library.loans(DAISUKE[0])]
    assert lent.branch == "BM"
    (loan,) = [v for v in loans if v["item"]["id"] in (lent.barcode, _folio_item(lent))]
    assert (loan["loan_branch"], loan["bookmobile"]) == ("BM", "BM")
    assert loan["renewable"] is False and loan["refusal_reason"] == "excluded_item_type"
    refused = await client.post(f"{BASE}/loans/{loan['item']['id']}/renewal", headers=auth)
    assert refused.status == 422, await refused.text()
    assert (await refused.json())["reason"] == "excluded_item_type"
    assert [v.renewals for v in library.loans(DAISUKE[0])] == [0]  # never asked the ILS


@pytest.mark.parametrize("kind", BACKENDS)
async def test_branch_loans_carry_their_branch(
    aiohttp_client, kind: str, library: SimulatedLibrary, clock: ManualClock, stack
) -> None:
    client = await serving(aiohttp_client, kind, library, clock, stack)
    auth = await login(client, *HANAKO)
    loans = await _loans(client, auth)
    branches = {v.barcode: v.branch for v in library.loans(HANAKO[0])}
    assert loans and all(v["loan_branch"] for v in loans)
    assert sorted(v["loan_branch"] for v in loans) == sorted(branches.values())
    assert all(v["bookmobile"] is None for v in loans)


async def test_sip2_branch_field_not_sent_means_no_branch_and_no_branch_rule(
    aiohttp_client, library: SimulatedLibrary, clock: ManualClock, stack
) -> None:
    # The tenant names a vendor field for the branch that this ACS does not send.
    barcode = library.loans(HANAKO[0])[0].barcode
    library.checkin(barcode)
    library.checkout(HANAKO[0], barcode, branch="BM")
    pickup = """
[[tenants.pickup_libraries]]
code = "BM"
name = "移動図書館みどり号"
bookmobile_stations = [{ code = "BM02", name = "緑ヶ丘団地" }]

[tenants.policy.renewal]
excluded_loan_branches = ["BM"]
"""
    client = await serving(
        aiohttp_client,
        "sip2",
        library,
        clock,
        stack,
        tenant_extra=pickup,
        backend_extra='loan_fields = { branch = "XB" }\n',
    )
    # The simulator sends no XB: the branch is unknown, and no bookmobile rule can apply.
    auth = await login(client, *HANAKO)
    (loan,) = [v for v in await _loans(client, auth) if v["item"]["id"] == barcode]
    assert loan["loan_branch"] is None and loan["refusal_reason"] != "excluded_item_type"


def _folio_item(lent: Any) -> str:
    from ils_gateway.simulators.folio_records import folio_id

    return folio_id("item", lent.item_id)
