"""Patron summary: the same patron, with counts that agree with the lists."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.base import Capability
from ils_gateway.contract.session import ContractSession
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import HoldStatus


def test_patron_summary(contract: ContractSession, patron: Patron) -> None:
    """The summary is the logged-in patron"""
    if not contract.target.ils.capabilities.supports(Capability.PATRON_SUMMARY):
        pytest.skip("the backend declares no patron summary")
    summary = contract.run(contract.target.ils.patron_summary(patron))
    Patron.model_validate(summary.model_dump())
    assert summary.id == patron.id, f"summary is patron {summary.id!r}, logged in as {patron.id!r}"
    assert summary.card_number == patron.card_number, "summary has another card number"


def test_summary_counts_match_lists(contract: ContractSession, patron: Patron) -> None:
    """Loan, overdue, hold and ready-hold counts at login and in the summary match the lists"""
    ils = contract.target.ils
    try:
        loans = contract.run(ils.list_loans(patron))
        holds = contract.run(ils.list_holds(patron))
    except GatewayError as error:
        pytest.skip(f"the lists cannot be read (see the loans and holds checks): {error.detail}")
    answers = {"login": patron}
    if ils.capabilities.supports(Capability.PATRON_SUMMARY):
        answers["summary"] = contract.run(ils.patron_summary(patron))
    active = [h for h in holds if h.status.is_active]
    listed = {
        "loans_count": (len(loans), "loans"),
        "overdue_count": (sum(1 for loan in loans if loan.overdue), "overdue loans"),
        "holds_count": (len(active), "active holds"),
        "holds_ready_count": (
            sum(1 for h in active if h.status is HoldStatus.READY),
            "ready holds",
        ),
    }
    # Every count, zero included: a summary saying 0 while the lists are full is the fault.
    problems = [
        f"{source}: {field} {getattr(answer, field)} but {count} {what} listed"
        for source, answer in answers.items()
        for field, (count, what) in listed.items()
        if getattr(answer, field) != count
    ]
    assert not problems, "; ".join(problems)
