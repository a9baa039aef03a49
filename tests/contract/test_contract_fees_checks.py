"""The contract suite's fees checks: they pass on the demo for a patron who owes money, and
fail when the listed charges do not add up to the total."""

from __future__ import annotations

import io

import pytest

from ils_gateway.contract.report import ContractReporter, Result
from ils_gateway.contract.runner import SUITE, ContractRun, pytest_args
from ils_gateway.contract.target import ContractOptions
from ils_gateway.simulators import library as simulated
from ils_gateway.simulators.outcomes import FeeView

KEIKO = ("1000000011", "keiko011")  # owes 1650 yen (sample data)
CHECKS = {"test_fees_total_matches_the_patron_summary", "test_fee_items_add_up_to_the_total"}


def _run() -> tuple[ContractRun, str]:
    """The suite's fees checks only (the rest run in test_contract_suite), as the CLI runs
    them: in-process pytest with the reporter plugin."""
    out = io.StringIO()
    options = ContractOptions(config=None, patron=KEIKO[0], password=KEIKO[1])
    args = pytest_args(options)
    args[0] = str(SUITE / "test_contract_fees.py")
    reporter = ContractReporter(out)
    code = pytest.main(args, plugins=[reporter])
    return ContractRun(int(code), reporter.outcomes), out.getvalue()


def _names(run: ContractRun, *results: Result) -> set[str]:
    found: set[str] = set()
    for result in results:
        found |= {name.split("::")[-1] for name in run.by_result(result)}
    return found


def test_fees_checks_pass_for_a_patron_who_owes() -> None:
    run, text = _run()
    assert CHECKS <= _names(run, Result.PASS), text


def test_items_that_do_not_add_up_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def short(fee: FeeView) -> str:  # an ACS that lists less than BV says is owed
        return f"{fee.description} {fee.outstanding - 100:.2f}"

    monkeypatch.setattr(simulated, "_fine_item", short)
    run, text = _run()
    failed = _names(run, Result.FAIL, Result.ERROR)
    assert "test_fee_items_add_up_to_the_total" in failed, text
    assert "test_fees_total_matches_the_patron_summary" not in failed, text
