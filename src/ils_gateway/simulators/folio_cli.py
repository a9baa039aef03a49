"""``ils-gateway simulate folio``: serve the FOLIO-like REST API over the sample library."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from aiohttp import web

from ils_gateway.cli import simulate
from ils_gateway.simulators.cli_options import library_from, library_options
from ils_gateway.simulators.folio import REQUEST_TYPES, create_folio_app
from ils_gateway.simulators.folio_records import folio_id
from ils_gateway.simulators.latency import parse_latency_spec
from ils_gateway.simulators.library import Operation, SimulatedLibrary

DEFAULT_PORT = 9130  # Okapi's port


async def start_folio_simulator(
    library: SimulatedLibrary, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, **options: Any
) -> tuple[web.AppRunner, str]:
    """Start serving (``options`` go to ``create_folio_app``); returns the runner (clean it
    up to stop) and the Okapi URL."""
    runner = web.AppRunner(create_folio_app(library, **options))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


def parse_latency(spec: str) -> dict[str, float]:
    """``0.05`` (every call) or ``renew=0.2,place_hold=0.5`` (per library operation)."""
    names = {op.value for op in Operation}
    known = ", ".join(sorted(names))
    return parse_latency_spec(
        spec, lambda name: None if name in names else f"{name!r} is not an operation ({known})"
    )


def parse_allowed(pairs: tuple[str, ...]) -> Mapping[str, frozenset[str]] | None:
    """``Hold=CEN,KITA`` options → the request policy's allowed service points per type."""
    if not pairs:
        return None
    allowed: dict[str, frozenset[str]] = {}
    for pair in pairs:
        request_type, sep, codes = pair.partition("=")
        if not sep or request_type not in REQUEST_TYPES:
            raise click.BadParameter(f"{pair!r} is not TYPE=CODE,... with TYPE in Page, Hold")
        allowed[request_type] = frozenset(c.strip() for c in codes.split(",") if c.strip())
    return allowed


async def _serve(library: SimulatedLibrary, host: str, port: int, **options: Any) -> None:
    runner, url = await start_folio_simulator(library, host=host, port=port, **options)
    click.echo(f"FOLIO (Okapi) simulator on {url} ({library.data.name})")
    click.echo(
        f"tenant={options['tenant']} username={options['username']} "
        f"title-level requests={'on' if options['tlr_enabled'] else 'off'}"
    )
    # What a tenant's service_point_id is for self-check at each branch (check-out/check-in).
    for branch in library.data.branches:
        click.echo(f"service point {branch.code}: {folio_id('service-point', branch.code)}")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@simulate.command("folio")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@library_options
@click.option("--tenant", default="midori", show_default=True, help="X-Okapi-Tenant to accept.")
@click.option("--username", default="ils-gateway", show_default=True)
@click.option("--password", default="folio-demo-pass", envvar="FOLIO_SIM_PASSWORD")
@click.option(
    "--tlr/--no-tlr",
    "tlr_enabled",
    default=True,
    show_default=True,
    help="FOLIO's 'Allow title level requests' setting.",
)
@click.option(
    "--allowed",
    "allowed",
    multiple=True,
    metavar="TYPE=CODE,...",
    help="Request policy: pickup service points allowed for Page or Hold (repeatable; "
    "default: every pickup service point).",
)
@click.option(
    "--latency",
    default="",
    help="Seconds before each answer: '0.05' for all, or per operation, e.g. 'renew=0.2'.",
)
def simulate_folio(
    host: str,
    port: int,
    seed: int,
    data: Path | None,
    now: datetime | None,
    tenant: str,
    username: str,
    password: str,
    tlr_enabled: bool,
    allowed: tuple[str, ...],
    latency: str,
) -> None:
    """Serve FOLIO's circulation APIs (through an Okapi-like gateway) over the simulated
    library's Japanese sample data."""
    library = library_from(data, seed, now)
    try:
        asyncio.run(
            _serve(
                library,
                host,
                port,
                tenant=tenant,
                username=username,
                password=password,
                tlr_enabled=tlr_enabled,
                allowed_service_points=parse_allowed(allowed),
                latency=parse_latency(latency),
            )
        )
    except KeyboardInterrupt:
        pass
