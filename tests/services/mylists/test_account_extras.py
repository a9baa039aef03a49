"""Patron settings (Akiruno address rules), cancelled-hold history, hold skip and extension."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mylists_support import Clock, Library, make_tenant

from ils_gateway.domain.errors import BadRequest, FeatureDisabled, HoldRefused, NotFound
from ils_gateway.domain.models import BookmobileStation, Hold, Item, Patron
from ils_gateway.domain.models import Library as DomainLibrary
from ils_gateway.domain.vocab import ContactMethod, HoldStatus, ItemSource, RefusalReason
from ils_gateway.services.mylists.cancelled_holds import CancelledHoldService
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.hold_extras import HoldExtrasService
from ils_gateway.services.mylists.sequences import HoldSequenceService
from ils_gateway.services.mylists.settings import PatronSettingsService
from ils_gateway.store.records import CancelReason, EmailKind, HoldContactMethod, HoldNoticeAddress
from ils_gateway.store.store import Store


@pytest.mark.parametrize(
    "address",
    ["-taro@example.jp", "taro.@example.jp", "ta..ro@example.jp", "taro@", "taro example.jp"],
)
async def test_akiruno_address_rules(store: Store, ctx: PatronContext, address: str) -> None:
    with pytest.raises(BadRequest):
        await PatronSettingsService(store).update(ctx, email1=address)


async def test_settings_round_trip_and_pickup_check(
    store: Store, ctx: PatronContext, library: Library
) -> None:
    settings = PatronSettingsService(store)
    saved = await settings.update(
        ctx,
        library.backend,
        email1="taro.yamada@example.jp",
        email1_kind=EmailKind.PC,
        email2="taro@mobile.example.jp",
        email2_kind=EmailKind.MOBILE,
        hold_notice_to=HoldNoticeAddress.EMAIL2,
        default_pickup_library="NIS",
        due_date_reminder=True,
    )
    assert (await settings.get(ctx)) == saved and saved.hold_notice_to is HoldNoticeAddress.EMAIL2
    with pytest.raises(BadRequest):
        await settings.update(ctx, library.backend, default_pickup_library="MOON")
    with pytest.raises(BadRequest):
        await settings.update(ctx, email2=None)  # hold notices still go to email2
    with pytest.raises(BadRequest):
        await settings.update(ctx, reading_history_enabled=True)  # only through history


def _hold(hold_id: str, status: HoldStatus, source: ItemSource = ItemSource.ILS) -> Hold:
    return Hold(
        id=hold_id, item=Item(id=f"i{hold_id}", title=f"本{hold_id}"), status=status, source=source
    )


async def test_cancelled_holds_kept_for_the_retention_then_purged(
    store: Store, ctx: PatronContext, clock: Clock
) -> None:
    service = CancelledHoldService(store, clock)
    seen = [
        _hold("1", HoldStatus.CANCELLED),
        _hold("2", HoldStatus.EXPIRED),
        _hold("3", HoldStatus.WAITING),
        _hold("4", HoldStatus.CANCELLED, ItemSource.EBOOK),  # this tenant keeps no e-books
    ]
    assert await service.observe(ctx, seen) == 2
    assert await service.observe(ctx, seen) == 0  # seen twice, kept once
    listed = await service.list(ctx)
    assert {(e.hold_id, e.reason) for e in listed} == {
        ("1", CancelReason.CANCELLED),
        ("2", CancelReason.EXPIRED),
    }
    await service.delete(ctx, "1")
    with pytest.raises(NotFound):
        await service.delete(ctx, "1")
    clock.advance(days=7, seconds=1)
    assert await service.list(ctx) == []  # hidden at once past the retention
    assert await service.purge([ctx.tenant]) == {ctx.tenant.id: 1}


async def test_cancelled_history_not_deletable_where_the_tenant_says_so(
    store: Store, library: Library, clock: Clock
) -> None:
    tenant = make_tenant()
    holds = tenant.policy.holds.model_copy(update={"cancelled_history_deletable": False})
    tenant = tenant.model_copy(update={"policy": tenant.policy.model_copy(update={"holds": holds})})
    patron = await library.backend.authenticate("0000000001", "pass1234")
    ctx = PatronContext.of(store, tenant, patron)
    with pytest.raises(FeatureDisabled):
        await CancelledHoldService(store, clock).delete(ctx, "1")


async def test_skip_comes_back_at_the_top_and_refuses_sequence_members(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    extras = HoldExtrasService(store, clock)
    hold = await library.backend.place_hold(ctx.patron, "2000104", "CEN")
    until = clock().date() + timedelta(days=14)
    with pytest.raises(BadRequest):
        await extras.skip(ctx, library.backend, hold.id, clock().date())
    skipped = await extras.skip(ctx, library.backend, hold.id, until)
    assert skipped.status is HoldStatus.SUSPENDED
    assert (await extras.resume(ctx, library.backend, hold.id)).status is HoldStatus.WAITING

    h1 = await library.backend.place_hold(ctx.patron, "2000101", "CEN")
    h2 = await library.backend.place_hold(ctx.patron, "2000102", "CEN")
    await HoldSequenceService(store, clock).create(ctx, library.backend, [h1.id, h2.id])
    with pytest.raises(HoldRefused) as info:
        await extras.skip(ctx, library.backend, h1.id, until)
    assert info.value.reason is RefusalReason.IN_SEQUENCE


async def test_extension_refused_with_a_reason_where_the_backend_cannot(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    extras = HoldExtrasService(store, clock)
    waiting = await library.backend.place_hold(ctx.patron, "2000104", "CEN")
    with pytest.raises(HoldRefused) as info:
        await extras.extend_pickup(ctx, library.backend, waiting.id)
    assert info.value.reason is RefusalReason.EXTENSION_NOT_ALLOWED
    ready = await library.backend.place_hold(ctx.patron, "2000105", "CEN")  # copy on the shelf
    library.sim.checkin("2000105", "CEN")  # Koha: found only once staff check the copy in
    clock.advance(hours=3)
    library.sim.advance()
    with pytest.raises(HoldRefused) as info:
        await extras.extend_pickup(ctx, library.backend, ready.id)
    # Koha's REST API has no extension call: the patron is told to ask the library.
    assert info.value.reason is RefusalReason.EXTENSION_NOT_ALLOWED
    assert "contact the library" in info.value.detail
    with pytest.raises(NotFound):
        await extras.extend_pickup(ctx, library.backend, "424242")


class _Pickup:
    """The tenant side of a settings check: its pickup libraries (as ``TenantContext``)."""

    def __init__(self, libraries: list[DomainLibrary]) -> None:
        self._libraries = libraries

    async def pickup_libraries(self) -> list[DomainLibrary]:
        return self._libraries


async def test_default_pickup_and_contact_follow_the_tenant(store: Store, patron: Patron) -> None:
    # Issue 16: checked against the tenant's list (SIP2 cannot list them), a bookmobile by a
    # station, and Saitama's phone-only contact for bookmobile pickups.
    tenant = make_tenant("saitamalike", "")
    tenant = tenant.model_copy(
        update={
            "policy": tenant.policy.model_copy(
                update={
                    "holds": tenant.policy.holds.model_copy(
                        update={"bookmobile_contact": "phone_only"}
                    )
                }
            )
        }
    )
    ctx = PatronContext.of(store, tenant, patron)
    pickup = _Pickup(
        [
            DomainLibrary(code="CEN", name="中央"),
            DomainLibrary(
                code="BM",
                name="移動図書館",
                bookmobile_stations=(BookmobileStation(code="BM01", name="市役所前"),),
            ),
        ]
    )
    settings = PatronSettingsService(store)
    problems = {
        "NOPE": "default_pickup_library: not a pickup library",
        "BM": "default_pickup_library: a bookmobile is chosen by one of its stations",
    }
    for code, message in problems.items():
        with pytest.raises(BadRequest, match=message):
            await settings.update(ctx, pickup, default_pickup_library=code)
    with pytest.raises(BadRequest, match="hold_contact_method: pickups at a bookmobile"):
        await settings.update(
            ctx, pickup, default_pickup_library="BM01", hold_contact_method=HoldContactMethod.EMAIL
        )
    saved = await settings.update(
        ctx, pickup, default_pickup_library="BM01", hold_contact_method=HoldContactMethod.PHONE
    )
    assert saved.default_pickup_library == "BM01"
    with pytest.raises(BadRequest, match="hold_contact_method"):
        await settings.update(ctx, pickup, hold_contact_method=HoldContactMethod.EMAIL)
    assert await settings.hold_defaults(ctx) == ("BM01", ContactMethod.PHONE)
