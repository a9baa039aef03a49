"""SIP2 answers built with the codec (and read back from the wire) mapped to domain models."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ils_gateway.adapters.sip2 import mapping
from ils_gateway.adapters.sip2.refusals import RefusalTable
from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.models import Loan, RenewabilityUnknown
from ils_gateway.domain.vocab import (
    BlockReason,
    HoldStatus,
    LoanState,
    MaterialType,
    Outcome,
    RefusalReason,
)
from ils_gateway.sip2.codec import encode, parse
from ils_gateway.sip2.fields import CirculationStatus, PatronStatus, PatronStatusFlag, SipDate
from ils_gateway.sip2.messages import (
    HoldResponse,
    ItemInformationResponse,
    Message,
    PatronInformationResponse,
    RenewAllResponse,
    RenewResponse,
)
from ils_gateway.tenants.loans import Sip2LoanFields

TOKYO = ZoneInfo("Asia/Tokyo")
TODAY = date(2025, 6, 2)
NOW = SipDate("20250602    100000")


def wire(message: Message) -> Message:
    """The message as a peer would read it: encoded, then parsed."""
    return parse(encode(message))


def item_18(
    status: CirculationStatus = CirculationStatus.CHARGED, **fields: object
) -> ItemInformationResponse:
    values: dict[str, object] = {
        "item_identifier": "2100000001",
        "title_identifier": "こころ",
        "media_type": "001",
        **fields,
    }
    return wire(
        ItemInformationResponse.build(circulation_status=status, transaction_date=NOW, **values)
    )  # type: ignore[return-value]


# --- patrons ---------------------------------------------------------------------------


def test_patron_from_64() -> None:
    msg = wire(
        PatronInformationResponse.build(
            patron_status=PatronStatus(),
            language="014",
            transaction_date=NOW,
            hold_items_count=1,
            overdue_items_count=2,
            charged_items_count=3,
            unavailable_holds_count=4,
            institution_id="MIDORI",
            patron_identifier="1000000001",
            personal_name="山田 花子",
            valid_patron=True,
            email_address="hanako@example.jp",
            home_phone_number="03-1234-5678",
        )
    )
    assert isinstance(msg, PatronInformationResponse)
    patron = mapping.patron_from_64(msg, "1000000001")
    assert patron.id == "1000000001"
    assert patron.name == "山田 花子"
    assert (patron.loans_count, patron.overdue_count) == (3, 2)
    assert (patron.holds_count, patron.holds_ready_count) == (5, 1)
    assert patron.email == "hanako@example.jp"
    assert patron.phone == "03-1234-5678"
    assert patron.blocks == ()


@pytest.mark.parametrize(
    ("flag", "block"),
    [
        (PatronStatusFlag.CARD_REPORTED_LOST, BlockReason.LOST_CARD),
        (PatronStatusFlag.TOO_MANY_ITEMS_OVERDUE, BlockReason.OVERDUE_ITEMS),
        (PatronStatusFlag.EXCESSIVE_OUTSTANDING_FEES, BlockReason.FINES),
        (PatronStatusFlag.EXCESSIVE_OUTSTANDING_FINES, BlockReason.FINES),
        (PatronStatusFlag.TOO_MANY_CLAIMS_OF_ITEMS_RETURNED, BlockReason.TOO_MANY_CLAIMS),
    ],
)
def test_status_flags_are_blocks(flag: PatronStatusFlag, block: BlockReason) -> None:
    denied = {PatronStatusFlag.CHARGE_PRIVILEGES_DENIED, flag}
    assert mapping.blocks_from_status(PatronStatus.from_flags(denied)) == (block,)


@pytest.mark.parametrize(
    ("text", "block"),
    [
        ("利用カードの有効期限が切れています", BlockReason.CARD_EXPIRED),
        ("長期間ご利用がないため、カウンターで確認してください", BlockReason.CARD_UNUSED),
        ("Patron card expired", BlockReason.CARD_EXPIRED),
        ("カウンターにお越しください", BlockReason.ADMINISTRATIVE),
    ],
)
def test_privileges_denied_without_a_flag_read_the_screen_message(
    text: str, block: BlockReason
) -> None:
    status = PatronStatus.from_flags({PatronStatusFlag.HOLD_PRIVILEGES_DENIED})
    assert mapping.blocks_from_status(status, [text]) == (block,)


def test_limits_reached_are_not_blocks() -> None:
    status = PatronStatus.from_flags({PatronStatusFlag.TOO_MANY_ITEMS_CHARGED})
    assert mapping.blocks_from_status(status, ["貸出上限です"]) == ()


# --- lists and items -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "mode", "item_id", "title", "key"),
    [
        ("2100000001", "item_id", "2100000001", None, "2100000001"),
        ("こころ", "title", None, "こころ", "title:こころ"),
        ("2100000001 こころ 上", "item_id_title", "2100000001", "こころ 上", "2100000001"),
        ("2100000001", "item_id_title", "2100000001", None, "2100000001"),
    ],
)
def test_list_entries(raw: str, mode: mapping.ListMode, item_id, title, key) -> None:
    entry = mapping.parse_list_entry(raw, mode)
    assert (entry.item_id, entry.title, entry.key) == (item_id, title, key)


@pytest.mark.parametrize(
    ("ck", "material"),
    [
        ("001", MaterialType.BOOK),
        ("002", MaterialType.MAGAZINE),
        ("004", MaterialType.CASSETTE),
        ("005", MaterialType.VIDEO),
        ("006", MaterialType.CD),
        ("009", MaterialType.BOOK),
        ("000", MaterialType.OTHER),
        (None, MaterialType.BOOK),
        ("xyz", MaterialType.OTHER),
    ],
)
def test_media_types(ck: str | None, material: MaterialType) -> None:
    assert mapping.material_type(ck) is material


def test_sip_day_local_and_utc() -> None:
    assert mapping.sip_day(SipDate("20250604    235959"), TOKYO) == date(2025, 6, 4)
    # 20:00 UTC on the 3rd is 05:00 on the 4th in Tokyo.
    assert mapping.sip_day(SipDate("20250603   Z200000"), TOKYO) == date(2025, 6, 4)
    assert mapping.sip_day(SipDate.none(), TOKYO) is None
    assert mapping.sip_day(None, TOKYO) is None


def test_unknown_item() -> None:
    unknown = item_18(CirculationStatus.OTHER, title_identifier="", media_type=None)
    assert not mapping.item_known(unknown)
    assert mapping.item_known(item_18())


# --- loans -----------------------------------------------------------------------------


def test_loan_from_18() -> None:
    msg = item_18(due_date=SipDate("20250604    235959"), hold_queue_length="0")
    loan = mapping.loan_from_18(msg, today=TODAY, tz=TOKYO)
    assert loan.id == loan.item.id == "2100000001"
    assert loan.item.title == "こころ"
    assert loan.due_date == date(2025, 6, 4)
    assert loan.state is LoanState.ON_LOAN
    # SIP2 2.00 has no renewal count: not "renewable", but "not known" (issue 16).
    assert loan.renewable is None and loan.refusal_reason is None
    assert loan.renewable_unknown is RenewabilityUnknown.RENEWAL_COUNT_UNKNOWN
    assert loan.renewals_used is None


def test_loan_branch_is_the_current_location_and_locations_are_kept() -> None:
    # sip2.md: 18 carries AQ permanent location, AP current location, BG owner.
    msg = item_18(
        due_date=SipDate("20250604    235959"),
        permanent_location="CEN",
        current_location="BM",
        owner="MIDORI",
    )
    loan = mapping.loan_from_18(msg, today=TODAY, tz=TOKYO)
    assert (loan.loan_branch, loan.item.location) == ("BM", "CEN")
    by_vendor = item_18(
        due_date=SipDate("20250604    235959"),
        current_location="CEN",
        extra_fields=[("XB", "BM02")],
    )
    fields = Sip2LoanFields(branch="XB")
    assert mapping.loan_from_18(by_vendor, today=TODAY, tz=TOKYO, fields=fields).loan_branch == (
        "BM02"
    )
    no_branch = Sip2LoanFields(branch=None)
    assert mapping.loan_from_18(msg, today=TODAY, tz=TOKYO, fields=no_branch).loan_branch is None


def test_renewal_count_from_vendor_fields() -> None:
    fields = Sip2LoanFields(renewals_used="ZR", renewals_allowed="ZL")

    def loan_with(*extra: tuple[str, str]) -> Loan:
        msg = item_18(due_date=SipDate("20250604    235959"), extra_fields=list(extra))
        return mapping.loan_from_18(msg, today=TODAY, tz=TOKYO, fields=fields)

    fresh = loan_with(("ZR", "0"), ("ZL", "1"))
    assert (fresh.renewable, fresh.renewals_used, fresh.renewals_allowed) == (True, 0, 1)
    used_up = loan_with(("ZR", "1"), ("ZL", "1"))
    assert used_up.renewable is False
    assert used_up.refusal_reason is RefusalReason.RENEWAL_LIMIT
    count_only = loan_with(("ZR", "1"))  # the tenant's max_renewals decides (rules)
    assert (count_only.renewable, count_only.renewals_allowed) == (True, None)
    garbage = loan_with(("ZR", "x"))
    assert garbage.renewable is None and garbage.renewals_used is None


def test_renewed_loan_does_not_claim_a_renewal_count() -> None:
    msg = wire(
        RenewResponse.build(
            ok=True,
            renewal_ok=True,
            magnetic_media=False,
            desensitize=False,
            transaction_date=NOW,
            item_identifier="2100000001",
            title_identifier="こころ",
            due_date=SipDate("20250616    235959"),
        )
    )
    loan = mapping.renewed_loan(msg, today=TODAY, tz=TOKYO)  # type: ignore[arg-type]
    assert loan.renewals_used is None and loan.renewable is None


def test_overdue_loan() -> None:
    msg = item_18(due_date=SipDate("20250528    235959"))
    loan = mapping.loan_from_18(msg, today=TODAY, tz=TOKYO)
    assert loan.state is LoanState.OVERDUE
    assert loan.days_overdue == 5


def test_loan_listed_overdue_by_the_acs() -> None:
    msg = item_18(due_date=SipDate("20250602    235959"))
    loan = mapping.loan_from_18(msg, today=TODAY, tz=TOKYO, overdue_ids={"2100000001"})
    assert loan.state is LoanState.OVERDUE


def test_lost_loan() -> None:
    msg = item_18(CirculationStatus.LOST, due_date=SipDate("20250501    235959"))
    assert mapping.loan_from_18(msg, today=TODAY, tz=TOKYO).state is LoanState.LOST


def test_others_waiting_make_a_loan_not_renewable() -> None:
    msg = item_18(due_date=SipDate("20250606    235959"), hold_queue_length="2")
    loan = mapping.loan_from_18(msg, today=TODAY, tz=TOKYO)
    assert not loan.renewable
    assert loan.refusal_reason is RefusalReason.HAS_HOLDS


def test_loan_without_due_date_is_a_protocol_error() -> None:
    with pytest.raises(BackendProtocolError):
        mapping.loan_from_18(item_18(), today=TODAY, tz=TOKYO)


def test_renewed_loan() -> None:
    msg = wire(
        RenewResponse.build(
            ok=True,
            renewal_ok=True,
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier="1000000001",
            item_identifier="2100000001",
            title_identifier="こころ",
            due_date=SipDate("20250616    235959"),
            media_type="006",
        )
    )
    assert isinstance(msg, RenewResponse)
    loan = mapping.renewed_loan(msg, today=TODAY, tz=TOKYO)
    assert loan.due_date == date(2025, 6, 16)
    assert loan.item.material_type is MaterialType.CD


def test_renew_all_results() -> None:
    msg = wire(
        RenewAllResponse.build(
            ok=True,
            renewed_count=1,
            unrenewed_count=1,
            transaction_date=NOW,
            institution_id="MIDORI",
            renewed_items=["A1"],
            unrenewed_items=["B2"],
            screen_messages=["B2: この資料は他の方が予約しているため延長できません"],
        )
    )
    assert isinstance(msg, RenewAllResponse)
    batch = mapping.renew_all_results(msg, ["A1", "B2", "C3"], RefusalTable())
    a, b, c = batch.results
    assert a.outcome is Outcome.OK
    assert b.outcome is Outcome.REFUSED and b.reason is RefusalReason.HAS_HOLDS
    assert b.backend_message == "B2: この資料は他の方が予約しているため延長できません"
    assert c.outcome is Outcome.ERROR  # neither list names it


# --- holds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (CirculationStatus.WAITING_ON_HOLD_SHELF, HoldStatus.READY),
        (CirculationStatus.IN_TRANSIT, HoldStatus.IN_TRANSIT),
        (CirculationStatus.IN_PROCESS, HoldStatus.PREPARING),
        (CirculationStatus.ON_ORDER, HoldStatus.ORDERED),
        (CirculationStatus.CHARGED, HoldStatus.WAITING),
        (CirculationStatus.AVAILABLE, HoldStatus.WAITING),
    ],
)
def test_unavailable_hold_status_from_circulation_status(
    status: CirculationStatus, expected: HoldStatus
) -> None:
    assert mapping.hold_status(False, item_18(status)) is expected


def test_available_list_means_ready() -> None:
    assert mapping.hold_status(True, None) is HoldStatus.READY
    assert mapping.hold_status(False, None) is HoldStatus.WAITING


def test_ready_hold_from_entry() -> None:
    info = item_18(
        CirculationStatus.WAITING_ON_HOLD_SHELF,
        hold_pickup_date=SipDate("20250610    235959"),
        current_location="KITA",
        hold_queue_length="0",
    )
    entry = mapping.parse_list_entry("2100000001", "item_id")
    hold = mapping.hold_from_entry(entry, available_list=True, item_info=info, tz=TOKYO)
    assert hold.id == "2100000001"
    assert hold.status is HoldStatus.READY
    assert hold.pickup_library == "KITA"
    assert hold.pickup_deadline == date(2025, 6, 10)
    assert hold.backend_status == "AS 08"


def test_title_only_hold() -> None:
    entry = mapping.parse_list_entry("京都 路地裏さんぽ", "title")
    hold = mapping.hold_from_entry(entry, available_list=False, item_info=None, tz=TOKYO)
    assert hold.id == "title:京都 路地裏さんぽ"
    assert hold.item.title == "京都 路地裏さんぽ"
    assert hold.status is HoldStatus.WAITING
    assert hold.title_level


def test_queue_of_one_means_first() -> None:
    entry = mapping.parse_list_entry("2100000001", "item_id")
    one = item_18(CirculationStatus.CHARGED, hold_queue_length="1")
    three = item_18(CirculationStatus.CHARGED, hold_queue_length="3")
    hold = mapping.hold_from_entry(entry, available_list=False, item_info=one, tz=TOKYO)
    assert hold.queue_position == 1
    hold = mapping.hold_from_entry(entry, available_list=False, item_info=three, tz=TOKYO)
    assert hold.queue_position is None


def test_hold_placed() -> None:
    msg = wire(
        HoldResponse.build(
            ok=True,
            available=False,
            transaction_date=NOW,
            queue_position="3",
            pickup_location="MINAMI",
            institution_id="MIDORI",
            patron_identifier="1000000001",
            item_identifier="2100000001",
            title_identifier="こころ",
            expiration_date=SipDate("20251202    235959"),
        )
    )
    assert isinstance(msg, HoldResponse)
    hold = mapping.hold_placed(
        msg, item_id="2100000001", title_level=True, pickup_library="CEN", tz=TOKYO
    )
    assert hold.status is HoldStatus.WAITING
    assert hold.queue_position == 3
    assert hold.pickup_library == "MINAMI"
    assert hold.expires == date(2025, 12, 2)
    assert hold.item.title == "こころ"


def test_sip_day_of_datetime_roundtrip() -> None:
    when = datetime(2025, 6, 4, 23, 59, 59)
    assert mapping.sip_day(SipDate.from_datetime(when), TOKYO) == date(2025, 6, 4)
