"""Run the contract suite in-process: ``pytest.main`` with the reporter plugin.

pytest's own terminal output is switched off (the reporter prints instead) and the
repository's ``addopts`` are cleared so the run does not depend on the caller's directory.

pytest is imported only when a run starts: the gateway itself (``serve``, ``simulate``) runs
without the test extras installed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ils_gateway.contract.target import ContractOptions

if TYPE_CHECKING:
    from ils_gateway.contract.report import CheckOutcome, Result

# The suite lives beside the package in the repository (contract_tests/ at the top).
SUITE = Path(__file__).resolve().parents[3] / "contract_tests"


@dataclass(frozen=True)
class ContractRun:
    """The outcome of one run: pytest's exit code and every check's row."""

    exit_code: int
    outcomes: dict[str, CheckOutcome]

    def by_result(self, result: Result) -> set[str]:
        """Node ids (``file::test[param]`` without the directory) that ended as ``result``."""
        return {Path(k).name for k, v in self.outcomes.items() if v.result is result}


def pytest_args(options: ContractOptions, junit: Path | None = None) -> list[str]:
    """The pytest command line for ``options``."""
    args = [str(SUITE), "-p", "no:cacheprovider", "-p", "no:terminal", "-o", "addopts="]
    args += ["--rootdir", str(SUITE), "-o", "asyncio_default_fixture_loop_scope=function"]
    if options.config is not None:
        args += ["--config", str(options.config)]
    if options.tenant:
        args += ["--tenant", options.tenant]
    if options.patron:
        args += ["--patron", options.patron]
    if options.password:
        args += ["--password", options.password]
    for item in options.items:
        args += ["--item", item]
    if options.allow_writes:
        args.append("--allow-writes")
    if options.unknown_card:
        args += ["--unknown-card", options.unknown_card]
    for title_id in options.ebooks:
        args += ["--ebook", title_id]
    if junit is not None:
        args += ["--junitxml", str(junit)]
    return args


def run_contract_suite(
    options: ContractOptions, *, junit: Path | None = None, out: TextIO | None = None
) -> ContractRun:
    """Run every contract check against ``options``'s target, printing progress to ``out``."""
    if not SUITE.is_dir():
        raise FileNotFoundError(f"contract suite not found at {SUITE}")
    # ``cli.run`` keeps rich and pygments out of the gateway's commands (start-up); pytest's
    # terminal writer needs pygments, so a contract run lets them be imported again.
    for blocked in ("rich", "pygments"):
        if blocked in sys.modules and sys.modules[blocked] is None:
            del sys.modules[blocked]
    import pytest  # the test extra: only a contract run needs it

    from ils_gateway.contract.report import ContractReporter

    reporter = ContractReporter(out or sys.stdout)
    code = pytest.main(pytest_args(options, junit), plugins=[reporter])
    return ContractRun(int(code), reporter.outcomes)
