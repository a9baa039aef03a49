"""Declared capabilities match what the backend does.

Each probe names a record that does not exist (an unknown item, hold id 0-style ids), so
nothing can change even on a backend that does the operation. A capability declared native
or emulated must not answer ``FeatureDisabled``; one declared unavailable must (an adapter
that looks the record up first may answer ``NotFound`` instead). A probe that gets no proper
answer — a dropped connection, a protocol error, an outcome unknown (any 5xx error) — fails,
with the error in the report. Password change is never
probed: a wrong old password may count towards locking the test patron out.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.contract.errors import describe_error
from ils_gateway.contract.session import ContractSession
from ils_gateway.domain.errors import (
    FeatureDisabled,
    GatewayError,
    NotFound,
)
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import ContactMethod

NO_SUCH_ITEM = "CONTRACT-TEST-NO-SUCH-ITEM-0000"
NO_SUCH_HOLD = "999999999"

Probe = Callable[[ILSBackend, Patron], Coroutine[Any, Any, Any]]

PROBES: dict[Capability, Probe] = {
    Capability.PATRON_SUMMARY: lambda ils, p: ils.patron_summary(p),
    Capability.LIST_LOANS: lambda ils, p: ils.list_loans(p),
    Capability.LIST_HOLDS: lambda ils, p: ils.list_holds(p),
    Capability.LIST_PICKUP_LIBRARIES: lambda ils, p: ils.list_pickup_libraries(),
    Capability.GET_ITEM: lambda ils, p: ils.get_item(NO_SUCH_ITEM),
    Capability.RENEW: lambda ils, p: ils.renew(p, NO_SUCH_ITEM),
    Capability.RENEW_MANY: lambda ils, p: ils.renew_many(p, [NO_SUCH_ITEM]),
    Capability.PLACE_HOLD: lambda ils, p: ils.place_hold(p, NO_SUCH_ITEM, "CONTRACT-NO-SUCH-LIB"),
    Capability.CANCEL_HOLD: lambda ils, p: ils.cancel_hold(p, NO_SUCH_HOLD),
    Capability.CHANGE_HOLD_PICKUP: lambda ils, p: ils.change_hold(
        p, NO_SUCH_HOLD, pickup_library="CONTRACT-NO-SUCH-LIB"
    ),
    Capability.CHANGE_HOLD_CONTACT: lambda ils, p: ils.change_hold(
        p, NO_SUCH_HOLD, contact_method=ContactMethod.EMAIL
    ),
    Capability.SUSPEND_HOLD: lambda ils, p: ils.suspend_hold(p, NO_SUCH_HOLD, None),
    Capability.CHECKOUT: lambda ils, p: ils.checkout(p, NO_SUCH_ITEM),
    Capability.CHECKIN: lambda ils, p: ils.checkin(NO_SUCH_ITEM),
}


def _feature_disabled_in(result: object) -> bool:
    # renew_many reports per item instead of raising.
    results = getattr(result, "results", ())
    return any(getattr(r, "error_type", None) == FeatureDisabled.type_slug for r in results)


def _server_errors(cls: type[GatewayError]) -> set[str]:
    """Slugs of ``cls`` and its subclasses that are 5xx problems."""
    found = {cls.type_slug} if cls.status >= 500 else set()
    for sub in cls.__subclasses__():
        found |= _server_errors(sub)
    return found


# What a batch item carries when it got no proper answer: any 5xx, as for a single call.
_NO_ANSWER_SLUGS = frozenset(_server_errors(GatewayError))


def _no_proper_answer(answer: object) -> str | None:
    """What broke the exchange (a 5xx error, also per item of a batch); None if nothing did."""
    if isinstance(answer, GatewayError):
        return describe_error(answer) if answer.status >= 500 else None
    for result in getattr(answer, "results", ()):
        if getattr(result, "error_type", None) in _NO_ANSWER_SLUGS:
            detail = getattr(result, "detail", None) or ""
            return f"item {getattr(result, 'item_id', '?')}: {result.error_type} {detail}".strip()
    return None


@pytest.mark.parametrize("capability", list(PROBES), ids=[c.value for c in PROBES])
def test_capability_declared_matches_behaviour(
    contract: ContractSession, patron: Patron, capability: Capability
) -> None:
    """What the backend declares for this capability is what it does"""
    ils = contract.target.ils
    declared = ils.capabilities.of(capability)
    answer: object = None
    try:
        answer = contract.run(PROBES[capability](ils, patron))
    except FeatureDisabled as error:
        assert not declared.available, (
            f"declared {declared.support.value}, but the adapter said the feature is disabled: "
            f"{error.operator_detail or error.detail}"
        )
        return
    except GatewayError as error:
        answer = error
    broken = _no_proper_answer(answer)
    if broken is not None:
        # A dropped connection, a protocol error, an unknown outcome: nothing shows the
        # declaration true (nor false).
        pytest.fail(
            f"declared {declared.support.value}, but the probe got no proper answer: {broken}"
        )
    if declared.available:
        assert not _feature_disabled_in(answer), (
            f"declared {declared.support.value}, but the item came back feature-disabled"
        )
        return
    if isinstance(answer, NotFound) or _feature_disabled_in(answer):
        return
    shown = type(answer).__name__ if isinstance(answer, GatewayError) else "an answer"
    pytest.fail(f"declared unavailable, but the backend gave {shown} instead of FeatureDisabled")
