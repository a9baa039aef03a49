"""The annotated hold list is remembered per patron and channel (issue 17's hot path: the same
frozen holds of a cached read give the same annotated objects, so the rendered body is
answered from memory) and never shows what no longer holds: other holds, another channel's
rules, other capabilities, another day (the ready hold's next opening day)."""

from __future__ import annotations

from datetime import timedelta

from ils_gateway.adapters.base import Capabilities, Capability, GuardedBackend
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.models import Hold, Item, Patron
from ils_gateway.domain.vocab import Channel, Feature, HoldAction, HoldStatus
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.holds import HoldService
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.tenants.demo import demo_tenant

PATRON = Patron(id="p1", card_number="1000000001")
OTHER = Patron(id="p2", card_number="1000000002")


class Backend(GuardedBackend):
    def __init__(self) -> None:
        self.caps = Capabilities.native(Capability.CANCEL_HOLD, Capability.CHANGE_HOLD_PICKUP)
        self.holds = [
            Hold(id="h1", item=Item(id="i1", title="坊っちゃん"), status=HoldStatus.WAITING),
            Hold(id="h2", item=Item(id="i2", title="こころ"), status=HoldStatus.READY),
        ]

    @property
    def capabilities(self) -> Capabilities:
        return self.caps

    async def list_holds(self, patron: Patron) -> list[Hold]:
        return list(self.holds)  # the same frozen objects each time, as a cached read's


def _service(clock: ManualClock) -> tuple[HoldService, Backend]:
    """The demo tenant (its calendar), with pickup changes switched off on kiosks."""
    demo = demo_tenant(6001)
    kiosk_off = {**demo.policy.disabled_features}
    kiosk_off[Channel.KIOSK] = kiosk_off.get(Channel.KIOSK, frozenset()) | {Feature.HOLD_CHANGES}
    policy = demo.policy.model_copy(update={"disabled_features": kiosk_off})
    tenant = demo.model_copy(update={"policy": policy})
    backend = Backend()
    context = TenantContext(config=tenant, backend=backend, clock=clock)  # type: ignore[arg-type]
    return HoldService(context), backend


async def test_the_same_holds_give_the_same_annotated_list() -> None:
    service, _ = _service(ManualClock(SAMPLE_NOW))
    first = await service.list_holds(Caller(PATRON))
    again = await service.list_holds(Caller(PATRON))
    assert all(a is b for a, b in zip(first, again, strict=True))


async def test_other_holds_another_patron_or_channel_are_annotated_afresh() -> None:
    service, backend = _service(ManualClock(SAMPLE_NOW))
    web = await service.list_holds(Caller(PATRON))
    assert HoldAction.CHANGE_PICKUP in web[0].allowed_actions
    kiosk = await service.list_holds(Caller(PATRON, Channel.KIOSK))
    assert HoldAction.CHANGE_PICKUP not in kiosk[0].allowed_actions  # the kiosk's rules
    assert HoldAction.CHANGE_PICKUP in (await service.list_holds(Caller(PATRON)))[0].allowed_actions
    other = await service.list_holds(Caller(OTHER))
    assert all(a is not b for a, b in zip(web, other, strict=True))
    backend.holds = backend.holds[1:]  # h1 cancelled at the counter
    assert [h.id for h in await service.list_holds(Caller(PATRON))] == ["h2"]


async def test_new_capabilities_and_a_new_day_are_seen() -> None:
    clock = ManualClock(SAMPLE_NOW)
    service, backend = _service(clock)
    before = await service.list_holds(Caller(PATRON))
    assert HoldAction.CANCEL in before[0].allowed_actions
    backend.caps = Capabilities.native(Capability.CHANGE_HOLD_PICKUP)  # no more cancelling
    after = await service.list_holds(Caller(PATRON))
    assert HoldAction.CANCEL not in after[0].allowed_actions
    ready_day = after[1].next_opening_day
    later = ready_day
    for _ in range(3):  # a Monday (closed) may keep the same next opening day once
        clock.advance(timedelta(days=1))
        later = (await service.list_holds(Caller(PATRON)))[1].next_opening_day
        if later != ready_day:
            break
    assert later is not None and ready_day is not None and later > ready_day
