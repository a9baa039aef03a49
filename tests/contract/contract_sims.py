"""Helpers serving the project's simulators for the contract suite's own tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from aiohttp import web

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.contract import target as contract_target
from ils_gateway.domain.clock import Clock
from ils_gateway.runtime.backends import build_backend
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.tenants.models import TenantConfig

KOHA_CLIENT_ID = "contract-test"
KOHA_CLIENT_SECRET = "contract-test-secret"


async def start_koha(
    library: SimulatedLibrary, app: web.Application | None = None
) -> tuple[web.AppRunner, str]:
    """Serve the Koha REST face of ``library`` (or ``app``) on 127.0.0.1, a free port."""
    app = app or create_koha_app(
        library, client_id=KOHA_CLIENT_ID, client_secret=KOHA_CLIENT_SECRET
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def on_library_clock(
    monkeypatch: pytest.MonkeyPatch,
    library: SimulatedLibrary,
    spoilers: Sequence[Callable[[ILSBackend], None]] = (),
) -> None:
    """Build the suite's ILS backends on ``library``'s clock, then hand each to ``spoilers``.

    A tenant file gives the adapter the system clock while the sample library stands at its
    own instant: overdue days would then be counted from two different todays.
    """

    def build(tenant: TenantConfig, clock: Clock) -> ILSBackend:
        backend = build_backend(tenant, library.now)
        for spoil in spoilers:
            spoil(backend)
        return backend

    monkeypatch.setattr(contract_target, "build_backend", build)
