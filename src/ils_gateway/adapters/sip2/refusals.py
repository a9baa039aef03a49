"""The AF pattern table: an ACS's free-text screen messages turned into refusal reasons.

SIP2 says no with ``ok 0`` and, at best, a screen message (AF): a Koha token such as
``on_reserve``, an English sentence, or a Japanese one (「他の方が予約しているため延長できません」).
``RefusalTable`` searches the tenant's own patterns first (``refusal_patterns`` in the tenant
file), then ``DEFAULT_PATTERNS``; the first pattern that matches any AF line names the reason.
The ILS's text is always kept, as ``backend_message``.

Order matters in ``DEFAULT_PATTERNS``: specific before general (「すでに予約」 is a duplicate
hold, 「他の方が予約」 a renewal blocked by holds; 「期限を過ぎた資料があるため予約できません」 is a
hold blocked by an overdue loan, not an overdue renewal).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum

from ils_gateway.domain.vocab import RefusalReason
from ils_gateway.tenants.backends import RefusalPattern

__all__ = ["DEFAULT_PATTERNS", "RefusalTable", "SipAction", "backend_message"]

R = RefusalReason


class SipAction(Enum):
    """What the gateway asked the ACS to do; decides the reason when no pattern matches."""

    RENEW = "renew"
    PLACE_HOLD = "place_hold"
    CANCEL_HOLD = "cancel_hold"
    CHANGE_HOLD = "change_hold"
    CHECKOUT = "checkout"


# When the ACS gives no recognisable text, the reason is the generic one for the action.
_FALLBACK = {
    SipAction.RENEW: R.NOT_RENEWABLE,
    SipAction.PLACE_HOLD: R.UNKNOWN,
    SipAction.CANCEL_HOLD: R.NOT_CANCELLABLE_IN_STATE,
    SipAction.CHANGE_HOLD: R.NOT_MODIFIABLE_IN_STATE,
    SipAction.CHECKOUT: R.UNKNOWN,
}

# reason: alternatives (joined with "|"): Koha tokens (C4::Circulation / C4::Reserves codes,
# case-sensitive as Koha writes them), English wording of common ACSs, Japanese wording.
_DEFAULTS: tuple[tuple[RefusalReason, tuple[str, ...]], ...] = (
    # holds: the patron's own situation
    (R.DUPLICATE_HOLD, (
        "alreadyReserved", "itemAlreadyOnHold", "すでに予約", "既に予約",
        "(?i:already (on hold|reserved))",
    )),
    (R.ALREADY_ON_LOAN, (
        "alreadypossession", "あなたが借りて", "貸出中の資料は予約",
        "(?i:already (checked out|on loan) to)",
    )),
    (R.HOLD_LIMIT, (
        "tooManyReserves", "tooManyHoldsForThisRecord", "予約.{0,8}上限", "予約件数",
        "(?i:too many holds|hold limit)",
    )),
    (R.ITEM_OVERDUE_BLOCKS_HOLDS, (
        "itemOverdue", "期限を過ぎた資料があるため", "延滞資料があるため",
    )),
    (R.BOOKMOBILE_CONTACT_PHONE_ONLY, ("bookmobilePhoneOnly", "移動図書館.{0,10}電話")),
    (R.INVALID_PICKUP_LIBRARY, (
        "libraryNotPickupLocation", "libraryNotFound", "pickupNotInHoldGroup", "受取館",
        "受取場所", "(?i:pickup (location|library))",
    )),
    (R.AGE_RESTRICTION, ("ageRestricted", "年齢制限", "(?i:age restrict)")),
    (R.NON_CIRCULATING, (
        "notReservable", "noReservesAllowed", "not_for_loan", "館内利用のみ", "禁帯出",
        "この資料は予約できません", "(?i:not (reservable|holdable)|reference only)",
    )),
    # hold changes
    (R.NOT_CANCELLABLE_IN_STATE, (
        "hold_not_cancellable", "取り?消しできません", "取消できません",
        "(?i:cannot be cancell?ed)",
    )),
    (R.NOT_MODIFIABLE_IN_STATE, (
        "hold_found", "hold_not_modifiable", "変更できません", "(?i:cannot be (changed|modified))",
    )),
    # renewals
    (R.HAS_HOLDS, (
        "on_reserve", "recalled", "他の(方|利用者|人)が予約", "予約(者がい|が入って|がある)",
        "他の(方|利用者|人)の予約",  # a checkout of a copy held for someone else
        "(?i:on hold for another|has holds|reserved for another|item is on hold)",
    )),
    (R.RENEWAL_LIMIT, (
        r"\btoo_many\b", "延長回数", "延長.{0,6}上限",
        "(?i:renewal limit|max(imum)? (number of )?renewals|no more renewals)",
    )),
    (R.TOO_EARLY, (
        "too_soon", "延長できる期間では", "まだ延長でき", "(?i:too (soon|early)|not yet renewable)",
    )),
    (R.TOO_OVERDUE, ("auto_too_late", "大幅に")),
    (R.INTERLIBRARY_LOAN, ("ill_not_renewable", "相互貸借", "(?i:inter-?library)")),
    (R.EXCLUDED_ITEM_TYPE, ("item_denied_renewal", "onsite_checkout", "この資料は延長できません")),
    # the patron's card
    (R.CARD_EXPIRED, (
        "card_expired", r"\bexpired\b", "有効期限が切れ", "期限切れ", "(?i:card (has )?expired)",
    )),
    (R.PATRON_BLOCKED, (
        "restriction", "debarred", "利用が制限", "利用停止",
        "(?i:patron (is )?(blocked|restricted|barred)|account (is )?(blocked|locked))",
    )),
    (R.OVERDUE, ("返却期限を過ぎ", "延滞", r"(?i:\boverdue\b)")),
)  # fmt: skip

DEFAULT_PATTERNS: tuple[tuple[re.Pattern[str], RefusalReason], ...] = tuple(
    (re.compile("|".join(alternatives)), reason) for reason, alternatives in _DEFAULTS
)
"""Built-in patterns, searched after the tenant's own."""


def backend_message(screen_messages: Iterable[str]) -> str | None:
    """The ACS's screen message lines as one text (None when it sent none)."""
    lines = [line.strip() for line in screen_messages if line and line.strip()]
    return " ".join(lines) if lines else None


class RefusalTable:
    """Tenant patterns, then the defaults: maps AF text to a ``RefusalReason``."""

    def __init__(self, tenant_patterns: Sequence[RefusalPattern] = (), *, defaults: bool = True):
        own = tuple((re.compile(p.pattern), p.reason) for p in tenant_patterns)
        self._patterns = own + (DEFAULT_PATTERNS if defaults else ())

    def match(self, screen_messages: Iterable[str]) -> RefusalReason | None:
        """The reason of the first pattern that matches any line, or None."""
        lines = [line for line in screen_messages if line]
        for pattern, reason in self._patterns:
            if any(pattern.search(line) for line in lines):
                return reason
        return None

    def reason(self, screen_messages: Iterable[str], action: SipAction) -> RefusalReason:
        """The reason for a refusal of ``action``; the action's generic one if nothing matches."""
        found = self.match(screen_messages)
        return found if found is not None else _FALLBACK[action]
