"""Holds: canonical statuses, sane queue positions, pickup libraries the backend lists."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from ils_gateway.contract.session import ContractSession
from ils_gateway.contract.titles import title_problem
from ils_gateway.contract.vocabularies import unmapped_hold_status
from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.models import Hold, Patron
from ils_gateway.domain.vocab import HoldAction, HoldStatus


def pickup_codes(contract: ContractSession) -> set[str]:
    """Every code a hold may name as its pickup place: libraries and bookmobile stations."""
    libraries = contract.pickup_libraries()
    codes = {lib.code for lib in libraries}
    codes |= {station.code for lib in libraries for station in lib.bookmobile_stations}
    return codes


def empty_id(value: str) -> bool:
    """An id that names nothing: blank, or a kind prefix with nothing after (``title:``)."""
    return _EMPTY_ID.fullmatch(value) is not None


_EMPTY_ID = re.compile(r"\s*(?:[A-Za-z_-]+:)?\s*")


def test_holds_well_formed(contract: ContractSession, patron: Patron) -> None:
    """Every hold has its own non-empty id, an item id and title, a canonical status and
    actions"""
    holds = contract.run(contract.target.ils.list_holds(patron))
    problems: list[str] = []
    for hold in holds:
        Hold.model_validate(hold.model_dump())
        where = f"hold {hold.id!r}"
        if empty_id(hold.id):
            problems.append(f"{where}: empty id")
        if empty_id(hold.item.id):
            problems.append(f"{where}: item has an empty id {hold.item.id!r}")
        if (title := title_problem(hold.item)) is not None:
            problems.append(f"{where}: item {title}")
        if not isinstance(hold.status, HoldStatus):
            problems.append(f"{where}: status {hold.status!r} is not canonical")
        if not all(isinstance(a, HoldAction) for a in hold.allowed_actions):
            problems.append(f"{where}: allowed actions are not canonical")
        if hold.queue_position is not None and hold.status is HoldStatus.READY:
            problems.append(f"{where}: ready but still at queue position {hold.queue_position}")
    repeated = Counter(hold.id for hold in holds)
    problems += [f"hold id {i!r} listed {n} times" for i, n in repeated.items() if n > 1]
    assert not problems, "; ".join(problems)


def test_hold_pickup_libraries_known(contract: ContractSession, patron: Patron) -> None:
    """Each hold's pickup library is one the backend lists as a pickup library"""
    holds = contract.run(contract.target.ils.list_holds(patron))
    try:
        codes = pickup_codes(contract)
    except FeatureDisabled:
        pytest.skip("no pickup libraries to compare with (see the pickup libraries check)")
    unknown = {
        f"{h.id}: {h.pickup_library}"
        for h in holds
        if h.pickup_library is not None and h.status.is_active and h.pickup_library not in codes
    }
    assert not unknown, f"holds for pickup at places not listed: {', '.join(sorted(unknown))}"


def test_hold_statuses_mapped(contract: ContractSession, patron: Patron) -> None:
    """Each hold's own status is one the adapter maps by its table, not a fallback guess"""
    kind = contract.target.tenant.backend.kind
    holds = contract.run(contract.target.ils.list_holds(patron))
    verdicts = {h.id: unmapped_hold_status(kind, h.backend_status) for h in holds}
    if not holds or all(v is None for v in verdicts.values()):
        pytest.skip(f"no hold with a backend status to compare ({kind} backend)")
    unmapped = [
        f"hold {h.id}: {h.backend_status!r} shown as {h.status.value}"
        for h in holds
        if verdicts[h.id]
    ]
    assert not unmapped, f"statuses the adapter cannot map: {'; '.join(unmapped)}"
