"""Patron summary: the same patron, with counts that agree with the lists."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.base import Capability
from ils_gateway.contract.session import ContractSession
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.models import Patron


def test_patron_summary(contract: ContractSession, patron: Patron) -> None:
    """The summary is the logged-in patron"""
    if not contract.target.ils.capabilities.supports(Capability.PATRON_SUMMARY):
        pytest.skip("the backend declares no patron summary")
    summary = contract.run(contract.target.ils.patron_summary(patron))
    Patron.model_validate(summary.model_dump())
    assert summary.id == patron.id, f"summary is patron {summary.id!r}, logged in as {patron.id!r}"
    assert summary.card_number == patron.card_number, "summary has another card number"


def test_summary_counts_match_lists(contract: ContractSession, patron: Patron) -> None:
    """Loan and hold counts in the summary match the loan and hold lists"""
    ils = contract.target.ils
    summary = contract.run(ils.patron_summary(patron))
    try:
        loans = contract.run(ils.list_loans(patron))
        holds = contract.run(ils.list_holds(patron))
    except GatewayError as error:
        pytest.skip(f"the lists cannot be read (see the loans and holds checks): {error.detail}")
    active = [h for h in holds if h.status.is_active]
    ready = [h for h in active if h.status.value == "ready"]
    problems = []
    if summary.loans_count != len(loans):
        problems.append(f"loans_count {summary.loans_count} but {len(loans)} loans listed")
    if summary.holds_count and summary.holds_count != len(active):
        problems.append(f"holds_count {summary.holds_count} but {len(active)} active holds listed")
    if summary.holds_ready_count and summary.holds_ready_count != len(ready):
        problems.append(
            f"holds_ready_count {summary.holds_ready_count} but {len(ready)} ready holds listed"
        )
    assert not problems, "; ".join(problems)
