"""The command line imports only what the command run needs (issue 17).

``ils-gateway --help`` and the groups' help list the commands from ``ils_gateway.cli``'s tables
without importing the commands' modules; these tests check that in a fresh interpreter (what
``sys.modules`` holds afterwards), and that the tables name every command with its own help.
Not timed: ``benchmarks/startup.py`` measures.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest

import ils_gateway
from ils_gateway.cli import LazyGroup, config, mail, main, simulate

# Top-level packages no help screen needs (the web server, the database and its migrations,
# Redis, crypto, validation, HTTP client, structured logging and its pretty printer, the tests).
HEAVY = (
    "aiohttp",
    "alembic",
    "sqlalchemy",
    "redis",
    "cryptography",
    "nacl",
    "pydantic",
    "httpx",
    "structlog",
    "rich",
    "pytest",
    "_pytest",
    "jinja2",
    "aiosmtplib",
)

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from ils_gateway.cli import main
    try:
        main({args!r}, prog_name="ils-gateway")
    except SystemExit as done:
        assert done.code == 0, done.code
    print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
    """
)


def _top_level_modules_after(args: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(args=args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_and_its_help_load_nothing_heavy() -> None:
    loaded = _top_level_modules_after(["--help"])
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    gateway = _own_modules_after(["--help"])
    assert gateway == {"ils_gateway", "ils_gateway.cli"}


@pytest.mark.parametrize("group", ["simulate", "config", "store", "mail", "jobs"])
def test_a_group_help_loads_only_its_own_modules(group: str) -> None:
    # The group's callback (plain tracebacks) runs first: structlog may load; nothing else.
    loaded = _top_level_modules_after([group, "--help"])
    heavy = set(HEAVY) - {"structlog", "rich"}
    if group == "store":  # the store group's module is the store's command line
        heavy -= {"sqlalchemy", "alembic", "pydantic", "cryptography", "nacl"}
    assert not loaded & heavy, sorted(loaded & heavy)


def _own_modules_after(args: list[str]) -> set[str]:
    script = SCRIPT.replace(
        'name.split(".")[0] for name in sys.modules',
        'name for name in sys.modules if name.startswith("ils_gateway")',
    )
    result = subprocess.run(
        [sys.executable, "-c", script.format(args=args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "group", [main, simulate, config, mail], ids=["main", "simulate", "config", "mail"]
)
def test_the_tables_name_every_command_with_its_own_help(group: LazyGroup) -> None:
    # Import every module, so that a command registered by a module missing from the table
    # shows up (the contract suite's pytest plugin and the migration scripts are not modules
    # the command line loads).
    for module in pkgutil.walk_packages(ils_gateway.__path__, "ils_gateway."):
        if not module.name.startswith(
            ("ils_gateway.contract.report", "ils_gateway.store.migrations.")
        ):
            importlib.import_module(module.name)
    commands = group.load_all()
    groups_here = {name for name, cmd in commands.items() if isinstance(cmd, LazyGroup)}
    assert set(commands) == set(group.lazy) | groups_here
    for name, (_, short_help) in group.lazy.items():
        assert commands[name].get_short_help_str(10_000) == short_help, name


def test_help_lists_every_command_as_click_would() -> None:
    from click.testing import CliRunner

    lazy_help = CliRunner().invoke(main, ["--help"], prog_name="ils-gateway").output
    eager = click.Group("ils-gateway", commands=main.load_all(), help=main.help)
    eager.params = main.params
    assert CliRunner().invoke(eager, ["--help"], prog_name="ils-gateway").output == lazy_help


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "ils-gateway"),
                "serve",
                "--port",
                str(port),
                # A tenant without a kiosk SIP2 face: the demo's listens on the fixed 6011,
                # which another gateway on this machine may hold.
                "--config",
                str(Path(__file__).resolve().parents[1] / "examples/tenants/kanagawa.toml"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,  # the default store: ./var/ils-gateway.sqlite3
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ils-gateway serve: ")
    assert str(port) in last and "address already in use" in last


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--trusted-proxy", "not-an-address"], {}, "not an address or CIDR: 'not-an-address'"),
        ([], {"ILS_GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8, nope"}, "'nope'"),
        (["--port", "eighty"], {}, "'eighty' is not a valid integer"),
    ],
)
def test_a_bad_setting_is_one_line_and_a_non_zero_exit(
    args: list[str], env: dict[str, str], says: str
) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["serve", *args], env=env)
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert says in result.output


def test_a_busy_kiosk_face_port_is_one_line_too(tmp_path: Path) -> None:
    """The demo tenant's kiosk SIP2 face listens on 127.0.0.1:6011; when that is taken, start-up
    fails after the runtime started, and what started is closed without a traceback."""
    import fcntl
    import socket

    with open(Path("/tmp") / "ils-gateway-demo-kiosk-6011.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the lock test_packaging's demo server takes
        with socket.socket() as taken:
            try:
                taken.bind(("127.0.0.1", 6011))
            except OSError:
                pytest.skip("127.0.0.1:6011 is held by another process")
            taken.listen()
            with socket.socket() as free:
                free.bind(("127.0.0.1", 0))
                port = free.getsockname()[1]
            result = subprocess.run(
                [str(Path(sys.executable).parent / "ils-gateway"), "serve", "--port", str(port)],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp_path,
            )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ils-gateway serve: ") and "6011" in last


# Packages a gateway start does not need before its first use of them: migrations (only when
# the store is behind), metrics (the first count), card barcodes (the first card drawn), the
# PostgreSQL dialect (a PostgreSQL store), SQLAlchemy's ORM (never: the store is Core only),
# Japanese holidays (the first calendar day asked for).
# Mail (templates, SMTP) only when a message is sent. The Koha and FOLIO adapters for a tenant
# on them (the new-arrival feeds' module, which imports both, at the feeds' first run).
LATER = (
    "alembic",
    "prometheus_client",
    "barcode",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.orm",
    "holidays",
    "jinja2",
    "aiosmtplib",
    "ils_gateway.adapters.arrivals",
    "ils_gateway.adapters.koha",
    "ils_gateway.adapters.folio",
)


def test_importing_serve_leaves_rarely_used_packages_for_later() -> None:
    script = (
        "import json, sys\n"
        "import ils_gateway.serve, ils_gateway.api.app, ils_gateway.runtime.demo\n"
        f"print(json.dumps([name for name in {LATER!r} if name in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_console_script_keeps_rich_out_and_collects_again_before_the_command() -> None:
    """``ils-gateway`` (``cli.run``): structlog finds no rich to import (nor pygments), though
    the development environment has it; the collector, off while the command's module is
    imported, is on again when the command runs, with what the imports built frozen out of its
    reach (else its first young collection walks every object made since it was turned off);
    pydantic built the models the imports made without scanning for plugins."""
    script = (
        "import gc, json, sys\n"
        "from ils_gateway import cli\n"
        "seen = {}\n"
        "@cli.main.command('probe')\n"
        "def probe():\n"
        "    import ils_gateway.serve, ils_gateway.api.app, ils_gateway.runtime.demo\n"
        "    seen['gc'] = gc.isenabled()\n"
        "    seen['frozen'] = gc.get_freeze_count() > 1000\n"
        "    from pydantic.plugin import _loader\n"
        "    seen['plugins scanned'] = _loader._plugins is not None\n"
        "sys.argv = ['ils-gateway', 'probe']\n"
        "try:\n"
        "    cli.run()\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "loaded = [m for m in ('rich', 'pygments') if sys.modules.get(m) is not None]\n"
        "print(json.dumps([loaded, seen['gc'], seen['frozen'], seen['plugins scanned']]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [[], True, True, False]


# What the demo ``serve`` has not imported when it first answers /healthz 200: LATER (but
# prometheus_client, which that request's own count imports), the ORM, and what it leaves
# until after that answer or until first used: the job scheduler (``jobs_context(start_delay=
# …)``) and httpx's transport (the e-library and catalogue clients are made at their first
# request).
NOT_BEFORE_HEALTHZ = (
    *(name for name in LATER if name != "prometheus_client"),
    "sqlalchemy.orm",
    "apscheduler",
    "httpcore",
    "anyio",
    "h11",
)

SERVE_UNTIL_HEALTHZ = textwrap.dedent(
    """
    import json, os, signal, sys, threading, time, urllib.request
    port, out = int(sys.argv[1]), sys.argv[2]

    def poll():
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.01)  # (the server is starting)
        loaded = {name: name in sys.modules for name in %r}
        with open(out, "w") as f:
            json.dump(loaded, f)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=poll, daemon=True).start()
    sys.argv = ["ils-gateway", "serve", "--host", "127.0.0.1", "--port", str(port)]
    from ils_gateway import cli
    cli.run()
    """
)


def test_serve_answers_healthz_before_importing_what_it_leaves_for_later(tmp_path: Path) -> None:
    """The console script's ``serve`` (the demo) at its first /healthz 200: none of
    ``NOT_BEFORE_HEALTHZ`` imported. (The poller runs in the server's process: urllib is its
    own, and it reads ``sys.modules`` only for the names above.)"""
    import fcntl
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    script = SERVE_UNTIL_HEALTHZ % (NOT_BEFORE_HEALTHZ,)
    with open(Path("/tmp") / "ils-gateway-demo-kiosk-6011.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the demo's kiosk face listens on 6011
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", 6011))
            except OSError:
                pytest.skip("127.0.0.1:6011 is held by another process")
        # The first start creates the store (migrations: alembic), the second opens it.
        for out in (tmp_path / "first.json", tmp_path / "loaded.json"):
            result = subprocess.run(
                [sys.executable, "-c", script, str(port), out],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp_path,
            )
            assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(out.read_text())
    assert [name for name, present in loaded.items() if present] == []
