"""``ils-gateway contract-test``: does this tenant's backend still honour the contract?"""

from __future__ import annotations

from pathlib import Path

import click

from ils_gateway.cli import main
from ils_gateway.contract.runner import run_contract_suite
from ils_gateway.contract.target import ContractOptions


@main.command("contract-test")
@click.option(
    "--config",
    type=click.Path(exists=True, path_type=Path),
    help="Tenant TOML file. Default: the embedded demo on the project's simulators.",
)
@click.option("--tenant", help="Tenant id in --config (needed when the file has several).")
@click.option("--patron", metavar="CARD", help="Card number of a test patron.")
@click.option(
    "--password",
    envvar="ILS_GATEWAY_CONTRACT_PASSWORD",
    help="The test patron's password (or $ILS_GATEWAY_CONTRACT_PASSWORD).",
)
@click.option(
    "--item",
    "items",
    multiple=True,
    metavar="BARCODE",
    help="A test item (repeat): the first is held, the last checked out and in.",
)
@click.option(
    "--ebook",
    "ebooks",
    multiple=True,
    metavar="TITLE",
    help="An e-library title id (repeat): the first is held (all copies out), the last borrowed.",
)
@click.option(
    "--allow-writes",
    is_flag=True,
    help="Also renew, place/change/cancel a hold, check out/in, hold and borrow an e-book; "
    "each undone afterwards.",
)
@click.option("--unknown-card", help="A card number the ILS certainly does not know.")
@click.option(
    "--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here."
)
def contract_test(
    config: Path | None,
    tenant: str | None,
    patron: str | None,
    password: str | None,
    items: tuple[str, ...],
    ebooks: tuple[str, ...],
    allow_writes: bool,
    unknown_card: str | None,
    junit: Path | None,
) -> None:
    """Run the contract checks against a tenant's ILS and e-library; non-zero exit on failure."""
    if bool(patron) != bool(password):
        raise click.UsageError("--patron and --password go together")
    where = f"{config} tenant {tenant or '(only one)'}" if config else "embedded demo"
    click.echo(f"ils-gateway contract tests: {where}{' (writes allowed)' if allow_writes else ''}")
    options = ContractOptions(
        config=config,
        tenant=tenant,
        patron=patron,
        password=password,
        items=items,
        allow_writes=allow_writes,
        unknown_card=unknown_card,
        ebooks=ebooks,
    )
    run = run_contract_suite(options, junit=junit)
    if junit is not None:
        click.echo(f"JUnit XML written to {junit}")
    raise SystemExit(run.exit_code)
