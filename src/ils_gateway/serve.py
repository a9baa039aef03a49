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
import gc
import logging
import os
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from aiohttp import web

from ils_gateway.api.app import create_app
from ils_gateway.api.server import SETTLE_DELAY, serve_app
from ils_gateway.cli import main
from ils_gateway.domain.clock import parse_instant
from ils_gateway.jobs.schedule import jobs_context
from ils_gateway.kiosk.face import kiosk_context
from ils_gateway.logging import configure_logging
from ils_gateway.runtime.config_check import check_tenants, problem_line
from ils_gateway.runtime.server_settings import SettingsError, load_server_settings
from ils_gateway.runtime.settings import GatewaySettings, trusted_networks
from ils_gateway.runtime.store import StoreSettings, store_settings
from ils_gateway.tenants.backends import Sip2Backend
from ils_gateway.tenants.loader import TenantConfigError, TenantRegistry, load_tenants
from ils_gateway.workers import HOOKS, ServeHooks, reserve_port, run_workers, workers_problem

TOKYO = ZoneInfo("Asia/Tokyo")


def _faces(settings: GatewaySettings, jobs: bool = True) -> web.Application:
    """The process: the runtime with every face on it (the API, then the jobs and the kiosk
    faces, whose contexts start after the runtime's and stop before them). ``jobs`` False
    (``serve --no-jobs``): the periodic jobs run elsewhere (Kubernetes CronJobs running
    ``ils-gateway jobs run``)."""
    app = create_app(settings)
    if jobs:
        # started once the port has answered, as the API's warm-up is
        app.cleanup_ctx.append(jobs_context(start_delay=SETTLE_DELAY))
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
    redis_url: str | None,
    store: StoreSettings,
    proxies: dict[str, Any],
    now: datetime | None,
    jobs: bool = True,
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
    return _faces(settings, jobs)


