"""The KinoDen adapter against scripted answers (respx): every error code, auth, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    BadRequest,
    CancelRefused,
    GatewayError,
    HoldRefused,
    NotFound,
    OutcomeUnknown,
    PatronBlocked,
    Refused,
)
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.domain.vocab import HoldStatus, RefusalReason
from ils_gateway.elibrary.client import KinodenClient
from ils_gateway.elibrary.errors import ERROR_CODES
from ils_gateway.elibrary.kinoden import KinodenBackend
from ils_gateway.tenants.backends import KinodenElibrary

BASE = "https://kinoden.test"
CLIENT_SECRET = "s3cret-for-tests"
FAST_RETRY = RetryPolicy(attempts=3, first_wait=0.0)
RETRY_AFTER = 17
CONFIG = KinodenElibrary(
    kind="kinoden", base_url=BASE, client_id="gateway", client_secret=CLIENT_SECRET
)
CARD = "0012345678"
TOKEN = {"access_token": "tok-1", "token_type": "bearer", "expires_in": 3600}
TITLE = {"titleId": "KD1", "title": "こころ", "copiesOwned": 1, "copiesAvailable": 0}
CHECKOUT = {
    "titleId": "KD1",
    "title": TITLE,
    "checkedOutAt": "2025-04-01T10:00:00+09:00",
    "dueAt": "2025-04-16T10:00:00+09:00",
    "autoReturn": True,
}


def vendor_error(status: int, code: str, message: str = "メッセージ") -> httpx.Response:
    return httpx.Response(status, json={"errorCode": code, "message": message, "token": "t-1"})


@pytest.fixture
async def api() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/oauth/token", name="token").mock(return_value=httpx.Response(200, json=TOKEN))
        yield router


@pytest.fixture
async def client() -> AsyncIterator[KinodenClient]:
    async with KinodenClient(CONFIG, retry=FAST_RETRY, retry_after=RETRY_AFTER) as c:
        yield c


@pytest.fixture
def backend(client: KinodenClient) -> KinodenBackend:
    return KinodenBackend(client)


# (operation, method, path): each port call and the request it makes.
OPERATIONS = {
    "borrow": ("POST", "/v1/patron/checkouts"),
    "return_loan": ("DELETE", "/v1/patron/checkouts/KD1"),
    "place_hold": ("POST", "/v1/patron/holds"),
    "cancel_hold": ("DELETE", "/v1/patron/holds/KD1"),
    "list_loans": ("GET", "/v1/patron/checkouts"),
}


async def run(backend: KinodenBackend, operation: str) -> object:
    if operation == "list_loans":
        return await backend.list_loans(CARD)
    return await getattr(backend, operation)(CARD, "KD1")


# errorCode, status, operation -> (error class, refusal reason or None)
CASES = [
    ("InvalidRequest", 400, "borrow", BadRequest, None),
    ("PatronBlocked", 403, "borrow", Refused, RefusalReason.PATRON_BLOCKED),
    ("PatronBlocked", 403, "list_loans", PatronBlocked, None),
    ("PatronCardExpired", 403, "place_hold", HoldRefused, RefusalReason.CARD_EXPIRED),
    ("PatronNotFound", 404, "list_loans", NotFound, None),
    ("TitleNotFound", 404, "place_hold", NotFound, None),
    ("HoldNotFound", 404, "cancel_hold", NotFound, None),
    ("TitleNotCheckedOut", 404, "return_loan", NotFound, None),
    ("NoCopiesAvailable", 409, "borrow", Refused, RefusalReason.NO_COPIES),
    ("PatronLoanLimitReached", 409, "borrow", Refused, RefusalReason.LOAN_LIMIT),
    ("TitleAlreadyCheckedOut", 409, "borrow", Refused, RefusalReason.ALREADY_ON_LOAN),
    ("TitleAlreadyCheckedOut", 409, "place_hold", HoldRefused, RefusalReason.ALREADY_ON_LOAN),
    ("PatronHoldLimitReached", 409, "place_hold", HoldRefused, RefusalReason.HOLD_LIMIT),
    ("AlreadyOnHold", 409, "place_hold", HoldRefused, RefusalReason.DUPLICATE_HOLD),
    ("TitleAvailableForCheckout", 409, "place_hold", HoldRefused, RefusalReason.TITLE_AVAILABLE),
    ("TooManyRequests", 429, "borrow", BackendUnavailable, None),
    ("InternalError", 500, "borrow", OutcomeUnknown, None),
    ("InternalError", 500, "cancel_hold", OutcomeUnknown, None),
    ("ServiceUnavailable", 503, "place_hold", BackendUnavailable, None),
    ("SomethingNew", 409, "cancel_hold", CancelRefused, RefusalReason.UNKNOWN),
    ("SomethingNew", 404, "borrow", NotFound, None),
    ("SomethingNew", 418, "borrow", BackendProtocolError, None),
]


def test_every_documented_code_has_a_case():
    assert set(ERROR_CODES) - {"InvalidToken"} <= {c[0] for c in CASES}


@pytest.mark.parametrize(("code", "status", "operation", "cls", "reason"), CASES)
async def test_error_code_translation(api, backend, code, status, operation, cls, reason):
    method, path = OPERATIONS[operation]
    route = api.route(method=method, path=path).mock(
        return_value=vendor_error(status, code, "ベンダーの説明")
    )
    with pytest.raises(GatewayError) as info:
        await run(backend, operation)
    error = info.value
    assert type(error) is cls
    assert code in (error.operator_detail or "")
    assert "ベンダーの説明" in (error.operator_detail or "")
    if reason is not None:
        assert isinstance(error, Refused)
        assert error.reason is reason
        assert error.backend_message == "ベンダーの説明"
    assert route.call_count == 1  # writes are never retried; these reads are not retryable
    assert route.calls.last.request.headers["X-Patron-Card"] == CARD


async def test_retry_after_header_is_passed_on(api, backend):
    api.post("/v1/patron/holds").mock(
        return_value=httpx.Response(
            429, headers={"Retry-After": "120"}, json={"errorCode": "TooManyRequests"}
        )
    )
    with pytest.raises(BackendUnavailable) as info:
        await backend.place_hold(CARD, "KD1")
    assert info.value.retry_after == 120


async def test_unauthorized_fetches_a_new_token_and_retries_once(api, backend, client):
    api["token"].side_effect = [
        httpx.Response(200, json={**TOKEN, "access_token": "old"}),
        httpx.Response(200, json={**TOKEN, "access_token": "new"}),
    ]
    route = api.post("/v1/patron/checkouts").mock(
        side_effect=[
            httpx.Response(401, json={"errorCode": "InvalidToken"}),
            httpx.Response(201, json=CHECKOUT),
        ]
    )
    loan = await backend.borrow(CARD, "KD1")
    assert loan.title.id == "KD1"
    sent = [c.request.headers["Authorization"] for c in route.calls]
    assert sent == ["Bearer old", "Bearer new"]
    assert client.tokens_fetched == 2
    token_form = api["token"].calls.last.request.content.decode()
    assert "grant_type=client_credentials" in token_form
    assert f"client_secret={CLIENT_SECRET}" in token_form


async def test_second_unauthorized_is_not_retried_again(api, backend):
    route = api.get("/v1/patron/holds").mock(
        return_value=httpx.Response(401, json={"errorCode": "InvalidToken", "message": "x"})
    )
    with pytest.raises(BackendUnavailable) as info:
        await backend.list_holds(CARD)
    assert "InvalidToken" in (info.value.operator_detail or "")
    # One try and one retry with a fresh token, per read attempt; never a loop.
    assert route.call_count == 2
    assert api["token"].call_count == 2


async def test_token_is_reused_until_it_expires(api, backend):
    api.get("/v1/titles/KD1").mock(return_value=httpx.Response(200, json=TITLE))
    for _ in range(3):
        await backend.get_title("KD1")
    assert api["token"].call_count == 1


async def test_token_endpoint_refusal_is_backend_unavailable(api, backend):
    api["token"].mock(return_value=httpx.Response(401, json={"error": "invalid_client"}))
    route = api.post("/v1/patron/holds")
    with pytest.raises(BackendUnavailable) as info:
        await backend.place_hold(CARD, "KD1")
    assert "invalid_client" in (info.value.operator_detail or "")
    assert CLIENT_SECRET not in (info.value.operator_detail or "")
    assert route.call_count == 0


async def test_token_endpoint_unreachable_on_a_write_is_not_outcome_unknown(api, backend):
    api["token"].mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(BackendUnavailable):
        await backend.borrow(CARD, "KD1")


async def test_gets_are_retried_on_5xx(api, backend):
    route = api.get("/v1/patron/checkouts").mock(
        side_effect=[
            httpx.Response(503, json={"errorCode": "ServiceUnavailable"}),
            httpx.Response(502, text="bad gateway"),
            httpx.Response(200, json={"checkouts": [CHECKOUT]}),
        ]
    )
    loans = await backend.list_loans(CARD)
    assert [x.title.id for x in loans] == ["KD1"]
    assert route.call_count == 3


async def test_gets_give_up_after_the_attempts(api, backend):
    route = api.get("/v1/patron/checkouts").mock(
        return_value=httpx.Response(503, json={"errorCode": "ServiceUnavailable"})
    )
    with pytest.raises(BackendUnavailable) as info:
        await backend.list_loans(CARD)
    assert route.call_count == FAST_RETRY.attempts
    assert info.value.retry_after == RETRY_AFTER


async def test_get_timeout_is_retried_then_unavailable(api, backend):
    route = api.get("/v1/patron/holds").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(BackendUnavailable):
        await backend.list_holds(CARD)
    assert route.call_count == FAST_RETRY.attempts


async def test_get_timeout_then_success(api, backend):
    api.get("/v1/titles/KD1").mock(
        side_effect=[httpx.ConnectTimeout("slow"), httpx.Response(200, json=TITLE)]
    )
    assert (await backend.get_title("KD1")).id == "KD1"


async def test_write_timeout_is_outcome_unknown_and_not_retried(api, backend):
    route = api.post("/v1/patron/checkouts").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        await backend.borrow(CARD, "KD1")
    assert route.call_count == 1


async def test_write_5xx_is_not_retried(api, backend):
    route = api.delete("/v1/patron/holds/KD1").mock(return_value=httpx.Response(502))
    with pytest.raises(OutcomeUnknown):
        await backend.cancel_hold(CARD, "KD1")
    assert route.call_count == 1


async def test_write_that_never_connected_is_unavailable(api, backend):
    api.post("/v1/patron/holds").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(BackendUnavailable):
        await backend.place_hold(CARD, "KD1")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, json={"checkouts": [{"title": TITLE}]}),
        httpx.Response(200, json={"checkouts": [{**CHECKOUT, "dueAt": "2025-04-16T10:00:00"}]}),
        httpx.Response(200, json={"checkouts": [{**CHECKOUT, "dueAt": CHECKOUT["checkedOutAt"]}]}),
        httpx.Response(200, json=[]),
    ],
    ids=["not-json", "missing-fields", "naive-datetime", "due-not-after-borrowed", "not-object"],
)
async def test_malformed_answers_are_protocol_errors(api, backend, response):
    api.get("/v1/patron/checkouts").mock(return_value=response)
    with pytest.raises(BackendProtocolError):
        await backend.list_loans(CARD)


async def test_unknown_hold_status_is_a_protocol_error(api, backend):
    hold = {"title": TITLE, "placedAt": "2025-04-01T10:00:00+09:00", "status": "frozen"}
    api.get("/v1/patron/holds").mock(return_value=httpx.Response(200, json={"holds": [hold]}))
    with pytest.raises(BackendProtocolError):
        await backend.list_holds(CARD)


async def test_hold_statuses_map_to_the_canonical_words(api, backend):
    waiting = {
        "title": TITLE,
        "placedAt": "2025-04-01T10:00:00+09:00",
        "status": "queued",
        "position": 2,
    }
    ready = {
        **waiting,
        "title": {**TITLE, "titleId": "KD2"},
        "status": "available",
        "position": None,
        "availableAt": "2025-04-03T10:00:00+09:00",
        "expiresAt": "2025-04-10T10:00:00+09:00",
    }
    api.get("/v1/patron/holds").mock(
        return_value=httpx.Response(200, json={"holds": [waiting, ready], "extra": 1})
    )
    holds = await backend.list_holds(CARD)
    assert [(h.status, h.queue_position) for h in holds] == [
        (HoldStatus.WAITING, 2),
        (HoldStatus.READY, None),
    ]
    assert holds[1].ready_until is not None and holds[1].ready_until.day == 10


async def test_title_ids_are_escaped_in_paths(api, backend):
    route = api.delete(url__regex=r".*/v1/patron/holds/a%2Fb$").mock(
        return_value=httpx.Response(204)
    )
    await backend.cancel_hold(CARD, "a/b")
    assert route.call_count == 1


async def test_closed_client_refuses_use(backend, client):
    await client.aclose()
    with pytest.raises(RuntimeError):
        await backend.list_loans(CARD)


async def test_the_http_client_is_made_at_the_first_request(api) -> None:
    """Issue 17, start-up: no httpx client (nor its transport's import) until a request; an
    unused client closes without making one, and refuses requests after that."""
    api.post("/v1/patron/checkouts").mock(return_value=httpx.Response(201, json=CHECKOUT))
    unused = KinodenClient(CONFIG, retry=FAST_RETRY, retry_after=RETRY_AFTER)
    await unused.aclose()
    assert "_http" not in vars(unused)
    with pytest.raises(RuntimeError, match="after aclose"):
        await KinodenBackend(unused).borrow(CARD, "KD1")
    async with KinodenClient(CONFIG, retry=FAST_RETRY, retry_after=RETRY_AFTER) as client:
        assert "_http" not in vars(client)
        await KinodenBackend(client).borrow(CARD, "KD1")
        http = vars(client)["_http"]
        assert not http.is_closed
    assert http.is_closed
