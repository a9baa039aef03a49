"""Issue 12, FOLIO: holds that FOLIO can take, the request policy's pickup points, both kinds
of patron block, items by barcode, and every answer checked against what was asked.

Bodies sent are held against mod-circulation's schemas (``request.json``,
``request-by-instance-id.json``); answers against them where the reference has one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from folio_fake import NOW, PATRON_CARD, PATRON_ID, Answer, FakeFolio, folio_config
from folio_schemas import CIRCULATION
from test_folio_backend import (
    INSTANCE_ID,
    REQUEST,
    REQUEST_ID,
    REQUESTS,
    SERVICE_POINTS,
    SP_EAST,
    SP_MAIN,
    USER,
    allowed,
    loan_example,
    loans_example,
    request_example,
    sent_json,
)

from ils_gateway.adapters.folio.backend import FolioBackend
from ils_gateway.domain.errors import BackendProtocolError, HoldRefused, NotFound, RenewalRefused
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import BlockReason, RefusalReason

ITEM_ID = "195efae1-588f-47bd-a181-13a2eb437701"  # examples/request.json's itemId
ITEM_BARCODE = "760932543816"
HOLDINGS_ID = "e63273e7-48f5-4c43-ab4e-1751ecacaa21"
ITEM = {
    "id": ITEM_ID,
    "holdingsRecordId": HOLDINGS_ID,
    "title": "Children of Time",
    "barcode": ITEM_BARCODE,
    "status": {"name": "Checked out"},
    "materialType": {"name": "book"},
}
HOLDINGS = {"id": HOLDINGS_ID, "instanceId": INSTANCE_ID}
OTHER_ID = "61d939e4-f2ae-4c53-95d2-224a802fa2a6"


@pytest.fixture
async def item_level(folio: FakeFolio) -> AsyncIterator[FolioBackend]:
    """The backend of a tenant with ``request_level = "Item"``."""
    b = FolioBackend(folio_config(request_level="Item"), now=lambda: NOW)
    yield b
    await b.close()


def _item_routes(folio: FakeFolio) -> None:
    folio.on("GET", f"/inventory/items/{ITEM_ID}", Answer(json=ITEM))
    folio.on("GET", "/inventory/items", Answer(json={"items": [ITEM], "totalRecords": 1}))
    folio.on("GET", f"/holdings-storage/holdings/{HOLDINGS_ID}", Answer(json=HOLDINGS))
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))


# -- placing holds ------------------------------------------------------------------------------


async def test_item_level_hold_requests_the_item_with_its_holdings_and_instance(
    folio: FakeFolio, item_level: FolioBackend, patron: Patron
) -> None:
    _item_routes(folio)
    policy = folio.on(
        "GET", "/circulation/requests/allowed-service-points", allowed(SP_EAST, SP_MAIN)
    )
    folio.on(
        "POST",
        "/circulation/requests",
        Answer(201, request_example(pickupServicePointId=SP_EAST), schema=REQUEST),
        body_schema=REQUEST,
    )
    hold = await item_level.place_hold(patron, ITEM_ID, "east")
    assert hold.id == REQUEST_ID and not hold.title_level and hold.item.id == ITEM_ID
    sent = sent_json(folio, "POST", "/circulation/requests")
    assert sent == {
        "requestType": "Hold",
        "requestLevel": "Item",
        "requestDate": "2026-03-10T01:00:00.000Z",
        "requesterId": PATRON_ID,
        "instanceId": INSTANCE_ID,
        "holdingsRecordId": HOLDINGS_ID,
        "itemId": ITEM_ID,
        "fulfillmentPreference": "Hold Shelf",
        "pickupServicePointId": SP_EAST,
    }
    assert dict(policy.calls.last.request.url.params) == {
        "operation": "create",
        "requesterId": PATRON_ID,
        "itemId": ITEM_ID,
    }


async def test_title_level_hold_on_an_item_requests_its_instance_not_the_item(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    _item_routes(folio)
    policy = folio.on(
        "GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN, SP_EAST)
    )
    created = request_example(requestLevel="Title", pickupServicePointId=SP_EAST)
    folio.on(
        "POST",
        "/circulation/requests/instances",
        Answer(201, created, schema=REQUEST),
        body_schema=f"{CIRCULATION}/request-by-instance-id.json",
    )
    hold = await backend.place_hold(patron, ITEM_ID, "east")
    assert hold.title_level and hold.item.id == f"instance:{INSTANCE_ID}"
    assert sent_json(folio, "POST", "/instances")["instanceId"] == INSTANCE_ID
    assert policy.calls.last.request.url.params["instanceId"] == INSTANCE_ID


async def test_hold_on_an_item_barcode(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    _item_routes(folio)
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN))
    folio.on(
        "POST",
        "/circulation/requests/instances",
        Answer(201, request_example(requestLevel="Title"), schema=REQUEST),
    )
    await backend.place_hold(patron, ITEM_BARCODE, "cd1")
    assert sent_json(folio, "POST", "/instances")["instanceId"] == INSTANCE_ID


async def test_hold_on_a_title_id_looks_nothing_up_as_an_item(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    items = folio.on("GET", "/inventory/items", Answer(404))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN))
    folio.on(
        "POST",
        "/circulation/requests/instances",
        Answer(201, request_example(requestLevel="Title"), schema=REQUEST),
    )
    await backend.place_hold(patron, f"instance:{INSTANCE_ID}", "cd1")
    assert sent_json(folio, "POST", "/instances")["instanceId"] == INSTANCE_ID
    assert items.call_count == 0


async def test_available_copy_is_paged_when_the_policy_allows_only_a_page(
    folio: FakeFolio, item_level: FolioBackend, patron: Patron
) -> None:
    _item_routes(folio)
    folio.on(
        "GET",
        "/circulation/requests/allowed-service-points",
        allowed(SP_MAIN, request_type="Page"),
    )
    folio.on(
        "POST",
        "/circulation/requests",
        Answer(201, request_example(requestType="Page"), schema=REQUEST),
        body_schema=REQUEST,
    )
    await item_level.place_hold(patron, ITEM_ID, "cd1")
    assert sent_json(folio, "POST", "/circulation/requests")["requestType"] == "Page"


# -- pickup points from the request policy -------------------------------------------------------


async def test_pickup_point_the_policy_does_not_allow_is_refused_before_folio(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN))
    post = folio.on("POST", "/circulation/requests/instances", Answer(201))
    with pytest.raises(HoldRefused) as caught:
        await backend.place_hold(patron, f"instance:{INSTANCE_ID}", "east")  # a pickup point
    assert caught.value.reason is RefusalReason.INVALID_PICKUP_LIBRARY
    assert post.call_count == 0


async def test_title_the_policy_allows_no_request_for_is_refused(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed())
    post = folio.on("POST", "/circulation/requests/instances", Answer(201))
    with pytest.raises(HoldRefused) as caught:
        await backend.place_hold(patron, f"instance:{INSTANCE_ID}", "cd1")
    assert caught.value.reason is RefusalReason.NON_CIRCULATING
    assert post.call_count == 0


async def test_pickup_change_to_a_point_the_policy_does_not_allow_is_refused(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on(
        "GET", f"/circulation/requests/{REQUEST_ID}", Answer(json=request_example(), schema=REQUEST)
    )
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    policy = folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN))
    put = folio.on("PUT", f"/circulation/requests/{REQUEST_ID}", Answer(204))
    with pytest.raises(HoldRefused) as caught:
        await backend.change_hold(patron, REQUEST_ID, pickup_library="east")
    assert caught.value.reason is RefusalReason.INVALID_PICKUP_LIBRARY
    assert put.call_count == 0
    assert dict(policy.calls.last.request.url.params) == {
        "operation": "replace",
        "requestId": REQUEST_ID,
    }


# -- patron blocks -------------------------------------------------------------------------------


def _login_routes(folio: FakeFolio) -> None:
    folio.on("GET", "/users", Answer(json={"users": [USER], "totalRecords": 1}))
    folio.on("POST", "/patron-pin/verify", Answer(200))
    folio.lists()


async def test_manual_and_automated_blocks_block_the_patron(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    _login_routes(folio)
    folio.blocks(
        manual=[
            {
                "id": "46399627-08a9-414f-b91c-a8a7ec850d03",
                "type": "Manual",
                "desc": "Lost card reported",
                "borrowing": True,
                "renewals": True,
                "requests": True,
                "userId": PATRON_ID,
            }
        ],
        automated=[
            {
                "patronBlockConditionId": "584fbd4f-6a34-4730-a6ca-73a6a6a9d845",
                "blockBorrowing": False,
                "blockRenewals": False,
                "blockRequests": True,
                "message": "延滞資料があります",
            }
        ],
    )
    patron = await backend.authenticate(PATRON_CARD, "1234")
    assert set(patron.blocks) == {BlockReason.ADMINISTRATIVE, BlockReason.OVERDUE_ITEMS}


async def test_expired_or_idle_blocks_do_not_count(folio: FakeFolio, backend: FolioBackend) -> None:
    _login_routes(folio)
    folio.blocks(
        manual=[
            {
                "desc": "over",
                "borrowing": True,
                "userId": PATRON_ID,
                "expirationDate": "2026-03-01T00:00:00.000+00:00",  # before NOW
            },
            {"desc": "note only", "userId": PATRON_ID},
        ],
        automated=[
            {
                "blockBorrowing": False,
                "blockRenewals": False,
                "blockRequests": False,
                "message": "warning",
            }
        ],
    )
    patron = await backend.authenticate(PATRON_CARD, "1234")
    assert patron.blocks == ()


async def test_summary_carries_the_blocks(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", f"/users/{PATRON_ID}", Answer(json=USER))
    folio.on("GET", "/circulation/loans", Answer(json={"loans": [], "totalRecords": 0}))
    folio.on("GET", "/circulation/requests", Answer(json={"requests": [], "totalRecords": 0}))
    folio.blocks(
        automated=[
            {
                "patronBlockConditionId": "cf7a0d5f-a327-4ca1-aa9e-dc55ec006b8a",
                "blockBorrowing": True,
                "blockRenewals": True,
                "blockRequests": True,
                "message": "Fines",
            }
        ]
    )
    summary = await backend.patron_summary(patron)
    assert summary.blocks == (BlockReason.FINES,)


async def test_automated_block_refusal_is_a_patron_block(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    refusal = {
        "errors": [
            {
                "message": "延滞資料があります",
                "parameters": [],
                "code": "USER_IS_BLOCKED_AUTOMATICALLY",
            }
        ]
    }
    folio.on(
        "POST",
        "/circulation/renew-by-id",
        Answer(422, refusal, schema=f"{CIRCULATION}/extended-errors.json"),
    )
    with pytest.raises(RenewalRefused) as caught:
        await backend.renew(patron, ITEM_ID)
    assert caught.value.reason is RefusalReason.PATRON_BLOCKED


# -- items by barcode ---------------------------------------------------------------------------


async def test_item_by_barcode(folio: FakeFolio, backend: FolioBackend) -> None:
    route = folio.on("GET", "/inventory/items", Answer(json={"items": [ITEM], "totalRecords": 1}))
    item = await backend.get_item(ITEM_BARCODE)
    assert item.id == ITEM_BARCODE and item.title == "Children of Time"
    assert route.calls.last.request.url.params["query"] == f'barcode=="{ITEM_BARCODE}"'


async def test_unknown_barcode_is_not_found(folio: FakeFolio, backend: FolioBackend) -> None:
    folio.on("GET", "/inventory/items", Answer(json={"items": [], "totalRecords": 0}))
    with pytest.raises(NotFound):
        await backend.get_item("0000")


async def test_title_by_instance_id(folio: FakeFolio, backend: FolioBackend) -> None:
    folio.on(
        "GET",
        f"/inventory/instances/{INSTANCE_ID}",
        Answer(json={"id": INSTANCE_ID, "title": "Children of Time", "contributors": []}),
    )
    title = await backend.get_item(f"instance:{INSTANCE_ID}")
    assert title.id == f"instance:{INSTANCE_ID}" and title.title == "Children of Time"


# -- every answer belongs to its request -------------------------------------------------------


async def test_loans_of_another_patron_are_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    body = loans_example()
    body["loans"][0]["userId"] = OTHER_ID
    folio.on("GET", "/circulation/loans", Answer(json=body))
    with pytest.raises(BackendProtocolError):
        await backend.list_loans(patron)


async def test_requests_of_another_requester_are_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    stranger = request_example(requesterId=OTHER_ID)
    folio.on(
        "GET",
        "/circulation/requests",
        Answer(json={"requests": [stranger], "totalRecords": 1}, schema=REQUESTS),
    )
    with pytest.raises(BackendProtocolError):
        await backend.list_holds(patron)


@pytest.mark.parametrize(
    "change", [{"itemId": OTHER_ID}, {"userId": OTHER_ID}], ids=["other item", "other patron"]
)
async def test_renewal_answer_for_another_loan_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron, change: dict
) -> None:
    loan = {**loan_example(), **change}
    folio.on("POST", "/circulation/renew-by-id", Answer(200, loan))
    with pytest.raises(BackendProtocolError):
        await backend.renew(patron, loan_example()["itemId"])


async def test_renewal_by_barcode_answer_for_another_item_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("POST", "/circulation/renew-by-barcode", Answer(200, loan_example()))
    with pytest.raises(BackendProtocolError):
        await backend.renew(patron, "999999")  # the answer is item 036000291452


@pytest.mark.parametrize(
    "change",
    [{"requesterId": OTHER_ID}, {"instanceId": OTHER_ID}],
    ids=["other requester", "other instance"],
)
async def test_created_request_for_something_else_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron, change: dict
) -> None:
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN))
    folio.on("POST", "/circulation/requests/instances", Answer(201, request_example(**change)))
    with pytest.raises(BackendProtocolError):
        await backend.place_hold(patron, f"instance:{INSTANCE_ID}", "cd1")


async def test_item_answer_for_another_item_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    folio.on("GET", f"/inventory/items/{ITEM_ID}", Answer(json={**ITEM, "id": OTHER_ID}))
    with pytest.raises(BackendProtocolError):
        await backend.get_item(ITEM_ID)


async def test_barcode_answer_for_another_barcode_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    folio.on("GET", "/inventory/items", Answer(json={"items": [ITEM], "totalRecords": 1}))
    with pytest.raises(BackendProtocolError):
        await backend.get_item("1111")


async def test_request_read_for_another_id_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on(
        "GET",
        f"/circulation/requests/{REQUEST_ID}",
        Answer(json=request_example(id="f5cec279-0da6-4b44-a3df-f49b0903f325")),
    )
    put = folio.on("PUT", f"/circulation/requests/{REQUEST_ID}", Answer(204))
    with pytest.raises(BackendProtocolError):
        await backend.cancel_hold(patron, REQUEST_ID)
    assert put.call_count == 0


async def test_user_answer_for_another_card_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    folio.on("GET", "/users", Answer(json={"users": [USER], "totalRecords": 1}))
    with pytest.raises(BackendProtocolError):
        await backend.authenticate("5678", "1234")


async def test_manual_block_of_another_user_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    _login_routes(folio)
    folio.blocks(manual=[{"desc": "x", "borrowing": True, "userId": OTHER_ID}])
    with pytest.raises(BackendProtocolError):
        await backend.authenticate(PATRON_CARD, "1234")
