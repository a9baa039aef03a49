"""The gateway runs without the test extras: no module it imports needs pytest & co.

A subprocess hides the test-only packages (the ``test`` extra of pyproject.toml) and imports
every module of the package except the contract suite's pytest plugin, which only a contract
run loads; then it runs the command line's help.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Import names of the ``test`` extra's packages.
TEST_ONLY = (
    "pytest",
    "_pytest",
    "pytest_asyncio",
    "pytest_aiohttp",
    "hypothesis",
    "respx",
    "jsonschema",
    "yaml",
    "pysip2",
    "sip2",
    "looptime",
    "kubernetes_validate",
    "aiosmtpd",
)
# Not imported as modules by the gateway: the contract suite's pytest plugin (only a contract
# run loads it) and the migration scripts (alembic runs them, inside its own context).
PYTEST_PLUGINS = ("ils_gateway.contract.report", "ils_gateway.store.migrations.")

SCRIPT = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    class Hide:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {hidden!r}:
                raise ModuleNotFoundError(f"test-only package imported: {{name}}")
            return None

    for name in list(sys.modules):
        if name.split(".")[0] in {hidden!r}:
            del sys.modules[name]
    sys.meta_path.insert(0, Hide())

    import ils_gateway
    for module in pkgutil.walk_packages(ils_gateway.__path__, "ils_gateway."):
        if not module.name.startswith({plugins!r}):
            importlib.import_module(module.name)

    from ils_gateway.cli import main
    for args in (["--help"], ["simulate", "--help"], ["contract-test", "--help"]):
        try:
            main(args)
        except SystemExit as done:
            assert done.code == 0, (args, done.code)
    print("ok")
    """
).format(hidden=TEST_ONLY, plugins=PYTEST_PLUGINS)


def test_every_runtime_module_imports_without_the_test_extras() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.rstrip().endswith("ok")


def test_no_module_of_the_gateway_imports_pytest() -> None:
    """The installed gateway needs only its runtime dependencies: pytest (the test extra) is
    imported only when a contract run starts, not by importing any module of the package."""
    import subprocess
    import sys

    script = (
        "import importlib, pkgutil, sys\n"
        "import ils_gateway\n"
        "for m in pkgutil.walk_packages(ils_gateway.__path__, 'ils_gateway.'):\n"
        "    if not m.name.startswith('ils_gateway.store.migrations.'):  # alembic runs those\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n == 'pytest' or n.startswith('_pytest')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
