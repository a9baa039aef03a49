"""A terminal's ``TerminalPolicy`` checked before a checkout reaches the library system.

Order (as Koha's SIP ``Checkout.pm`` and ``ILS.pm`` check): the patron's category, the copy's
kind, the patron's overdue and lost loans, then a title the patron has borrowed already. A
refusal raises ``PolicyRefused`` naming its kind; an in-house-use checkout is answered ok with
desensitize N and no loan made (``CheckoutDecision.inhouse``). The copy is read only when a
rule needs its kind or title, and the loans only when a rule needs them, so a tenant without
these rules pays nothing.

What "borrowed before" can see: the patron's current loans, as the library system lists them
(the same title by another copy, or this copy). Returned loans are not asked for: the
backends offer no reading history to the gateway, and the gateway's own reading history is
sealed to the patron's key (docs/kiosk-reply-policy.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ils_gateway.domain.labels import Language
from ils_gateway.domain.models import Item, Loan
from ils_gateway.domain.vocab import LoanState
from ils_gateway.kiosk.circulation_status import circulation_status
from ils_gateway.kiosk.services import KioskServices
from ils_gateway.services.context import Caller
from ils_gateway.sip2.fields import CirculationStatus
from ils_gateway.tenants.terminal_policy import PolicyRefusal, TerminalPolicy

__all__ = ["CheckoutDecision", "PolicyRefused", "check_checkout", "policy_text"]

# Each policy answer's screen message where the library gives none: (Japanese, English).
_TEXTS: dict[PolicyRefusal, tuple[str, str]] = {
    PolicyRefusal.BLOCKED_MATERIAL_TYPE: (
        "この資料はこの機械では貸出できません。カウンターへお持ちください",
        "This item cannot be borrowed at this machine; please ask at the counter",
    ),
    PolicyRefusal.BLOCKED_PATRON_CATEGORY: (
        "この機械ではお貸しできません。カウンターへお越しください",
        "Please borrow at the counter",
    ),
    PolicyRefusal.TOO_MANY_OVERDUE: (
        "延滞中の資料があるため貸出できません",
        "You have overdue items; please return them first",
    ),
    PolicyRefusal.TOO_MANY_LOST: (
        "紛失中の資料があるため貸出できません。カウンターへお越しください",
        "You have lost items on your card; please ask at the counter",
    ),
    PolicyRefusal.BORROWED_BEFORE: (
        "同じ資料をすでに借りています",
        "You already have this title on loan",
    ),
    PolicyRefusal.INHOUSE_USE: ("館内でご利用ください", "For use in the library only"),
    # As the face's other requests it cannot do (kiosk.face "not_here").
    PolicyRefusal.PAYMENT_NOT_TAKEN: (
        "この機械ではご利用いただけません",
        "Not available on this machine",
    ),
}


_LOST = frozenset({CirculationStatus.LOST, CirculationStatus.MISSING})


class PolicyRefused(Exception):
    """The terminal's policy refuses a checkout (``kind`` names the rule)."""

    def __init__(self, kind: PolicyRefusal) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class CheckoutDecision:
    """A checkout the policy lets through: lent, or in-house use only; the copy where read."""

    inhouse: bool
    item: Item | None


def policy_text(policy: TerminalPolicy, kind: PolicyRefusal, lang: Language) -> str:
    """The screen message of a policy answer: the library's words, else the gateway's."""
    if kind in policy.messages:
        return policy.messages[kind]
    ja, en = _TEXTS[kind]
    return ja if lang == "ja" else en


def _needs_item(policy: TerminalPolicy) -> bool:
    return bool(
        policy.blocked_material_types
        or policy.inhouse_material_types
        or policy.inhouse_patron_categories
        or policy.block_borrowed_before
    )


def _needs_loans(policy: TerminalPolicy) -> bool:
    return (
        policy.overdue_block_at is not None
        or policy.lost_block_at is not None
        or policy.block_borrowed_before
    )


async def check_checkout(
    policy: TerminalPolicy, services: KioskServices, caller: Caller, item_id: str
) -> CheckoutDecision:
    """Whether the machine may lend ``item_id`` to the caller; ``PolicyRefused`` if not.

    Errors reading the copy (``NotFound``) or the loans pass through as the face's refusals.
    """
    patron = caller.patron
    category = patron.category or ""
    if category in policy.blocked_patron_categories:
        raise PolicyRefused(PolicyRefusal.BLOCKED_PATRON_CATEGORY)
    item = await services.catalog.item(item_id) if _needs_item(policy) else None
    if item is not None and item.material_type in policy.blocked_material_types:
        raise PolicyRefused(PolicyRefusal.BLOCKED_MATERIAL_TYPE)
    if _needs_loans(policy):
        # The loan list is the "loans" feature, as the checkout itself: on where lending is.
        loans = await services.loans.list_loans(caller)
        overdue = sum(1 for loan in loans if loan.overdue)
        if policy.overdue_block_at is not None and overdue >= policy.overdue_block_at:
            raise PolicyRefused(PolicyRefusal.TOO_MANY_OVERDUE)
        lost = sum(1 for loan in loans if _lost(loan))
        if policy.lost_block_at is not None and lost >= policy.lost_block_at:
            raise PolicyRefused(PolicyRefusal.TOO_MANY_LOST)
        if policy.block_borrowed_before and item is not None and _borrowed(item, loans):
            raise PolicyRefused(PolicyRefusal.BORROWED_BEFORE)
    inhouse = category in policy.inhouse_patron_categories or (
        item is not None and item.material_type in policy.inhouse_material_types
    )
    return CheckoutDecision(inhouse=inhouse, item=item)


def _lost(loan: Loan) -> bool:
    """A loan of a copy the library calls lost (the loan's state, or the copy's status where
    the loan list dates the loan overdue all the same)."""
    status = circulation_status(loan.item.circulation_status)
    return loan.state is LoanState.LOST or status in _LOST


def _title_key(item: Item) -> tuple[str, str, str] | None:
    def fold(text: str | None) -> str:
        return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()

    title = fold(item.title)
    if not title or title == fold(item.id):  # no title known: only the copy itself counts
        return None
    return title, fold(item.author), fold(item.volume)


def _borrowed(item: Item, loans: Sequence[Loan]) -> bool:
    """This copy, or a copy of the same title and volume (title, author and volume, width
    and case folded)."""
    key = _title_key(item)
    return any(
        loan.item.id == item.id or (key is not None and _title_key(loan.item) == key)
        for loan in loans
    )
