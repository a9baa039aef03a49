"""Helpers serving the project's simulators for the contract suite's own tests."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary

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
