"""Koha fees: ``GET /patrons/{patron_id}/account`` read into charges and a total.

Bodies are held against Koha's own definitions ``patron_balance.yaml`` and
``account_line.yaml``, verbatim copies in ``tests/fees_reference/koha`` (the shared Koha
subset does not ship the account route; see the MANIFEST there). The adapter is run against
the Koha simulator over HTTP, and against odd answers through respx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml
from aiohttp import web
from jsonschema import Draft4Validator

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import FeeType
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.tenants.backends import KohaBackend as KohaBackendConfig

REFERENCE = Path(__file__).resolve().parents[2] / "fees_reference" / "koha"
BASE = "http://koha.test"
API = f"{BASE}/api/v1"


def _schema(name: str) -> dict[str, Any]:
    """A definition with its ``$ref`` to ``account_line.yaml`` replaced by that file."""
    line = yaml.safe_load((REFERENCE / "account_line.yaml").read_text())

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("$ref") == "account_line.yaml":
                return line
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(yaml.safe_load((REFERENCE / name).read_text()))  # type: ignore[no-any-return]


BALANCE = Draft4Validator(_schema("patron_balance.yaml"))


def conforms(body: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in BALANCE.iter_errors(body)]
    assert not errors, errors


def line(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account_line_id": 7,
        "checkout_id": None,
        "patron_id": 11,
        "item_id": None,
        "date": "2025-04-23T10:00:00+09:00",
        "amount": 2970.0,
        "description": "弁償金",
        "account_type": None,
        "debit_type": "LOST",
        "credit_type": None,
        "payment_type": None,
        "amount_outstanding": 1650.0,
        "last_increment": None,
        "timestamp": "2025-04-23T10:00:00+09:00",
        "internal_note": None,
        "user_id": None,
        "library_id": "CEN",
        "interface": "intranet",
        "status": None,
        "cash_register_id": None,
    }
    row.update(fields)
    return row


def account(balance: float, *lines: dict[str, Any], credits: float = 0.0) -> dict[str, Any]:
    return {
        "balance": balance,
        "outstanding_debits": {
            "total": sum(x["amount_outstanding"] or 0 for x in lines),
            "lines": list(lines),
        },
        "outstanding_credits": {"total": credits, "lines": []},
    }


PATRON = Patron(id="11", card_number="1000000011")


def basic_config(url: str) -> KohaBackendConfig:
    return KohaBackendConfig(
        kind="koha", base_url=url, auth="basic", username="staff", password="staffpw",
        retry_backoff=0,
    )  # fmt: skip


# --- the simulator -----------------------------------------------------------------------


@pytest.fixture
async def koha_sim() -> AsyncIterator[tuple[str, SimulatedLibrary]]:
    library = sample_library()
    runner = web.AppRunner(create_koha_app(library, basic=("staff", "staffpw")))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", library
    await runner.cleanup()


async def test_simulator_account_conforms(koha_sim: tuple[str, SimulatedLibrary]) -> None:
    url, _ = koha_sim
    async with httpx.AsyncClient(auth=("staff", "staffpw")) as client:
        for patron_id in (1, 11, 15):
            answer = await client.get(f"{url}/api/v1/patrons/{patron_id}/account")
            assert answer.status_code == 200
            conforms(answer.json())
        missing = await client.get(f"{url}/api/v1/patrons/999/account")
        assert missing.status_code == 404


async def test_lost_and_damaged_through_the_simulator(
    koha_sim: tuple[str, SimulatedLibrary],
) -> None:
    url, library = koha_sim
    koha = KohaBackend(basic_config(url), today=library.today)
    try:
        assert koha.capabilities.supports(Capability.LIST_FEES)
        keiko = await koha.list_fees(PATRON)
        assert keiko.total == 1650 and keiko.items_match
        (fee,) = keiko.fees
        assert (fee.type, fee.amount, fee.original_amount) == (FeeType.LOST_ITEM, 1650, 2970)
        assert fee.item_id == "2100000088" and fee.title == "やさしいPython入門"
        assert fee.date == SAMPLE_NOW.date().replace(month=4, day=23)
        damaged = await koha.list_fees(Patron(id="15", card_number="1000000015"))
        assert [(f.type, f.amount) for f in damaged.fees] == [(FeeType.DAMAGED_ITEM, 1100)]
        nothing = await koha.list_fees(Patron(id="1", card_number="1000000001"))
        assert nothing.fees == () and nothing.total == 0
    finally:
        await koha.close()


# --- odd answers (respx) -----------------------------------------------------------------


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def koha(router: respx.MockRouter) -> AsyncIterator[KohaBackend]:
    backend = KohaBackend(basic_config(BASE), today=lambda: ManualClock(SAMPLE_NOW)().date())
    yield backend
    await backend.close()


async def test_credit_and_unreadable_lines(koha: KohaBackend, router: respx.MockRouter) -> None:
    body = account(
        1000.0,
        line(amount_outstanding=1500.0),
        line(account_line_id=8, amount_outstanding=-20.0, debit_type="OVERDUE"),
        credits=-500.0,
    )
    conforms(body)
    router.get(f"{API}/patrons/11/account").respond(json=body)
    got = await koha.list_fees(PATRON)
    assert got.total == 1000 and got.credit == 500 and got.unreadable == 1
    assert [f.amount for f in got.fees] == [1500]


async def test_negative_balance_is_a_credit(koha: KohaBackend, router: respx.MockRouter) -> None:
    router.get(f"{API}/patrons/11/account").respond(json=account(-300.0, credits=-300.0))
    got = await koha.list_fees(PATRON)
    assert (got.total, got.credit, got.fees) == (0, 300, ())


async def test_item_gone_keeps_the_charge(koha: KohaBackend, router: respx.MockRouter) -> None:
    router.get(f"{API}/patrons/11/account").respond(json=account(1650.0, line(item_id=88)))
    router.get(f"{API}/items/88").respond(404, json={"error": "Item not found"})
    (fee,) = (await koha.list_fees(PATRON)).fees
    assert fee.item_id is None and fee.amount == 1650


@pytest.mark.parametrize(
    ("debit_type", "description", "expected"),
    [
        ("NEW_CARD", None, FeeType.CARD_REPLACEMENT),
        ("RESERVE", None, FeeType.HOLD_FEE),
        ("DAMAGE", None, FeeType.DAMAGED_ITEM),
        ("MANUAL", "汚損弁償金", FeeType.DAMAGED_ITEM),
        ("MANUAL", "コピー代", FeeType.OTHER),
        (None, None, FeeType.OTHER),
    ],
)
async def test_debit_types(
    koha: KohaBackend,
    router: respx.MockRouter,
    debit_type: str | None,
    description: str | None,
    expected: FeeType,
) -> None:
    body = account(
        100.0, line(debit_type=debit_type, description=description, amount_outstanding=100.0)
    )
    router.get(f"{API}/patrons/11/account").respond(json=body)
    (fee,) = (await koha.list_fees(PATRON)).fees
    assert fee.type is expected


@pytest.mark.parametrize(
    "body",
    [
        {"outstanding_debits": {"lines": []}},  # no balance
        {"balance": "lots"},
        account(1650.0, line(patron_id=12)),  # another patron's line
        account(1650.0, line(amount_outstanding=None)),
        [],
    ],
    ids=["no-balance", "text-balance", "other-patron", "no-amount", "list"],
)
async def test_odd_answers_are_protocol_errors(
    koha: KohaBackend, router: respx.MockRouter, body: Any
) -> None:
    router.get(f"{API}/patrons/11/account").respond(json=body)
    with pytest.raises(BackendProtocolError):
        await koha.list_fees(PATRON)
