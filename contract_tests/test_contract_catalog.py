"""Catalogue search (issue 19): a search answers in shape, and a record's copies agree with the
library system's own item information and with the patron's loans."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.catalog.port import CatalogSource
from ils_gateway.contract.session import ContractSession
from ils_gateway.domain.catalog import CatalogQuery, Copy, normalise
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.models import Item, Loan
from ils_gateway.domain.vocab import CopyStatus


def _catalog(contract: ContractSession) -> CatalogSource:
    catalog = contract.target.catalog
    if catalog is None:
        pytest.skip("the tenant has no catalogue source (SIP2 without [tenants.catalog.sru])")
    return catalog


def _loans(contract: ContractSession) -> list[Loan]:
    target = contract.target
    login = contract.login() if target.has_patron else None
    if login is None or isinstance(login, GatewayError):
        return []
    try:
        return contract.run(target.ils.list_loans(login))[:3]
    except GatewayError:
        return []


def _sample_items(contract: ContractSession) -> list[Item]:
    """Items named with --item, else the test patron's borrowed ones."""
    target = contract.target
    if target.items and target.ils.capabilities.supports(Capability.GET_ITEM):
        return [contract.run(target.ils.get_item(i)) for i in target.items[:3]]
    return [loan.item for loan in _loans(contract)]


def _copies_of(contract: ContractSession, item: Item) -> tuple[str, list[Copy]] | None:
    """The record whose copies include ``item`` (found by searching its title), and them."""
    catalog = _catalog(contract)
    page = contract.run(catalog.search(CatalogQuery(title=normalise(item.title), per_page=20)))
    for record in page.records:
        found = contract.run(catalog.record(record.id))
        if any(item.id in (c.barcode, c.item_id) for c in found.copies):
            return record.id, list(found.copies)
    return None


def test_catalog_search_answers(contract: ContractSession) -> None:
    """A title search finds the record of a known item, each record well formed"""
    items = _sample_items(contract)
    if not items:
        pytest.skip("no item to search for (give --item BARCODE, or a patron with loans)")
    catalog = _catalog(contract)
    problems = []
    for item in items:
        page = contract.run(catalog.search(CatalogQuery(title=normalise(item.title))))
        if page.total < len(page.records) and page.total != 0:
            problems.append(f"search {item.title!r}: total {page.total} < records on the page")
        if not any(normalise(item.title) in normalise(r.title) for r in page.records):
            problems.append(f"search {item.title!r}: no record with that title")
        for record in page.records:
            summary = record.availability
            if summary is not None and summary.available > summary.total:
                problems.append(f"record {record.id}: {summary.available} of {summary.total}")
    assert not problems, "; ".join(problems)


def test_catalog_record_copies_agree_with_item_information(contract: ContractSession) -> None:
    """A record's copies say what the item lookup and the patron's loans say"""
    target = contract.target
    loans = _loans(contract)
    items = [loan.item for loan in loans] or _sample_items(contract)
    if not items:
        pytest.skip("no item to compare (give --item BARCODE, or a patron with loans)")
    due = {loan.item.id: loan.due_date for loan in loans}
    lookup = target.ils.capabilities.supports(Capability.GET_ITEM)
    problems = []
    for item in items:
        found = _copies_of(contract, item)
        if found is None:
            problems.append(f"item {item.id!r}: no record lists it as a copy")
            continue
        record_id, copies = found
        copy = next(c for c in copies if item.id in (c.barcode, c.item_id))
        if item.id in due:
            if copy.status is not CopyStatus.ON_LOAN or copy.due_date != due[item.id]:
                problems.append(
                    f"record {record_id} copy {item.id}: {copy.status.value} due "
                    f"{copy.due_date}, the loan says due {due[item.id]}"
                )
        if lookup:
            info = contract.run(target.ils.get_item(item.id))
            shelf = (info.circulation_status or "").casefold() == "available"
            if shelf != (copy.status is CopyStatus.AVAILABLE):
                problems.append(
                    f"record {record_id} copy {item.id}: {copy.status.value}, the item lookup "
                    f"says {info.circulation_status!r}"
                )
    assert not problems, "; ".join(problems)
