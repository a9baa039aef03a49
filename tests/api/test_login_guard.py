"""Password guessing over the HTTP login: a card locks after the tenant's number of failures.

While locked the login answers 429 with Retry-After and nothing reaches the library system;
unknown card and wrong password look the same; every spelling of a card is one card.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import CARD, PASSWORD, tenant_toml

from ils_gateway.api.app import create_app
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

SESSIONS = "/v1/tenants/koha-demo/sessions"
LOGIN_POLICY = """
[tenants.policy.login]
max_failures = {failures}
window_minutes = 15
lock_minutes = 15
max_failures_per_address = {per_address}
"""


class CountingBackend:
    """The real backend, counting the password checks that reach it."""

    def __init__(self, backend: object) -> None:
        self._backend = backend
        self.authentications = 0

    async def authenticate(self, card: str, password: str):  # type: ignore[no-untyped-def]
        self.authentications += 1
        return await self._backend.authenticate(card, password)  # type: ignore[attr-defined]

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._backend, name)


@pytest.fixture
def make_guarded(aiohttp_client, koha_url, clock):  # type: ignore[no-untyped-def]
    async def make(failures: int = 10, per_address: int = 100, more: str = "", **settings: object):
        counted: list[CountingBackend] = []

        def wrap(tenant, backend, cache, seconds):  # type: ignore[no-untyped-def]
            counted.append(CountingBackend(backend))
            return counted[-1]

        extra = LOGIN_POLICY.format(failures=failures, per_address=per_address) + more
        registry = TenantRegistry(parse_tenants(tenant_toml(koha_url, extra)).tenants)
        app = create_app(
            GatewaySettings(tenants=registry, clock=clock, wrap_backend=wrap, **settings)
        )
        client = await aiohttp_client(app)
        return client, counted

    return make


async def _login(client, card: str, password: str):  # type: ignore[no-untyped-def]
    return await client.post(SESSIONS, json={"card_number": card, "password": password})


async def test_ten_wrong_passwords_lock_the_card_until_the_window_ends(make_guarded, clock):  # type: ignore[no-untyped-def]
    client, (backend,) = await make_guarded()
    statuses = [(await _login(client, CARD, f"wrong{i}")).status for i in range(10)]
    assert statuses == [401] * 10
    assert backend.authentications == 10
    locked = await _login(client, CARD, PASSWORD)
    assert locked.status == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    assert (await locked.json())["type"].endswith("login-locked")
    assert backend.authentications == 10, "a locked card's password reached the library"
    # Another card is not locked.
    assert (await _login(client, "1000000007", "tadashi7")).status == 201
    clock.advance(timedelta(seconds=int(locked.headers["Retry-After"])))
    assert (await _login(client, CARD, PASSWORD)).status == 201


async def test_every_spelling_of_the_card_counts_as_the_same_card(make_guarded):  # type: ignore[no-untyped-def]
    client, (backend,) = await make_guarded(failures=4)
    spellings = [
        "1000-000-001",
        " 1000 000001 ",
        "\uff11\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff11",
        "1000000001",
    ]
    for card in spellings:
        assert (await _login(client, card, "wrong")).status == 401
    assert (await _login(client, CARD, PASSWORD)).status == 429
    assert backend.authentications == 4


async def test_unknown_card_and_wrong_password_get_the_same_answers(make_guarded):  # type: ignore[no-untyped-def]
    client, _ = await make_guarded(failures=2)
    seen = []
    for card in (CARD, "1999999999"):  # a patron's card, a card the library does not know
        answers = [await _login(client, card, "wrong") for _ in range(3)]
        assert [r.status for r in answers] == [401, 401, 429]
        assert answers[2].headers["Retry-After"] == str(15 * 60)
        seen.append([_without_request(await r.json()) for r in answers])
    assert seen[0] == seen[1]
    assert seen[0][0]["title"] == "カード番号またはパスワードが正しくありません"
    assert seen[0][2]["title"] == "ログインの失敗が続いたため、しばらくログインできません"


def _without_request(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k not in ("request_id", "instance")}


async def test_success_clears_the_cards_failures(make_guarded):  # type: ignore[no-untyped-def]
    client, _ = await make_guarded(failures=3)
    for _ in range(2):
        assert (await _login(client, CARD, "wrong")).status == 401
    assert (await _login(client, CARD, PASSWORD)).status == 201
    for _ in range(2):
        assert (await _login(client, CARD, "wrong")).status == 401
    assert (await _login(client, CARD, PASSWORD)).status == 201


async def test_failures_from_one_address_lock_the_address(make_guarded):  # type: ignore[no-untyped-def]
    client, (backend,) = await make_guarded(failures=10, per_address=3)
    for card in ("1000000002", "1000000004", "1000000005"):
        assert (await _login(client, card, "wrong")).status == 401
    assert (await _login(client, CARD, PASSWORD)).status == 429
    assert backend.authentications == 3


async def test_the_lock_is_shared_between_processes_through_redis(  # type: ignore[no-untyped-def]
    make_guarded, redis_url, redis_prefix
):
    first, _ = await make_guarded(failures=2, redis_url=redis_url, redis_prefix=redis_prefix)
    second, (backend,) = await make_guarded(
        failures=2, redis_url=redis_url, redis_prefix=redis_prefix
    )
    assert (await _login(first, CARD, "wrong")).status == 401
    assert (await _login(second, CARD, "wrong")).status == 401
    assert (await _login(first, CARD, PASSWORD)).status == 429
    assert (await _login(second, CARD, PASSWORD)).status == 429
    assert backend.authentications == 1


async def test_a_card_locked_by_the_portal_login_is_locked_on_the_elibrary_bridge(make_guarded):  # type: ignore[no-untyped-def]
    elibrary = '\n[tenants.elibrary]\nkind = "simulator"\nbridge_keys = ["bridge-key"]\n'
    client, (backend,) = await make_guarded(failures=3, more=elibrary)
    for _ in range(3):
        assert (await _login(client, CARD, "wrong")).status == 401
    asked = backend.authentications
    check = await client.post(
        "/elibrary/v1/libraries/koha-demo/patron-check",
        json={"cardNumber": "1000-000-001", "password": PASSWORD},
        headers={"Authorization": "Bearer bridge-key"},
    )
    assert check.status == 429 and int(check.headers["Retry-After"]) >= 1
    assert backend.authentications == asked
