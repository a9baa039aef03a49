"""Shared set-up of the my-lists API tests: the gateway app over the Koha simulator (real TCP),
with the gateway store on a SQLite file or a fresh PostgreSQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from mylists_support import (
    CARD,
    OTHER_CARD,
    OTHER_PASSWORD,
    PASSWORD,
    SECRET,
    TENANT_TOML,
    Clock,
    koha_backend,
    library_data,
)

from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.adapters.koha.config import KohaBackendConfig
from ils_gateway.api.app import create_app
from ils_gateway.domain.models import Patron
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

__all__ = [
    "CARD",
    "KIOSK_KEY",
    "OTHER_CARD",
    "OTHER_PASSWORD",
    "PASSWORD",
    "SECRET",
    "Clock",
    "T",
    "build_app",
    "library_data",
    "login",
]

T = "/v1/tenants/testlib"
KIOSK_KEY = "kiosk-key-0123"


class PasswordKoha(KohaBackend):
    """The Koha adapter plus a password change the library performs itself (Koha's v1 subset
    has none), so the gateway's password-change path runs end to end."""

    def __init__(self, url: str, sim: SimulatedLibrary) -> None:
        config = KohaBackendConfig(
            kind="koha",
            base_url=url,
            client_id="koha-demo-gateway",
            client_secret="koha-demo-secret",
            retry_backoff=0,
        )
        super().__init__(config, today=sim.today)
        self._sim = sim

    async def change_password(self, patron: Patron, old_password: str, new_password: str) -> None:
        self._sim.change_password(patron.card_number, old_password, new_password)


def build_app(
    url: str,
    sim: SimulatedLibrary,
    clock: Clock,
    store_url: str | None,
    *,
    password_change: bool = False,
):
    """The gateway for tenant ``testlib`` on the Koha face at ``url``, store at ``store_url``."""
    text = TENANT_TOML.format(id="testlib").replace("http://127.0.0.1:9", url)
    name = 'name = "テスト市立図書館"\n'
    text = text.replace(name, f'{name}kiosk_keys = ["{KIOSK_KEY}"]\n', 1)
    registry = TenantRegistry(parse_tenants(text, "<test>").tenants)
    store = None
    if store_url is not None:
        store = StoreSettings(store_url, SECRET, kdf=KdfParams.minimal())
    settings = GatewaySettings(
        tenants=registry,
        clock=clock,
        backend_factory=lambda _tenant, *_: (
            PasswordKoha(url, sim) if password_change else koha_backend(url, sim)
        ),
        # The library's state is changed behind the gateway's back here (returns at the
        # counter, the clock); the read cache would hide that for its lifetime.
        wrap_backend=None,
        store=store,
    )
    return create_app(settings)


async def login(client, card: str = CARD, password: str = PASSWORD, **headers: str) -> dict:
    """Log in; the Authorization header of the new session."""
    response = await client.post(
        f"{T}/sessions", json={"card_number": card, "password": password}, headers=headers
    )
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


# -- fixtures (imported by the API test modules) ------------------------------------------------


@pytest.fixture
def lists_clock() -> Clock:
    """The clock the simulated library, the gateway and its store share."""
    return Clock()


@pytest.fixture
async def koha_sim(lists_clock: Clock) -> AsyncIterator[tuple[SimulatedLibrary, str]]:
    """The small test library behind its Koha REST face on 127.0.0.1 (port 0)."""
    sim = SimulatedLibrary(library_data(), lists_clock)
    runner = web.AppRunner(create_koha_app(sim))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield sim, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def lists_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty gateway store: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return default_url(tmp_path / "gateway.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def make_gateway(aiohttp_client, koha_sim, lists_clock: Clock, lists_store_url: str) -> Callable:
    """Starts a gateway process (an app on its own port) over the shared library and store."""

    async def make(store_url: str | bool | None = True, *, password_change: bool = False):
        sim, url = koha_sim
        chosen = lists_store_url if store_url is True else (store_url or None)
        app = build_app(url, sim, lists_clock, chosen, password_change=password_change)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def gw(make_gateway):
    """One gateway process with the store."""
    return await make_gateway()


@pytest.fixture
def sim(koha_sim) -> SimulatedLibrary:
    """The simulated library itself (for returns at the counter, password resets…)."""
    return koha_sim[0]


#: The fixtures above by name, for a test module's ``globals().update(FIXTURES)`` (importing
#: them by name would read as redefinitions wherever a test takes them as arguments).
FIXTURES = {
    "lists_clock": lists_clock,
    "koha_sim": koha_sim,
    "lists_store_url": lists_store_url,
    "make_gateway": make_gateway,
    "gw": gw,
    "sim": sim,
}
