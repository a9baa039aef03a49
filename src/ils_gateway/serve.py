"""``ils-gateway serve``: the patron API, on real tenants (``--config``) or the embedded demo.

With no ``--config`` the SIP2 simulator over the seeded sample library starts in-process and
the tenant ``demo`` is served on it over the SIP2 adapter, with the e-library simulator
(``ils_gateway.runtime.demo``). ``--redis URL`` (or ``ILS_GATEWAY_REDIS_URL``) keeps sessions,
Idempotency-Keys and the read cache in Redis, for running several processes. The gateway store
(basket, sequences, shelves, reading history…) is ``--store URL`` / ``ILS_GATEWAY_STORE_URL``,
by default ``./var/ils-gateway.sqlite3`` (secret: ``ILS_GATEWAY_STORE_SECRET``, or a dev secret
generated beside the SQLite file; see ``ils_gateway.store.location``); the periodic jobs run
with it (``ils_gateway.jobs.schedule``), and so do the SIP2 faces for self-check machines of the
tenants that enable ``kiosk_sip2`` (the demo tenant's on 127.0.0.1:6011; ``ils_gateway.kiosk``).

``--config FILE --simulate`` serves the file's tenants on simulators started in-process and
shaped for each (``ils_gateway.runtime.simulated``): every example in ``examples/tenants`` runs
with no outside system. ``--now DATE[THH:MM]`` starts the one clock the gateway and the
in-process simulators share at that instant (Asia/Tokyo unless an offset is given); the sample
data is written as of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from aiohttp import web

from ils_gateway.api.app import create_app
from ils_gateway.api.server import serve_app
from ils_gateway.cli import main
from ils_gateway.domain.clock import parse_instant
from ils_gateway.jobs.schedule import JobIntervals, jobs_context
from ils_gateway.kiosk.face import kiosk_context
from ils_gateway.logging import configure_logging
from ils_gateway.runtime.config_check import check_tenants, problem_line
from ils_gateway.runtime.settings import GatewaySettings, trusted_networks
from ils_gateway.runtime.store import StoreSettings, store_settings
from ils_gateway.tenants.backends import Sip2Backend
from ils_gateway.tenants.loader import TenantConfigError, TenantRegistry, load_tenants

TOKYO = ZoneInfo("Asia/Tokyo")


def _faces(settings: GatewaySettings) -> web.Application:
    """The process: the runtime with every face on it (the API, then the jobs and the kiosk
    faces, whose contexts start after the runtime's and stop before them)."""
    app = create_app(settings)
    app.cleanup_ctx.append(jobs_context(JobIntervals()))
    app.cleanup_ctx.append(kiosk_context)  # SIP2 faces of tenants with kiosk_sip2 enabled
    return app


def _parse_now(
    _ctx: click.Context | None, _param: click.Parameter | None, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value, TOKYO)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


async def _embedded_app(
    redis_url: str | None, store: StoreSettings, proxies: dict[str, Any], now: datetime | None
) -> web.Application:
    from ils_gateway.runtime.demo import embedded_settings

    dated: dict[str, Any] = {} if now is None else {"now": now}
    settings, acs = await embedded_settings(redis_url=redis_url, store=store, **dated)
    settings = dataclasses.replace(settings, **proxies)
    backend = next(iter(settings.tenants)).backend
    assert isinstance(backend, Sip2Backend)  # the demo tenant talks SIP2 to the simulator
    click.echo(
        f"embedded SIP2 simulator ({acs.library.data.name}) on "
        f"{backend.host}:{backend.port}; tenant 'demo'"
    )
    return _faces(settings)


async def simulated_app(
    registry: TenantRegistry,
    *,
    now: datetime | None = None,
    echo: Any = click.echo,
    **settings: Any,
) -> web.Application:
    """``serve --config FILE --simulate``: the process serving ``registry``'s tenants on
    simulators started here and shaped for each (``runtime.simulated``); ``echo`` gets the
    lines saying where they listen and the sample logins. ``settings`` go to
    ``GatewaySettings`` (``clock`` among them replaces the one ``now`` starts)."""
    from ils_gateway.runtime.simulated import SIMULATED_RUN, simulated_settings

    run = await simulated_settings(registry, now=now, **settings)
    for line in run.describe():
        echo(line)
    app = _faces(run.settings)
    app[SIMULATED_RUN] = run
    return app


def _refuse_what_cannot_run(path: Path, registry: TenantRegistry) -> None:
    """``config check``'s checks at start-up: a rule its backend cannot carry out (or a branch
    code that matches nothing) stops the server, one line per problem, as ``config check``
    states it; warnings are printed and serving goes on."""
    results = asyncio.run(check_tenants(list(registry)))
    errors = 0
    for tenant, problems in results:
        for problem in problems:
            click.echo(problem_line(path, tenant, problem), err=True)
            errors += problem.error
    if errors:
        click.echo(
            f"{path}: {errors} error(s); not serving (see `ils-gateway config check`)", err=True
        )
        raise SystemExit(1)


@main.command("serve")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, path_type=Path),
    help="Tenant file (TOML). Without it: the demo library on the embedded SIP2 simulator.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--redis",
    "redis_url",
    envvar="ILS_GATEWAY_REDIS_URL",
    help="redis:// URL for sessions, Idempotency-Keys and the read cache (many processes).",
)
@click.option(
    "--store",
    "store_url",
    envvar="ILS_GATEWAY_STORE_URL",
    help="Gateway store URL (sqlite+aiosqlite:///… or postgresql+asyncpg://…); "
    "default ./var/ils-gateway.sqlite3.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    envvar="ILS_GATEWAY_TRUSTED_PROXIES",
    help="Address or CIDR of a reverse proxy whose forwarding header names the client "
    "(repeatable; in the variable, separated by spaces or commas). Default: none, the peer.",
)
@click.option(
    "--forwarded-header",
    type=click.Choice(["X-Forwarded-For", "Forwarded"], case_sensitive=False),
    default="X-Forwarded-For",
    show_default=True,
    envvar="ILS_GATEWAY_FORWARDED_HEADER",
    help="The header the trusted proxies set (only this one is read).",
)
@click.option(
    "--simulate",
    is_flag=True,
    help="With --config: start simulators shaped for each tenant of the file (SIP2 ACS, Koha, "
    "FOLIO, e-library) on free local ports and serve the tenants on them instead of the "
    "addresses in the file.",
)
@click.option(
    "--now",
    callback=_parse_now,
    metavar="DATE[THH:MM]",
    help="Start the clock (gateway and in-process simulators) at this instant: an ISO date "
    "(10:00 Asia/Tokyo) or date-time (Asia/Tokyo unless it names an offset). Sample data is "
    "written as of it. Default: now (--simulate) or the sample instant (no --config).",
)
def serve(
    config_path: Path | None,
    host: str,
    port: int,
    redis_url: str | None,
    store_url: str | None,
    trusted_proxies: tuple[str, ...],
    forwarded_header: str,
    simulate: bool,
    now: datetime | None,
) -> None:
    """Serve the patron API (embedded simulated library when no --config is given)."""
    configure_logging()
    try:
        store = store_settings(store_url)
    except ValueError as exc:
        click.echo(f"store: {exc}", err=True)
        raise SystemExit(1) from None
    try:
        networks = trusted_networks(trusted_proxies)
    except ValueError as exc:
        click.echo(f"--trusted-proxy: {exc}", err=True)
        raise SystemExit(1) from None
    proxies: dict[str, Any] = {"trusted_proxies": networks, "forwarded_header": forwarded_header}
    if config_path is None:
        if simulate:
            click.echo("--simulate needs --config (without it the demo is simulated)", err=True)
            raise SystemExit(2)
        asyncio.run(serve_app(_embedded_app(redis_url, store, proxies, now), host, port))
        return
    try:
        registry = load_tenants(config_path)
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(1) from None
    _refuse_what_cannot_run(config_path, registry)
    if simulate:
        app = simulated_app(registry, now=now, redis_url=redis_url, store=store, **proxies)
        asyncio.run(serve_app(app, host, port))
        return
    if now is not None:
        click.echo(
            "--now needs --simulate or no --config (a real ILS keeps its own time)", err=True
        )
        raise SystemExit(2)
    settings = GatewaySettings(tenants=registry, redis_url=redis_url, store=store, **proxies)
    asyncio.run(serve_app(_faces(settings), host, port))
