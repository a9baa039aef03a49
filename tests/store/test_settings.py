import pytest

from ils_gateway.store.errors import InvalidValue
from ils_gateway.store.records import (
    EmailKind,
    HoldContactMethod,
    HoldNoticeAddress,
    PatronSettings,
)
from ils_gateway.store.store import Store


async def test_defaults_then_save_and_read_back(store: Store) -> None:
    p = store.patron("akiruno", "9")
    assert await store.settings.get(p) == PatronSettings()
    wanted = PatronSettings(
        email1="hanako@example.jp",
        email1_kind=EmailKind.PC,
        email2="hanako.m@example.ne.jp",
        email2_kind=EmailKind.MOBILE,
        hold_notice_to=HoldNoticeAddress.EMAIL2,
        default_pickup_library="五日市",
        hold_contact_method=HoldContactMethod.EMAIL,
        due_date_reminder=True,
    )
    assert await store.settings.save(p, wanted) == wanted
    assert await store.settings.get(p) == wanted
    changed = PatronSettings(hold_contact_method=HoldContactMethod.PHONE)
    await store.settings.save(p, changed)
    assert await store.settings.get(p) == changed


async def test_reading_history_switch_records_the_moment(store: Store, clock) -> None:
    p = store.patron("akiruno", "9")
    on = await store.settings.set_reading_history(p, True)
    assert on.reading_history_enabled and on.reading_history_since == clock()
    clock.advance(days=1)
    # Switching on again keeps the first moment; saving other settings keeps the switch.
    assert (
        await store.settings.set_reading_history(p, True)
    ).reading_history_since == on.reading_history_since
    await store.settings.save(p, PatronSettings(due_date_reminder=True))
    assert (await store.settings.get(p)).reading_history_since == on.reading_history_since
    off = await store.settings.set_reading_history(p, False)
    assert (off.reading_history_enabled, off.reading_history_since) == (False, None)
    assert (await store.settings.get(p)).due_date_reminder is True


async def test_validation(store: Store) -> None:
    p = store.patron("akiruno", "9")
    with pytest.raises(InvalidValue):
        await store.settings.save(p, PatronSettings(email1="not an address"))
    with pytest.raises(InvalidValue):
        await store.settings.save(p, PatronSettings(hold_notice_to=HoldNoticeAddress.EMAIL1))
