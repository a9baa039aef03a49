"""The pytest plugin that prints progress and the table of checks, and what it reads.

The CLI runs pytest with pytest's own terminal output off and this plugin on: one progress
line per check as it ends, then a table (result, check, why: the skip reason or the
backend's own words), then the changes write checks could not undo. JUnit XML comes from
pytest's ``--junitxml``; the backend's words are also a ``backend_said`` property there.
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ils_gateway.contract.undo import UndoLog

if TYPE_CHECKING:  # pytest is the test extra's: imported only when a contract run starts
    import pytest


@functools.cache
def undo_log_key() -> pytest.StashKey[UndoLog]:
    """Where the suite's fixtures leave the undo log in ``config.stash``."""
    import pytest

    return pytest.StashKey[UndoLog]()


@functools.cache
def target_description_key() -> pytest.StashKey[str]:
    """Where the checks run (backend kind and address, no secret), once the target is open."""
    import pytest

    return pytest.StashKey[str]()


# Checks run (and are listed) in this order of their modules: login first, writes last.
AREAS = (
    "login",
    "patron",
    "loans",
    "holds",
    "fees",
    "libraries",
    "items",
    "capabilities",
    "elibrary",
    "writes",
    "elibrary_writes",
)


def area_of(nodeid: str) -> str:
    """The area of a check: its module name without ``test_contract_``."""
    module = Path(nodeid.split("::", 1)[0]).stem
    return module.removeprefix("test_contract_")


def check_order(item: pytest.Item) -> int:
    """Sort key putting checks in ``AREAS`` order (stable within a module)."""
    area = area_of(item.nodeid)
    return AREAS.index(area) if area in AREAS else len(AREAS)


class Result(StrEnum):
    """How one check ended."""

    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"
    ERROR = "ERROR"


@dataclass
class CheckOutcome:
    """One row of the table."""

    nodeid: str
    title: str
    description: str = ""
    result: Result = Result.PASS
    why: str = ""


def _title(item: pytest.Item) -> str:
    """A short name for the table: ``loans/well_formed``, ``capabilities/renew``."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        return f"{area_of(item.nodeid)}/{callspec.id}"
    name = getattr(item, "originalname", item.name).removeprefix("test_")
    return f"{area_of(item.nodeid)}/{name.removeprefix(area_of(item.nodeid) + '_')}"


def _description(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    return doc.strip().splitlines()[0].rstrip(".") if doc.strip() else ""


def _why(report: pytest.TestReport) -> str:
    said = [value for name, value in report.user_properties if name == "backend_said"]
    if said:
        return str(said[-1])
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0]
    return str(longrepr or "").strip().splitlines()[-1:][0] if longrepr else ""


class ContractReporter:
    """pytest plugin: progress lines while the suite runs, then the table of checks."""

    def __init__(self, out: TextIO, *, width: int = 100) -> None:
        self._out = out
        self._width = width
        self.outcomes: dict[str, CheckOutcome] = {}
        self.undo: UndoLog | None = None
        self._total = 0
        self._done = 0
        self.target: str | None = None
        self.collection_errors: list[str] = []
        self._config: pytest.Config | None = None

    def _print(self, text: str = "") -> None:
        print(text, file=self._out, flush=True)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._config = session.config
        for item in session.items:
            self.outcomes[item.nodeid] = CheckOutcome(item.nodeid, _title(item), _description(item))
        self._total = len(session.items)
        self._print(f"Running {self._total} contract checks")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext.strip()}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup" and self.target is None and self._config is not None:
            # The target is opened by the first check's fixtures: say once where the run goes.
            self.target = self._config.stash.get(target_description_key(), None)
            if self.target is not None:
                self._print(f"Target: {self.target}")
        outcome = self.outcomes.setdefault(
            report.nodeid, CheckOutcome(report.nodeid, report.nodeid)
        )
        if report.skipped and outcome.result is Result.PASS:
            outcome.result, outcome.why = Result.SKIP, _why(report)
        elif report.failed:
            if report.when == "call":
                outcome.result, outcome.why = Result.FAIL, _why(report)
            elif outcome.result is not Result.FAIL:
                # setup or teardown (e.g. an undo) went wrong
                outcome.result, outcome.why = Result.ERROR, f"{report.when}: {_why(report)}"
        if report.when == "teardown":
            self._done += 1
            width = len(str(self._total))
            self._print(
                f"[{self._done:>{width}}/{self._total}] {outcome.result:<5} {outcome.title}"
            )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.undo = session.config.stash.get(undo_log_key(), None)
        self._print()
        if self.target is not None:
            self._print(f"Checked: {self.target}")
        self._print(self.table())
        for error in self.collection_errors:
            self._print(f"could not load checks: {error}")
        if self.undo is not None and self.undo.not_undone:
            self._print()
            self._print("Changes the suite could not undo (put them right by hand):")
            for change in self.undo.not_undone:
                note = f" ({change.note})" if change.note else ""
                self._print(f"  - {change.check}: {change.what}{note}")

    def counts(self) -> dict[Result, int]:
        """How many checks ended each way."""
        counts = dict.fromkeys(Result, 0)
        for outcome in self.outcomes.values():
            counts[outcome.result] += 1
        return counts

    def table(self) -> str:
        """The table of checks, one row each, long reasons wrapped under the row."""
        rows = list(self.outcomes.values())
        name_width = min(max((len(r.title) for r in rows), default=5), 40)
        lines = [f"{'RESULT':<6} {'CHECK':<{name_width}}  WHY", "-" * self._width]
        indent = " " * (7 + name_width + 2)
        for row in rows:
            why = textwrap.wrap(row.why, max(20, self._width - len(indent))) or [""]
            lines.append(f"{row.result:<6} {row.title:<{name_width}}  {why[0]}".rstrip())
            lines.extend(indent + more for more in why[1:])
        counts = self.counts()
        lines.append("-" * self._width)
        lines.append(
            ", ".join(
                f"{counts[r]} {r.value.lower()}" for r in Result if counts[r] or r is Result.PASS
            )
        )
        return "\n".join(lines)
