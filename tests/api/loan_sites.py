"""One tenant served over HTTP against each backend kind's simulator (issue 16 loans tests).

``open_backend(kind, ...)`` starts the SIP2, Koha or FOLIO simulator on the shared sample
library and clock (127.0.0.1, port 0), and returns an aiohttp test client of the gateway with
one tenant ``t`` on it, its backend block followed by ``tenant_extra`` (TOML of that tenant:
policy, pickup libraries) and, for SIP2, ``backend_extra`` (keys of ``[tenants.backend]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

BACKENDS = ("sip2", "koha", "folio")
BASE = "/v1/tenants/tloans"
FOLIO = {"tenant": "midori", "username": "ils-gateway", "password": "folio-demo-pass"}


async def backend_toml(kind: str, library: SimulatedLibrary, stack: AsyncExitStack) -> str:
    """The ``[tenants.backend]`` block for a simulator of ``kind`` started on ``stack``."""
    if kind == "sip2":
        server, _ = await start_sip2_simulator(library, port=0)
        stack.push_async_callback(server.aclose)
        host, port = server.host, server.port
        return f"""
[tenants.backend]
kind = "sip2"
host = "{host}"
port = {port}
institution_id = "MIDORI"
title_hold_entries = "record_id_title"
"""
    if kind == "koha":
        runner, url = await start_koha_simulator(library, port=0)
        stack.push_async_callback(runner.cleanup)
        return f"""
[tenants.backend]
kind = "koha"
base_url = "{url}"
client_id = "koha-demo-gateway"
client_secret = "koha-demo-secret"
"""
    runner, url = await start_folio_simulator(library, port=0, token_clock=library.now, **FOLIO)
    stack.push_async_callback(runner.cleanup)
    return f"""
[tenants.backend]
kind = "folio"
okapi_url = "{url}"
tenant = "{FOLIO["tenant"]}"
username = "{FOLIO["username"]}"
password = "{FOLIO["password"]}"
cancellation_reason_id = "75187e8d-e25a-47a7-89ad-23ba612338de"
"""


def tenant_text(backend: str, tenant_extra: str = "", backend_extra: str = "") -> str:
    """A one-tenant file: ``backend`` (then ``backend_extra`` keys), then ``tenant_extra``."""
    return f"""
[[tenants]]
id = "tloans"
name = "テスト市立図書館"
{backend}{backend_extra}
[tenants.policy.card]
pattern = '^\\d{{10}}$'
{tenant_extra}
"""


async def login(client: Any, card: str, password: str) -> dict[str, str]:
    """A patron session's Authorization header."""
    response = await client.post(
        f"{BASE}/sessions", json={"card_number": card, "password": password}
    )
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


OpenBackend = Callable[..., Any]


async def serving(
    aiohttp_client: Any,
    kind: str,
    library: SimulatedLibrary,
    clock: ManualClock,
    stack: AsyncExitStack,
    *,
    tenant_extra: str = "",
    backend_extra: str = "",
    **settings: Any,
) -> Any:
    """The gateway's test client with tenant ``t`` on a simulator of ``kind``."""
    backend = await backend_toml(kind, library, stack)
    if kind != "sip2":
        backend_extra = ""
    text = tenant_text(backend, tenant_extra, backend_extra)
    registry = TenantRegistry(parse_tenants(text).tenants)
    app = create_app(GatewaySettings(tenants=registry, clock=clock, **settings))
    return await aiohttp_client(app)


async def exit_stack() -> AsyncIterator[AsyncExitStack]:
    """An exit stack closed after the test (use as a fixture body)."""
    async with AsyncExitStack() as stack:
        yield stack
