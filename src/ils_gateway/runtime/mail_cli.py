"""``ils-gateway mail status|failed|retry|drain``: the mail outbox from the command line.

The store, the tenants and the SMTP defaults come from the same settings as ``serve``
(``--settings``, ``ILS_GATEWAY_*``, the settings file's ``[server]`` table; see
``runtime.server_settings``): ``ILS_GATEWAY_STORE_URL``/``--url``, ``--config``,
``ILS_GATEWAY_SMTP_URL``, ``ILS_GATEWAY_MAIL_SENDER``. ``mail drain`` is one drain run, as a
Kubernetes CronJob or an operator runs it; ``serve`` drains on its own every minute.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import click

from ils_gateway.cli import mail
from ils_gateway.domain.clock import system_clock
from ils_gateway.mail.drain import drain_outbox
from ils_gateway.runtime.server_settings import ServerSettings, SettingsError, load_server_settings
from ils_gateway.store import location
from ils_gateway.store.engine import open_store
from ils_gateway.store.outbox import STATUSES, OutboxRepository, OutboxStatus
from ils_gateway.tenants.loader import TenantConfigError, load_tenants

__all__ = ["drain_command", "failed_command", "retry_command", "status_command"]

_settings_option = click.option(
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path),
    help="Settings file (TOML, a [server] table; default: $ILS_GATEWAY_SETTINGS).",
)
_url_option = click.option(
    "--url",
    "store_url",
    default=None,
    help="Store URL (default: $ILS_GATEWAY_STORE_URL, else ./var/ils-gateway.sqlite3).",
)
_tenant_option = click.option("--tenant", "tenant_id", default=None, help="Only this tenant.")


def _settings(settings_file: Path | None, **given: Any) -> ServerSettings:
    try:
        return load_server_settings(settings_file, **given)[0]
    except SettingsError as exc:
        for problem in exc.problems:
            click.echo(f"ils-gateway mail: {problem}", err=True)
        raise SystemExit(1) from None


@asynccontextmanager
async def _outbox(settings: ServerSettings) -> AsyncIterator[OutboxRepository]:
    url = location.store_url(settings.store_url)
    given = settings.store_secret.get_secret_value() if settings.store_secret else None
    async with open_store(url, secret=location.store_secret(url, given)) as store:
        yield store.outbox


@mail.command("status")
@_settings_option
@_url_option
def status_command(settings_file: Path | None, store_url: str | None) -> None:
    """Count the outbox's mails by tenant and status."""
    settings = _settings(settings_file, store_url=store_url)

    async def run() -> dict[tuple[str, OutboxStatus], int]:
        async with _outbox(settings) as outbox:
            return await outbox.counts()

    counts = asyncio.run(run())
    tenants = sorted({tenant for tenant, _ in counts})
    if not tenants:
        click.echo("the outbox is empty")
        return
    click.echo("tenant".ljust(20) + "".join(status.rjust(10) for status in STATUSES))
    for tenant in tenants:
        cells = "".join(str(counts.get((tenant, s), 0)).rjust(10) for s in STATUSES)
        click.echo(tenant.ljust(20) + cells)


@mail.command("failed")
@_settings_option
@_url_option
@_tenant_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def failed_command(
    settings_file: Path | None,
    store_url: str | None,
    tenant_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List the mails given up on (newest first), with their last error."""
    settings = _settings(settings_file, store_url=store_url)

    async def run() -> list[Any]:
        async with _outbox(settings) as outbox:
            return await outbox.list(status="failed", tenant_id=tenant_id, limit=limit)

    mails = asyncio.run(run())
    for m in mails:
        if as_json:
            row = {
                "id": m.id,
                "tenant": m.tenant_id,
                "template": m.template,
                "dedup_key": m.dedup_key,
                "attempts": m.attempts,
                "created_at": m.created_at.isoformat(),
                "last_error": m.last_error,
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(
                f"{m.id}\t{m.tenant_id}\t{m.template}\t{m.attempts} attempt(s)\t"
                f"{m.created_at:%Y-%m-%d %H:%M}Z\t{m.last_error or ''}"
            )
    if not mails and not as_json:
        click.echo("no failed mails")


@mail.command("retry")
@_settings_option
@_url_option
@click.argument("mail_id", required=False, type=int)
@click.option("--all-failed", is_flag=True, help="Every failed mail (of --tenant).")
@_tenant_option
def retry_command(
    settings_file: Path | None,
    store_url: str | None,
    mail_id: int | None,
    all_failed: bool,
    tenant_id: str | None,
) -> None:
    """Queue failed mail(s) again: one by ID, or --all-failed; attempts start over."""
    if (mail_id is None) == (not all_failed):
        raise click.UsageError("give a mail ID or --all-failed (not both)")
    settings = _settings(settings_file, store_url=store_url)

    async def run() -> int:
        async with _outbox(settings) as outbox:
            if mail_id is not None:
                return int(await outbox.retry(mail_id))
            return await outbox.retry_failed(tenant_id)

    queued = asyncio.run(run())
    if mail_id is not None and not queued:
        click.echo(f"mail {mail_id}: no such failed mail", err=True)
        raise SystemExit(1)
    click.echo(f"{queued} mail(s) queued again")


@mail.command("drain")
@_settings_option
@_url_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, path_type=Path),
    help="Tenant file or directory (as `serve --config`).",
)
def drain_command(
    settings_file: Path | None, store_url: str | None, config_path: Path | None
) -> None:
    """Send the due mails once (claims, retries and leases as serve's drain); exit 1 when a
    mail failed for good."""
    settings = _settings(settings_file, store_url=store_url, config=config_path)
    if settings.config is None:
        click.echo("ils-gateway mail drain: name the tenants (--config)", err=True)
        raise SystemExit(2)
    try:
        tenants = list(load_tenants(settings.config))
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(1) from None
    defaults = settings.mail_settings()

    async def run() -> Any:
        async with _outbox(settings) as outbox:
            return await drain_outbox(
                outbox,
                tenants,
                clock=system_clock,
                default_server=defaults.smtp,
                default_sender=defaults.sender,
            )

    report = asyncio.run(run())
    for tenant_id in report.unconfigured:
        click.echo(f"{tenant_id}: mail is not configured; its mails are kept", err=True)
    click.echo(f"sent {report.sent}, retrying {report.retried}, failed {report.failed}")
    if report.failed:
        raise SystemExit(1)
