"""What a patron owes the library: fines and fees, their total, and what they block.

Adapters turn a backend's account (SIP2 64 BV and AV, Koha's patron account, FOLIO's fee/fine
accounts) into a ``FeeAccount``: the charges they could read, and the backend's own total.
``services.fees`` adds the blocks the amount causes (the library system's, and the tenant's
threshold rule) and where the patron pays: a ``FeeSummary``. Amounts are whole yen
(``int``): the yen has no minor unit, and every backend's decimal is converted once, here.

The gateway takes no payments: a patron pays at the library (``FeeSummary.payment``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ils_gateway.domain.vocab import BlockReason, FeeType

__all__ = [
    "CURRENCY",
    "BlockedAction",
    "Fee",
    "FeeAccount",
    "FeeBlock",
    "FeeBlockSource",
    "FeeSummary",
    "Payment",
    "fee_type_from_text",
    "yen",
]

CURRENCY: Literal["JPY"] = "JPY"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def yen(value: object) -> int | None:
    """A backend's amount (``1650``, ``"1650.00"``, ``"¥1,650"``, ``"1,650円"``) as whole yen;
    None when it is not a number. Fractions of a yen are rounded half up (no backend should
    send them: the yen has no minor unit)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    for mark in ("¥", "￥", "円", "JPY", ",", "\u3000", " "):
        text = text.replace(mark, "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Words for each fee type: SIP2 ACSs' (Evergreen LOST/FINE/FEE, Koha debit types), English
# descriptions, the libraries' Japanese ones. The first match wins, in this order.
_TYPE_WORDS: tuple[tuple[re.Pattern[str], FeeType], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), fee_type)
    for pattern, fee_type in (
        (r"汚損|破損|損傷|\bdamage", FeeType.DAMAGED_ITEM),
        (r"紛失|\blost\b|lost materials|replacement|弁償", FeeType.LOST_ITEM),
        (r"延滞|\boverdue|\bfine\b", FeeType.OVERDUE),
        (r"カード.{0,4}再発行|card.{0,12}(replace|reissue)|new_card", FeeType.CARD_REPLACEMENT),
        (r"予約.{0,2}手数料|\breserve\b|hold fee", FeeType.HOLD_FEE),
        (r"手数料|processing", FeeType.PROCESSING),
        (r"\brent", FeeType.RENTAL),
    )
)


def fee_type_from_text(*texts: str | None) -> FeeType:
    """The fee type a line's words name (OTHER when none)."""
    for text in texts:
        if not text:
            continue
        for pattern, fee_type in _TYPE_WORDS:
            if pattern.search(text):
                return fee_type
    return FeeType.OTHER


class Fee(_Frozen):
    """One charge on the patron's account, as the library system lists it."""

    id: str | None = Field(None, description="the library system's id of the charge, if any")
    type: FeeType
    backend_type: str | None = Field(
        None, description="the library system's own word for the type (debit type, fee type)"
    )
    amount: int = Field(description="yen still owed on this charge")
    original_amount: int | None = Field(None, description="yen first charged, when known")
    description: str | None = Field(None, description="the library system's description")
    item_id: str | None = Field(None, description="the item charged for (barcode), when known")
    title: str | None = Field(None, description="its title, when known")
    date: dt.date | None = Field(None, description="the day the charge was made, when known")


class FeeAccount(_Frozen):
    """What an adapter read: the charges, and the library system's own total.

    ``total`` is the backend's figure (SIP2 BV, Koha ``balance``, FOLIO's sum of ``remaining``
    of open accounts): it is what the patron is asked to pay, even when the listed charges do
    not add up to it (``items_match`` False: a charge not listed, or unreadable).
    """

    fees: tuple[Fee, ...] = ()
    total: int = Field(ge=0, description="yen owed in all, per the library system")
    credit: int = Field(
        0, ge=0, description="yen the library holds for the patron (Koha's outstanding credits)"
    )
    unreadable: int = Field(0, ge=0, description="charges listed that could not be read")

    @property
    def items_total(self) -> int:
        """The sum of the listed charges."""
        return sum(fee.amount for fee in self.fees)

    @property
    def items_match(self) -> bool:
        """True when the listed charges, less any credit, add up to the backend's total."""
        return self.unreadable == 0 and max(0, self.items_total - self.credit) == self.total


class BlockedAction(StrEnum):
    """What an amount owed can stop a patron from doing."""

    BORROWING = "borrowing"
    HOLDS = "holds"
    RENEWALS = "renewals"


class FeeBlockSource(StrEnum):
    """Who imposes a block for money owed."""

    ILS = "ils"  # the library system says the patron is blocked for charges
    TENANT_RULE = "tenant_rule"  # the library's rule in the tenant file (a threshold)


class FeeBlock(_Frozen):
    """A block the amount owed causes, with the rule behind it."""

    reason: BlockReason = BlockReason.FINES
    source: FeeBlockSource
    actions: tuple[BlockedAction, ...] = Field(
        description="what is blocked (empty: the library system does not say what)"
    )
    threshold: int | None = Field(
        None, description="yen owed from which the rule blocks, when the rule has one"
    )
    rule: str = Field(description="the rule, in the library's words")
    backend_message: str | None = Field(None, description="the library system's own text")


class Payment(_Frozen):
    """Where the patron pays: never through the gateway."""

    online: Literal[False] = Field(False, description="always false: the API takes no payment")
    where: str = Field(description="where to pay, in the library's words")


class FeeSummary(_Frozen):
    """What the patron owes: each charge, the total, the blocks it causes, where to pay."""

    fees: tuple[Fee, ...]
    total: int = Field(description="yen owed in all (the library system's figure)")
    credit: int = Field(0, description="yen the library holds for the patron, set against it")
    currency: Literal["JPY"] = CURRENCY
    items_total: int = Field(description="the sum of the listed charges")
    items_match: bool = Field(
        description="false when the listed charges do not add up to the total (a charge the "
        "library system did not list, or could not be read): the total is still the one to pay"
    )
    blocks: tuple[FeeBlock, ...] = ()
    payment: Payment

    @model_validator(mode="after")
    def _sums(self) -> Self:
        if self.items_total != sum(fee.amount for fee in self.fees):
            raise ValueError("items_total is not the sum of the listed charges")
        return self
