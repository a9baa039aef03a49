"""FOLIO fees: mod-feesfines ``GET /accounts`` (open fees/fines of one user) read into charges.

Answers are held against mod-feesfines' own ``accountdataCollection.json`` and
``accountdata.json``, verbatim copies in ``tests/fees_reference/folio`` (the shared FOLIO
snapshot has no mod-feesfines; see the MANIFEST there), their ``$ref``s resolved to the shared
raml-util schemas. The adapter runs against the FOLIO simulator and against odd answers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from folio_fake import PATRON_ID, Answer, FakeFolio, folio_config
from folio_schemas import REFERENCE as FOLIO_REFERENCE
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.folio.backend import FolioBackend
from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import FeeType
from ils_gateway.simulators.folio import FOLIO_STATE
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.folio_records import folio_id
from ils_gateway.simulators.sample_data import sample_library

LOCAL = Path(__file__).resolve().parents[2] / "fees_reference" / "folio"
RAML_UTIL = FOLIO_REFERENCE / "mod-patron" / "ramls" / "raml-util" / "schemas"
TENANT, USER, PASSWORD = "midori", "ils-gateway", "folio-demo-pass"


def _retrieve(uri: str) -> Resource[Any]:
    name = uri.rsplit("/", 1)[-1]
    files = {
        "accountdata.json": LOCAL / "accountdata.json",
        "uuid.schema": RAML_UTIL / "uuid.schema",
        "metadata.json": RAML_UTIL / "metadata.schema",
    }
    if name not in files:
        raise LookupError(uri)
    return Resource.from_contents(json.loads(files[name].read_text()), default_specification=DRAFT4)


_SCHEMA = {
    **json.loads((LOCAL / "accountdataCollection.json").read_text()),
    "id": (LOCAL / "accountdataCollection.json").as_uri(),
}
_SCHEMA["properties"].pop("resultInfo")  # optional; raml-util resultInfo is not shipped
COLLECTION = Draft4Validator(_SCHEMA, registry=Registry(retrieve=_retrieve))  # type: ignore[call-arg]


def conforms(body: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in COLLECTION.iter_errors(body)]
    assert not errors, errors


def account(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "0b6a7a0e-1f5e-4d6c-9b8a-3c2d1e0f9a8b",
        "amount": 2970.0,
        "remaining": 1650.0,
        "dateCreated": "2026-03-01T01:00:00.000Z",
        "status": {"name": "Open"},
        "paymentStatus": {"name": "Paid partially"},
        "feeFineType": "Lost item fee",
        "feeFineOwner": "Main",
        "title": "こころ",
        "barcode": "2100000001",
        "userId": PATRON_ID,
        "feeFineId": "cf238f9f-7018-47b7-b815-bb2db798e19f",
        "ownerId": "6f3b3d8a-1c2e-4b5a-9d8c-7e6f5a4b3c2d",
    }
    row.update(fields)
    return {k: v for k, v in row.items() if v is not None}


def answer(*rows: dict[str, Any], check: bool = True) -> Answer:
    body = {"accounts": list(rows), "totalRecords": len(rows)}
    if check:
        conforms(body)
    return Answer(json=body)


# --- the simulator -----------------------------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[tuple[str, Any]]:
    library = sample_library()
    runner, url = await start_folio_simulator(
        library, port=0, tenant=TENANT, username=USER, password=PASSWORD, token_clock=library.now
    )
    yield url, runner.app[FOLIO_STATE]
    await runner.cleanup()


async def test_simulator_accounts(sim: tuple[str, Any]) -> None:
    url, state = sim
    config = folio_config(okapi_url=url, tenant=TENANT, username=USER, password=PASSWORD)
    backend = FolioBackend(config, now=state.library.now)
    try:
        assert backend.capabilities.supports(Capability.LIST_FEES)
        keiko = Patron(id=folio_id("user", 11), card_number="1000000011")
        got = await backend.list_fees(keiko)
        assert got.total == 1650 and got.items_match
        (fee,) = got.fees
        assert (fee.type, fee.amount, fee.original_amount) == (FeeType.LOST_ITEM, 1650, 2970)
        assert (fee.item_id, fee.title) == ("2100000088", "やさしいPython入門")
        damaged = await backend.list_fees(Patron(id=folio_id("user", 15), card_number="x"))
        assert [(f.type, f.amount) for f in damaged.fees] == [(FeeType.DAMAGED_ITEM, 1100)]
        nobody = await backend.list_fees(Patron(id=folio_id("user", 1), card_number="y"))
        assert nobody.fees == () and nobody.total == 0
    finally:
        await backend.close()
    answers = [x for x in state.traffic if x.route == "/accounts"]
    assert len(answers) == 3
    for x in answers:
        conforms(x.answer)


# --- odd answers (respx) -----------------------------------------------------------------


def patron() -> Patron:
    return Patron(id=PATRON_ID, card_number="1234")


async def test_open_accounts_only_and_types(folio: FakeFolio, backend: FolioBackend) -> None:
    folio.on(
        "GET",
        "/accounts",
        answer(
            account(),
            account(id=None, feeFineType="Lost item processing fee", remaining=500.0, amount=500.0),
            account(id=None, feeFineType="Overdue fine", remaining=0.0, amount=100.0),
            account(id=None, feeFineType="汚損弁償金", remaining=1100.0, amount=1100.0),
            account(id=None, status={"name": "Closed"}, paymentStatus={"name": "Paid fully"}),
        ),
    )
    got = await backend.list_fees(patron())
    assert [(f.type, f.amount) for f in got.fees] == [
        (FeeType.LOST_ITEM, 1650),
        (FeeType.PROCESSING, 500),
        (FeeType.DAMAGED_ITEM, 1100),
    ]
    assert got.total == 3250 and got.items_match
    assert got.fees[0].date is not None and got.fees[0].date.isoformat() == "2026-03-01"
    (request,) = [r for r in folio.seen if r.url.path == "/accounts"]
    assert f'userId=="{PATRON_ID}"' in request.url.params["query"]
    assert "status.name==Open" in request.url.params["query"]


async def test_negative_remaining_is_not_a_charge(folio: FakeFolio, backend: FolioBackend) -> None:
    folio.on("GET", "/accounts", answer(account(remaining=-10.0), account(remaining=3.4)))
    got = await backend.list_fees(patron())
    assert [f.amount for f in got.fees] == [3] and got.unreadable == 1
    assert not got.items_match


@pytest.mark.parametrize(
    "rows",
    [
        [account(userId="5b0e7f5e-2a3b-4c5d-8e9f-0a1b2c3d4e5f")],  # another user's
        [{k: v for k, v in account().items() if k != "remaining"}],
        [account(amount="lots")],
    ],
    ids=["other-user", "no-remaining", "text-amount"],
)
async def test_odd_answers_are_protocol_errors(
    folio: FakeFolio, backend: FolioBackend, rows: list[dict[str, Any]]
) -> None:
    folio.on("GET", "/accounts", answer(*rows, check=False))
    with pytest.raises(BackendProtocolError):
        await backend.list_fees(patron())


async def test_not_a_collection(folio: FakeFolio, backend: FolioBackend) -> None:
    folio.on("GET", "/accounts", Answer(json={"fees": []}))
    with pytest.raises(BackendProtocolError):
        await backend.list_fees(patron())
