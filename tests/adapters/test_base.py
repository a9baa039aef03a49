"""The backend port: declared capabilities and the pinned method set of ILSBackend."""

from __future__ import annotations

import inspect

import pytest

from ils_gateway.adapters.base import (
    DISABLED_FEATURE,
    Capabilities,
    Capability,
    CapabilitySupport,
    GuardedBackend,
    ILSBackend,
    Support,
    Unavailable,
)
from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.vocab import ContactMethod, Feature


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
        "list_pickup_libraries", "get_item", "checkout", "checkin", "change_password", "list_fees",
            "close",
    }  # fmt: skip
    for name in methods:
        assert inspect.iscoroutinefunction(getattr(ILSBackend, name)), name
        assert getattr(ILSBackend, name).__doc__, name
    assert isinstance(vars(ILSBackend)["capabilities"], property)


def test_every_capability_names_the_feature_it_disables() -> None:
    assert set(DISABLED_FEATURE) == set(Capability)


def test_the_guard_refuses_a_missing_capability_with_the_backends_reason() -> None:
    why = Unavailable("X adapter: use SIP2 for self-check", detail="Not here.")
    caps = Capabilities({Capability.RENEW: Support.NATIVE}, missing={Capability.CHECKOUT: why})
    caps.require(Capability.RENEW)
    with pytest.raises(FeatureDisabled) as refused:
        caps.require(Capability.CHECKOUT)
    assert refused.value.feature is Feature.LOANS
    assert refused.value.operator_detail == why.operator_detail
    assert refused.value.detail == "Not here."
    # the reason travels with copies, and is no part of what the backend can do
    changed = caps.with_(Capability.RENEW, Support.EMULATED)
    assert changed.disabled(Capability.CHECKOUT).operator_detail == why.operator_detail
    assert caps == Capabilities({Capability.RENEW: Support.NATIVE})
    assert caps.disabled(Capability.SUSPEND_HOLD).feature is Feature.HOLD_SKIP


async def test_what_a_backend_leaves_out_refuses_through_the_guard() -> None:
    class Lends(GuardedBackend):
        @property
        def capabilities(self) -> Capabilities:
            why = {Capability.CHANGE_PASSWORD: Unavailable("PINs are set by staff")}
            return Capabilities({Capability.CHECKOUT: Support.NATIVE}, missing=why)

    with pytest.raises(FeatureDisabled) as refused:
        await Lends().change_password(None, "old", "new")  # type: ignore[arg-type]
    assert refused.value.feature is Feature.PASSWORD_CHANGE
    assert refused.value.operator_detail == "PINs are set by staff"
    with pytest.raises(FeatureDisabled) as refused:
        await Lends().resume_hold(None, "h1")  # type: ignore[arg-type]
    assert refused.value.feature is Feature.HOLD_SKIP
    with pytest.raises(FeatureDisabled) as refused:
        await Lends().change_hold(None, "h1", contact_method=ContactMethod.EMAIL)  # type: ignore[arg-type]
    assert refused.value.feature is Feature.HOLD_CHANGES
