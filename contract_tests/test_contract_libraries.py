"""Pickup libraries: at least one, each with a unique code and a name."""

from __future__ import annotations

from collections import Counter

import pytest

from ils_gateway.contract.session import ContractSession
from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.models import Library


def test_pickup_libraries(contract: ContractSession) -> None:
    """There is at least one pickup library; codes are unique and every one has a name"""
    try:
        libraries = contract.pickup_libraries()
    except FeatureDisabled as error:
        pytest.fail(
            f"the backend cannot list pickup libraries ({error.operator_detail or error.detail})"
            " and the tenant file lists none in [[tenants.pickup_libraries]]:"
            " no hold could be placed"
        )
    assert libraries, "no pickup library is listed: no hold could be placed"
    for lib in libraries:
        Library.model_validate(lib.model_dump())
    codes = [lib.code for lib in libraries]
    codes += [s.code for lib in libraries for s in lib.bookmobile_stations]
    twice = [code for code, n in Counter(codes).items() if n > 1]
    assert not twice, f"pickup codes listed twice: {', '.join(twice)}"
    nameless = [lib.code for lib in libraries if not lib.name]
    assert not nameless, f"pickup libraries without a name: {', '.join(nameless)}"
