"""Each notice event: its trigger puts one row in the outbox (or on the call list), a rerun
adds nothing, opting out sends nothing; polling stays within its bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from notices_support import (
    TODAY,
    days,
    loan,
    make_tenant,
    notices_env,
    outbox_rows,
    patron,
    ready_hold,
)

from ils_gateway.domain.ebooks import EbookHold, EbookTitle
from ils_gateway.domain.errors import BadRequest
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.store.records import HoldContactMethod, PatronSettings

EMAIL = HoldContactMethod.EMAIL


async def _opt_in(service, who, **changes) -> None:  # type: ignore[no-untyped-def]
    await service.update_preferences(who, **changes)


async def test_hold_ready_mails_once_with_the_calendar_deadline_and_reruns_add_nothing(
    tmp_path: Path,
) -> None:
    async with notices_env(tmp_path) as (service, store, backend, _clock):
        who = patron(1)
        await _opt_in(service, who, contact_method="mail")
        backend.holds[who.card_number] = [ready_hold("h1")]
        first = await service.poll("hold_ready")
        assert (first.patrons, first.noticed) == (1, 1)
        assert (await service.poll("hold_ready")).noticed == 0  # the rerun
        assert await service.holds_seen(who, [ready_hold("h1")]) == 0  # the patron's own look
        (row,) = await outbox_rows(store)
        assert row.template == "hold_ready"
        assert json.loads(row.recipients) == ["patron1@example.jp"]
        context = json.loads(row.context)
        assert context["title"] == "坊っちゃん"
        assert context["pickup_library"] == "中央図書館"
        # No deadline from the library: 7 days on the calendar (12-11 is a Friday, open).
        assert context["pickup_deadline"] == "2026-12-11"
        assert context["next_opening_day"] == "2026-12-04"
        assert "10000" not in row.dedup_key  # never the card


async def test_hold_ready_on_a_closed_day_names_the_next_opening_day(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, store, _backend, clock):
        clock.advance(days=3)  # Monday 12-07: closed
        await service.holds_seen(patron(1), [ready_hold("h1", pickup_deadline=TODAY + days(9))])
        (row,) = await outbox_rows(store)
        context = json.loads(row.context)
        assert context["next_opening_day"] == "2026-12-08"
        assert context["pickup_deadline"] == "2026-12-13"  # the library's own, kept


async def test_phone_contact_goes_to_the_call_list_not_the_outbox(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, store, backend, _clock):
        who = patron(2)
        await _opt_in(service, who, contact_method="phone")
        backend.holds[who.card_number] = [ready_hold("h2", title="細雪")]
        assert (await service.poll("hold_ready")).noticed == 1
        assert (await service.poll("hold_ready")).noticed == 0
        # no hold mail: the one mail is the confirmation of the switch to phone
        assert [r.template for r in await outbox_rows(store)] == ["address_change_confirm"]
        (call,) = await service.calls()
        assert call.details["phone"] == "042-000-0002"
        assert call.details["title"] == "細雪"
        done = await service.call_done(call.id, "staff-7")
        assert done.done_by == "staff-7"
        assert await service.calls() == []
        assert len(await service.calls(include_done=True)) == 1
        # The ledger seals what staff need: not readable in the table.
        from sqlalchemy import text

        async with store.engine.connect() as conn:
            query = text("SELECT sealed FROM notice_ledger WHERE event = 'hold_ready'")
            raw = (await conn.execute(query)).scalar_one()
        assert b"042-000-0002" not in raw


async def test_a_sessions_patron_is_completed_from_the_library_record(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, _store, backend, _clock):
        full = patron(11)
        session = Patron(id=full.id, card_number=full.card_number)  # no name, no contact
        backend.records[full.card_number] = full
        await _opt_in(service, full, contact_method="phone")
        assert await service.holds_seen(session, [ready_hold("h11")]) == 1
        (call,) = await service.calls()
        assert (call.details["patron_name"], call.details["phone"]) == ("利用者 11", "042-000-0011")


async def test_opted_out_patrons_get_nothing(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, store, backend, _clock):
        who = patron(3)
        await _opt_in(service, who, contact_method="none")
        await service.holds_seen(who, [ready_hold("h3")])
        backend.loans[who.card_number] = [loan("L1", TODAY + days(2))]
        assert await service.loans_seen(who, backend.loans[who.card_number]) == 0  # no opt-in
        # nothing but the confirmation that notices were turned off
        assert [r.template for r in await outbox_rows(store)] == ["address_change_confirm"]
        assert await service.calls() == []
        # Changing their mind while the hold is still ready: noticed then.
        await _opt_in(service, who, contact_method="mail")
        assert await service.holds_seen(who, [ready_hold("h3")]) == 1


async def test_due_reminder_n_days_before_in_one_mail_per_patron(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, store, backend, clock):
        who = patron(4)
        await _opt_in(service, who, due_reminder=True, due_reminder_days=3)
        backend.loans[who.card_number] = [
            loan("L1", TODAY + days(3), "こころ"),
            loan("L2", TODAY + days(1), "門"),
            loan("L3", TODAY + days(4), "それから"),  # not yet
        ]
        assert (await service.poll("due_reminder")).noticed == 1
        assert (await service.poll("due_reminder")).noticed == 0
        (row,) = await outbox_rows(store)
        assert row.template == "due_reminder"
        titles = [i["title"] for i in json.loads(row.context)["items"]]
        assert sorted(titles) == ["こころ", "門"]
        clock.advance(days=1)  # L3 is now 3 days away: a second mail, for it alone
        assert (await service.poll("due_reminder")).noticed == 1
        rows = await outbox_rows(store)
        assert [i["title"] for i in json.loads(rows[1].context)["items"]] == ["それから"]


async def test_overdue_notice_after_the_tenants_days_and_opt_out(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, store, backend, clock):
        who, other = patron(5), patron(6)
        for p in (who, other):
            await _opt_in(service, p, contact_method="mail")
            backend.loans[p.card_number] = [loan(f"L{p.id}", TODAY)]
        await _opt_in(service, other, overdue_notice=False)
        assert (await service.poll("overdue")).noticed == 0  # due today: not overdue
        clock.advance(days=1)
        assert (await service.poll("overdue")).noticed == 1
        assert (await service.poll("overdue")).noticed == 0
        (row,) = await outbox_rows(store)
        assert (row.template, json.loads(row.recipients)) == ("overdue", ["patron5@example.jp"])


async def test_ebook_hold_ready_mails_the_registered_address(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, store, _backend, _clock):
        who = patron(7)
        owner = store.patron("akiruno", who.card_number)  # the address registered here
        await store.settings.save(
            owner, PatronSettings(email1="reader7@example.jp", hold_contact_method=EMAIL)
        )
        since = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
        hold = EbookHold(
            title=EbookTitle(id="KD000001", title="電子の本"),
            status=HoldStatus.READY,
            placed=since - days(10),
            ready_since=since,
            ready_until=since + days(7),
        )
        assert await service.ebook_holds_seen(who, [hold]) == 1
        assert await service.ebook_holds_seen(who, [hold]) == 0
        (row,) = await outbox_rows(store)
        assert row.template == "ebook_hold_ready"
        assert json.loads(row.recipients) == ["reader7@example.jp"]
        assert json.loads(row.context)["borrow_by"] == "2026-12-11"


async def test_child_entry_at_a_kiosk_mails_the_guardian_once_per_half_hour(
    tmp_path: Path,
) -> None:
    async with notices_env(tmp_path) as (service, store, _backend, clock):
        child, adult = patron(8, is_child=True), patron(9)
        assert await service.kiosk_login(child) is False  # not switched on
        await _opt_in(service, child, child_entry_mail=True)
        assert await service.kiosk_login(child, "中央図書館") is True
        assert await service.kiosk_login(child) is False  # same visit
        assert await service.kiosk_login(adult) is False
        clock.advance(minutes=31)
        assert await service.kiosk_login(child) is True
        rows = await outbox_rows(store)
        assert [r.template for r in rows] == ["kiosk_child_entry"] * 2
        assert json.loads(rows[0].context)["child_name"] == "利用者 8"


async def test_address_change_confirmation_goes_to_the_new_and_old_address(
    tmp_path: Path,
) -> None:
    async with notices_env(tmp_path) as (service, store, _backend, _clock):
        who = patron(10)
        assert await service.address_changed(
            who, "new@example.jp", ["メールアドレス"], old_address="old@example.jp"
        )
        assert not await service.address_changed(who, "new@example.jp", ["メールアドレス"])
        (row,) = await outbox_rows(store)
        assert row.template == "address_change_confirm"
        assert json.loads(row.recipients) == ["new@example.jp", "old@example.jp"]


async def test_polling_is_bounded_batched_and_goes_on_where_it_stopped(tmp_path: Path) -> None:
    async with notices_env(tmp_path, make_tenant(max_patrons=3)) as (service, store, backend, _):
        patrons = [patron(n) for n in range(20, 27)]  # 7 enrolled
        for p in patrons:
            await _opt_in(service, p, contact_method="mail")
            backend.holds[p.card_number] = [ready_hold(f"h{p.id}")]
        first = await service.poll("hold_ready")
        assert (first.enrolled, first.patrons, first.noticed) == (7, 3, 3)
        assert backend.calls == 3 and backend.most_in_flight <= 2  # concurrency 2
        await service.poll("hold_ready")
        third = await service.poll("hold_ready")  # wraps around: 1 new, 2 already noticed
        assert (third.patrons, third.noticed) == (3, 1)
        assert len(await outbox_rows(store)) == 7


async def test_polling_stops_when_the_library_system_is_unavailable(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, store, backend, _clock):
        for n in range(30, 36):
            await _opt_in(service, patron(n), contact_method="mail")
        backend.down = True
        report = await service.poll("hold_ready")
        assert report.stopped == "library system unavailable"
        assert backend.calls <= 2  # the calls already under way (concurrency 2), no more
        assert await outbox_rows(store) == []


async def test_preferences_check_each_field_against_the_tenants_limits(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, _store, _backend, _clock):
        who = patron(40)
        view = await service.preferences(who)
        assert (view.contact_method, view.due_reminder, view.due_reminder_days) == (
            "mail",
            False,
            3,
        )
        with pytest.raises(BadRequest, match="due_reminder_days: 1 to 7"):
            await service.update_preferences(who, due_reminder_days=9)
        with pytest.raises(BadRequest, match="contact_method"):
            await service.update_preferences(who, contact_method="fax")
        view = await service.update_preferences(who, due_reminder=True, due_reminder_days=5)
        assert (view.due_reminder, view.due_reminder_days) == (True, 5)


async def test_polling_waits_while_the_backends_breaker_is_open(tmp_path: Path) -> None:
    from types import SimpleNamespace

    async with notices_env(tmp_path) as (service, store, backend, _clock):
        await _opt_in(service, patron(50), contact_method="mail")
        backend.breaker = SimpleNamespace(state="open")  # as ResilientBackend.breaker says
        report = await service.poll("hold_ready")
        assert report.stopped == "library system unavailable (breaker open)"
        assert backend.calls == 0 and await outbox_rows(store) == []


async def test_a_changed_contact_method_is_confirmed_by_mail_to_the_address_in_use(
    tmp_path: Path,
) -> None:
    """A session taken over must not silence a patron's hold notices unseen: every change of
    the hold contact method is mailed to the address notices went to (a first choice of mail
    excepted: nothing is quieter)."""
    async with notices_env(tmp_path) as (service, store, backend, clock):
        who = patron(12)
        session = Patron(id=who.id, card_number=who.card_number)  # no name, no address
        backend.records[who.card_number] = who
        await _opt_in(service, session, contact_method="mail")
        assert await outbox_rows(store) == []  # unset -> mail: nothing to tell
        await _opt_in(service, session, contact_method="none")
        await _opt_in(service, session, contact_method="none")  # no change: no mail
        clock.advance(minutes=2)
        await _opt_in(service, session, contact_method="phone")
        rows = await outbox_rows(store)
        assert [r.template for r in rows] == ["address_change_confirm"] * 2
        assert all(json.loads(r.recipients) == ["patron12@example.jp"] for r in rows)
        changes = [json.loads(r.context)["changes"] for r in rows]
        assert changes == [
            ["予約の連絡方法：メール → 連絡不要"],
            ["予約の連絡方法：連絡不要 → 電話"],
        ]
        assert json.loads(rows[0].context)["patron_name"] == "利用者 12"
        assert "10000" not in rows[0].dedup_key  # never the card


async def test_no_contact_method_confirmation_without_an_address(tmp_path: Path) -> None:
    async with notices_env(tmp_path) as (service, store, _backend, _clock):
        who = patron(13, email=None)
        await _opt_in(service, who, contact_method="none")
        assert await outbox_rows(store) == []
        assert (await service.preferences(who)).contact_method == "none"
