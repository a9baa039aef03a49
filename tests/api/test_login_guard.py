"""Password guessing over the HTTP login: a card locks after the tenant's number of failures.

While locked the login answers 429 with Retry-After and nothing reaches the library system;
unknown card and wrong password look the same; every spelling of a card is one card.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from api_helpers import CARD, PASSWORD, tenant_toml

from ils_gateway.api.app import create_app
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants
from sealed_state import TEST_SECRET

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
    statuses = []
    for i in range(10):
        statuses.append((await _login(client, CARD, f"wrong{i}")).status)
        clock.advance(timedelta(seconds=30))  # past each growing delay
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
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix, "secret": TEST_SECRET}
    first, _ = await make_guarded(failures=2, **shared)
    second, (backend,) = await make_guarded(failures=2, **shared)
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


async def _wrong_after_any_delay(client, clock, card: str, password: str) -> int:  # type: ignore[no-untyped-def]
    """A wrong login, waiting out a growing delay first: the seconds it had to wait."""
    answer = await _login(client, card, password)
    if answer.status != 429:
        assert answer.status == 401
        return 0
    assert (await answer.json())["type"].endswith("login-throttled")
    wait = int(answer.headers["Retry-After"])
    clock.advance(timedelta(seconds=wait))
    assert (await _login(client, card, password)).status == 401
    return wait


async def test_growing_delays_hold_a_card_back_before_the_lock(make_guarded, clock):  # type: ignore[no-untyped-def]
    """The tenant's defaults: 3 free failures, then 1, 2, 4… s (at most 30) before the next
    attempt may reach the library; the 10th failure locks as before."""
    client, (backend,) = await make_guarded(failures=10)
    waits = [await _wrong_after_any_delay(client, clock, CARD, f"wrong{i}") for i in range(10)]
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 30]
    assert backend.authentications == 10, "a held-back attempt reached the library"
    locked = await _login(client, CARD, PASSWORD)
    assert (await locked.json())["type"].endswith("login-locked")
    assert backend.authentications == 10


async def test_the_right_password_waits_out_the_delay_too(make_guarded, clock):  # type: ignore[no-untyped-def]
    client, (backend,) = await make_guarded()
    for i in range(4):
        assert (await _login(client, CARD, f"wrong{i}")).status == 401
    held = await _login(client, CARD, PASSWORD)
    assert held.status == 429 and held.headers["Retry-After"] == "1"
    problem = await held.json()
    assert problem["type"].endswith("login-throttled") and problem["status"] == 429
    assert backend.authentications == 4
    clock.advance(timedelta(seconds=1))
    assert (await _login(client, CARD, PASSWORD)).status == 201
    for i in range(4):  # the success started a fresh count
        assert (await _login(client, CARD, f"again{i}")).status == 401


async def test_delay_settings_come_from_the_tenant(make_guarded, clock):  # type: ignore[no-untyped-def]
    more = "delay_after_failures = 1\nfirst_delay_seconds = 5\nmax_delay_seconds = 7\n"
    client, _ = await make_guarded(failures=10, more=more)
    waits = [await _wrong_after_any_delay(client, clock, CARD, f"wrong{i}") for i in range(4)]
    assert waits == [0, 0, 5, 7]
    off = "first_delay_seconds = 0\n"
    client, _ = await make_guarded(failures=10, more=off)
    waits = [await _wrong_after_any_delay(client, clock, CARD, f"wrong{i}") for i in range(9)]
    assert waits == [0] * 9


async def test_unknown_card_and_wrong_password_are_held_back_alike(make_guarded, clock):  # type: ignore[no-untyped-def]
    """Same statuses, bodies, headers and library checks while delayed, for a patron's card
    and a card the library does not know."""
    client, (backend,) = await make_guarded(failures=10)
    seen = []
    for card in (CARD, "1999999999"):
        before = backend.authentications
        answers = []
        for i in range(6):
            answer = await _login(client, card, f"wrong{i}")
            answers.append(
                (
                    answer.status,
                    _without_request(await answer.json()),
                    {k: v for k, v in answer.headers.items() if k.lower() not in _VARYING},
                )
            )
        seen.append((answers, backend.authentications - before))
    assert seen[0] == seen[1]
    assert [a[0] for a in seen[0][0]] == [401, 401, 401, 401, 429, 429]
    assert seen[0][1] == 4


_VARYING = {"date", "x-request-id"}


async def test_failures_from_one_address_delay_the_address(make_guarded, clock):  # type: ignore[no-untyped-def]
    more = "delay_after_failures_per_address = 2\n"
    client, (backend,) = await make_guarded(failures=10, more=more)
    for card in ("1000000002", "1000000004", "1000000005"):
        assert (await _login(client, card, "wrong")).status == 401
    held = await _login(client, CARD, PASSWORD)  # another card, the same address
    assert held.status == 429 and (await held.json())["type"].endswith("login-throttled")
    assert backend.authentications == 3


async def test_the_delay_is_shared_between_processes_through_redis(  # type: ignore[no-untyped-def]
    make_guarded, redis_url, redis_prefix
):
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix, "secret": TEST_SECRET}
    first, _ = await make_guarded(**shared)
    second, (backend,) = await make_guarded(**shared)
    for i in range(4):
        assert (await _login(first, CARD, f"wrong{i}")).status == 401
    held = await _login(second, CARD, PASSWORD)
    assert held.status == 429 and held.headers["Retry-After"] == "1"
    assert backend.authentications == 0


async def test_the_elibrary_bridge_is_held_back_by_the_same_delays(make_guarded, clock):  # type: ignore[no-untyped-def]
    elibrary = '\n[tenants.elibrary]\nkind = "simulator"\nbridge_keys = ["bridge-key"]\n'
    # 2 free failures: the bridge's own per-card limit (5 in 5 minutes) stays out of the way
    more = "delay_after_failures = 2\n" + elibrary
    client, (backend,) = await make_guarded(failures=10, more=more)

    async def check(card: str, password: str):  # type: ignore[no-untyped-def]
        return await client.post(
            "/elibrary/v1/libraries/koha-demo/patron-check",
            json={"cardNumber": card, "password": password},
            headers={"Authorization": "Bearer bridge-key"},
        )

    for i in range(3):
        answer = await check("1000-000-001", f"wrong{i}")
        assert answer.status == 200 and (await answer.json())["valid"] is False
    held = await check("1000000001", PASSWORD)
    assert held.status == 429 and held.headers["Retry-After"] == "1"
    assert (await held.json())["type"].endswith("login-throttled")
    assert backend.authentications == 3
    # and the portal login of the same card waits too: one count for every face
    assert (await _login(client, CARD, PASSWORD)).status == 429
    clock.advance(timedelta(seconds=1))
    assert (await (await check("1000000001", PASSWORD)).json())["valid"] is True


class HeldBackend(CountingBackend):
    """Counts password checks and holds each until the test lets them go."""

    def __init__(self, backend: object) -> None:
        super().__init__(backend)
        self.go = asyncio.Event()
        self.waiting = asyncio.Event()
        self.at_library = 0
        self.most_at_once = 0

    async def authenticate(self, card: str, password: str):  # type: ignore[no-untyped-def]
        self.authentications += 1
        self.at_library += 1
        self.most_at_once = max(self.most_at_once, self.at_library)
        self.waiting.set()
        try:
            await self.go.wait()
            return await self._backend.authenticate(card, password)  # type: ignore[attr-defined]
        finally:
            self.at_library -= 1


async def test_parallel_guesses_of_one_card_reach_the_library_one_at_a_time(  # type: ignore[no-untyped-def]
    aiohttp_client, koha_url, clock
):
    """In one process a second check of a card waits for the first (two self-check machines,
    a double submit) instead of being refused, then is held to what the first left: like
    sequential attempts, never two at the library at once."""
    held: list[HeldBackend] = []

    def wrap(tenant, backend, cache, seconds):  # type: ignore[no-untyped-def]
        held.append(HeldBackend(backend))
        return held[-1]

    registry = TenantRegistry(parse_tenants(tenant_toml(koha_url)).tenants)
    app = create_app(GatewaySettings(tenants=registry, clock=clock, wrap_backend=wrap))
    client = await aiohttp_client(app)
    (backend,) = held
    first = asyncio.ensure_future(_login(client, CARD, "guess-0"))
    await backend.waiting.wait()  # the first check is at the library
    others = [asyncio.ensure_future(_login(client, CARD, f"guess-{i}")) for i in range(1, 6)]
    assert backend.authentications == 1
    backend.go.set()
    assert (await first).status == 401
    statuses = [(await task).status for task in others]
    assert set(statuses) <= {401, 429}
    # Each that reached the library was checked alone, after the one before had failed; the
    # growing delay then refuses the rest without asking the library.
    assert backend.most_at_once == 1
    assert backend.authentications == 1 + statuses.count(401)
    assert 401 in statuses, "the next check waited for the first and was then made"
    assert 429 in statuses


async def test_a_check_under_way_in_another_process_refuses_at_once_through_redis(  # type: ignore[no-untyped-def]
    aiohttp_client, koha_url, clock, redis_url, redis_prefix
):
    """Two gateway processes sharing Redis: while one checks a card at the library, the
    other's check of the same card is refused (429) without reaching the library."""
    held: list[HeldBackend] = []

    def wrap(tenant, backend, cache, seconds):  # type: ignore[no-untyped-def]
        held.append(HeldBackend(backend))
        return held[-1]

    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix, "secret": TEST_SECRET}
    clients = []
    for _ in range(2):
        registry = TenantRegistry(parse_tenants(tenant_toml(koha_url)).tenants)
        app = create_app(
            GatewaySettings(tenants=registry, clock=clock, wrap_backend=wrap, **shared)
        )
        clients.append(await aiohttp_client(app))
    one, other = clients
    backend_one, backend_other = held
    first = asyncio.ensure_future(_login(one, CARD, "guess-0"))
    await backend_one.waiting.wait()
    refused = await asyncio.wait_for(_login(other, CARD, "guess-1"), 30)
    assert refused.status == 429
    assert (await refused.json())["type"].endswith("login-throttled")
    assert backend_other.authentications == 0
    backend_one.go.set()
    assert (await first).status == 401
    backend_other.go.set()
    # The check is over: the card's next attempt reaches the library again.
    assert (await _login(other, CARD, PASSWORD)).status == 201
