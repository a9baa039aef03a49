"""Fixtures for the list services: the store on SQLite and PostgreSQL, a Koha-faced simulated
library the Koha adapter talks to over real HTTP on localhost, and tenants built from TOML."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))
from mylists_support import (
    CARD,
    PASSWORD,
    SECRET,
    Clock,
    Library,
    koha_backend,
    library_data,
    make_tenant,
)

from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import Channel
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.store import Store
from ils_gateway.tenants.models import TenantConfig


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def library(clock: Clock) -> AsyncIterator[Library]:
    sim = SimulatedLibrary(library_data(), clock)
    runner = web.AppRunner(create_koha_app(sim))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    backend = koha_backend(url, sim)
    yield Library(sim, url, backend)
    await backend.close()
    await runner.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return default_url(tmp_path / "store.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def open_test_store(
    store_url: str, clock: Clock
) -> Callable[[], AbstractAsyncContextManager[Store]]:
    """Opens a store on the test database, as another gateway process would."""

    def opener() -> AbstractAsyncContextManager[Store]:
        return open_store(store_url, secret=SECRET, kdf=KdfParams.minimal(), clock=clock)

    return opener


@pytest.fixture
async def store(
    open_test_store: Callable[[], AbstractAsyncContextManager[Store]],
) -> AsyncIterator[Store]:
    async with open_test_store() as s:
        yield s


@pytest.fixture
def tenant() -> TenantConfig:
    return make_tenant()


@pytest.fixture
async def patron(library: Library) -> Patron:
    return await library.backend.authenticate(CARD, PASSWORD)


@pytest.fixture
def ctx(store: Store, tenant: TenantConfig, patron: Patron) -> PatronContext:
    return PatronContext.of(store, tenant, patron)


@pytest.fixture
def kiosk_ctx(store: Store, tenant: TenantConfig, patron: Patron) -> PatronContext:
    return PatronContext.of(store, tenant, patron, Channel.KIOSK)
