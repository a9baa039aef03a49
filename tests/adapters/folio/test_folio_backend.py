"""FolioBackend against a respx FOLIO: every operation, every body held against FOLIO's schemas.

Answers are the RAML's own examples where FOLIO ships one (loan, loans, request, requests,
extended errors); users, service points and inventory items have no schema in the reference
snapshot (mod-users and mod-inventory are not part of it), so those answers are hand-made
in FOLIO's documented shape and not validated.
"""

from __future__ import annotations

import copy
import json
from datetime import date

import httpx
import pytest
from folio_fake import CANCEL_REASON, PATRON_CARD, PATRON_ID, Answer, FakeFolio
from folio_schemas import CIRCULATION, example

from ils_gateway.adapters.base import CancelOutcome, Capability, ILSBackend, Support
from ils_gateway.adapters.folio.backend import FolioBackend
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendProtocolError,
    BackendUnavailable,
    CancelRefused,
    Conflict,
    FeatureDisabled,
    HoldRefused,
    NotFound,
    OutcomeUnknown,
    RenewalRefused,
)
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import (
    BlockReason,
    ContactMethod,
    HoldAction,
    HoldStatus,
    LoanState,
    Outcome,
    RefusalReason,
)

LOAN = f"{CIRCULATION}/loan.json"
LOANS = f"{CIRCULATION}/loans.json"
REQUEST = f"{CIRCULATION}/request.json"
REQUESTS = f"{CIRCULATION}/requests.json"
ERRORS = f"{CIRCULATION}/extended-errors.json"

REQUEST_ID = "89105c06-dbdb-4aa0-9695-d4d19c733270"  # examples/request.json
SP_MAIN = "3a40852d-49fd-4df2-a1f9-6e2641a6e91f"  # its pickupServicePointId
SP_EAST = "c4c90014-c8c9-4ade-8f24-b5e313319f4b"
SERVICE_POINTS = {
    "servicepoints": [
        {
            "id": SP_MAIN,
            "name": "Circ Desk 1",
            "code": "cd1",
            "discoveryDisplayName": "中央図書館",
            "pickupLocation": True,
        },
        {
            "id": SP_EAST,
            "name": "East",
            "code": "east",
            "discoveryDisplayName": "東分館",
            "pickupLocation": True,
        },
        {
            "id": "a9b3c7d1-0000-4000-8000-000000000001",
            "name": "Back office",
            "code": "bo",
            "pickupLocation": False,
        },
    ],
    "totalRecords": 3,
}
USER = {
    "id": PATRON_ID,
    "barcode": PATRON_CARD,
    "active": True,
    "patronGroup": "3684a786-6671-4268-8ed0-9db82ebca60b",
    "expirationDate": "2027-03-31T00:00:00.000+00:00",
    "personal": {"lastName": "山田", "firstName": "花子", "email": "hanako@example.jp"},
}


def errors(*messages: str, block: str | None = None) -> Answer:
    """A 422 with mod-circulation's ``errors`` body."""
    rows = [{"message": m, "parameters": []} for m in messages]
    if block:
        rows[0]["overridableBlock"] = {"name": block, "missingPermissions": []}
    return Answer(422, {"errors": rows}, schema=ERRORS)


def request_example(**changes: object) -> dict:
    body = copy.deepcopy(example(f"{CIRCULATION}/examples/request.json"))
    body.update(changes)
    return body


def loans_example() -> dict:
    """mod-circulation's loans example, as this patron's loans (the example's users differ)."""
    body = copy.deepcopy(example(f"{CIRCULATION}/examples/loans.json"))
    for loan in body["loans"]:
        loan["userId"] = PATRON_ID
    return body


def loan_example() -> dict:
    """mod-circulation's loan example, as this patron's loan."""
    return {**example(f"{CIRCULATION}/examples/loan.json"), "userId": PATRON_ID}


INSTANCE_ID = "86c722c3-2f5e-42e1-bd0e-7ffbbd3b4972"  # examples/request.json
ALLOWED = f"{CIRCULATION}/allowed-service-points-response.json"


