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
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

import click
from aiohttp import web

from ils_gateway.api.app import create_app
from ils_gateway.api.server import serve_app
from ils_gateway.cli import main
from ils_gateway.jobs.schedule import JobIntervals, jobs_context
from ils_gateway.kiosk.face import kiosk_context
from ils_gateway.logging import configure_logging
from ils_gateway.runtime.settings import GatewaySettings, trusted_networks
from ils_gateway.runtime.store import StoreSettings, store_settings
from ils_gateway.tenants.backends import Sip2Backend
from ils_gateway.tenants.loader import TenantConfigError, load_tenants


def _faces(settings: GatewaySettings) -> web.Application:
    """The process: the runtime with every face on it (the API, then the jobs and the kiosk
    faces, whose contexts start after the runtime's and stop before them)."""
    app = create_app(settings)
    app.cleanup_ctx.append(jobs_context(JobIntervals()))
    app.cleanup_ctx.append(kiosk_context)  # SIP2 faces of tenants with kiosk_sip2 enabled
    return app


async def _embedded_app(
    redis_url: str | None, store: StoreSettings, proxies: dict[str, Any]
) -> web.Application:
    from ils_gateway.runtime.demo import embedded_settings

    settings, acs = await embedded_settings(redis_url=redis_url, store=store)
    settings = dataclasses.replace(settings, **proxies)
    backend = next(iter(settings.tenants)).backend
    assert isinstance(backend, Sip2Backend)  # the demo tenant talks SIP2 to the simulator
    click.echo(
        f"embedded SIP2 simulator ({acs.library.data.name}) on "
        f"{backend.host}:{backend.port}; tenant 'demo'"
    )
    return _faces(settings)


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
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    envvar="ILS_GATEWAY_LOG_LEVEL",
    help="Lowest level logged (debug adds SIP2 frames, redacted).",
)
@click.option(
    "--otel-endpoint",
    envvar="OTEL_EXPORTER_OTLP_ENDPOINT",
    help="OTLP/HTTP endpoint to send traces to (e.g. http://collector:4318); default: no "
    "tracing. Needs the 'otel' extra.",
)
@click.option(
    "--metrics-allow",
    "metrics_allow",
    multiple=True,
    envvar="ILS_GATEWAY_METRICS_ALLOW",
    help="Address or CIDR allowed to read /metrics (repeatable; in the variable, separated by "
    "spaces or commas). Default: anyone who reaches the bind address.",
)
def serve(
    config_path: Path | None,
    host: str,
    port: int,
    redis_url: str | None,
    store_url: str | None,
    trusted_proxies: tuple[str, ...],
    forwarded_header: str,
    log_level: str,
    otel_endpoint: str | None,
    metrics_allow: tuple[str, ...],
) -> None:
    """Serve the patron API (embedded simulated library when no --config is given)."""
    configure_logging(level=logging.getLevelNamesMapping()[log_level.upper()])
    if otel_endpoint:
        from ils_gateway.observability.tracing import configure_tracing

        try:
            configure_tracing(otel_endpoint)
        except RuntimeError as exc:
            click.echo(f"--otel-endpoint: {exc}", err=True)
            raise SystemExit(1) from None
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
    try:
        allowed = trusted_networks(metrics_allow)
    except ValueError as exc:
        click.echo(f"--metrics-allow: {exc}", err=True)
        raise SystemExit(1) from None
    proxies: dict[str, Any] = {
        "trusted_proxies": networks,
        "forwarded_header": forwarded_header,
        "metrics_allowed": allowed,
    }
    if config_path is None:
        asyncio.run(serve_app(_embedded_app(redis_url, store, proxies), host, port))
        return
    try:
        registry = load_tenants(config_path)
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(1) from None
    settings = GatewaySettings(tenants=registry, redis_url=redis_url, store=store, **proxies)
    asyncio.run(serve_app(_faces(settings), host, port))
