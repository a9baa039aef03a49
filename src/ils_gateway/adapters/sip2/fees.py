"""SIP2 fine items (64 AV) and fee amount (BV) turned into a ``FeeAccount``: pure, no I/O.

The specification says only that AV is "fine items"; what a line holds is the ACS's choice,
free text. The formats real ACSs send (``fine_item_format`` in the tenant file; ``auto``
tries them in this order):

- ``swyer_b`` (Evergreen ``av_format = swyer_b``): ``Charge-Number: 42, Amount-Due: 1650.00,
  Fine-Type: LOST, Title: こころ``.
- ``3m`` (Evergreen ``3m`` / ``swyer_a``): ``42 $1650.00 "LOST" こころ``.
- ``evergreen_legacy`` (Evergreen's default ``eg_legacy``): ``1650.00 Lost Materials こころ /
  夏目漱石`` — the amount first, then the billing type and title.
- ``koha`` (Koha's default ``av_field_template``, C4/SIP/ILS/Patron.pm ``fine_items``:
  ``[% accountline.description %] [% accountline.amountoutstanding | format('%.2f') %]``):
  the description, then the amount last.

BV is the total the patron owes; it is taken as the total even when the lines do not add up
to it (the lines may be capped, paged or unreadable), and ``FeeAccount.items_match`` then says
so. BH names the currency; anything but JPY cannot be shown as yen and is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.fees import CURRENCY, Fee, FeeAccount, fee_type_from_text, yen

__all__ = ["FineItemFormat", "fee_account", "parse_fine_item"]

FineItemFormat = Literal["auto", "koha", "evergreen_legacy", "3m", "swyer_b"]

_AMOUNT = r"[-+]?[¥￥$]?\d[\d,]*(?:\.\d+)?円?"
_SWYER_B = re.compile(
    r"Charge-Number:\s*(?P<id>[^,]*),\s*Amount-Due:\s*(?P<amount>[^,]+),\s*"
    r"Fine-Type:\s*(?P<type>[^,]*)(?:,\s*Title:\s*(?P<title>.*))?$",
    re.IGNORECASE,
)
_THREE_M = re.compile(
    rf"^(?P<id>\S+)\s+(?P<amount>{_AMOUNT})\s+\"(?P<type>[^\"]*)\"\s*(?P<title>.*)$"
)
_AMOUNT_FIRST = re.compile(rf"^(?P<amount>{_AMOUNT})\s+(?P<rest>.*)$")
_AMOUNT_LAST = re.compile(rf"^(?P<rest>.*?)\s*(?P<amount>{_AMOUNT})$")
# A barcode in a description ("弁償金 (紛失資料 2100000088)", Koha's "<title> <barcode>").
_BARCODE = re.compile(r"(?<![\d.,])(\d{6,14})(?![\d.,])")


def _amount(text: str) -> int | None:
    return yen(text.replace("$", ""))


def _fee(
    raw: str,
    amount_text: str,
    *,
    fee_id: str | None = None,
    type_text: str | None = None,
    title: str | None = None,
    description: str | None = None,
) -> Fee | None:
    amount = _amount(amount_text)
    if amount is None:
        return None
    described = (description if description is not None else raw).strip() or None
    barcode = _BARCODE.search(described or "")
    return Fee(
        id=(fee_id or "").strip() or None,
        type=fee_type_from_text(type_text, described, title),
        backend_type=(type_text or "").strip() or None,
        amount=amount,
        description=described,
        item_id=barcode.group(1) if barcode else None,
        title=(title or "").strip() or None,
    )


def parse_fine_item(raw: str, fmt: FineItemFormat = "auto") -> Fee | None:
    """One AV line as a charge; None when no amount can be read from it."""
    text = raw.strip()
    if not text:
        return None
    if fmt in ("auto", "swyer_b") and (m := _SWYER_B.search(text)):
        return _fee(
            text, m["amount"], fee_id=m["id"], type_text=m["type"], title=m["title"],
            description=m["title"] or text,
        )  # fmt: skip
    if fmt in ("auto", "3m") and (m := _THREE_M.match(text)):
        return _fee(
            text, m["amount"], fee_id=m["id"], type_text=m["type"], title=m["title"],
            description=m["title"] or text,
        )  # fmt: skip
    last = _AMOUNT_LAST.match(text) if fmt in ("auto", "koha") else None
    first = _AMOUNT_FIRST.match(text) if fmt in ("auto", "evergreen_legacy") else None
    if last is not None and not last["rest"]:
        last = None
    if last is not None and first is not None:
        # Both ends are numbers ("1650.00 Lost Materials 日本の歴史 3"): both vendors write
        # the amount with decimals, a title's volume number has none.
        if "." in first["amount"] and "." not in last["amount"]:
            last = None
    if last is not None:
        return _fee(text, last["amount"], description=last["rest"])
    if first is not None:
        return _fee(text, first["amount"], description=first["rest"])
    return None


def fee_account(
    lines: Sequence[str],
    fee_amount: str | None,
    currency: str | None,
    fmt: FineItemFormat = "auto",
) -> FeeAccount:
    """The account a 64's AV lines, BV and BH describe.

    Raises ``BackendProtocolError`` for a currency other than yen or a BV that is not a
    number. Without BV the lines' sum is the total. Lines that are empty are not charges (ACSs
    pad pages); lines with no readable amount are counted in ``unreadable``.
    """
    code = (currency or "").strip().upper()
    if code and code != CURRENCY:
        raise BackendProtocolError(
            "The library system reported charges in a currency other than yen.",
            operator_detail=f"SIP2 64: BH={code!r}, expected {CURRENCY}",
        )
    fees: list[Fee] = []
    unreadable = 0
    for line in lines:
        if not line.strip():
            continue
        fee = parse_fine_item(line, fmt)
        if fee is None or fee.amount < 0:
            unreadable += 1
            continue
        fees.append(fee)
    if fee_amount is None or not fee_amount.strip():
        summed = sum(f.amount for f in fees)
        return FeeAccount(fees=tuple(fees), total=summed, unreadable=unreadable)
    total = _amount(fee_amount)
    if total is None:
        raise BackendProtocolError(
            "The library system sent an unreadable amount owed.",
            operator_detail=f"SIP2 64: BV={fee_amount!r} is not a number",
        )
    # A negative BV is money the library holds for the patron (a credit), not a debt.
    return FeeAccount(
        fees=tuple(fees), total=max(total, 0), credit=max(-total, 0), unreadable=unreadable
    )