def allowed(*ids: str, request_type: str = "Hold") -> Answer:
    """mod-circulation's allowed service points: ``ids`` for ``request_type``."""
    names = {SP_MAIN: "Circ Desk 1", SP_EAST: "East"}
    rows = [{"id": i, "name": names.get(i, "Other")} for i in ids]
    return Answer(json={request_type: rows} if rows else {}, schema=ALLOWED)


def sent_json(folio: FakeFolio, method: str, path_part: str) -> dict:
    matches = [r for r in folio.seen if r.method == method and path_part in r.url.path]
    assert matches, f"no {method} {path_part}"
    return json.loads(matches[-1].content)


# -- capabilities ---------------------------------------------------------------------------


async def test_is_an_ils_backend_with_truthful_capabilities(backend: FolioBackend) -> None:
    assert isinstance(backend, ILSBackend)
    caps = backend.capabilities
    assert caps.of(Capability.RENEW_MANY).support is Support.EMULATED
    assert caps.option(Capability.PLACE_HOLD, "title_level") is True
    assert caps.option(Capability.PLACE_HOLD, "contact_method") is False
    for missing in (
        Capability.SUSPEND_HOLD,
        Capability.CHANGE_HOLD_CONTACT,
        Capability.CHECKOUT,
        Capability.CHECKIN,
        Capability.HOLD_SEQUENCES,
    ):
        assert not caps.supports(missing), missing
    # The password is the mod-users patron PIN (set with POST /patron-pin).
    assert caps.supports(Capability.CHANGE_PASSWORD)


async def test_unavailable_capabilities_raise_feature_disabled(
    backend: FolioBackend, patron: Patron
) -> None:
    with pytest.raises(FeatureDisabled):
        await backend.suspend_hold(patron, REQUEST_ID, None)
    with pytest.raises(FeatureDisabled):
        await backend.resume_hold(patron, REQUEST_ID)
    with pytest.raises(FeatureDisabled):
        await backend.checkout(patron, "x")
    with pytest.raises(FeatureDisabled):
        await backend.checkin("x")
    with pytest.raises(FeatureDisabled):
        await backend.change_hold(patron, REQUEST_ID, contact_method=ContactMethod.EMAIL)


# -- authentication ---------------------------------------------------------------------------


