"""Requests a self-check machine sends, and a library with the copies the reply and policy
tests need, for the kiosk face over real TCP (``kiosk_support.running``)."""

from __future__ import annotations

from datetime import date, datetime

from kiosk_support import CARD, PASSWORD, library_data

from ils_gateway.simulators.library import TOKYO
from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.records import Biblio, Item, ItemStatus, LibraryData, Loan
from ils_gateway.sip2.fields import FeeType, PaymentType, SipDate, Summary
from ils_gateway.sip2.messages import (
    CheckinRequest,
    CheckoutRequest,
    FeePaidRequest,
    ItemInformationRequest,
    PatronInformationRequest,
    PatronStatusRequest,
    RenewRequest,
)

WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))
# Beyond kiosk_support's copies: a DVD and a second copy of 吾輩は猫である (the title the other
# patron has on loan), and a copy of 坊っちゃん lent to CARD and overdue since 5 January.
DVD, CAT_2, OVERDUE, NIS_BOOK = "2000201", "2000202", "2000203", "2000204"


def terminal_data(*, overdue: bool = False, lost: bool = False) -> LibraryData:
    """``kiosk_support.library_data()`` plus a DVD, a second copy of a lent title and a copy
    of the west library; with ``overdue``, CARD has a loan due 5 January (overdue on the 10th);
    with ``lost``, CARD has a loan of a copy the library calls lost."""
    data = library_data()
    data.biblios.append(Biblio(8, "となりのトトロ", "宮崎駿", ItemType.DVD))
    data.items.extend(
        [
            Item(201, DVD, 8, "CEN", "CEN", "778/ミ"),
            Item(202, CAT_2, 4, "CEN", "CEN", "913/ナ"),
            Item(204, NIS_BOOK, 6, "NIS", "NIS", "913/ナ"),
        ]
    )
    if overdue or lost:
        status = ItemStatus.LOST if lost else ItemStatus.CHECKED_OUT
        data.items.append(Item(203, OVERDUE, 6, "CEN", "CEN", "913/ナ", status))
        lent = datetime(2025, 12, 22, 11, 0, tzinfo=TOKYO)
        data.loans.append(Loan(2, 203, 1, "CEN", lent, date(2026, 1, 5)))
    return data


def checkout(item: str, card: str = CARD, password: str = PASSWORD) -> CheckoutRequest:
    """11 for ``item``."""
    return CheckoutRequest.build(
        transaction_date=WHEN,
        institution_id="TEST",
        patron_identifier=card,
        patron_password=password,
        item_identifier=item,
    )


def renew(item: str, card: str = CARD, password: str = PASSWORD) -> RenewRequest:
    """29 for ``item``."""
    return RenewRequest.build(
        transaction_date=WHEN,
        institution_id="TEST",
        patron_identifier=card,
        patron_password=password,
        item_identifier=item,
    )


def checkin(item: str, location: str = "") -> CheckinRequest:
    """09 for ``item`` (``location``: AP, where it is handed in)."""
    return CheckinRequest.build(
        transaction_date=WHEN,
        return_date=WHEN,
        institution_id="TEST",
        item_identifier=item,
        current_location=location,
    )


def item_information(item: str) -> ItemInformationRequest:
    """17 for ``item``."""
    return ItemInformationRequest.build(
        transaction_date=WHEN, institution_id="TEST", item_identifier=item
    )


def patron_status(card: str = CARD, password: str | None = PASSWORD) -> PatronStatusRequest:
    """23 (Japanese)."""
    return PatronStatusRequest.build(
        language="014",
        transaction_date=WHEN,
        institution_id="TEST",
        patron_identifier=card,
        patron_password=password,
    )


def patron_information(
    card: str = CARD, password: str | None = PASSWORD
) -> PatronInformationRequest:
    """63 (Japanese), no list."""
    return PatronInformationRequest.build(
        language="014",
        transaction_date=WHEN,
        summary=Summary(),
        institution_id="TEST",
        patron_identifier=card,
        patron_password=password,
    )


def fee_paid() -> FeePaidRequest:
    """37: 100 yen in cash."""
    return FeePaidRequest.build(
        transaction_date=WHEN,
        fee_type=FeeType.OVERDUE,
        payment_type=PaymentType.CASH,
        fee_amount="100",
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
        transaction_id="T1",
    )


def tenant_toml(reply: str = "", policy: str = "") -> str:
    """The ``extra`` TOML of ``running``: ``reply`` and ``policy`` keys for the tenant's
    ``[tenants.kiosk_sip2.reply]`` and ``[tenants.kiosk_sip2.policy]``."""
    text = ""
    if reply:
        text += f"\n[tenants.kiosk_sip2.reply]\n{reply}\n"
    if policy:
        text += f"\n[tenants.kiosk_sip2.policy]\n{policy}\n"
    return text
