"""The ``ils-gateway`` command line.

Each subcommand lives beside the code it drives; this module only assembles the groups, and
imports a subcommand's module only when that command is run (issue 17: ``ils-gateway --help``
must not load aiohttp, SQLAlchemy, alembic, Redis… to list the commands). A command's module
registers it on its group (``@main.command``, ``@simulate.command``…) when imported; the
tables below name, for each command, that module and the one-line help ``--help`` shows
without importing it (tests/test_cli_startup.py keeps both in step with the commands).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import click

from ils_gateway import __version__


class LazyGroup(click.Group):
    """A group whose subcommands are imported when one is run, not when the group is built.

    ``lazy`` maps a command name to (module that registers it on this group, its short help).
    Asking for the command (running it, its ``--help``) imports the module; the group's own
    ``--help`` lists every command from the table alone.
    """

    def __init__(
        self, *args: object, lazy: Mapping[str, tuple[str, str]] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # click's own signature
        self.lazy: dict[str, tuple[str, str]] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(self.lazy[cmd_name][0])
        return self.commands.get(cmd_name)

    def load_all(self) -> dict[str, click.Command]:
        """Every command of the group, importing the modules not loaded yet (tests, tools)."""
        for name in self.lazy:
            self.get_command(None, name)
        return dict(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:  # not imported: a stand-in carrying the table's help
                command = click.Command(name, help=self.lazy[name][1])
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])


@click.group(
    cls=LazyGroup,
    lazy={
        "contract-test": (
            "ils_gateway.contract.cli",
            "Run the contract checks against a tenant's ILS and e-library; "
            "non-zero exit on failure.",
        ),
        "jobs": (
            "ils_gateway.jobs.cli",
            "List the periodic jobs or run one now (as a Kubernetes CronJob does).",
        ),
        "serve": (
            "ils_gateway.serve",
            "Serve the patron API (embedded simulated library when no --config is given).",
        ),
        "store": (
            "ils_gateway.store.cli",
            "Work with the gateway's own database (SQLite file or PostgreSQL).",
        ),
    },
)
@click.version_option(__version__, prog_name="ils-gateway")
def main() -> None:
    """ils-gateway: one patron API over any library system."""
    import gc

    if not gc.isenabled():  # off while ``run`` imported the command's module
        # What the imports built lives as long as the process: out of the collector's reach
        # first, or the first allocation after ``enable`` walks all of it (a young collection
        # counting every object made since ``disable``: about 0.05 s of ``serve``'s start).
        gc.freeze()
        gc.enable()
    plain_tracebacks()


def run() -> None:
    """The ``ils-gateway`` console script: ``main`` in a process of its own.

    structlog, when first imported, imports rich if it is installed, to render exceptions with
    it (and httpx imports pygments and rich for its command line): about 0.1 s of every
    start-up for something the gateway never uses (it logs plain tracebacks, without local
    variables: ``plain_tracebacks``, ``ils_gateway.logging``). rich is installed only with the
    test tools, never in the image; keep it out of a command started from a development
    environment too (issue 17: start-up).
    Here, not in ``main``: a test process that runs ``main`` may need rich for its own tools.

    The cyclic garbage collector is off while the command's modules are imported (thousands
    of long-lived objects, nothing to collect: about 15 % of the import time); ``main``'s
    callback turns it back on before the command runs, and ``serve`` keeps it off until its
    port is open (``ils_gateway.api.server.serve_app``).

    pydantic looks for plugins (an entry-point scan of every installed distribution, ~5 ms)
    when it builds its first model; the gateway uses none, so ``PYDANTIC_DISABLE_PLUGINS``
    defaults to ``__all__`` here (set it to an empty value to let pydantic load them).
    """
    import gc
    import os
    import sys

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if "structlog" not in sys.modules:
        # (httpx likewise imports pygments and rich for its own command line, when present)
        for unused in ("rich", "pygments"):
            sys.modules.setdefault(unused, None)  # type: ignore[arg-type]  # → ImportError
    gc.disable()
    main()


def plain_tracebacks() -> None:
    """Unless logging is configured already (``serve`` configures its own), log with plain
    tracebacks: structlog's default renderer prints rich ones, with every frame's local
    variables — passwords among them (the simulators log with structlog's defaults)."""
    import structlog  # here, not at the top: ``--help`` and the groups' help need none of it

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


@main.group(
    cls=LazyGroup,
    lazy={
        "elibrary": (
            "ils_gateway.simulators.elibrary_cli",
            "Serve the KinoDen-style e-library API of docs/elibrary-api.md.",
        ),
        "folio": (
            "ils_gateway.simulators.folio_cli",
            "Serve FOLIO's circulation APIs (through an Okapi-like gateway) over the simulated "
            "library's Japanese sample data.",
        ),
        "koha": (
            "ils_gateway.simulators.koha_cli",
            "Serve Koha's REST API (v1 subset) over the simulated library's Japanese sample data.",
        ),
        "sip2": (
            "ils_gateway.simulators.sip2_cli",
            "Serve SIP2 2.00 over TCP from the simulated library's Japanese sample data.",
        ),
    },
)
def simulate() -> None:
    """Run a simulated backend (SIP2 ILS, Koha REST, FOLIO, e-library) for demos and tests."""


@main.group(
    cls=LazyGroup,
    lazy={
        "check": (
            "ils_gateway.runtime.config_check",
            "Validate tenant file(s) at PATH; exit 1 naming each bad key and its problem.",
        ),
        "show": (
            "ils_gateway.runtime.config_show",
            "Print the effective settings (secrets masked), where each came from, and the tenants.",
        ),
    },
)
def config() -> None:
    """Work with tenant configuration files and the settings."""


@main.group(
    cls=LazyGroup,
    lazy={
        "drain": (
            "ils_gateway.runtime.mail_cli",
            "Send the due mails once (claims, retries and leases as serve's drain); exit 1 when"
            " a mail failed for good.",
        ),
        "failed": (
            "ils_gateway.runtime.mail_cli",
            "List the mails given up on (newest first), with their last error.",
        ),
        "retry": (
            "ils_gateway.runtime.mail_cli",
            "Queue failed mail(s) again: one by ID, or --all-failed; attempts start over.",
        ),
        "status": (
            "ils_gateway.runtime.mail_cli",
            "Count the outbox's mails by tenant and status.",
        ),
    },
)
def mail() -> None:
    """Work with the patron mail outbox (status, failed mails, retries, a drain run)."""
