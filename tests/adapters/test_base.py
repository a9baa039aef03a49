"""The backend port: declared capabilities and the pinned method set of ILSBackend."""

from __future__ import annotations

import inspect

from ils_gateway.adapters.base import (
    Capabilities,
    Capability,
    CapabilitySupport,
    ILSBackend,
    Support,
)


def test_undeclared_capability_is_unavailable() -> None:
    caps = Capabilities({Capability.RENEW: Support.NATIVE})
    assert caps.supports(Capability.RENEW)
    assert not caps.supports(Capability.HOLD_SEQUENCES)
    assert caps.of(Capability.HOLD_SEQUENCES).support is Support.UNAVAILABLE


def test_options_and_emulation() -> None:
    caps = Capabilities(
        {
            Capability.PLACE_HOLD: CapabilitySupport(Support.NATIVE, {"title_level": True}),
            Capability.RENEW_MANY: Support.EMULATED,
        }
    )
    assert caps.option(Capability.PLACE_HOLD, "title_level") is True
    assert caps.option(Capability.PLACE_HOLD, "missing", 7) == 7
    assert caps.of(Capability.RENEW_MANY).support is Support.EMULATED
    assert caps.supports(Capability.RENEW_MANY)


def test_native_constructor_and_with_() -> None:
    caps = Capabilities.native(
        Capability.RENEW, Capability.PLACE_HOLD, place_hold={"title_level": False}
    )
    assert caps.option(Capability.PLACE_HOLD, "title_level") is False
    changed = caps.with_(Capability.RENEW, Support.UNAVAILABLE)
    assert not changed.supports(Capability.RENEW) and caps.supports(Capability.RENEW)
    assert changed != caps
    assert Capabilities.native(Capability.RENEW) == Capabilities({Capability.RENEW: Support.NATIVE})


def test_as_dict_lists_every_capability() -> None:
    table = Capabilities.native(Capability.CHECKIN).as_dict()
    assert set(table) == {c.value for c in Capability}
    assert table["checkin"] == {"support": "native", "options": {}}
    assert table["checkout"]["support"] == "unavailable"


def test_ilsbackend_methods_are_pinned_and_async() -> None:
    methods = {
        name
        for name, member in vars(ILSBackend).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }
    assert methods == {
        "authenticate", "patron_summary", "list_loans", "renew", "renew_many", "list_holds",
        "place_hold", "cancel_hold", "change_hold", "suspend_hold", "resume_hold",
        "list_pickup_libraries", "get_item", "checkout", "checkin", "change_password", "close",
    }  # fmt: skip
    for name in methods:
        assert inspect.iscoroutinefunction(getattr(ILSBackend, name)), name
        assert getattr(ILSBackend, name).__doc__, name
    assert isinstance(vars(ILSBackend)["capabilities"], property)
