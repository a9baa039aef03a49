"""``ils-gateway serve``: the patron API, on real tenants (``--config``) or embedded defaults.

With no ``--config`` the Koha REST simulator over the seeded sample library starts in-process
and a tenant ``demo`` (the ``koha-demo`` example's rules) is served on it. The SIP2 simulator
takes this place once ``ils_gateway.simulators.sip2_acs`` and the SIP2 adapter exist.
"""

from __future__ import annotations

from pathlib import Path

import click
from aiohttp import web

from ils_gateway.api.app import create_app
from ils_gateway.cli import main
from ils_gateway.gateway import GatewaySettings
from ils_gateway.logging import configure_logging
from ils_gateway.tenants.loader import (
    TenantConfigError,
    TenantRegistry,
    load_tenants,
    parse_tenants,
)

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenants" / "koha-demo.toml"


def _demo_registry(koha_url: str) -> TenantRegistry:
    text = _EXAMPLE.read_text(encoding="utf-8").replace("http://127.0.0.1:6201", koha_url)
    text = text.replace('id = "koha-demo"', 'id = "demo"', 1)
    text += '\n[tenants.elibrary]\nkind = "simulator"\n'  # e-library simulator, in-process
    return TenantRegistry(parse_tenants(text, "<demo tenant>").tenants)


async def _embedded_app() -> web.Application:
    from ils_gateway.simulators.koha_cli import start_koha_simulator
    from ils_gateway.simulators.library import ManualClock
    from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library

    # The sample data is written as of SAMPLE_NOW; gateway and library share that clock so
    # due dates and rules read as the demo stories describe them.
    clock = ManualClock(SAMPLE_NOW)
    runner, url = await start_koha_simulator(sample_library(clock=clock), port=0)
    app = create_app(GatewaySettings(tenants=_demo_registry(url), clock=clock))

    async def stop_simulator(_app: web.Application) -> None:
        await runner.cleanup()

    app.on_cleanup.append(stop_simulator)
    click.echo(f"embedded Koha simulator on {url}; tenant 'demo'")
    return app


@main.command("serve")
@click.option("--config", "config_path", type=click.Path(exists=True, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def serve(config_path: Path | None, host: str, port: int) -> None:
    """Serve the patron API (embedded simulated library when no --config is given)."""
    configure_logging()
    if config_path is None:
        web.run_app(_embedded_app(), host=host, port=port)
        return
    try:
        registry = load_tenants(config_path)
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(1) from None
    web.run_app(create_app(GatewaySettings(tenants=registry)), host=host, port=port)
