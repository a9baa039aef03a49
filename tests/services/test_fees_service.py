"""FeeService and the threshold rule, over a stand-in backend (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from ils_gateway.adapters.base import Capabilities, Capability, GuardedBackend, Support
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import BackendUnavailable, FeatureDisabled, HoldRefused
from ils_gateway.domain.fees import BlockedAction, Fee, FeeAccount, FeeBlockSource
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import BlockReason, Channel, FeeType, RefusalReason
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.fees import FeeService, refuse_when_owing
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.tenants.loader import parse_tenants

PATRON = Patron(id="p1", card_number="1000000011")
OWED = FeeAccount(
    fees=(Fee(type=FeeType.LOST_ITEM, amount=1200), Fee(type=FeeType.DAMAGED_ITEM, amount=800)),
    total=2000,
)


class Backend(GuardedBackend):
    """Lists ``account``; the summary blocks for fines (with a message) or fails."""

    def __init__(self, account: FeeAccount = OWED, *, fees: bool = True, summary: Any = None):
        self.account = account
        self.summary = summary
        self.fee_reads = 0
        table = {Capability.PATRON_SUMMARY: Support.NATIVE}
        if fees:
            table[Capability.LIST_FEES] = Support.NATIVE
        self._caps = Capabilities(table)

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    async def list_fees(self, patron: Patron) -> FeeAccount:
        self.fee_reads += 1
        return self.account

    async def patron_summary(self, patron: Patron) -> Patron:
        if isinstance(self.summary, Exception):
            raise self.summary
        return self.summary or patron


def context(backend: Backend, policy: str = "") -> TenantContext:
    text = f"""
[[tenants]]
id = "tfees"
name = "テスト図書館"
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = 6001
{policy}
"""
    tenant = parse_tenants(text).tenants[0]
    return TenantContext(config=tenant, backend=backend, clock=ManualClock(SAMPLE_NOW))  # type: ignore[arg-type]


async def test_summary_sums_and_says_where_to_pay() -> None:
    got = await FeeService(context(Backend())).summary(Caller(PATRON))
    assert (got.total, got.items_total, got.items_match, got.blocks) == (2000, 2000, True, ())
    assert got.payment.online is False and "カウンター" in got.payment.where
    english = await FeeService(context(Backend())).summary(Caller(PATRON), "en")
    assert english.payment.where == "Please pay at a library counter"


async def test_ils_block_carries_its_message() -> None:
    blocked = PATRON.model_copy(
        update={"blocks": (BlockReason.FINES,), "block_messages": ("弁償金が未納です",)}
    )
    got = await FeeService(context(Backend(summary=blocked))).summary(Caller(PATRON))
    (block,) = got.blocks
    assert block.source is FeeBlockSource.ILS and block.backend_message == "弁償金が未納です"


async def test_a_failed_summary_still_lists_the_charges() -> None:
    backend = Backend(summary=BackendUnavailable("down"))
    got = await FeeService(context(backend)).summary(Caller(PATRON))
    assert got.total == 2000 and got.blocks == ()


async def test_thresholds_reached_are_listed_in_order() -> None:
    rules = """
[tenants.policy.fees]
holds_blocked_from = 1000
renewals_blocked_from = 2000
borrowing_blocked_from = 2001
"""
    got = await FeeService(context(Backend(), rules)).summary(Caller(PATRON), "en")
    assert [(b.actions, b.threshold) for b in got.blocks] == [
        ((BlockedAction.HOLDS,), 1000),
        ((BlockedAction.RENEWALS,), 2000),
    ]
    assert got.blocks[1].rule == "No renewals while ¥2,000 or more is owed"


async def test_kiosk_may_be_refused_and_missing_capability_is_feature_disabled() -> None:
    rules = """
[tenants.policy.disabled_features]
kiosk = ["fees"]
"""
    with pytest.raises(FeatureDisabled):
        await FeeService(context(Backend(), rules)).summary(Caller(PATRON, Channel.KIOSK))
    assert await FeeService(context(Backend(), rules)).summary(Caller(PATRON, Channel.WEB))
    with pytest.raises(FeatureDisabled):
        await FeeService(context(Backend(fees=False))).summary(Caller(PATRON))


async def test_refuse_when_owing() -> None:
    rules = """
[tenants.policy.fees]
holds_blocked_from = 2000
"""
    backend = Backend()
    with pytest.raises(HoldRefused) as info:
        await refuse_when_owing(context(backend, rules), PATRON, BlockedAction.HOLDS, HoldRefused)
    assert info.value.reason is RefusalReason.PATRON_BLOCKED
    # no rule for renewals: nothing is read
    await refuse_when_owing(context(backend, rules), PATRON, BlockedAction.RENEWALS, HoldRefused)
    assert backend.fee_reads == 1
    under = Backend(FeeAccount(total=1999))
    await refuse_when_owing(context(under, rules), PATRON, BlockedAction.HOLDS, HoldRefused)
    # a backend without fees leaves it to the library system
    await refuse_when_owing(
        context(Backend(fees=False), rules), PATRON, BlockedAction.HOLDS, HoldRefused
    )
