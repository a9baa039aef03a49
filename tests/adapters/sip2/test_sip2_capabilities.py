"""Capabilities declared from the ACS's BX flags."""

from __future__ import annotations

from ils_gateway.adapters.base import Capability, Support
from ils_gateway.adapters.sip2.capabilities import capabilities_from_bx, supported_requests

ALL = "Y" * 16


def bx_with(*codes: str) -> str:
    order = "23 11 09 01 99 97 93 63 35 37 17 19 25 15 29 65".split()
    return "".join("Y" if c in codes else "N" for c in order)


def test_supported_requests() -> None:
    assert supported_requests(bx_with("63", "17")) == {"63", "17"}
    assert supported_requests("YY") == {"23", "11"}  # short BX: the rest count as N
    assert supported_requests(None) == frozenset()


def test_full_acs() -> None:
    caps = capabilities_from_bx(ALL)
    for cap in (
        Capability.AUTHENTICATE,
        Capability.PATRON_SUMMARY,
        Capability.LIST_LOANS,
        Capability.LIST_HOLDS,
        Capability.RENEW,
        Capability.PLACE_HOLD,
        Capability.CANCEL_HOLD,
        Capability.CHANGE_HOLD_PICKUP,
        Capability.GET_ITEM,
    ):
        assert caps.of(cap).support is Support.NATIVE, cap
    assert caps.of(Capability.RENEW_MANY).support is Support.EMULATED
    for cap in (
        Capability.SUSPEND_HOLD,
        Capability.LIST_PICKUP_LIBRARIES,
        Capability.CHANGE_HOLD_CONTACT,
        Capability.CHANGE_PASSWORD,
    ):
        assert not caps.supports(cap), cap
    assert caps.option(Capability.PLACE_HOLD, "title_level") is True


def test_no_hold_message_no_hold_writes() -> None:
    caps = capabilities_from_bx(bx_with("63", "17", "29"))
    assert caps.supports(Capability.LIST_HOLDS)
    assert not caps.supports(Capability.PLACE_HOLD)
    assert not caps.supports(Capability.CANCEL_HOLD)
    assert not caps.supports(Capability.CHANGE_HOLD_PICKUP)


def test_pickup_change_opt_in_and_out() -> None:
    off = capabilities_from_bx(ALL, pickup_change="unavailable")
    assert not off.supports(Capability.CHANGE_HOLD_PICKUP)
    replace = capabilities_from_bx(ALL, pickup_change="replace")
    assert replace.of(Capability.CHANGE_HOLD_PICKUP).support is Support.EMULATED
    assert replace.option(Capability.CHANGE_HOLD_PICKUP, "loses_queue_position") is True


def test_renew_all_only() -> None:
    caps = capabilities_from_bx(bx_with("63", "17", "65"))
    assert not caps.supports(Capability.RENEW)
    assert caps.of(Capability.RENEW_MANY).support is Support.NATIVE
    assert caps.option(Capability.RENEW_MANY, "all_loans_only") is True


def test_lists_without_item_info_give_no_loans() -> None:
    caps = capabilities_from_bx(bx_with("63", "29"))
    assert caps.supports(Capability.PATRON_SUMMARY)
    assert not caps.supports(Capability.LIST_LOANS)
    assert not caps.supports(Capability.GET_ITEM)


def test_title_lists_give_no_loans() -> None:
    caps = capabilities_from_bx(ALL, lists_name_items=False)
    assert not caps.supports(Capability.LIST_LOANS)
    assert caps.supports(Capability.LIST_HOLDS)


def test_patron_status_alone_authenticates() -> None:
    caps = capabilities_from_bx(bx_with("23"))
    assert caps.supports(Capability.AUTHENTICATE)
    assert not caps.supports(Capability.PATRON_SUMMARY)