async def simulated_app(
    registry: TenantRegistry,
    *,
    now: datetime | None = None,
    echo: Any = click.echo,
    jobs: bool = True,
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
    app = _faces(run.settings, jobs)
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
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path),
    help="Settings file (TOML, a [server] table; default: $ILS_GATEWAY_SETTINGS). Every "
    "setting can also be an ILS_GATEWAY_<NAME> variable; see `ils-gateway config show`.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, path_type=Path),
    help="Tenant file (TOML). Without it: the demo library on the embedded SIP2 simulator.",
)
@click.option("--host", help="Address to listen on.  [default: 127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on.  [default: 8080]")
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
    envvar="ILS_GATEWAY_FORWARDED_HEADER",
    help="The header the trusted proxies set (only this one is read).  [default: X-Forwarded-For]",
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
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    envvar="ILS_GATEWAY_WORKERS",
    help="Processes serving the port (SO_REUSEPORT), each with its own event loop and Redis "
    "client; more than 1 needs --redis and --config.",
)
@click.option(
    "--shutdown-delay",
    default=0.0,
    show_default=True,
    type=float,
    envvar="ILS_GATEWAY_SHUTDOWN_DELAY",
    help="Seconds to keep serving with /readyz at 503 after SIGTERM, so a balancer stops "
    "sending requests before the port closes (a second signal ends it early).",
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
@click.option(
    "--no-jobs",
    "no_jobs",
    is_flag=True,
    envvar="ILS_GATEWAY_NO_JOBS",
    help="Do not run the periodic jobs in this process (run them as CronJobs with "
    "`ils-gateway jobs run NAME`; see docs/jobs.md).",
)
def serve(
    settings_file: Path | None,
    config_path: Path | None,
    host: str | None,
    port: int | None,
    redis_url: str | None,
    store_url: str | None,
    trusted_proxies: tuple[str, ...],
    forwarded_header: str | None,
    simulate: bool,
    now: datetime | None,
    workers: int,
    shutdown_delay: float,
    log_level: str,
    otel_endpoint: str | None,
    metrics_allow: tuple[str, ...],
    no_jobs: bool,
) -> None:
    """Serve the patron API (embedded simulated library when no --config is given)."""
    # Start-up builds long-lived objects only: no cyclic garbage collection until the port is
    # open (serve_app turns it on then, after moving what start-up built out of its reach).
    gc.disable()
    try:
        server, _ = load_server_settings(
            settings_file,
            config=config_path,
            host=host,
            port=port,
            redis_url=redis_url,
            store_url=store_url,
            trusted_proxies=trusted_proxies,
            forwarded_header=forwarded_header,
        )
    except SettingsError as exc:
        for problem in exc.problems:
            click.echo(f"ils-gateway serve: {problem}", err=True)
        raise SystemExit(1) from None
    refusal = workers_problem(workers, server.redis_url, server.config)
    if refusal is not None:
        click.echo(refusal, err=True)
        raise SystemExit(2)
    configure_logging(level=logging.getLevelNamesMapping()[log_level.upper()])
    if otel_endpoint:
        from ils_gateway.observability.tracing import configure_tracing

        try:
            configure_tracing(otel_endpoint)
        except RuntimeError as exc:
            click.echo(f"--otel-endpoint: {exc}", err=True)
            raise SystemExit(1) from None
    try:
        secret = server.store_secret.get_secret_value() if server.store_secret else None
        store = store_settings(server.store_url, secret)
    except ValueError as exc:
        click.echo(f"store: {exc}", err=True)
        raise SystemExit(1) from None
    config_path, host, port = server.config, server.host, server.port
    redis_url = server.redis_url
    proxies: dict[str, Any] = server.gateway_fields()
    try:
        proxies["metrics_allowed"] = trusted_networks(metrics_allow)
    except ValueError as exc:
        click.echo(f"--metrics-allow: {exc}", err=True)
        raise SystemExit(1) from None
    if config_path is None:
        if simulate:
            click.echo("--simulate needs --config (without it the demo is simulated)", err=True)
            raise SystemExit(2)
        _run(
            serve_app(
                _embedded_app(redis_url, store, proxies, now, not no_jobs),
                host,
                port,
                shutdown_delay=shutdown_delay,
            )
        )
        return
    try:
        registry = load_tenants(config_path)
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(1) from None
    _refuse_what_cannot_run(config_path, registry)
    if simulate:
        app = simulated_app(registry, now=now, store=store, jobs=not no_jobs, **proxies)
        _run(serve_app(app, host, port, shutdown_delay=shutdown_delay))
        return
    if now is not None:
        click.echo(
            "--now needs --simulate or no --config (a real ILS keeps its own time)", err=True
        )
        raise SystemExit(2)
    settings = GatewaySettings(tenants=registry, store=store, tenants_source=config_path, **proxies)
    if workers == 1:
        _run(serve_app(_faces(settings, not no_jobs), host, port, shutdown_delay=shutdown_delay))
        return
    try:
        reserved = reserve_port(host, port)
    except OSError as exc:
        click.echo(f"cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None
    port = int(reserved.getsockname()[1])  # port 0: the one the kernel chose, for all
    click.echo(f"ils-gateway: {workers} workers on http://{host}:{port} (pid {os.getpid()})")

    settings = dataclasses.replace(settings, reuse_port=True)
    hooks = _metrics_across_workers()

    def worker(_index: int) -> None:
        reserved.close()
        gc.disable()
        asyncio.run(
            serve_app(
                _faces(settings, not no_jobs),
                host,
                port,
                reuse_port=True,
                shutdown_delay=shutdown_delay,
            )
        )

    gc.enable()  # the workers' serve_app turns it off and on for themselves
    with reserved:
        raise SystemExit(run_workers(worker, workers, hooks))


def _metrics_across_workers() -> ServeHooks:
    """Hooks that let ``/metrics`` in any worker answer for all of them: prometheus-client's
    multi-process mode, which must be chosen before it is first imported, i.e. by
    ``PROMETHEUS_MULTIPROC_DIR`` in the environment ``serve`` starts in (an empty directory)."""
    from ils_gateway.observability.multiprocess import multiprocess_dir, worker_exited

    hooks = ServeHooks(list(HOOKS.before_fork), list(HOOKS.worker_exited))
    if multiprocess_dir() is None:
        click.echo(
            "ils-gateway: /metrics answers for the worker that serves it alone; set "
            "PROMETHEUS_MULTIPROC_DIR to an empty directory to count every worker",
            err=True,
        )
    else:
        hooks.worker_exited.append(worker_exited)
    return hooks


def _run(serving: Coroutine[Any, Any, None]) -> None:
    """Serve until stopped; a socket that cannot be opened (a busy port, an address not
    here, no permission) is one line on stderr and exit status 1, not a traceback."""
    try:
        asyncio.run(serving)
    except OSError as exc:
        click.echo(f"ils-gateway serve: {exc}", err=True)
        raise SystemExit(1) from None
