"""``ils-gateway store …``: bring a gateway database to the current schema, in place."""

from __future__ import annotations

import asyncio

import click

from ils_gateway.cli import main
from ils_gateway.store.engine import current_revision, default_url, upgrade
from ils_gateway.store.location import DEFAULT_PATH, store_url

DEFAULT_URL = default_url(DEFAULT_PATH)


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.group()
def store() -> None:
    """Work with the gateway's own database (SQLite file or PostgreSQL)."""


_url_option = click.option(
    "--url",
    envvar="ILS_GATEWAY_STORE_URL",
    default=None,
    help="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://… "
    f"[default: {DEFAULT_URL}]",
)


@store.command("upgrade")
@_url_option
@click.option("--revision", default="head", show_default=True)
def upgrade_command(url: str | None, revision: str) -> None:
    """Apply pending migrations (does nothing when the database is current)."""
    url = store_url(url)
    before = asyncio.run(current_revision(url))
    asyncio.run(upgrade(url, revision))
    after = asyncio.run(current_revision(url))
    click.echo(f"{_masked(url)}: {before or 'empty'} -> {after}")


@store.command("current")
@_url_option
def current_command(url: str | None) -> None:
    """Show the revision the database is at."""
    url = store_url(url)
    click.echo(asyncio.run(current_revision(url)) or "empty (no migrations applied)")
