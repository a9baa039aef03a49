"""KohaClient: authentication, token refresh, retry policy and the error translator."""

from __future__ import annotations

import httpx
import pytest
from koha_fake import Answer, FakeClock, FakeKoha, oauth_config

from ils_gateway.adapters.koha.auth import OAuth2ClientCredentials
from ils_gateway.adapters.koha.client import KohaClient
from ils_gateway.adapters.koha.errors import KohaCall
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    Conflict,
    NotFound,
    OutcomeUnknown,
    RenewalRefused,
)
from ils_gateway.domain.vocab import RefusalReason

PATRON = {
    "patron_id": 7,
    "cardnumber": "1000000001",
    "surname": "山田",
    "library_id": "CEN",
    "category_id": "PT",
}


async def test_token_fetched_once_and_sent_as_bearer(
    fake_koha: FakeKoha, koha_client: KohaClient
) -> None:
    token = fake_koha.token()
    patron = fake_koha.on("GET", "/patrons/7", Answer(json=PATRON))
    for _ in range(3):
        await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7")
    assert token.call_count == 1
    assert patron.calls.last.request.headers["Authorization"] == "Bearer tok-1"
    form = token.calls.last.request.content.decode()
    assert "grant_type=client_credentials" in form and "client_id=gateway" in form


async def test_expired_token_is_renewed_before_use(
    fake_koha: FakeKoha, koha_client: KohaClient, clock: FakeClock
) -> None:
    token = fake_koha.token(
        Answer(json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 100}),
        Answer(json={"access_token": "tok-2", "token_type": "Bearer", "expires_in": 100}),
    )
    patron = fake_koha.on("GET", "/patrons/7", Answer(json=PATRON))
    await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7")
    clock.now += 69  # still inside expires_in minus the safety margin
    await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7")
    assert token.call_count == 1
    clock.now += 2
    await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7")
    assert token.call_count == 2
    assert patron.calls.last.request.headers["Authorization"] == "Bearer tok-2"


async def test_401_refreshes_the_token_once_and_retries(
    fake_koha: FakeKoha, koha_client: KohaClient
) -> None:
    fake_koha.token(
        Answer(json={"access_token": "revoked", "token_type": "Bearer", "expires_in": 3600}),
        Answer(json={"access_token": "fresh", "token_type": "Bearer", "expires_in": 3600}),
    )
    fake_koha.on(
        "GET",
        "/patrons/7",
        Answer(401, {"error": "Authentication failure."}),
        Answer(json=PATRON),
    )
    body = await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7")
    assert body["patron_id"] == 7
    auth = koha_client.auth
    assert isinstance(auth, OAuth2ClientCredentials) and auth.tokens_issued == 2
    assert fake_koha.seen[-1].headers["Authorization"] == "Bearer fresh"


async def test_401_after_refresh_is_backend_unavailable(
    fake_koha: FakeKoha, koha_client: KohaClient
) -> None:
    token = fake_koha.token()
    route = fake_koha.on("GET", "/patrons/7", Answer(401, {"error": "Authentication failure."}))
    with pytest.raises(BackendUnavailable) as info:
        await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7")
    assert token.call_count == 2 and route.call_count == 2
    assert "Authentication failure." in (info.value.operator_detail or "")


async def test_refused_client_credentials_do_not_leak_the_secret(fake_koha: FakeKoha) -> None:
    fake_koha.token(Answer(403, {"error": "unauthorized_client"}))
    async with KohaClient(oauth_config(client_secret="topsecret")) as client:
        with pytest.raises(BackendUnavailable) as info:
            await client.call_json(KohaCall.READ, "GET", "/patrons/7")
    text = f"{info.value.detail} {info.value.operator_detail} {info.value!r}"
    assert "unauthorized_client" in text and "topsecret" not in text


async def test_basic_auth_sends_credentials_on_every_call(fake_koha: FakeKoha) -> None:
    route = fake_koha.on("GET", "/patrons/7", Answer(json=PATRON))
    config = oauth_config(auth="basic", username="api", password="pw", client_id=None)
    async with KohaClient(config) as client:
        await client.call_json(KohaCall.READ, "GET", "/patrons/7")
    expected = httpx.BasicAuth("api", "pw")._auth_header
    assert route.calls.last.request.headers["Authorization"] == expected


