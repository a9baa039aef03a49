"""``ils-gateway jobs list|run``: the periodic jobs from the command line (Kubernetes CronJobs).

``jobs list`` prints every planned job (per tenant for per-tenant jobs) with its schedule and
its last run and outcome (from the store). ``jobs run NAME [--tenant ID] [--force]`` runs one
job now under the same locks as the scheduler in ``serve`` (so a CronJob and a ``serve`` that
still runs jobs never run it at once, and a scheduled run time is run once); ``--force`` runs
it even when this run time was run already. Exit status: 0 when every run ended well or was
not needed (done elsewhere, running elsewhere, off), 1 when a run failed, 2 for an unknown job
or tenant or bad settings.

The runtime is opened as ``serve`` opens it (same settings: ``--settings``, ``--config``,
``ILS_GATEWAY_*``), without the HTTP face. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from ils_gateway.cli import main


@main.group("jobs")
def jobs() -> None:
    """List the periodic jobs or run one now (as a Kubernetes CronJob does)."""


def _runtime_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--settings",
            "settings_file",
            type=click.Path(path_type=Path),
            help="Settings file (TOML, a [server] table; default: $ILS_GATEWAY_SETTINGS).",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(exists=True, path_type=Path),
            help="Tenant file (TOML). Without it: the demo library on the embedded simulator.",
        ),
        click.option(
            "--store",
            "store_url",
            envvar="ILS_GATEWAY_STORE_URL",
            help="Gateway store URL (default ./var/ils-gateway.sqlite3).",
        ),
        click.option(
            "--redis",
            "redis_url",
            envvar="ILS_GATEWAY_REDIS_URL",
            help="redis:// URL: job locks in Redis, as the serving processes have them.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(
    settings_file: Path | None,
    config_path: Path | None,
    store_url: str | None,
    redis_url: str | None,
) -> Callable[[], Awaitable[Any]]:
    """A coroutine factory giving the ``GatewaySettings`` (the demo's starts its simulator)."""
    from ils_gateway.runtime.server_settings import SettingsError, load_server_settings
    from ils_gateway.runtime.settings import GatewaySettings
    from ils_gateway.runtime.store import store_settings
    from ils_gateway.tenants.loader import TenantConfigError, load_tenants

    try:
        server, _ = load_server_settings(
            settings_file, config=config_path, store_url=store_url, redis_url=redis_url
        )
        secret = server.store_secret.get_secret_value() if server.store_secret else None
        store = store_settings(server.store_url, secret)
    except SettingsError as exc:
        for problem in exc.problems:
            click.echo(f"ils-gateway jobs: {problem}", err=True)
        raise SystemExit(2) from None
    except ValueError as exc:
        click.echo(f"store: {exc}", err=True)
        raise SystemExit(2) from None
    fields = server.gateway_fields()
    if server.config is None:

        async def demo() -> Any:
            from ils_gateway.runtime.demo import embedded_settings

            settings, _acs = await embedded_settings(store=store, **fields)
            return settings

        return demo
    try:
        registry = load_tenants(server.config)
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(2) from None

    async def configured() -> Any:
        return GatewaySettings(tenants=registry, store=store, **fields)

    return configured


async def _with_jobs(
    make: Callable[[], Awaitable[Any]], act: Callable[[Any], Awaitable[int]]
) -> int:
    import logging

    from ils_gateway.jobs.schedule import gateway_jobs
    from ils_gateway.logging import configure_logging
    from ils_gateway.runtime.jobs import open_runtime

    configure_logging(level=logging.WARNING)
    settings = await make()
    async with open_runtime(settings) as opened:
        jobs = gateway_jobs(opened.gateway, opened.lists, opened.redis, settings)
        return await act(jobs)


@jobs.command("list")
@_runtime_options
def list_command(
    settings_file: Path | None,
    config_path: Path | None,
    store_url: str | None,
    redis_url: str | None,
) -> None:
    """Every job with its schedule and its last run and outcome."""
    make = _settings(settings_file, config_path, store_url, redis_url)

    async def show(jobs: Any) -> int:
        last = {(r.name, r.tenant_id): r for r in await jobs.history.last()}
        rows = [("JOB", "TENANT", "SCHEDULE", "LAST RUN", "OUTCOME")]
        for plan in jobs.plans():
            run = last.get((plan.spec.name, plan.tenant_id or ""))
            when = "-" if run is None else f"{run.started_at:%Y-%m-%d %H:%M:%S}Z"
            rows.append(
                (
                    plan.spec.name,
                    plan.tenant_id or "(all)",
                    plan.describe(),
                    when,
                    "-" if run is None else run.outcome,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            click.echo(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
        click.echo("")
        for spec in jobs.specs.values():
            click.echo(f"{spec.name}: {spec.description}")
        return 0

    raise SystemExit(asyncio.run(_with_jobs(make, show)))


@jobs.command("run")
@click.argument("name")
@click.option("--tenant", "tenant_id", help="Only this tenant (per-tenant jobs).")
@click.option(
    "--force",
    is_flag=True,
    help="Run even when this run time was run already (still never two runs at once).",
)
@_runtime_options
def run_command(
    name: str,
    tenant_id: str | None,
    force: bool,
    settings_file: Path | None,
    config_path: Path | None,
    store_url: str | None,
    redis_url: str | None,
) -> None:
    """Run job NAME now under the job's lock; non-zero exit when a run failed."""
    make = _settings(settings_file, config_path, store_url, redis_url)

    async def run(jobs: Any) -> int:
        from ils_gateway.jobs.schedule import FAILED, UnknownJob

        try:
            results = await jobs.run_named(name, tenant_id, force=force)
        except UnknownJob as exc:
            click.echo(f"ils-gateway jobs run: {exc.args[0]}", err=True)
            return 2
        status = 0
        for result in results:
            line = f"{result.key}: {result.outcome}"
            if result.error:
                line += f" ({result.error})"
            elif result.report is not None:
                line += f" {result.report!r}"[:300]
            click.echo(line)
            if result.outcome == FAILED:
                status = 1
        return status

    raise SystemExit(asyncio.run(_with_jobs(make, run)))
