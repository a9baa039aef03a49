"""Fines and fees: the account is the patron's, in whole yen, and its total is the summary's."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.base import Capability
from ils_gateway.contract.session import ContractSession
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.fees import FeeAccount
from ils_gateway.domain.models import Patron


def _account(contract: ContractSession, patron: Patron) -> FeeAccount:
    ils = contract.target.ils
    if not ils.capabilities.supports(Capability.LIST_FEES):
        pytest.skip("the backend declares no fee listing")
    return contract.run(ils.list_fees(patron))


def test_fees_total_matches_the_patron_summary(contract: ContractSession, patron: Patron) -> None:
    """The fees total is what the patron summary (and the login) say is owed"""
    account = _account(contract, patron)
    FeeAccount.model_validate(account.model_dump())
    answers = {"login": patron}
    ils = contract.target.ils
    if ils.capabilities.supports(Capability.PATRON_SUMMARY):
        try:
            answers["summary"] = contract.run(ils.patron_summary(patron))
        except GatewayError as error:
            pytest.skip(f"the summary cannot be read (see the patron checks): {error.detail}")
    said = {source: p.fees_owed for source, p in answers.items() if p.fees_owed is not None}
    if not said:
        pytest.skip("neither the login nor the summary says what is owed (only the fees list)")
    problems = [
        f"{source} says {owed} yen owed, the fees list totals {account.total}"
        for source, owed in said.items()
        if owed != account.total
    ]
    assert not problems, "; ".join(problems)


def test_fee_items_add_up_to_the_total(contract: ContractSession, patron: Patron) -> None:
    """The listed fines and fees add up to the backend's total, each a positive amount"""
    account = _account(contract, patron)
    assert all(fee.amount > 0 for fee in account.fees), "a listed charge owes nothing"
    assert account.unreadable == 0, f"{account.unreadable} charge(s) could not be read"
    assert account.items_match, (
        f"charges listed total {account.items_total} yen (credit {account.credit}), "
        f"the backend's total is {account.total}"
    )