@pytest.mark.parametrize(
    "first",
    [
        Answer(503, {"error": "Under maintenance"}),
        Answer(502, check=False, content=b"Bad gateway"),
        Answer(raises=httpx.ReadTimeout("slow")),
        Answer(raises=httpx.ConnectError("refused")),
    ],
)
async def test_reads_are_retried(
    fake_koha: FakeKoha, koha_client: KohaClient, first: Answer
) -> None:
    fake_koha.token()
    route = fake_koha.on("GET", "/patrons/7", first, Answer(json=PATRON))
    assert (await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7"))["patron_id"] == 7
    assert route.call_count == 2


async def test_reads_give_up_after_the_configured_attempts(
    fake_koha: FakeKoha, koha_client: KohaClient
) -> None:
    fake_koha.token()
    route = fake_koha.on("GET", "/patrons/7", Answer(raises=httpx.ReadTimeout("slow")))
    with pytest.raises(BackendUnavailable):
        await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7")
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(503, {"error": "Under maintenance"}), BackendUnavailable),
        (Answer(500, {"error": "Something went wrong"}), OutcomeUnknown),
        (Answer(raises=httpx.ReadTimeout("slow")), OutcomeUnknown),
        (Answer(raises=httpx.ConnectError("refused")), BackendUnavailable),
    ],
)
async def test_writes_are_sent_once(
    fake_koha: FakeKoha, koha_client: KohaClient, answer: Answer, error: type[Exception]
) -> None:
    fake_koha.token()
    route = fake_koha.on("POST", "/checkouts/5/renewal", answer)
    with pytest.raises(error):
        await koha_client.call_json(
            KohaCall.RENEW, "POST", "/checkouts/5/renewal", accept=frozenset({201})
        )
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("status", "call", "error"),
    [
        (404, KohaCall.READ, NotFound),
        (403, KohaCall.READ, BackendUnavailable),
        (403, KohaCall.RENEW, RenewalRefused),
        (500, KohaCall.READ, BackendUnavailable),
    ],
)
async def test_vendor_message_is_kept(
    fake_koha: FakeKoha, koha_client: KohaClient, status: int, call: KohaCall, error: type
) -> None:
    fake_koha.token()
    path = "/checkouts/5/renewal" if call is KohaCall.RENEW else "/patrons/7"
    method = "POST" if call is KohaCall.RENEW else "GET"
    fake_koha.on(method, path, Answer(status, {"error": "Koha says no", "error_code": "x"}))
    with pytest.raises(error) as info:
        await koha_client.call_json(call, method, path, accept=frozenset({200, 201}))
    assert "Koha says no" in (info.value.operator_detail or "")


async def test_renewal_refusal_carries_reason_and_message(
    fake_koha: FakeKoha, koha_client: KohaClient
) -> None:
    fake_koha.token()
    fake_koha.on(
        "POST",
        "/checkouts/5/renewal",
        Answer(403, {"error": "Renewal not authorized (too_many)", "error_code": "too_many"}),
    )
    with pytest.raises(RenewalRefused) as info:
        await koha_client.call(KohaCall.RENEW, "POST", "/checkouts/5/renewal")
    assert info.value.reason is RefusalReason.RENEWAL_LIMIT
    assert info.value.backend_message == "Renewal not authorized (too_many)"


async def test_conflict_and_malformed_json(fake_koha: FakeKoha, koha_client: KohaClient) -> None:
    fake_koha.token()
    fake_koha.on("PUT", "/holds/3/priority", Answer(409, {"error": "Unable to do it"}))
    with pytest.raises(Conflict):
        await koha_client.call(KohaCall.READ, "PUT", "/holds/3/priority", json=2)
    fake_koha.on("GET", "/patrons/7", Answer(200, content=b'{"patron_id": 7,', check=False))
    with pytest.raises(BackendProtocolError):
        await koha_client.call_json(KohaCall.READ, "GET", "/patrons/7")


async def test_client_refuses_use_after_close() -> None:
    client = KohaClient(oauth_config())
    await client.aclose()
    with pytest.raises(RuntimeError):
        await client.call(KohaCall.READ, "GET", "/patrons/7")
