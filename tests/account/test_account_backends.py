"""The account writes at the adapter level against the simulators, every request and answer
held against the vendors' definitions: Koha's ``PUT /patrons/{patron_id}`` (patron.yaml,
``additionalProperties: false``) and FOLIO's ``PUT /users/{userId}`` (userdata.json), both
whole-record writes the adapters read, change and write back; and the simulators refusing
what Koha and FOLIO refuse (issue 18)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "adapters" / "koha"))
sys.path.insert(0, str(TESTS / "adapters" / "folio"))

from folio_fake import folio_config  # noqa: E402
from folio_schemas import PATRON, violations  # noqa: E402
from koha_spec import KOHA_REFERENCE, _Loader, _validate  # noqa: E402

from ils_gateway.adapters.base import ContactChange  # noqa: E402
from ils_gateway.adapters.folio.backend import FolioBackend  # noqa: E402
from ils_gateway.adapters.koha.backend import KohaBackend  # noqa: E402
from ils_gateway.adapters.koha.config import KohaBackendConfig  # noqa: E402
from ils_gateway.adapters.sip2.backend import Sip2Backend  # noqa: E402
from ils_gateway.domain.errors import NotFound  # noqa: E402
from ils_gateway.simulators.folio import FOLIO_STATE  # noqa: E402
from ils_gateway.simulators.folio_cli import start_folio_simulator  # noqa: E402
from ils_gateway.simulators.koha_cli import start_koha_simulator  # noqa: E402
from ils_gateway.simulators.library import SimulatedLibrary  # noqa: E402
from ils_gateway.simulators.sample_data import sample_library  # noqa: E402

HANAKO = "1000000001"


@pytest.fixture
def library() -> SimulatedLibrary:
    return sample_library()


@pytest.fixture
async def koha_url(library: SimulatedLibrary) -> AsyncIterator[str]:
    runner, url = await start_koha_simulator(library, port=0)
    yield url
    await runner.cleanup()


def _koha(url: str, transport: httpx.AsyncBaseTransport | None = None) -> KohaBackend:
    config = KohaBackendConfig(
        kind="koha",
        base_url=url,
        client_id="koha-demo-gateway",
        client_secret="koha-demo-secret",
        retry_backoff=0,
    )
    return KohaBackend(config, transport=transport)


@pytest.fixture
async def folio(library: SimulatedLibrary) -> AsyncIterator[tuple[FolioBackend, Any]]:
    runner, url = await start_folio_simulator(
        library, port=0, tenant="t", username="u", password="p", token_clock=library.now
    )
    config = folio_config(okapi_url=url, tenant="t", username="u", password="p")
    backend = FolioBackend(config, now=library.now)
    yield backend, runner.app[FOLIO_STATE]
    await backend.close()
    await runner.cleanup()


class _Recording(httpx.AsyncBaseTransport):
    """Sends for real and keeps each request."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.sent.append(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _patron_definition() -> Any:
    path = KOHA_REFERENCE / "definitions" / "patron.yaml"
    if not path.exists():
        pytest.skip(f"Koha's patron definition not found at {path}")
    loader = _Loader()
    return loader.resolve(loader.load(path), path.resolve())


async def test_koha_contact_write_is_a_whole_record_within_the_definition(koha_url, library):
    recording = _Recording()
    backend = _koha(koha_url, recording)
    assert backend.account_writes == frozenset({"password", "contact"})
    patron = await backend.find_patron(HANAKO)
    updated = await backend.update_contact(patron, ContactChange(email="new@example.jp"))
    assert (updated.email, updated.phone) == ("new@example.jp", "048-000-0001")
    info = library.patron_info(HANAKO)
    assert (info.email, info.phone) == ("new@example.jp", "048-000-0001")
    [put] = [r for r in recording.sent if r.method == "PUT"]
    body = json.loads(put.content)
    _validate(_patron_definition(), body, "PUT /patrons/{patron_id} body")
    assert not {"restricted", "anonymized"} & set(body)  # readOnly: never sent
    assert body["surname"] and body["library_id"] and body["date_of_birth"]  # the whole record
    removed = await backend.update_contact(updated, ContactChange(phone=""))
    assert removed.phone is None and removed.email == "new@example.jp"
    await backend.set_password(patron, "Sakura2025")
    assert library.authenticate(HANAKO, "Sakura2025").ok
    with pytest.raises(NotFound):
        await backend.find_patron("1999999999")
    await backend.close()


async def test_koha_simulator_refuses_what_the_definition_refuses(koha_url, library):
    url = koha_url
    patron_id = library.patron_info(HANAKO).patron_id
    async with httpx.AsyncClient(base_url=f"{url}/api/v1") as client:
        token = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "koha-demo-gateway",
                "client_secret": "koha-demo-secret",
            },
        )
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        record = (await client.get(f"/patrons/{patron_id}", headers=auth)).json()
        cases = [
            (
                {k: v for k, v in record.items() if k != "restricted"} | {"nickname": "x"},
                "nickname",
            ),
            (record, "Read-only"),
            ({k: v for k, v in record.items() if k not in ("restricted", "surname")}, "surname"),
        ]
        for body, said in cases:
            answer = await client.put(f"/patrons/{patron_id}", json=body, headers=auth)
            assert answer.status_code == 400 and said in answer.text, answer.text
        # A whole record without its e-mail clears the e-mail (set_from_api stores the body).
        partial = {k: v for k, v in record.items() if k not in ("restricted", "email")}
        answer = await client.put(f"/patrons/{patron_id}", json=partial, headers=auth)
        assert answer.status_code == 200 and answer.json()["email"] is None
    assert library.patron_info(HANAKO).email is None


async def test_folio_contact_write_puts_the_whole_user_back(folio, library):
    backend, state = folio
    assert backend.account_writes == frozenset({"password", "contact"})
    patron = await backend.find_patron(HANAKO)
    assert patron.birth_date == library.patron_info(HANAKO).birth_date
    updated = await backend.update_contact(patron, ContactChange(phone="03-1234-5678"))
    assert (updated.email, updated.phone) == ("hanako@example.jp", "03-1234-5678")
    [put] = [x for x in state.traffic if x.method == "PUT"]
    assert put.route == "/users/{id}" and put.status == 204
    assert violations(f"{PATRON}/userdata.json", put.body) == []
    assert put.body["barcode"] == HANAKO and put.body["personal"]["lastName"]
    await backend.set_password(patron, "folio1234")
    assert library.authenticate(HANAKO, "folio1234").ok


async def test_folio_simulator_refuses_what_mod_users_refuses(folio, library):
    backend, _ = folio
    client = backend.client
    patron = await backend.find_patron(HANAKO)
    user = await client.call_json(_read(), "GET", f"/users/{patron.id}")
    cases = [
        ({**user, "nickname": "x"}, 422),
        ({**user, "id": "00000000-0000-4000-8000-000000000000"}, 400),
        ({**user, "personal": {"email": "a@example.jp"}}, 422),
    ]
    for body, status in cases:
        answer = await client.call(
            _read(), "PUT", f"/users/{patron.id}", json=body, accept=frozenset({200, 204, 400, 422})
        )
        assert answer.status_code == status, answer.text
    assert library.patron_info(HANAKO).email == "hanako@example.jp"


def _read() -> Any:
    from ils_gateway.adapters.folio.errors import FolioCall

    return FolioCall.READ


def test_sip2_writes_nothing_to_the_library_system() -> None:
    assert Sip2Backend.account_writes.fget(None) == frozenset()  # type: ignore[union-attr]
