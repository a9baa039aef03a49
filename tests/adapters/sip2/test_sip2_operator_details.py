"""Operator details (logged with the request, next to the masked patron) name no item and quote
no screen message of the library: either could pair a patron with a title (issue 15)."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.domain.errors import NotFound, RenewalRefused

HANAKO = ("1000000001", "hanako01")


async def test_a_refused_renewal_names_no_item(backend: Sip2Backend) -> None:
    patron = await backend.authenticate("1000000009", "naoki009")
    with pytest.raises(RenewalRefused) as refused:
        await backend.renew(patron, "2100000089")
    detail = refused.value.operator_detail or ""
    assert "SIP2 30" in detail and "2100000089" not in detail


async def test_an_unknown_item_is_not_named(backend: Sip2Backend) -> None:
    with pytest.raises(NotFound) as missing:
        await backend.get_item("0000000000")
    detail = missing.value.operator_detail or ""
    assert "SIP2 18" in detail and "0000000000" not in detail
