"""Item lookup: named (or borrowed) items are found by id; an unknown one is not found."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.base import Capability
from ils_gateway.contract.session import ContractSession
from ils_gateway.contract.titles import title_problem
from ils_gateway.domain.errors import GatewayError, NotFound
from ils_gateway.domain.models import Item

NO_SUCH_ITEM = "CONTRACT-TEST-NO-SUCH-ITEM-0000"


def _needs_item_lookup(contract: ContractSession) -> None:
    if not contract.target.ils.capabilities.supports(Capability.GET_ITEM):
        pytest.skip("the backend declares no item lookup")


def _sample_ids(contract: ContractSession) -> list[str]:
    target = contract.target
    if target.items:
        return list(target.items)
    login = contract.login() if target.has_patron else None
    if login is None or isinstance(login, GatewayError):
        return []
    try:
        loans = contract.run(target.ils.list_loans(login))
    except GatewayError:
        return []
    return [loan.item.id for loan in loans[:3]]


def test_item_lookup(contract: ContractSession) -> None:
    """Items named with --item (or the test patron's borrowed items) are found, with a title"""
    _needs_item_lookup(contract)
    ids = _sample_ids(contract)
    if not ids:
        pytest.skip("no item to look up (give --item BARCODE, or a patron with loans)")
    problems = []
    for item_id in ids:
        item = contract.run(contract.target.ils.get_item(item_id))
        Item.model_validate(item.model_dump())
        if item.id != item_id:
            problems.append(f"asked for item {item_id!r}, got {item.id!r}")
        if (title := title_problem(item)) is not None:
            problems.append(f"item {item_id!r} {title}")
    assert not problems, "; ".join(problems)


def test_unknown_item_not_found(contract: ContractSession) -> None:
    """An item id the library does not have is reported as not found"""
    _needs_item_lookup(contract)
    with pytest.raises(NotFound):
        contract.run(contract.target.ils.get_item(NO_SUCH_ITEM))
