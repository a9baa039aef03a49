"""Hold sequences kept by the gateway through the simulated library's state changes (Koha face)."""

from __future__ import annotations

import pytest
from mylists_support import Clock, Library, make_tenant

from ils_gateway.domain.errors import BadRequest, CancelRefused, FeatureDisabled, HoldRefused
from ils_gateway.domain.models import Hold
from ils_gateway.domain.vocab import HoldStatus, RefusalReason
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.sequences import HoldSequenceService
from ils_gateway.simulators.policy import HoldState
from ils_gateway.store.store import Store


async def _three_holds(ctx: PatronContext, library: Library) -> list[Hold]:
    return [
        await library.backend.place_hold(ctx.patron, barcode, "CEN")
        for barcode in ("2000101", "2000102", "2000103")
    ]


def _sim_state(library: Library, hold_id: str) -> tuple[HoldState, bool]:
    view = library.sim.hold_by_id(int(hold_id))
    return view.state, view.suspended


async def test_sequence_holds_its_order_through_the_library(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    service = HoldSequenceService(store, clock)
    h1, h2, h3 = await _three_holds(ctx, library)
    view = await service.create(ctx, library.backend, [h1.id, h2.id, h3.id])
    assert [h.id for h in view.holds if h] == [h1.id, h2.id, h3.id]
    # Later members are held back in the library, shown to the patron as waiting, in order.
    assert _sim_state(library, h2.id) == (HoldState.PENDING, True)
    assert _sim_state(library, h3.id) == (HoldState.PENDING, True)
    listed = {h.id: h for h in await service.enforce(ctx, library.backend)}
    for position, hold in enumerate((h1, h2, h3), start=1):
        shown = listed[hold.id]
        assert shown.status is HoldStatus.WAITING
        assert shown.sequence is not None
        assert (shown.sequence.position, shown.sequence.length) == (position, 3)

    # Volume 3 comes back first: it must not go to hold 3 before holds 1 and 2 have arrived.
    library.sim.checkin("2000103", "CEN")
    await service.enforce(ctx, library.backend)
    assert _sim_state(library, h3.id) == (HoldState.PENDING, True)

    # Volume 1 comes back and reaches the pickup shelf: hold 2 is released, hold 3 is not.
    library.sim.checkin("2000101", "CEN")
    clock.advance(days=2)
    library.sim.advance()
    assert _sim_state(library, h1.id)[0] is HoldState.AWAITING_PICKUP
    listed = {h.id: h for h in await service.enforce(ctx, library.backend)}
    assert listed[h1.id].status is HoldStatus.READY
    assert _sim_state(library, h2.id) == (HoldState.PENDING, False)
    assert _sim_state(library, h3.id) == (HoldState.PENDING, True)
    assert listed[h3.id].status is HoldStatus.WAITING

    # Volume 2 arrives; then hold 3 is released and takes the copy waiting on the shelf.
    library.sim.checkin("2000102", "CEN")
    clock.advance(days=2)
    library.sim.advance()
    await service.enforce(ctx, library.backend)
    assert _sim_state(library, h2.id)[0] is HoldState.AWAITING_PICKUP
    assert _sim_state(library, h3.id)[1] is False

    # Picking up volume 1 (a loan) takes hold 1 out of the sequence; the rest keep their order.
    library.sim.checkout(ctx.patron.card_number, "2000101", "CEN")
    (remaining,) = await service.list(ctx, library.backend)
    assert [m.hold_id for m in remaining.sequence.members] == [h2.id, h3.id]


async def test_rules_for_making_changing_and_cancelling(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    service = HoldSequenceService(store, clock)
    h1, h2, h3 = await _three_holds(ctx, library)
    shelf_hold = await library.backend.place_hold(ctx.patron, "2000105", "CEN")  # on the shelf
    library.sim.checkin("2000105", "CEN")  # Koha: found only once staff check the copy in
    with pytest.raises(HoldRefused) as info:
        await service.create(ctx, library.backend, [h1.id, shelf_hold.id])
    assert info.value.reason is RefusalReason.NOT_MODIFIABLE_IN_STATE
    with pytest.raises(BadRequest):
        await service.create(ctx, library.backend, [h1.id, "99999"])
    with pytest.raises(BadRequest):
        await service.create(ctx, library.backend, [h1.id])  # one hold orders nothing
    view = await service.create(ctx, library.backend, [h1.id, h2.id, h3.id])
    with pytest.raises(HoldRefused) as info:
        await service.create(ctx, library.backend, [h2.id, h1.id])
    assert info.value.reason is RefusalReason.IN_SEQUENCE

    with pytest.raises(CancelRefused) as cancel:
        await service.check_cancel(ctx, h2.id)
    assert cancel.value.reason is RefusalReason.IN_SEQUENCE

    # Leaving the sequence releases the hold; then it may be cancelled.
    await service.remove(ctx, library.backend, h2.id)
    assert _sim_state(library, h2.id) == (HoldState.PENDING, False)
    await service.check_cancel(ctx, h2.id)
    (left,) = await service.list(ctx, library.backend)
    assert [m.hold_id for m in left.sequence.members] == [h1.id, h3.id]
    assert _sim_state(library, h3.id) == (HoldState.PENDING, True)

    # Once hold 1 is on its way, the sequence can no longer be changed.
    library.sim.checkin("2000101", "NIS")
    with pytest.raises(HoldRefused):
        await service.dissolve(ctx, library.backend, view.sequence.sequence_id)

    # Hold 1 is never collected and lapses: hold 3, left alone, is no longer held back.
    clock.advance(days=30)
    library.sim.advance()  # h1 lapses off the shelf, leaving h3 alone: the sequence ends
    await service.enforce(ctx, library.backend)
    assert await service.list(ctx, library.backend) == []
    assert _sim_state(library, h3.id)[1] is False


async def test_dissolve_releases_every_member(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    service = HoldSequenceService(store, clock)
    h1, h2, h3 = await _three_holds(ctx, library)
    view = await service.create(ctx, library.backend, [h3.id, h1.id, h2.id])
    assert _sim_state(library, h1.id) == (HoldState.PENDING, True)
    await service.dissolve(ctx, library.backend, view.sequence.sequence_id)
    assert await service.list(ctx, library.backend) == []
    assert all(not _sim_state(library, h.id)[1] for h in (h1, h2, h3))
    await service.check_cancel(ctx, h1.id)


async def test_tenant_without_sequences(store: Store, library: Library, clock: Clock) -> None:
    tenant = make_tenant()
    holds = tenant.policy.holds.model_copy(update={"sequences": False})
    tenant = tenant.model_copy(update={"policy": tenant.policy.model_copy(update={"holds": holds})})
    patron = await library.backend.authenticate("0000000001", "pass1234")
    ctx = PatronContext.of(store, tenant, patron)
    with pytest.raises(FeatureDisabled):
        await HoldSequenceService(store, clock).create(ctx, library.backend, ["1", "2"])
