"""Loans: every field the contract promises is there and well typed, in canonical words."""

from __future__ import annotations

from datetime import date

from ils_gateway.contract.session import ContractSession
from ils_gateway.contract.titles import title_problem
from ils_gateway.domain.models import Loan, Patron
from ils_gateway.domain.vocab import LoanState, RefusalReason


def _problems(loan: Loan) -> list[str]:
    where = f"loan {loan.id!r}"
    problems: list[str] = []
    # Re-validating catches models built around pydantic (model_construct) with bad values.
    Loan.model_validate(loan.model_dump())
    if not loan.id:
        problems.append("a loan has no id")
    if not isinstance(loan.due_date, date):
        problems.append(f"{where}: due date {loan.due_date!r} is not a date")
    if not isinstance(loan.state, LoanState):
        problems.append(f"{where}: state {loan.state!r} is not canonical")
    if not loan.item.id:
        problems.append(f"{where}: item has no id")
    if (title := title_problem(loan.item)) is not None:
        problems.append(f"{where}: item {title}")
    if loan.renewable is False and not isinstance(loan.refusal_reason, RefusalReason):
        problems.append(f"{where}: not renewable, but no reason given")
    if loan.renewable is None and loan.renewable_unknown is None:
        problems.append(f"{where}: renewability unknown, but not why")
    if loan.state is LoanState.OVERDUE and loan.days_overdue == 0:
        problems.append(f"{where}: overdue with days_overdue 0")
    return problems


def test_loans_well_formed(contract: ContractSession, patron: Patron) -> None:
    """Every loan has an id, an item id and title, a due date and a canonical state"""
    loans = contract.run(contract.target.ils.list_loans(patron))
    problems = [p for loan in loans for p in _problems(loan)]
    assert not problems, "; ".join(problems)


def test_loan_renewability_has_reason(contract: ContractSession, patron: Patron) -> None:
    """A loan that cannot be renewed says why, in a canonical reason (one whose renewability
    the backend does not give, e.g. plain SIP2 with no renewal count, says that instead)"""
    loans = contract.run(contract.target.ils.list_loans(patron))
    missing = [
        loan.id
        for loan in loans
        if loan.renewable is False and not isinstance(loan.refusal_reason, RefusalReason)
    ]
    assert not missing, f"not renewable without a reason: {', '.join(missing)}"
