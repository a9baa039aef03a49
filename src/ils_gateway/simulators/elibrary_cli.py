"""``ils-gateway simulate elibrary``: run the simulated e-library until interrupted."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import click

from ils_gateway.cli import simulate
from ils_gateway.domain.clock import Clock, RunningClock, system_clock
from ils_gateway.simulators.cli_options import now_option
from ils_gateway.simulators.elibrary import (
    ElibrarySimulatorConfig,
    load_simulator_config,
    start_elibrary_simulator,
)


async def _serve(config: ElibrarySimulatorConfig, host: str, port: int, clock: Clock) -> None:
    runner, url = await start_elibrary_simulator(config, clock, host=host, port=port)
    click.echo(f"e-library simulator on {url} ({len(config.titles)} titles)")
    click.echo(f"client_id={config.client_id} (secret from the configuration)")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@simulate.command("elibrary")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8091, show_default=True, type=int)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file of simulator settings: limits, credentials, patrons, titles.",
)
@now_option
def simulate_elibrary(host: str, port: int, data: Path | None, now: datetime | None) -> None:
    """Serve the KinoDen-style e-library API of docs/elibrary-api.md."""
    config = load_simulator_config(data) if data else ElibrarySimulatorConfig()
    clock: Clock = system_clock if now is None else RunningClock(now)
    try:
        asyncio.run(_serve(config, host, port, clock))
    except KeyboardInterrupt:
        pass