async def test_authenticate_finds_user_by_barcode_and_verifies_pin(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    users = folio.on("GET", "/users", Answer(json={"users": [USER], "totalRecords": 1}))
    pin = folio.on("POST", "/patron-pin/verify", Answer(200))
    folio.lists()
    patron = await backend.authenticate(PATRON_CARD, "4321")
    assert patron.id == PATRON_ID and patron.name == "山田 花子"
    assert patron.card_expires == date(2027, 3, 31) and patron.blocks == ()
    assert users.calls.last.request.url.params["query"] == 'barcode=="1234"'
    assert json.loads(pin.calls.last.request.content) == {"id": PATRON_ID, "pin": "4321"}
    assert folio.seen[0].headers["x-okapi-token"] == "tok-1"


async def test_wrong_pin_is_authentication_failed(folio: FakeFolio, backend: FolioBackend) -> None:
    folio.on("GET", "/users", Answer(json={"users": [USER], "totalRecords": 1}))
    pin = folio.on("POST", "/patron-pin/verify", Answer(422, content=b"PIN does not match"))
    with pytest.raises(AuthenticationFailed) as caught:
        await backend.authenticate(PATRON_CARD, "0000")
    assert "PIN does not match" in (caught.value.operator_detail or "")
    assert pin.call_count == 1  # a wrong PIN is an answer, not a failure to retry


@pytest.mark.parametrize("found", [[], [USER, {**USER, "id": SP_EAST}]])
async def test_unknown_or_ambiguous_card_is_authentication_failed(
    folio: FakeFolio, backend: FolioBackend, found: list
) -> None:
    """Refused after the same requests as a wrong PIN: the PIN is checked against the nil
    UUID (no user's id, and never a user found), whatever that answers."""
    folio.on("GET", "/users", Answer(json={"users": found, "totalRecords": len(found)}))
    pin = folio.on("POST", "/patron-pin/verify", Answer(200))
    with pytest.raises(AuthenticationFailed):
        await backend.authenticate(PATRON_CARD, "4321")
    assert pin.call_count == 1
    sent = json.loads(pin.calls.last.request.content)
    assert sent == {"id": "00000000-0000-0000-0000-000000000000", "pin": "4321"}


async def test_unknown_card_and_wrong_pin_cost_the_same_requests(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    counts = []
    for found in ([USER], []):
        before = len(folio.seen)
        folio.on("GET", "/users", Answer(json={"users": found, "totalRecords": len(found)}))
        folio.on("POST", "/patron-pin/verify", Answer(422, content=b"PIN does not match"))
        with pytest.raises(AuthenticationFailed):
            await backend.authenticate(PATRON_CARD, "0000")
        counts.append([(r.method, r.url.path) for r in folio.seen[before:]])
    assert counts[0] == counts[1]


async def test_card_number_is_escaped_in_cql(folio: FakeFolio, backend: FolioBackend) -> None:
    users = folio.on("GET", "/users", Answer(json={"users": [], "totalRecords": 0}))
    folio.on("POST", "/patron-pin/verify", Answer(404, content=b"User not found"))
    with pytest.raises(AuthenticationFailed):
        await backend.authenticate('12" or barcode=*', "x")
    assert users.calls.last.request.url.params["query"] == r'barcode=="12\" or barcode=\*"'


async def test_expired_user_is_returned_blocked(folio: FakeFolio, backend: FolioBackend) -> None:
    expired = {**USER, "active": False, "expirationDate": "2026-03-01T00:00:00Z"}
    folio.on("GET", "/users", Answer(json={"users": [expired], "totalRecords": 1}))
    folio.on("POST", "/patron-pin/verify", Answer(204))
    folio.lists()
    patron = await backend.authenticate(PATRON_CARD, "4321")
    assert patron.blocks == (BlockReason.CARD_EXPIRED,)


async def test_login_answer_counts_the_lists_the_patron_is_shown(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    """The login answer's counts come from the same lists as GET /patron (it said 0 loans
    while the loan list had 3: the contract check 'summary counts match lists')."""
    folio.on("GET", "/users", Answer(json={"users": [USER], "totalRecords": 1}))
    folio.on("POST", "/patron-pin/verify", Answer(204))
    ready = request_example(status="Open - Awaiting pickup")
    waiting = request_example(id="f5cec279-0da6-4b44-a3df-f49b0903f325")
    folio.lists(loans=loans_example()["loans"], requests=[ready, waiting])
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    patron = await backend.authenticate(PATRON_CARD, "4321")
    assert (patron.loans_count, patron.overdue_count) == (1, 1)
    assert (patron.holds_count, patron.holds_ready_count) == (2, 1)


async def test_patron_summary_counts_loans_and_holds(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", f"/users/{PATRON_ID}", Answer(json=USER))
    folio.on(
        "GET",
        "/circulation/loans",
        Answer(json=loans_example(), schema=LOANS),
    )
    ready = request_example(status="Open - Awaiting pickup")
    waiting = request_example(id="f5cec279-0da6-4b44-a3df-f49b0903f325")
    folio.on(
        "GET",
        "/circulation/requests",
        Answer(json={"requests": [ready, waiting], "totalRecords": 2}, schema=REQUESTS),
    )
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    summary = await backend.patron_summary(patron)
    assert (summary.loans_count, summary.overdue_count) == (1, 1)  # the example's 2017 loan
    assert (summary.holds_count, summary.holds_ready_count) == (2, 1)
    assert summary.email == "hanako@example.jp"


# -- loans ------------------------------------------------------------------------------------


async def test_list_loans_maps_the_examples(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    route = folio.on(
        "GET",
        "/circulation/loans",
        Answer(json=loans_example(), schema=LOANS),
    )
    folio.on(
        "GET",
        "/loan-policy-storage/loan-policies/e2af3ba4-6801-4722-be45-d7a49d13564d",
        Answer(404, content=b"Not found"),
    )
    loans = await backend.list_loans(patron)
    assert [ln.id for ln in loans] == ["cf23adf0-61ba-4887-bf82-956c4aae2260"]  # closed one dropped
    loan = loans[0]
    assert loan.item.id == "cb20f34f-b773-462f-a091-b233cc96b9e6"
    assert loan.item.title == "The Long Way to a Small, Angry Planet"
    assert loan.due_date == date(2017, 4, 2)  # 22:34 UTC is the next morning in Tokyo
    assert loan.state is LoanState.OVERDUE and loan.renewals_used == 1
    query = route.calls.last.request.url.params["query"]
    assert query == f'userId=="{PATRON_ID}" and status.name==Open'


async def test_loan_policy_gives_the_renewal_limit(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", "/circulation/loans", Answer(json=loans_example(), schema=LOANS))
    policy_id = "e2af3ba4-6801-4722-be45-d7a49d13564d"  # the examples' loanPolicyId
    policy = {"id": policy_id, "renewable": True, "renewalsPolicy": {"numberAllowed": 2}}
    reads = folio.on(
        "GET",
        f"/loan-policy-storage/loan-policies/{policy_id}",
        Answer(403, content=b"Access requires permission"),
        Answer(json=policy),
    )
    # Not readable (no permission): no limit from FOLIO, the tenant's rule stands.
    assert [ln.renewals_allowed for ln in await backend.list_loans(patron)] == [None]
    assert [ln.renewals_allowed for ln in await backend.list_loans(patron)] == [2]
    assert [ln.renewals_allowed for ln in await backend.list_loans(patron)] == [2]
    assert reads.call_count == 2  # read once it could be read


async def test_renew_by_item_id(folio: FakeFolio, backend: FolioBackend, patron: Patron) -> None:
    renewed = loan_example()
    folio.on(
        "POST",
        "/circulation/renew-by-id",
        Answer(200, renewed, schema=LOAN),
        body_schema=f"{CIRCULATION}/renew-by-id-request.json",
    )
    result = await backend.renew(patron, renewed["itemId"])
    assert result.ok and result.new_due_date == date(2017, 4, 2)
    assert sent_json(folio, "POST", "renew-by-id") == {
        "itemId": renewed["itemId"],
        "userId": PATRON_ID,
    }


async def test_renew_by_barcode(folio: FakeFolio, backend: FolioBackend, patron: Patron) -> None:
    folio.on(
        "POST",
        "/circulation/renew-by-barcode",
        Answer(201, loan_example(), schema=LOAN),
        body_schema=f"{CIRCULATION}/renew-by-barcode-request.json",
    )
    result = await backend.renew(patron, "036000291452")
    assert result.ok
    assert sent_json(folio, "POST", "renew-by-barcode") == {
        "itemBarcode": "036000291452",
        "userBarcode": PATRON_CARD,
    }


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (errors("loan at maximum renewal number"), RefusalReason.RENEWAL_LIMIT),
        (
            errors("items cannot be renewed when there is an active recall request"),
            RefusalReason.HAS_HOLDS,
        ),
        (errors("Patron blocked from renewing", block="patronBlock"), RefusalReason.PATRON_BLOCKED),
        (errors("renewal would not change the due date"), RefusalReason.TOO_EARLY),
        (errors("something FOLIO added later"), RefusalReason.NOT_RENEWABLE),
    ],
)
async def test_renewal_refusals_keep_folio_message(
    folio: FakeFolio, backend: FolioBackend, patron: Patron, answer: Answer, reason: RefusalReason
) -> None:
    route = folio.on("POST", "/circulation/renew-by-id", answer)
    with pytest.raises(RenewalRefused) as caught:
        await backend.renew(patron, "cb20f34f-b773-462f-a091-b233cc96b9e6")
    assert caught.value.reason is reason
    assert caught.value.backend_message == answer.json["errors"][0]["message"]
    assert route.call_count == 1


async def test_renew_many_reports_per_item(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on(
        "POST",
        "/circulation/renew-by-id",
        Answer(200, loan_example(), schema=LOAN),
        errors("loan at maximum renewal number"),
        Answer(500, content=b"Internal server error"),
    )
    ids = [
        "cb20f34f-b773-462f-a091-b233cc96b9e6",
        "94838fa2-288a-45c2-ad19-9102f5645127",
        "195efae1-588f-47bd-a181-13a2eb437701",
    ]
    batch = await backend.renew_many(patron, ids)
    assert [r.outcome for r in batch.results] == [Outcome.OK, Outcome.REFUSED, Outcome.ERROR]
    assert batch.results[1].reason is RefusalReason.RENEWAL_LIMIT
    assert batch.results[2].error_type == OutcomeUnknown.type_slug


# -- holds ------------------------------------------------------------------------------------


async def test_list_holds_maps_status_pickup_and_position(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    waiting = request_example()
    ready = request_example(
        id="f5cec279-0da6-4b44-a3df-f49b0903f325",
        status="Open - Awaiting pickup",
        requestLevel="Title",
        holdShelfExpirationDate="2026-03-17T14:59:59.000Z",
        pickupServicePointId=SP_EAST,
        pickupServicePoint={"name": "East", "code": "east"},
    )
    route = folio.on(
        "GET",
        "/circulation/requests",
        Answer(json={"requests": [waiting, ready], "totalRecords": 2}, schema=REQUESTS),
    )
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    first, second = await backend.list_holds(patron)
    assert first.status is HoldStatus.WAITING and first.queue_position == 1
    assert first.pickup_library == "cd1"  # looked up: the example embeds no service point
    assert first.item.id == waiting["itemId"] and first.item.title == "Children of Time"
    assert first.allowed_actions == {HoldAction.CANCEL, HoldAction.CHANGE_PICKUP}
    assert first.backend_status == "Open - Not yet filled"
    assert second.status is HoldStatus.READY and second.queue_position is None
    assert second.title_level and second.item.id == f"instance:{ready['instanceId']}"
    assert second.pickup_library == "east" and second.pickup_deadline == date(2026, 3, 17)
    assert second.allowed_actions == {HoldAction.CANCEL}
    assert route.calls.last.request.url.params["query"].startswith(f'requesterId=="{PATRON_ID}"')


async def test_unknown_request_status_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    odd = request_example(status="Open - Teleporting")  # deliberately outside the enum
    folio.on("GET", "/circulation/requests", Answer(json={"requests": [odd], "totalRecords": 1}))
    with pytest.raises(BackendProtocolError):
        await backend.list_holds(patron)


async def test_place_hold_on_a_title(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN, SP_EAST))
    created = request_example(requestLevel="Title", pickupServicePointId=SP_EAST)
    folio.on(
        "POST",
        "/circulation/requests/instances",
        Answer(201, created, schema=REQUEST),
        body_schema=f"{CIRCULATION}/request-by-instance-id.json",
    )
    hold = await backend.place_hold(
        patron, f"instance:{created['instanceId']}", "east", contact_method=ContactMethod.EMAIL
    )
    assert hold.id == REQUEST_ID and hold.status is HoldStatus.WAITING
    assert hold.pickup_library == "east" and hold.title_level
    assert sent_json(folio, "POST", "/instances") == {
        "requestDate": "2026-03-10T01:00:00.000Z",
        "requesterId": PATRON_ID,
        "instanceId": created["instanceId"],
        "requestLevel": "Title",
        "pickupServicePointId": SP_EAST,
    }


async def test_place_hold_at_a_non_pickup_point_is_refused_before_folio(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN, SP_EAST))
    post = folio.on("POST", "/circulation/requests/instances", Answer(201))
    with pytest.raises(HoldRefused) as caught:
        await backend.place_hold(patron, f"instance:{INSTANCE_ID}", "bo")
    assert caught.value.reason is RefusalReason.INVALID_PICKUP_LIBRARY
    assert post.call_count == 0


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "This requester already has an open request for one of the instance's items",
            RefusalReason.DUPLICATE_HOLD,
        ),
        ("This requester already has this item on loan", RefusalReason.ALREADY_ON_LOAN),
        (
            "Hold requests are not allowed for this patron and item combination",
            RefusalReason.NON_CIRCULATING,
        ),
        ("Patron blocked from requesting", RefusalReason.PATRON_BLOCKED),
        ("Something new", RefusalReason.UNKNOWN),
    ],
)
async def test_hold_refusals(
    folio: FakeFolio, backend: FolioBackend, patron: Patron, message: str, reason: RefusalReason
) -> None:
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN))
    folio.on("POST", "/circulation/requests/instances", errors(message))
    with pytest.raises(HoldRefused) as caught:
        await backend.place_hold(patron, f"instance:{INSTANCE_ID}", "cd1")
    assert caught.value.reason is reason and caught.value.backend_message == message


