"""The ``ils-gateway`` command line.

Each subcommand lives beside the code it drives; this module only assembles the group.
"""

from __future__ import annotations

import click
import structlog

from ils_gateway import __version__


@click.group()
@click.version_option(__version__, prog_name="ils-gateway")
def main() -> None:
    """ils-gateway: one patron API over any library system."""
    plain_tracebacks()


def plain_tracebacks() -> None:
    """Unless logging is configured already (``serve`` configures its own), log with plain
    tracebacks: structlog's default renderer prints rich ones, with every frame's local
    variables — passwords among them (the simulators log with structlog's defaults)."""
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.processors.format_exc_info,
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ]
    )


@main.group()
def simulate() -> None:
    """Run a simulated backend (SIP2 ILS, Koha REST, FOLIO, e-library) for demos and tests."""


@main.group()
def config() -> None:
    """Work with tenant configuration files."""


# Subcommands register themselves on the groups above when their modules are imported.
# Keep this list to one import per module.
def _register() -> None:
    import importlib

    for module in _COMMAND_MODULES:
        importlib.import_module(module)


_COMMAND_MODULES: list[str] = [
    "ils_gateway.runtime.config_check",
    "ils_gateway.store.cli",
    "ils_gateway.simulators.elibrary_cli",
    "ils_gateway.simulators.koha_cli",
    "ils_gateway.simulators.folio_cli",
    "ils_gateway.simulators.sip2_cli",
    "ils_gateway.serve",
    "ils_gateway.contract.cli",
]

_register()
