"""Fixtures for the e-library adapter: the simulator over real HTTP, and a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.elibrary.client import KinodenClient
from ils_gateway.elibrary.kinoden import KinodenBackend
from ils_gateway.simulators.elibrary import (
    ELIBRARY_STATE,
    JST,
    ElibrarySimulatorConfig,
    ElibraryState,
    create_elibrary_app,
)
from ils_gateway.tenants.backends import KinodenElibrary

CLIENT_ID = "kanagawa-gateway"
CLIENT_SECRET = "s3cret-for-tests"
FAST_RETRY = RetryPolicy(attempts=3, first_wait=0.0)
RETRY_AFTER = 17


def kinoden_config(base_url: str) -> KinodenElibrary:
    """Tenant settings for an e-library at ``base_url`` with the test credentials."""
    return KinodenElibrary(
        kind="kinoden",
        base_url=base_url,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 4, 1, 10, 0, tzinfo=JST))


class SimulatedElibrary:
    """The simulator on a real 127.0.0.1 port, an adapter pointed at it, and its state."""

    def __init__(self, server: TestServer, backend: KinodenBackend, client: KinodenClient):
        self.server = server
        self.backend = backend
        self.client = client
        self.state: ElibraryState = server.app[ELIBRARY_STATE]


@pytest.fixture
async def make_elibrary(
    aiohttp_server: Callable[..., Awaitable[TestServer]], clock: ManualClock
) -> AsyncIterator[Callable[..., Awaitable[SimulatedElibrary]]]:
    clients: list[KinodenClient] = []

    async def make(**settings: object) -> SimulatedElibrary:
        settings = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **settings}
        config = ElibrarySimulatorConfig(**settings)
        server = await aiohttp_server(create_elibrary_app(config, clock), host="127.0.0.1")
        client = KinodenClient(
            kinoden_config(str(server.make_url("/"))), retry=FAST_RETRY, retry_after=RETRY_AFTER
        )
        clients.append(client)
        return SimulatedElibrary(server, KinodenBackend(client), client)

    yield make
    for client in clients:
        await client.aclose()