async def test_place_hold_timeout_is_outcome_unknown_and_not_resent(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN))
    post = folio.on(
        "POST", "/circulation/requests/instances", Answer(raises=httpx.ReadTimeout("slow"))
    )
    with pytest.raises(OutcomeUnknown):
        await backend.place_hold(patron, f"instance:{INSTANCE_ID}", "cd1")
    assert post.call_count == 1


async def test_cancel_hold_puts_the_cancelled_record(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on(
        "GET", f"/circulation/requests/{REQUEST_ID}", Answer(json=request_example(), schema=REQUEST)
    )
    folio.on("PUT", f"/circulation/requests/{REQUEST_ID}", Answer(204), body_schema=REQUEST)
    assert await backend.cancel_hold(patron, REQUEST_ID) is CancelOutcome.CANCELLED
    sent = sent_json(folio, "PUT", REQUEST_ID)
    assert sent["status"] == "Closed - Cancelled"
    assert sent["cancellationReasonId"] == CANCEL_REASON
    assert sent["cancelledByUserId"] == PATRON_ID
    assert sent["cancelledDate"] == "2026-03-10T01:00:00.000Z"
    assert sent["itemId"] == request_example()["itemId"]  # the rest of the record is kept


async def test_cancel_someone_elses_hold_is_not_found(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    folio.on(
        "GET", f"/circulation/requests/{REQUEST_ID}", Answer(json=request_example(), schema=REQUEST)
    )
    put = folio.on("PUT", f"/circulation/requests/{REQUEST_ID}", Answer(204))
    stranger = Patron(id="61d939e4-f2ae-4c53-95d2-224a802fa2a6", card_number="9999")
    with pytest.raises(NotFound):
        await backend.cancel_hold(stranger, REQUEST_ID)
    assert put.call_count == 0


async def test_cancel_closed_hold_is_refused(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    closed = request_example(status="Closed - Filled")
    folio.on("GET", f"/circulation/requests/{REQUEST_ID}", Answer(json=closed, schema=REQUEST))
    with pytest.raises(CancelRefused) as caught:
        await backend.cancel_hold(patron, REQUEST_ID)
    assert caught.value.reason is RefusalReason.NOT_CANCELLABLE_IN_STATE


async def test_cancel_refused_by_folio(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on(
        "GET", f"/circulation/requests/{REQUEST_ID}", Answer(json=request_example(), schema=REQUEST)
    )
    folio.on(
        "PUT", f"/circulation/requests/{REQUEST_ID}", errors("Cancellation reason does not exist")
    )
    with pytest.raises(CancelRefused) as caught:
        await backend.cancel_hold(patron, REQUEST_ID)
    assert caught.value.backend_message == "Cancellation reason does not exist"


async def test_change_pickup_moves_the_service_point(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    moved = request_example(pickupServicePointId=SP_EAST)
    folio.on(
        "GET",
        f"/circulation/requests/{REQUEST_ID}",
        Answer(json=request_example(), schema=REQUEST),
        Answer(json=moved, schema=REQUEST),
    )
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN, SP_EAST))
    folio.on("PUT", f"/circulation/requests/{REQUEST_ID}", Answer(204), body_schema=REQUEST)
    hold = await backend.change_hold(patron, REQUEST_ID, pickup_library="east")
    assert hold.pickup_library == "east"
    assert sent_json(folio, "PUT", REQUEST_ID)["pickupServicePointId"] == SP_EAST


async def test_change_pickup_of_ready_hold_is_refused(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    ready = request_example(status="Open - Awaiting pickup")
    folio.on("GET", f"/circulation/requests/{REQUEST_ID}", Answer(json=ready, schema=REQUEST))
    with pytest.raises(HoldRefused) as caught:
        await backend.change_hold(patron, REQUEST_ID, pickup_library="east")
    assert caught.value.reason is RefusalReason.NOT_MODIFIABLE_IN_STATE


async def test_change_pickup_conflict_when_staff_changed_it(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on(
        "GET", f"/circulation/requests/{REQUEST_ID}", Answer(json=request_example(), schema=REQUEST)
    )
    folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    folio.on("GET", "/circulation/requests/allowed-service-points", allowed(SP_MAIN, SP_EAST))
    folio.on(
        "PUT",
        f"/circulation/requests/{REQUEST_ID}",
        Answer(
            409, content=b"Cannot update record because it has been changed (optimistic locking)"
        ),
    )
    with pytest.raises(Conflict) as caught:
        await backend.change_hold(patron, REQUEST_ID, pickup_library="east")
    assert "optimistic locking" in (caught.value.operator_detail or "")


async def test_hold_ids_that_are_not_uuids_are_not_found(
    backend: FolioBackend, patron: Patron
) -> None:
    with pytest.raises(NotFound):
        await backend.cancel_hold(patron, "../users")


# -- libraries and items ------------------------------------------------------------------------


async def test_pickup_libraries_are_pickup_service_points(
    folio: FakeFolio, backend: FolioBackend
) -> None:
    route = folio.on("GET", "/service-points", Answer(json=SERVICE_POINTS))
    libraries = await backend.list_pickup_libraries()
    assert [(lib.code, lib.name) for lib in libraries] == [
        ("cd1", "中央図書館"),
        ("east", "東分館"),
    ]
    assert route.calls.last.request.url.params["query"] == "pickupLocation==true"


async def test_get_item(folio: FakeFolio, backend: FolioBackend) -> None:
    item_id = "cb20f34f-b773-462f-a091-b233cc96b9e6"
    folio.on(
        "GET",
        f"/inventory/items/{item_id}",
        Answer(
            json={
                "id": item_id,
                "title": "銀河鉄道の夜",
                "barcode": "036000291452",
                "contributorNames": [{"name": "宮沢賢治"}],
                "materialType": {"name": "book"},
                "status": {"name": "Available"},
                "effectiveLocation": {"name": "中央"},
            }
        ),
    )
    item = await backend.get_item(item_id)
    assert (item.title, item.author, item.circulation_status) == (
        "銀河鉄道の夜",
        "宮沢賢治",
        "Available",
    )


async def test_missing_item_is_not_found(folio: FakeFolio, backend: FolioBackend) -> None:
    item_id = "cb20f34f-b773-462f-a091-b233cc96b9e6"
    folio.on("GET", f"/inventory/items/{item_id}", Answer(404, content=b"Not found"))
    with pytest.raises(NotFound):
        await backend.get_item(item_id)


# -- error paths common to every call ------------------------------------------------------------


async def test_permission_missing_is_backend_unavailable(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on(
        "GET",
        "/circulation/loans",
        Answer(403, content=b"Access requires permission: circulation.loans.collection.get"),
    )
    with pytest.raises(BackendUnavailable) as caught:
        await backend.list_loans(patron)
    assert "circulation.loans.collection.get" in (caught.value.operator_detail or "")


async def test_malformed_json_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on(
        "GET",
        "/circulation/loans",
        Answer(content=b'{"loans": [', headers={"content-type": "application/json"}),
    )
    with pytest.raises(BackendProtocolError):
        await backend.list_loans(patron)


async def test_wrong_shape_is_a_protocol_error(
    folio: FakeFolio, backend: FolioBackend, patron: Patron
) -> None:
    folio.on("GET", "/circulation/loans", Answer(json={"loans": [{"itemId": 5}]}))
    with pytest.raises(BackendProtocolError):
        await backend.list_loans(patron)
