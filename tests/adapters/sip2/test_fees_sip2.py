"""SIP2 fees: 64 AV lines in the formats real ACSs send, BV as the total, BH checked; and the
adapter against the SIP2 simulator (Koha's default AV template), plain and with quirks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.adapters.sip2.fees import fee_account, parse_fine_item
from ils_gateway.adapters.sip2.mapping import patron_from_64
from ils_gateway.domain.errors import BackendProtocolError, NotFound
from ils_gateway.domain.fees import fee_type_from_text
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import FeeType
from ils_gateway.sip2.codec import CodecSettings, parse
from ils_gateway.sip2.messages import PatronInformationResponse

KEIKO = "1000000011"  # owes 1650 yen for a lost copy (sample data)
DAMAGE = "1000000015"  # owes 1100 yen for a damaged copy
HANAKO = "1000000001"  # owes nothing


def _wire_example(number: int) -> bytes:
    """Frame ``[number]`` of the shared reference file (real vendors' frames)."""
    for folder in Path(__file__).resolve().parents:
        path = folder / "shared" / "reference" / "sip2_wire_examples.txt"
        if path.is_file():
            lines = path.read_text().splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith(f"[{number}]"))
            frame = next(line for line in lines[start:] if "ACS->SC:" in line)
            return frame.split("ACS->SC:", 1)[1].strip().encode()
    pytest.skip("shared/reference/sip2_wire_examples.txt not found")


@pytest.mark.parametrize(
    ("line", "amount", "fee_type", "item_id", "title"),
    [
        # Koha's default av_field_template: description, then amountoutstanding %.2f
        ("弁償金 (紛失資料 2100000088) 1650.00", 1650, FeeType.LOST_ITEM, "2100000088", None),
        ("Lost item こころ 2100000001 1500.00", 1500, FeeType.LOST_ITEM, "2100000001", None),
        # Evergreen eg_legacy: balance, billing type, title / author
        ("880.00 Damaged Item 細雪 / 谷崎潤一郎", 880, FeeType.DAMAGED_ITEM, None, None),
        ("100.00 Overdue materials 日本の歴史 3", 100, FeeType.OVERDUE, None, None),
        # Evergreen 3m / swyer_a: id $balance "TYPE" title
        ('42 $1650.00 "LOST" こころ', 1650, FeeType.LOST_ITEM, None, "こころ"),
        ('43 $30.00 "FINE" 坊っちゃん', 30, FeeType.OVERDUE, None, "坊っちゃん"),
        # Evergreen swyer_b
        (
            "Charge-Number: 44, Amount-Due: 300.00, Fine-Type: FEE, Title: カード再発行",
            300,
            FeeType.CARD_REPLACEMENT,
            None,
            "カード再発行",
        ),
        # Japanese vendors' free text
        ("汚損弁償 ¥1,100", 1100, FeeType.DAMAGED_ITEM, None, None),
        ("延滞金 1,200円", 1200, FeeType.OVERDUE, None, None),
    ],
)
def test_fine_item_formats(
    line: str, amount: int, fee_type: FeeType, item_id: str | None, title: str | None
) -> None:
    fee = parse_fine_item(line)
    assert fee is not None
    assert (fee.amount, fee.type, fee.item_id, fee.title) == (amount, fee_type, item_id, title)


def test_fine_item_without_amount_is_unreadable() -> None:
    assert parse_fine_item("弁償金があります") is None
    assert parse_fine_item("   ") is None
    account = fee_account(["弁償金があります", "汚損弁償 500.00", ""], "1500", "JPY")
    assert account.unreadable == 1 and [f.amount for f in account.fees] == [500]
    assert account.total == 1500 and not account.items_match


def test_named_format_only() -> None:
    assert parse_fine_item('42 $1650.00 "LOST" こころ', "koha") is None  # ends in a title
    assert parse_fine_item("弁償金 1650.00", "3m") is None


def test_bv_is_the_total_even_when_lines_disagree() -> None:
    account = fee_account(["弁償金 1000.00", "汚損弁償金 500.00"], "2000.00", "JPY")
    assert account.total == 2000 and account.items_total == 1500
    assert not account.items_match
    agreed = fee_account(["弁償金 1000.00", "汚損弁償金 500.00"], "1500", None)
    assert agreed.items_match and agreed.total == 1500


def test_no_bv_sums_the_lines_and_negative_lines_are_not_charges() -> None:
    account = fee_account(["弁償金 1000.00", "返金 -200.00"], None, None)
    assert account.total == 1000 and account.unreadable == 1


@pytest.mark.parametrize("currency", ["USD", "SEK", "usd"])
def test_other_currency_is_refused(currency: str) -> None:
    with pytest.raises(BackendProtocolError) as info:
        fee_account(["fine 9.25"], "9.25", currency)
    assert "BH=" in (info.value.operator_detail or "")


def test_unreadable_bv_is_a_protocol_error() -> None:
    with pytest.raises(BackendProtocolError):
        fee_account([], "lots", "JPY")


def test_type_words() -> None:
    assert fee_type_from_text("予約手数料") is FeeType.HOLD_FEE
    assert fee_type_from_text("手数料") is FeeType.PROCESSING
    assert fee_type_from_text(None, "") is FeeType.OTHER


def test_fees_owed_from_real_vendor_frames() -> None:
    """Sierra sends BV0 (no BH): nothing owed; Polaris sends BHUSD BV9.25: not yen, so the
    summary says nothing rather than 9 yen."""
    settings = CodecSettings(verify_checksum=False)
    sierra = parse(_wire_example(21), settings)
    polaris = parse(_wire_example(23), settings)
    assert isinstance(sierra, PatronInformationResponse)
    assert isinstance(polaris, PatronInformationResponse)
    assert patron_from_64(sierra, "12345").fees_owed == 0
    assert patron_from_64(polaris, "25891000331441").fees_owed is None
    with pytest.raises(BackendProtocolError):
        fee_account(polaris.fine_items, polaris.fee_amount, polaris.currency_type)


# --- against the SIP2 simulator -----------------------------------------------------------


def _patron(card: str) -> Patron:
    return Patron(id=card, card_number=card)


async def test_lost_item_charge(backend: Sip2Backend) -> None:
    assert backend.capabilities.supports(Capability.LIST_FEES)
    account = await backend.list_fees(_patron(KEIKO))
    assert account.total == 1650 and account.items_match
    (fee,) = account.fees
    assert fee.type is FeeType.LOST_ITEM and fee.amount == 1650
    assert fee.item_id == "2100000088"
    summary = await backend.patron_summary(_patron(KEIKO))
    assert summary.fees_owed == account.total


async def test_damage_charge(backend: Sip2Backend) -> None:
    account = await backend.list_fees(_patron(DAMAGE))
    assert [(f.type, f.amount) for f in account.fees] == [(FeeType.DAMAGED_ITEM, 1100)]
    assert account.total == 1100


async def test_nothing_owed(backend: Sip2Backend) -> None:
    account = await backend.list_fees(_patron(HANAKO))
    assert account.fees == () and account.total == 0 and account.items_match


async def test_unknown_patron(backend: Sip2Backend) -> None:
    with pytest.raises(NotFound):
        await backend.list_fees(_patron("1999999999"))


def test_negative_bv_is_a_credit() -> None:
    account = fee_account([], "-300.00", "JPY")
    assert (account.total, account.credit, account.items_match) == (0, 300, True)
