"""``ils-gateway simulate koha``: serve the Koha-like REST API over the sample library."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import click
from aiohttp import web

from ils_gateway.cli import simulate
from ils_gateway.simulators.cli_options import library_from, library_options
from ils_gateway.simulators.koha import DEFAULT_PAGE_SIZE, KohaSettings, create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary


async def start_koha_simulator(
    library: SimulatedLibrary,
    *,
    host: str = "127.0.0.1",
    port: int = 6201,
    client_id: str = "koha-demo-gateway",
    client_secret: str = "koha-demo-secret",
    settings: KohaSettings | None = None,
) -> tuple[web.AppRunner, str]:
    """Start serving; returns the runner (clean it up to stop) and the base URL."""
    app = create_koha_app(
        library, client_id=client_id, client_secret=client_secret, settings=settings
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


async def _serve(
    library: SimulatedLibrary,
    host: str,
    port: int,
    client_id: str,
    secret: str,
    settings: KohaSettings,
) -> None:
    runner, url = await start_koha_simulator(
        library, host=host, port=port, client_id=client_id, client_secret=secret, settings=settings
    )
    click.echo(f"Koha REST simulator on {url}/api/v1 ({library.data.name})")
    click.echo(f"OAuth2 client_id={client_id} (secret as configured)")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@simulate.command("koha")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=6201, show_default=True, type=int)
@library_options
@click.option("--client-id", default="koha-demo-gateway", show_default=True)
@click.option("--client-secret", default="koha-demo-secret", envvar="KOHA_SIM_CLIENT_SECRET")
@click.option(
    "--page-size",
    default=DEFAULT_PAGE_SIZE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Koha's RESTdefaultPageSize: rows per page of every list.",
)
def simulate_koha(
    host: str,
    port: int,
    seed: int,
    data: Path | None,
    now: datetime | None,
    client_id: str,
    client_secret: str,
    page_size: int,
) -> None:
    """Serve Koha's REST API (v1 subset) over the simulated library's Japanese sample data."""
    library = library_from(data, seed, now)
    try:
        settings = KohaSettings(page_size=page_size)
        asyncio.run(_serve(library, host, port, client_id, client_secret, settings))
    except KeyboardInterrupt:
        pass
