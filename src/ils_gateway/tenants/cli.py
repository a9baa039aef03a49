"""``ils-gateway config check FILE``: validate a tenant file (or directory) and summarise it."""

from __future__ import annotations

from pathlib import Path

import click

from ils_gateway.cli import config
from ils_gateway.tenants.loader import TenantConfigError, load_tenants


@config.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def check(path: Path) -> None:
    """Validate tenant file(s) at PATH; exit 1 naming each bad key and its problem."""
    try:
        registry = load_tenants(path)
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(1) from None
    click.echo(f"{path}: {len(registry)} tenant(s) OK")
    for tenant in registry:
        elibrary = tenant.elibrary.kind if tenant.elibrary else "none"
        click.echo(
            f"  {tenant.id}: {tenant.name} (backend {tenant.backend.kind}, e-library {elibrary})"
        )
