"""House rules and operations of the simulated ILS, on a small hand-built library."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.library import (
    TOKYO,
    FaultKnobs,
    Operation,
    SimulatedLibrary,
)
from ils_gateway.simulators.outcomes import (
    PatronBlock,
    Refusal,
    RefusalToken,
    SimulatedFault,
    UnknownRecord,
)
from ils_gateway.simulators.policy import (
    HoldLimit,
    HoldState,
    HouseRules,
    ItemType,
    OverdueRenewal,
    RenewalBasis,
)
from ils_gateway.simulators.records import (
    Biblio,
    Branch,
    BranchKind,
    ContactMethod,
    Fee,
    FeeKind,
    Item,
    LibraryData,
    Patron,
    PatronCategory,
    Station,
)

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO)
TODAY = NOW.date()
A, B, C = "1111", "2222", "3333"  # three patrons' cards


def _patron(n: int, card: str, **kw) -> Patron:
    return Patron(
        id=n,
        card_number=card,
        password=f"pw{card}",
        name=f"利用者 {n}",
        name_kana=f"リヨウシャ {n}",
        category=PatronCategory.ADULT,
        home_branch="CEN",
        birth_date=date(1980, 1, 1),
        expiry_date=date(2027, 3, 31),
        last_activity=TODAY,
        email=f"p{n}@example.jp",
        **kw,
    )


def _data() -> LibraryData:
    biblios = [
        Biblio(1, "こころ", "夏目漱石", ItemType.BOOK),
        Biblio(2, "七人の侍", "黒澤明", ItemType.DVD),
        Biblio(3, "ひまわり (複製)", "ゴッホ", ItemType.ART),
        Biblio(4, "広辞苑", "新村出", ItemType.BOOK),
        Biblio(5, "東京物語", "小津安二郎", ItemType.DVD),
        Biblio(6, "みどり県の民俗", "民俗学会", ItemType.BOOK),
    ]
    items = [
        Item(1, "B001", 1, "CEN", "CEN", "913"),
        Item(2, "B002", 1, "KITA", "KITA", "913"),
        Item(3, "D001", 2, "CEN", "CEN", "D"),
        Item(4, "A001", 3, "CEN", "CEN", "A"),
        Item(5, "R001", 4, "CEN", "CEN", "R", not_for_loan=True),
        Item(6, "D002", 5, "CEN", "CEN", "D"),
        Item(7, "I001", 6, "CEN", "CEN", "382", interlibrary_from="県立図書館"),
    ]
    branches = [
        Branch("CEN", "中央図書館"),
        Branch("KITA", "北図書館"),
        Branch("NOPU", "分室", pickup=False),
        Branch(
            "BM",
            "移動図書館",
            kind=BranchKind.BOOKMOBILE,
            pickup=False,
            stations=[Station("BM01", "市役所前", "火曜")],
        ),
    ]
    return LibraryData(
        name="テスト図書館",
        branches=branches,
        biblios=biblios,
        items=items,
        patrons=[_patron(1, A), _patron(2, B), _patron(3, C)],
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def make(clock: ManualClock, **rules) -> SimulatedLibrary:
    return SimulatedLibrary(_data(), clock, rules=HouseRules(**rules))


def lend(lib: SimulatedLibrary, clock: ManualClock, card: str, barcode: str, days_ago: int):
    """Check out ``days_ago`` days before NOW and come back to NOW."""
    clock.now = NOW - timedelta(days=days_ago)
    view = lib.checkout(card, barcode)
    clock.now = NOW
    return view


def refused(token: RefusalToken, call, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as caught:
        call(*args, **kwargs)
    assert caught.value.token is token
    assert caught.value.message  # a Japanese screen message is always there
    return caught.value


# ----- authentication and account --------------------------------------------------------


def test_authenticate_tells_found_and_matched_apart(clock):
    lib = make(clock)
    assert lib.authenticate(A, f"pw{A}").ok
    wrong = lib.authenticate(A, "nope")
    assert wrong.patron_found and not wrong.password_ok and wrong.patron_id is None
    unknown = lib.authenticate("9999", "x")
    assert not unknown.patron_found and not unknown.ok


def test_blocks_expired_inactive_manual(clock):
    data = _data()
    data.patrons[0].expiry_date = TODAY - timedelta(days=1)
    data.patrons[1].last_activity = date(2022, 6, 1)  # more than 3 years
    lib = SimulatedLibrary(data, clock)
    assert lib.patron_info(A).blocks == (PatronBlock.EXPIRED,)
    assert lib.patron_info(B).blocks == (PatronBlock.INACTIVE,)
    lib.block_patron(C, "紛失届")
    assert lib.patron_info(C).blocks == (PatronBlock.MANUAL,)
    refused(RefusalToken.RESTRICTION, lib.checkout, C, "B001")
    refused(RefusalToken.DEBARRED, lib.place_hold, C, "CEN", biblio_id=1)
    refused(RefusalToken.EXPIRED, lib.place_hold, A, "CEN", biblio_id=1)
    refused(RefusalToken.CARD_EXPIRED, lib.checkout, A, "B001")
    lib.enable_patron(C)
    lib.enable_patron(B)
    assert lib.patron_info(B).blocks == () and lib.patron_info(C).blocks == ()
    assert lib.authenticate(C, f"pw{C}").blocks == ()


def test_inactive_block_can_be_switched_off(clock):
    data = _data()
    data.patrons[1].last_activity = date(2010, 1, 1)
    lib = SimulatedLibrary(data, clock, rules=HouseRules(inactive_block_years=None))
    assert lib.patron_info(B).blocks == ()


def test_change_password_rules_and_temporary_flag(clock):
    data = _data()
    data.patrons[0].temporary_password = True
    lib = SimulatedLibrary(data, clock)
    assert lib.authenticate(A, f"pw{A}").temporary_password
    refused(RefusalToken.WRONG_PASSWORD, lib.change_password, A, "bad", "newpass1")
    for bad in ("abc", "x" * 17, "ab|cdef", "パスワード", f"pw{A}"):
        refused(RefusalToken.PASSWORD_REJECTED, lib.change_password, A, f"pw{A}", bad)
    lib.change_password(A, f"pw{A}", "newpass1")
    auth = lib.authenticate(A, "newpass1")
    assert auth.ok and not auth.temporary_password
    assert not lib.authenticate(A, f"pw{A}").ok


def test_pay_fee_oldest_first_and_refusals(clock):
    data = _data()
    data.fees = [
        Fee(1, 1, FeeKind.REPLACEMENT, 1000, "弁償金 1"),
        Fee(2, 1, FeeKind.PROCESSING, 500, "再発行手数料"),
    ]
    lib = SimulatedLibrary(data, clock)
    assert lib.patron_info(A).fee_total == 1500
    assert lib.patron_info(A).counts["fine"] == 2
    refused(RefusalToken.INVALID_AMOUNT, lib.pay_fee, A, 2000)
    refused(RefusalToken.INVALID_AMOUNT, lib.pay_fee, A, 0)
    paid = lib.pay_fee(A, 1200)
    assert paid.fee_ids == (1, 2) and paid.outstanding == 300
    refused(RefusalToken.INVALID_AMOUNT, lib.pay_fee, A, 301, fee_id=2)
    assert lib.pay_fee(A, 300, fee_id=2).outstanding == 0
    refused(RefusalToken.NO_FEES, lib.pay_fee, A, 1)
    refused(RefusalToken.NO_FEES, lib.pay_fee, B, 1)
    with pytest.raises(UnknownRecord):
        lib.pay_fee(A, 1, fee_id=99)


# ----- checkout and checkin --------------------------------------------------------------


def test_checkout_sets_due_date_and_item_status(clock):
    lib = make(clock, loan_days_by_type={"DVD": 7})
    loan = lib.checkout(A, "B001", "CEN")
    assert loan.due == TODAY + timedelta(days=14) and loan.renewals == 0
    assert lib.checkout(A, "D001").due == TODAY + timedelta(days=7)
    info = lib.item_info("B001")
    assert info.circulation_status == "04" and info.due == loan.due
    assert lib.patron_info(A).charged_items == ("D001", "B001")  # earliest due first


def test_checkout_refusals(clock):
    lib = make(clock)
    refused(RefusalToken.NOT_FOR_LOAN, lib.checkout, A, "R001")
    lib.checkout(A, "B001")
    refused(RefusalToken.ALREADY_POSSESSION, lib.checkout, A, "B001")
    refused(RefusalToken.CHECKED_OUT, lib.checkout, B, "B001")
    with pytest.raises(UnknownRecord):
        lib.checkout(A, "nope")
    with pytest.raises(UnknownRecord) as caught:
        lib.checkout("0000", "B002")
    assert "0000" not in str(caught.value)  # card numbers are not echoed


def test_checkin_closes_loan_and_frees_copy(clock):
    lib = make(clock)
    loan = lib.checkout(A, "B001")
    result = lib.checkin("B001", "CEN")
    assert result.loan_id == loan.checkout_id and result.hold is None
    assert lib.item_info("B001").circulation_status == "03"
    assert lib.loans(A) == []
    with pytest.raises(UnknownRecord):
        lib.checkin("B001", "NOWHERE")


# ----- renewals --------------------------------------------------------------------------


def test_renew_once_from_renewal_day(clock):
    lib = make(clock)
    lend(lib, clock, A, "B001", 5)
    renewed = lib.renew(A, "B001")
    assert renewed.due == TODAY + timedelta(days=14) and renewed.renewals == 1
    refused(RefusalToken.TOO_MANY, lib.renew, A, "B001")
    assert lib.loans(A)[0].renewal_refusal.token is RefusalToken.TOO_MANY


def test_renew_from_due_date_basis(clock):
    lib = make(clock, renewal_basis=RenewalBasis.DUE_DATE, renewal_days=7)
    lend(lib, clock, A, "B001", 5)
    assert lib.renew(A, "B001").due == TODAY + timedelta(days=9 + 7)


def test_renew_refused_when_others_wait_and_allowed_when_rule_off(clock):
    lib = make(clock)
    lend(lib, clock, A, "B001", 3)
    lend(lib, clock, C, "B002", 3)
    lib.place_hold(B, "CEN", biblio_id=1)
    refusal = refused(RefusalToken.ON_RESERVE, lib.renew, A, "B001")
    assert refusal.message == "この資料は他の方が予約しているため延長できません"
    lenient = make(clock, renew_when_others_wait=True)
    lend(lenient, clock, A, "B001", 3)
    lend(lenient, clock, C, "B002", 3)
    lenient.place_hold(B, "CEN", biblio_id=1)
    assert lenient.renew(A, "B001").renewals == 1


def test_suspended_hold_does_not_block_renewal(clock):
    lib = make(clock)
    lend(lib, clock, A, "B001", 3)
    lend(lib, clock, C, "B002", 3)
    hold = lib.place_hold(B, "CEN", biblio_id=1)
    lib.suspend_hold(B, hold.hold_id, TODAY + timedelta(days=7))
    assert lib.renew(A, "B001").renewals == 1


@pytest.mark.parametrize(
    ("mode", "days_overdue", "token", "new_due_in"),
    [
        (OverdueRenewal.IN_PERIOD_ONLY, 1, RefusalToken.OVERDUE, None),
        (OverdueRenewal.ALLOW, 5, None, 14),
        (OverdueRenewal.SHORTENED, 5, None, 9),  # Saitama: 14 - 5 days overdue
        (OverdueRenewal.SHORTENED, 14, None, 0),
        (OverdueRenewal.SHORTENED, 15, RefusalToken.TOO_LATE, None),
    ],
)
def test_overdue_renewal_modes(clock, mode, days_overdue, token, new_due_in):
    lib = make(clock, overdue_renewal=mode)
    lend(lib, clock, A, "B001", 14 + days_overdue)
    assert lib.loans(A)[0].overdue_days == days_overdue
    if token is not None:
        refused(token, lib.renew, A, "B001")
    else:
        assert lib.renew(A, "B001").due == TODAY + timedelta(days=new_due_in)


def test_earliest_renewal_days_before_due(clock):
    lib = make(clock, earliest_renewal_days_before_due=13)
    lend(lib, clock, A, "B001", 0)  # due in 14 days: too soon
    refused(RefusalToken.TOO_SOON, lib.renew, A, "B001")
    clock.now = NOW + timedelta(days=1)  # due in 13 days
    assert lib.renew(A, "B001").renewals == 1


def test_interlibrary_loans_art_and_branch_exclusions(clock):
    lib = make(clock, renewal_excluded_branches=("BM",))
    lend(lib, clock, A, "I001", 2)
    lend(lib, clock, A, "A001", 2)
    refused(RefusalToken.INTERLIBRARY_LOAN, lib.renew, A, "I001")
    refused(RefusalToken.ITEM_DENIED_RENEWAL, lib.renew, A, "A001")
    lib.checkout(A, "B001", branch="BM")
    refused(RefusalToken.ITEM_DENIED_RENEWAL, lib.renew, A, "B001")
    ill_ok = make(clock, renew_interlibrary_loans=True)
    lend(ill_ok, clock, A, "I001", 2)
    assert ill_ok.renew(A, "I001").renewals == 1


def test_renewal_refused_for_blocked_patron_and_not_own_loan(clock):
    lib = make(clock)
    lend(lib, clock, A, "B001", 2)
    refused(RefusalToken.NOT_CHECKED_OUT, lib.renew, B, "B001")
    lib.block_patron(A)
    refused(RefusalToken.RESTRICTION, lib.renew, A, "B001")


def test_renew_all_reports_each_loan(clock):
    lib = make(clock)
    lend(lib, clock, A, "B001", 2)
    lend(lib, clock, A, "I001", 2)
    lend(lib, clock, A, "D001", 2)
    result = lib.renew_all(A)
    assert [v.barcode for v in result.renewed] == ["B001", "D001"]
    assert [(b, r.token) for b, r in result.unrenewed] == [("I001", RefusalToken.INTERLIBRARY_LOAN)]


def test_renewal_check_matches_renew(clock):
    lib = make(clock)
    lend(lib, clock, A, "B001", 2)
    refusal, due = lib.renewal_check(A, "B001")
    assert refusal is None and due == TODAY + timedelta(days=14)
    assert lib.renew(A, "B001").due == due


# ----- placing holds ---------------------------------------------------------------------


def test_title_hold_on_shelf_copy_is_allocated_at_once(clock):
    lib = make(clock)
    here = lib.place_hold(A, "CEN", biblio_id=1)
    assert here.state is HoldState.AWAITING_PICKUP and here.barcode == "B001"
    assert here.deadline == TODAY + timedelta(days=10) and here.found == "W"
    there = lib.place_hold(B, "CEN", biblio_id=1)  # the other copy is at KITA
    assert there.state is HoldState.TRANSIT and there.barcode == "B002" and there.found == "T"
    assert lib.item_info("B002").in_transit


def test_item_level_hold_waits_for_that_copy(clock):
    lib = make(clock)
    lend(lib, clock, C, "B001", 2)
    hold = lib.place_hold(A, "CEN", barcode="B001")
    assert hold.item_level and hold.state is HoldState.PENDING and hold.queue_position == 1
    result = lib.checkin("B001", "CEN")
    assert result.hold.hold_id == hold.hold_id
    assert result.hold.state is HoldState.AWAITING_PICKUP


def test_hold_refusals(clock):
    lib = make(clock)
    refused(RefusalToken.NOT_RESERVABLE, lib.place_hold, A, "CEN", biblio_id=3)  # art
    refused(RefusalToken.NOT_RESERVABLE, lib.place_hold, A, "CEN", biblio_id=4)  # reference
    refused(RefusalToken.PICKUP_NOT_VALID, lib.place_hold, A, "NOPU", biblio_id=1)
    refused(RefusalToken.PICKUP_NOT_VALID, lib.place_hold, A, "XX", biblio_id=1)
    refused(
        RefusalToken.BOOKMOBILE_PHONE_ONLY,
        lib.place_hold,
        A,
        "BM01",
        biblio_id=1,
        contact=ContactMethod.EMAIL,
    )
    lib.checkout(A, "D001")
    refused(RefusalToken.ALREADY_POSSESSION, lib.place_hold, A, "CEN", biblio_id=2)
    lib.place_hold(A, "CEN", biblio_id=5)
    refused(RefusalToken.ALREADY_RESERVED, lib.place_hold, A, "CEN", biblio_id=5)
    with pytest.raises(ValueError):
        lib.place_hold(A, "CEN")
    with pytest.raises(UnknownRecord):
        lib.place_hold(A, "CEN", biblio_id=99)


def test_bookmobile_station_pickup_defaults_to_phone(clock):
    lib = make(clock)
    hold = lib.place_hold(A, "BM01", biblio_id=5)
    assert hold.contact is ContactMethod.PHONE and hold.pickup == "BM01"
    assert hold.state is HoldState.TRANSIT  # the copy travels to the bookmobile
    relaxed = make(clock, bookmobile_contact_phone_only=False)
    assert relaxed.place_hold(A, "BM01", biblio_id=5, contact=ContactMethod.EMAIL)


def test_hold_limits_total_and_by_type(clock):
    lib = make(clock, max_holds=2, hold_limits=(HoldLimit("av", (ItemType.DVD,), 1),))
    lib.place_hold(A, "CEN", biblio_id=2)
    refusal = refused(RefusalToken.TOO_MANY_RESERVES, lib.place_hold, A, "CEN", biblio_id=5)
    assert "1件" in refusal.message
    lib.place_hold(A, "CEN", biblio_id=1)
    refused(RefusalToken.TOO_MANY_RESERVES, lib.place_hold, A, "CEN", biblio_id=6)
    # a cancelled hold no longer counts
    other = make(clock, max_holds=1)
    lend(other, clock, C, "D002", 1)
    first = other.place_hold(A, "CEN", biblio_id=5)
    other.cancel_hold(A, first.hold_id)
    assert other.place_hold(A, "CEN", biblio_id=6)


def test_overdue_item_blocks_holds_from_four_days_and_is_switchable(clock):
    lib = make(clock)
    lend(lib, clock, A, "B001", 14 + 3)
    assert lib.place_hold(A, "CEN", biblio_id=5)
    clock.now = NOW + timedelta(days=1)  # now 4 days overdue
    refused(RefusalToken.ITEM_OVERDUE, lib.place_hold, A, "CEN", biblio_id=2)
    lenient = make(clock, overdue_days_blocking_holds=None)
    lend(lenient, clock, A, "B001", 30)
    assert lenient.place_hold(A, "CEN", biblio_id=2)


def test_refused_operations_change_nothing(clock):
    lib = make(clock, max_holds=1)
    lib.place_hold(A, "CEN", biblio_id=5)
    before = lib.to_json()
    for call in (
        lambda: lib.place_hold(A, "CEN", biblio_id=1),
        lambda: lib.checkout(A, "R001"),
        lambda: lib.renew(A, "B001"),
        lambda: lib.pay_fee(A, 10),
        lambda: lib.change_password(A, "x", "yyyyyy"),
    ):
        with pytest.raises(Refusal):
            call()
    assert lib.to_json() == before


# ----- changing holds --------------------------------------------------------------------


@pytest.fixture
def queued(clock):
    """Both copies of こころ out; A, then B, then C wait for the title."""
    lib = make(clock)
    lend(lib, clock, C, "B001", 3)
    lend(lib, clock, C, "B002", 3)
    holds = [lib.place_hold(card, "CEN", biblio_id=1) for card in (A, B)]
    return lib, holds


def test_queue_positions_and_counts(queued):
    lib, (a, b) = queued
    assert (a.queue_position, b.queue_position, b.queue_length) == (1, 2, 2)
    assert lib.item_info("B001").hold_queue_length == 2
    assert lib.patron_info(A).unavailable_holds == ("こころ",)
    assert lib.patron_info(A).counts["unavailable_hold"] == 1


def test_cancel_only_while_pending_otherwise_cancellation_request(queued, clock):
    lib, (a, b) = queued
    assert lib.cancel_hold(B, b.hold_id).state is HoldState.CANCELLED
    with pytest.raises(UnknownRecord):
        lib.cancel_hold(B, b.hold_id)  # closed holds are history
    with pytest.raises(UnknownRecord):
        lib.cancel_hold(B, a.hold_id)  # not B's hold
    lib.checkin("B001", "CEN")
    ready = lib.cancel_hold(A, a.hold_id)
    assert ready.state is HoldState.AWAITING_PICKUP and ready.cancellation_requested
    strict = make(clock, cancellation_request_when_found=False)
    hold = strict.place_hold(A, "CEN", biblio_id=1)
    refused(RefusalToken.NOT_CANCELLABLE, strict.cancel_hold, A, hold.hold_id)


def test_cancelling_a_found_hold_passes_the_copy_on(clock):
    lib = make(clock, cancellable_states=(HoldState.PENDING, HoldState.AWAITING_PICKUP))
    lend(lib, clock, C, "B002", 1)
    a = lib.place_hold(A, "CEN", biblio_id=1)
    b = lib.place_hold(B, "CEN", biblio_id=1)
    assert a.state is HoldState.AWAITING_PICKUP
    lib.cancel_hold(A, a.hold_id)
    assert lib.hold_by_id(b.hold_id).state is HoldState.AWAITING_PICKUP


def test_change_pickup_only_while_pending(queued):
    lib, (a, _) = queued
    moved = lib.change_pickup(A, a.hold_id, "BM01")
    assert moved.pickup == "BM01" and moved.contact is ContactMethod.PHONE
    refused(RefusalToken.PICKUP_NOT_VALID, lib.change_pickup, A, a.hold_id, "NOPU")
    lib.change_pickup(A, a.hold_id, "KITA")
    lib.checkin("B001", "CEN")
    refused(RefusalToken.HOLD_FOUND, lib.change_pickup, A, a.hold_id, "CEN")


def test_suspend_skips_the_turn_and_resume_goes_to_the_top(queued, clock):
    lib, (a, b) = queued
    until = TODAY + timedelta(days=7)
    paused = lib.suspend_hold(A, a.hold_id, until)
    assert paused.suspended and paused.suspended_until == until
    result = lib.checkin("B001", "CEN")
    assert result.hold.hold_id == b.hold_id  # A's turn was skipped
    refused(RefusalToken.NOT_SUSPENDED, lib.resume_hold, B, b.hold_id)
    clock.now = NOW + timedelta(days=7)
    events = lib.advance()
    assert any(e.hold_id == a.hold_id and e.resumed for e in events)
    assert lib.hold_by_id(a.hold_id).queue_position == 1
    with pytest.raises(ValueError):
        lib.suspend_hold(A, a.hold_id, TODAY)


def test_explicit_resume_puts_hold_ahead_of_later_ones(clock):
    lib = make(clock)
    lend(lib, clock, C, "B001", 3)
    lend(lib, clock, C, "B002", 3)
    a = lib.place_hold(A, "CEN", biblio_id=1)
    lib.suspend_hold(A, a.hold_id)
    b = lib.place_hold(B, "CEN", biblio_id=1)
    assert lib.hold_by_id(b.hold_id).queue_position == 2
    assert lib.resume_hold(A, a.hold_id).queue_position == 1
    lib.checkin("B001", "CEN")
    assert lib.hold_by_id(a.hold_id).state is HoldState.AWAITING_PICKUP


def test_extend_pickup_once_if_nobody_waits(clock):
    lib = make(clock)
    lend(lib, clock, C, "B002", 1)
    a = lib.place_hold(A, "CEN", biblio_id=1)
    extended = lib.extend_pickup(A, a.hold_id)
    assert extended.deadline == a.deadline + timedelta(days=5) and extended.extensions == 1
    refused(RefusalToken.EXTENSION_USED, lib.extend_pickup, A, a.hold_id)
    other = make(clock)
    lend(other, clock, C, "B002", 1)
    a2 = other.place_hold(A, "CEN", biblio_id=1)
    other.place_hold(B, "CEN", biblio_id=1)
    refused(RefusalToken.OTHERS_WAITING, other.extend_pickup, A, a2.hold_id)


def test_extend_refused_for_pending_hold(queued):
    lib, (a, _) = queued
    refused(RefusalToken.NOT_AWAITING_PICKUP, lib.extend_pickup, A, a.hold_id)


# ----- time ------------------------------------------------------------------------------


def test_transit_arrives_is_prepared_then_ready(clock):
    lib = make(clock, transit_days=1, processing_hours=2)
    lend(lib, clock, C, "B001", 3)
    lend(lib, clock, C, "B002", 3)
    hold = lib.place_hold(A, "CEN", biblio_id=1)
    result = lib.checkin("B002", "KITA")
    assert result.route_to == "CEN" and result.hold.state is HoldState.TRANSIT
    assert lib.item_info("B002").circulation_status == "10"
    clock.advance(hours=23)
    assert lib.advance() == []
    clock.advance(hours=1)
    lib.advance()
    assert lib.hold_by_id(hold.hold_id).state is HoldState.PROCESSING
    assert lib.item_info("B002").circulation_status == "06"
    clock.advance(hours=2)
    lib.advance()
    ready = lib.hold_by_id(hold.hold_id)
    assert ready.state is HoldState.AWAITING_PICKUP and ready.found == "W"
    assert ready.deadline == (NOW + timedelta(days=1, hours=2)).date() + timedelta(days=10)
    info = lib.item_info("B002")
    assert info.on_hold_shelf and info.circulation_status == "08" and info.location == "CEN"
    assert lib.patron_info(A).hold_items == ("B002",)


def test_checkin_at_pickup_shelves_a_copy_in_transit(clock):
    lib = make(clock)
    lend(lib, clock, C, "B001", 3)
    lend(lib, clock, C, "B002", 3)
    hold = lib.place_hold(A, "CEN", biblio_id=1)
    lib.checkin("B002", "KITA")
    assert lib.checkin("B002", "CEN").hold.state is HoldState.AWAITING_PICKUP
    assert lib.hold_by_id(hold.hold_id).state is HoldState.AWAITING_PICKUP


def test_uncollected_hold_lapses_and_copy_goes_to_next(clock):
    lib = make(clock)
    lend(lib, clock, C, "B002", 1)
    a = lib.place_hold(A, "CEN", biblio_id=1)
    b = lib.place_hold(B, "CEN", biblio_id=1)
    clock.now = NOW + timedelta(days=10)
    assert lib.advance() == []  # the deadline day itself still counts
    clock.now = NOW + timedelta(days=11)
    events = lib.advance()
    assert [(e.hold_id, e.after) for e in events] == [(a.hold_id, HoldState.LAPSED)]
    assert lib.hold_by_id(b.hold_id).state is HoldState.AWAITING_PICKUP
    assert [h.state for h in lib.holds(A, include_closed=True)] == [HoldState.LAPSED]
    assert lib.holds(A) == []


def test_checkout_fulfils_the_patrons_hold(clock):
    lib = make(clock)
    lend(lib, clock, C, "B002", 1)
    a = lib.place_hold(A, "CEN", biblio_id=1)
    refused(RefusalToken.RESERVED, lib.checkout, B, "B001")
    lib.checkout(A, "B001")
    assert lib.hold_by_id(a.hold_id).state is HoldState.FILLED
    assert lib.patron_info(A).hold_ids == ()


def test_clock_must_be_aware():
    lib = SimulatedLibrary(_data(), lambda: datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        lib.patron_info(A)
    with pytest.raises(ValueError):
        ManualClock(datetime(2025, 1, 1))


def test_pickup_locations_list_libraries_then_stations(clock):
    lib = make(clock)
    codes = [(p.code, p.bookmobile) for p in lib.pickup_locations()]
    assert codes == [("CEN", None), ("KITA", None), ("BM01", "BM")]


# ----- fault knobs -----------------------------------------------------------------------


def _failures(seed: int, calls: int = 40) -> list[bool]:
    lib = SimulatedLibrary(
        _data(),
        ManualClock(NOW),
        faults=FaultKnobs(seed=seed, failure_rate={Operation.ITEM_INFO: 0.5}),
    )
    out = []
    for _ in range(calls):
        try:
            lib.item_info("B001")
            out.append(False)
        except SimulatedFault as fault:
            assert fault.operation == "item_info"
            out.append(True)
        lib.patron_info(A)  # other operations do not disturb the stream
    return out


def test_faults_replay_for_the_same_seed():
    first = _failures(7)
    assert first == _failures(7)
    assert any(first) and not all(first)
    assert first != _failures(8)


def test_faults_change_nothing_and_latency_is_only_stored(clock):
    knobs = FaultKnobs(failure_rate={Operation.CHECKOUT: 1.0}, latency={Operation.CHECKOUT: 0.25})
    lib = SimulatedLibrary(_data(), clock, faults=knobs)
    before = lib.to_json()
    with pytest.raises(SimulatedFault):
        lib.checkout(A, "B001")
    assert lib.to_json() == before
    assert knobs.latency_for(Operation.CHECKOUT) == 0.25
    assert knobs.latency_for(Operation.RENEW) == 0.0


def test_rules_are_per_instance(clock):
    a = make(clock, max_renewals=2)
    b = make(clock)
    assert a.rules.max_renewals == 2 and b.rules.max_renewals == 1
    assert replace(b.rules, loan_days=7).loan_period(ItemType.BOOK) == 7
