"""``ils-gateway config show``: the settings ``serve`` would run with, and its tenants.

Each setting's effective value and where it came from (command line, ``ILS_GATEWAY_<NAME>``,
the settings file's ``[server]`` table, or the default; ``runtime.server_settings``), then one
line per tenant: its backend, e-library and mail settings, secrets masked (the store and sealing
secrets, kiosk keys, backend passwords and client secrets, the password in a Redis, store or
SMTP URL).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ils_gateway.cli import config
from ils_gateway.runtime.server_settings import (
    MASK,
    SettingsError,
    load_server_settings,
    settings_file_path,
    shown_values,
)
from ils_gateway.tenants.loader import TenantConfigError, TenantRegistry, load_tenants


@config.command("show")
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path),
    help="Settings file (TOML, a [server] table; default: $ILS_GATEWAY_SETTINGS).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, path_type=Path),
    help="Tenant file or directory (as `serve --config`).",
)
def show(settings_file: Path | None, config_path: Path | None) -> None:
    """Print the effective settings (secrets masked), where each came from, and the tenants."""
    try:
        settings, sources = load_server_settings(settings_file, config=config_path)
    except SettingsError as exc:
        for problem in exc.problems:
            click.echo(f"ils-gateway config show: {problem}", err=True)
        raise SystemExit(1) from None
    path = settings_file_path(settings_file)
    click.echo(f"# settings file: {path if path is not None else '(none)'}")
    values = shown_values(settings)
    width = max(len(name) for name in values)
    for name, text in values.items():
        click.echo(f"{name:<{width}} = {text}  # {sources[name]}")
    if settings.config is None:
        click.echo("# tenants: the embedded demo (tenant 'demo' on the SIP2 simulator)")
        return
    try:
        registry = load_tenants(settings.config)
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(1) from None
    click.echo(f"# tenants ({settings.config}):")
    for line in tenant_lines(registry):
        click.echo(line)


def tenant_lines(registry: TenantRegistry) -> list[str]:
    """One line per tenant: id, backend and e-library settings (``SecretStr``s masked)."""
    lines = []
    for tenant in registry:
        summary = {
            "backend": tenant.backend.model_dump(mode="json", exclude_none=True),
            "elibrary": tenant.elibrary.model_dump(mode="json", exclude_none=True)
            if tenant.elibrary is not None
            else None,
            "kiosk_keys": [MASK] * len(tenant.kiosk_keys),
            # No secret in it: the SMTP password is named by its variable (password_env).
            "mail": tenant.mail.model_dump(mode="json", exclude_none=True)
            if tenant.mail is not None
            else None,
        }
        text = json.dumps(summary, ensure_ascii=False).replace('"**********"', f'"{MASK}"')
        lines.append(f"{tenant.id}: {text}")
    return lines
