"""FolioClient's policy: gateway login and refresh, retries for reads only, error translation."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
import respx
from folio_fake import NOW, OKAPI, TENANT, Answer, FakeFolio, folio_config

from ils_gateway.adapters.folio.client import FolioClient
from ils_gateway.adapters.folio.errors import FolioCall
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    BadRequest,
    NotFound,
    OutcomeUnknown,
)

LOANS = "/circulation/loans"
RENEW = "/circulation/renew-by-id"
EMPTY = {"loans": [], "totalRecords": 0}


class Clock:
    """A settable wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_every_call_carries_tenant_and_token(folio: FakeFolio) -> None:
    route = folio.on("GET", LOANS, Answer(json=EMPTY))
    with_client = FolioClient(folio_config(), now=lambda: NOW)
    await with_client.call_json(FolioCall.READ, "GET", LOANS)
    await with_client.call_json(FolioCall.READ, "GET", LOANS)
    await with_client.aclose()
    sent = route.calls.last.request
    assert sent.headers["x-okapi-tenant"] == TENANT and sent.headers["x-okapi-token"] == "tok-1"
    assert folio.logins == 1  # the token is reused


async def test_token_is_renewed_before_it_expires(folio: FakeFolio) -> None:
    clock = Clock(NOW)
    folio.on("GET", LOANS, Answer(json=EMPTY))
    client = FolioClient(folio_config(), now=clock)
    await client.call_json(FolioCall.READ, "GET", LOANS)
    clock.now = NOW + timedelta(minutes=59, seconds=45)  # inside the 30 s margin of 02:00Z
    await client.call_json(FolioCall.READ, "GET", LOANS)
    await client.aclose()
    assert folio.logins == 2


async def test_401_logs_in_again_once_and_resends(folio: FakeFolio) -> None:
    route = folio.on("GET", LOANS, Answer(401, content=b"Invalid token"), Answer(json=EMPTY))
    client = FolioClient(folio_config(), now=lambda: NOW)
    assert await client.call_json(FolioCall.READ, "GET", LOANS) == EMPTY
    await client.aclose()
    assert folio.logins == 2
    assert [c.request.headers["x-okapi-token"] for c in route.calls] == ["tok-1", "tok-2"]


async def test_401_twice_is_backend_unavailable(folio: FakeFolio) -> None:
    route = folio.on("GET", LOANS, Answer(401, content=b"Invalid token"))
    client = FolioClient(folio_config(), now=lambda: NOW)
    with pytest.raises(BackendUnavailable) as caught:
        await client.call(FolioCall.READ, "GET", LOANS)
    await client.aclose()
    assert route.call_count == 2 and folio.logins == 2
    assert "Invalid token" in (caught.value.operator_detail or "")


async def test_legacy_login_header_token() -> None:
    with respx.mock(base_url=OKAPI) as router:
        login = router.post("/authn/login").mock(
            return_value=httpx.Response(201, headers={"x-okapi-token": "legacy"}, json={})
        )
        loans = router.get(LOANS).mock(return_value=httpx.Response(200, json=EMPTY))
        client = FolioClient(folio_config(login_path="/authn/login"))
        await client.call_json(FolioCall.READ, "GET", LOANS)
        await client.aclose()
    assert login.call_count == 1
    assert loans.calls.last.request.headers["x-okapi-token"] == "legacy"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(422, json={"errors": [{"message": "Password does not match"}]}),
        httpx.Response(201, json={}),  # no token anywhere
        httpx.Response(500, text="boom"),
    ],
)
async def test_gateway_login_failure_is_backend_unavailable(answer: httpx.Response) -> None:
    with respx.mock(base_url=OKAPI, assert_all_called=False) as router:
        router.post("/authn/login-with-expiry").mock(return_value=answer)
        loans = router.get(LOANS).mock(return_value=httpx.Response(200, json=EMPTY))
        client = FolioClient(folio_config())
        with pytest.raises(BackendUnavailable) as caught:
            await client.call(FolioCall.READ, "GET", LOANS)
        await client.aclose()
    assert loans.call_count == 0
    assert "s3cret" not in repr(caught.value) + (caught.value.operator_detail or "")


@pytest.mark.parametrize(
    "failure", [Answer(503, content=b"busy"), Answer(raises=httpx.ReadTimeout("t"))]
)
async def test_reads_are_retried(folio: FakeFolio, failure: Answer) -> None:
    route = folio.on("GET", LOANS, failure, failure, Answer(json=EMPTY))
    client = FolioClient(folio_config(), now=lambda: NOW)
    assert await client.call_json(FolioCall.READ, "GET", LOANS) == EMPTY
    await client.aclose()
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (Answer(500, content=b"Internal server error"), BackendUnavailable),
        (Answer(502, content=b"bad gateway"), BackendUnavailable),
        (Answer(raises=httpx.ReadTimeout("t")), BackendUnavailable),
        (Answer(raises=httpx.ConnectError("refused")), BackendUnavailable),
        (Answer(raises=httpx.RemoteProtocolError("garbage")), BackendProtocolError),
    ],
)
async def test_reads_that_keep_failing(
    folio: FakeFolio, failure: Answer, error: type[Exception]
) -> None:
    route = folio.on("GET", LOANS, failure)
    client = FolioClient(folio_config(), now=lambda: NOW)
    with pytest.raises(error):
        await client.call(FolioCall.READ, "GET", LOANS)
    await client.aclose()
    assert route.call_count == (1 if failure.status == 500 and failure.raises is None else 3)


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (Answer(500, content=b"Internal server error"), OutcomeUnknown),
        (Answer(503, content=b"busy"), BackendUnavailable),
        (Answer(raises=httpx.ReadTimeout("t")), OutcomeUnknown),
        (Answer(raises=httpx.ConnectError("refused")), BackendUnavailable),  # never sent
    ],
)
async def test_writes_are_sent_once(
    folio: FakeFolio, failure: Answer, error: type[Exception]
) -> None:
    route = folio.on("POST", RENEW, failure)
    client = FolioClient(folio_config(), now=lambda: NOW)
    with pytest.raises(error):
        await client.call(FolioCall.RENEW, "POST", RENEW, json={})
    await client.aclose()
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("status", "error"), [(400, BadRequest), (404, NotFound), (418, BackendProtocolError)]
)
async def test_other_statuses_keep_folio_text(
    folio: FakeFolio, status: int, error: type[Exception]
) -> None:
    folio.on("GET", LOANS, Answer(status, content=b"FOLIO says why"))
    client = FolioClient(folio_config(), now=lambda: NOW)
    with pytest.raises(error) as caught:
        await client.call(FolioCall.READ, "GET", LOANS)
    await client.aclose()
    assert "FOLIO says why" in (caught.value.operator_detail or "")  # type: ignore[attr-defined]


async def test_closed_client_says_so(folio: FakeFolio) -> None:
    client = FolioClient(folio_config(), now=lambda: NOW)
    await client.aclose()
    await client.aclose()  # twice is fine
    with pytest.raises(RuntimeError, match="after aclose"):
        await client.call(FolioCall.READ, "GET", LOANS)
