"""Koha's objects and words, turned into the gateway's models and canonical vocabulary.

Hold status: Koha keeps one letter in ``reserves.found`` (``hold.status`` in the API) and a
separate ``suspended`` flag. The letters (Koha 23.x, C4::Reserves and Koha::Hold):

======  ===========================================================  =============
letter  meaning in Koha                                              canonical
======  ===========================================================  =============
(null)  not yet found: the patron is in the queue                    waiting
T       a copy was found and is in transit to the pickup library      in_transit
P       a copy arrived and is "in processing" (HoldsNeedProcessingSIP) preparing
W       a copy is waiting on the hold shelf                          ready
======  ===========================================================  =============

A suspended hold that is not found is ``suspended`` whatever its letter. Koha deletes holds
when they are cancelled, filled or expire (they move to ``old_reserves``, which the API does
not list), so the closed statuses never come from Koha's hold list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ils_gateway.adapters.koha.errors import KohaCall, refusal_reason
from ils_gateway.adapters.koha.schemas import (
    KohaAccountLine,
    KohaAllowsRenewal,
    KohaBiblio,
    KohaCheckout,
    KohaCheckoutSummary,
    KohaHold,
    KohaItem,
    KohaLibrary,
    KohaPatron,
    KohaPatronBalance,
    parse,
)
from ils_gateway.domain.fees import Fee, FeeAccount, fee_type_from_text, yen
from ils_gateway.domain.models import Hold, Item, Library, Loan, Patron
from ils_gateway.domain.vocab import (
    BlockReason,
    FeeType,
    HoldAction,
    HoldStatus,
    LoanState,
    MaterialType,
)

HOLD_STATUS_BY_LETTER: dict[str | None, HoldStatus] = {
    None: HoldStatus.WAITING,
    "": HoldStatus.WAITING,
    "T": HoldStatus.IN_TRANSIT,
    "P": HoldStatus.PREPARING,
    "W": HoldStatus.READY,
}

# What Koha lets the staff API do to a hold in each canonical status. Koha refuses to move
# or suspend a found hold (409 / 400 "Found hold cannot be suspended"); it cancels any hold.
ACTIONS_BY_STATUS: dict[HoldStatus, frozenset[HoldAction]] = {
    HoldStatus.WAITING: frozenset(
        {HoldAction.CANCEL, HoldAction.CHANGE_PICKUP, HoldAction.SUSPEND}
    ),
    HoldStatus.SUSPENDED: frozenset(
        {HoldAction.CANCEL, HoldAction.CHANGE_PICKUP, HoldAction.RESUME}
    ),
    HoldStatus.IN_TRANSIT: frozenset({HoldAction.CANCEL}),
    HoldStatus.PREPARING: frozenset({HoldAction.CANCEL}),
    HoldStatus.READY: frozenset({HoldAction.CANCEL}),
}


def hold_status(hold: KohaHold) -> HoldStatus:
    """The canonical status of a Koha hold (unknown letters are Koha breaking its contract)."""
    letter = hold.status or None
    if letter not in HOLD_STATUS_BY_LETTER:
        # Newer Koha versions may add letters; treating them as "waiting" would mislead the
        # patron about a copy that was in fact found, so the nearest found state is used.
        return HoldStatus.IN_TRANSIT
    status = HOLD_STATUS_BY_LETTER[letter]
    if status is HoldStatus.WAITING and hold.suspended:
        return HoldStatus.SUSPENDED
    return status


def material_type(item: KohaItem | None, item_types: dict[str, MaterialType]) -> MaterialType:
    """The material type of a Koha item, from its (effective) item type code."""
    if item is None:
        return MaterialType.BOOK
    code = item.effective_item_type_id or item.item_type_id
    return item_types.get(code or "", MaterialType.OTHER)


def title_of(biblio: KohaBiblio | None) -> str:
    """The title a patron reads: Koha's title and subtitle (empty when the record is gone)."""
    if biblio is None:
        return ""
    return " : ".join(p.strip(" /:") for p in (biblio.title, biblio.subtitle) if p)


def to_item(
    item: KohaItem,
    item_types: dict[str, MaterialType],
    biblio: KohaBiblio | None = None,
    found: str | None = None,
) -> Item:
    """A gateway Item for one Koha item; its id is the barcode (``external_id``).

    ``found`` is the ``status`` letter of a hold this copy has been set aside for (W, T or P),
    where the caller looked: Koha's item object itself does not say so.
    """
    if biblio is None and item.biblio:  # an embedded record, where a newer Koha sends one
        biblio = parse(KohaBiblio, {"biblio_id": item.biblio_id, **item.biblio}, "item.biblio")
    return Item(
        id=item.external_id or f"item:{item.item_id}",
        title=title_of(biblio),
        author=biblio.author if biblio is not None else None,
        material_type=material_type(item, item_types),
        call_number=item.callnumber,
        location=item.holding_library_id or item.home_library_id,
        circulation_status=_circulation_status(item, found),
        reference_only=bool(item.not_for_loan_status or item.effective_not_for_loan_status),
    )


def biblio_item(biblio_id: int | None, biblio: KohaBiblio | None = None) -> Item:
    """The Item standing for a title when a hold is on the record, not on one copy."""
    return Item(
        id=f"biblio:{biblio_id}",
        title=title_of(biblio),
        author=biblio.author if biblio is not None else None,
    )


# A hold's ``status`` letter once a copy is set aside for it (definitions/hold.yaml; Koha's
# reserves.found): the copy is no longer on the open shelf.
_FOUND_HOLD_STATUS = {
    "W": "on_hold_shelf",  # waiting at the pickup library
    "T": "in_transit",  # travelling to the pickup library
    "P": "in_process",  # arrived, being prepared for the hold shelf
}


def _circulation_status(item: KohaItem, found: str | None = None) -> str:
    # Most final first: a withdrawn or lost copy may still show an old checkout date.
    if item.withdrawn:
        return "withdrawn"
    if item.lost_status:
        return "lost"
    if item.checked_out_date:
        return "checked_out"
    if found in _FOUND_HOLD_STATUS:
        return _FOUND_HOLD_STATUS[found]
    if item.transfer:
        return "in_transit"
    if item.not_for_loan_status or item.effective_not_for_loan_status:
        return "not_for_loan"
    if item.damaged_status:
        return "damaged"
    return "available"


def may_be_set_aside(item: KohaItem) -> bool:
    """Whether a hold could have this copy on its shelf or on its way (worth asking Koha)."""
    return not (
        item.withdrawn
        or item.lost_status
        or item.checked_out_date
        or item.not_for_loan_status
        or item.effective_not_for_loan_status
    )


def to_patron(patron: KohaPatron, card_number: str, today: date) -> Patron:
    """A gateway Patron for a Koha patron, with the blocks Koha's record shows (no counts:
    ``with_counts`` adds them from the lists)."""
    blocks: list[BlockReason] = []
    if patron.expiry_date is not None and patron.expiry_date < today:
        blocks.append(BlockReason.CARD_EXPIRED)
    if patron.restricted:
        blocks.append(BlockReason.ADMINISTRATIVE)
    name = " ".join(p for p in (patron.surname, patron.firstname) if p)
    return Patron(
        id=str(patron.patron_id),
        card_number=patron.cardnumber or card_number,
        name=name,
        category=patron.category_id,
        home_library=patron.library_id,
        blocks=tuple(blocks),
        card_expires=patron.expiry_date,
        birth_date=patron.date_of_birth,
        email=patron.email,
        email2=patron.secondary_email,
        phone=patron.phone,
    )


def days_overdue(checkout: KohaCheckout | KohaCheckoutSummary, today: date) -> int:
    """Whole days past the due date (0 when not overdue or unknown), as the loan list says."""
    if checkout.due_date is None:
        return 0
    return max((today - checkout.due_date.date()).days, 0)


def with_counts(
    patron: Patron,
    checkouts: Sequence[KohaCheckout | KohaCheckoutSummary],
    holds: Sequence[KohaHold],
    today: date,
) -> Patron:
    """The patron with summary counts taken from the very lists the patron is shown.

    Not from Koha's ``checkouts+count``/``overdues+count`` embeds: those count by Koha's clock
    and rules, the lists by the gateway's, and a summary that disagrees with the lists next
    to it is wrong whichever is right.
    """
    return patron.model_copy(
        update={
            "loans_count": len(checkouts),
            "overdue_count": sum(1 for c in checkouts if days_overdue(c, today)),
            "holds_count": len(holds),
            "holds_ready_count": sum(1 for h in holds if hold_status(h) is HoldStatus.READY),
        }
    )


def to_loan(
    checkout: KohaCheckout,
    item: Item,
    renewability: KohaAllowsRenewal | None,
    today: date,
) -> Loan:
    """A gateway Loan for a Koha checkout, with Koha's renewability verdict and reason."""
    due = checkout.due_date.date()
    overdue_days = days_overdue(checkout, today)
    renewable = renewability.allows_renewal if renewability is not None else True
    reason = None
    if not renewable:
        assert renewability is not None
        reason = refusal_reason(renewability.error, KohaCall.RENEW)
    return Loan(
        id=str(checkout.checkout_id),
        item=item,
        loaned_on=checkout.checkout_date.date() if checkout.checkout_date else None,
        due_date=due,
        state=LoanState.OVERDUE if overdue_days else LoanState.ON_LOAN,
        days_overdue=overdue_days,
        renewals_used=checkout.renewals_count or 0,
        renewals_allowed=renewability.max_renewals if renewability is not None else None,
        renewable=renewable,
        refusal_reason=reason,
        backend_message=renewability.error if renewability is not None else None,
        loan_branch=checkout.library_id,
    )


def to_hold(hold: KohaHold, item: Item) -> Hold:
    """A gateway Hold for a Koha hold."""
    status = hold_status(hold)
    actions = ACTIONS_BY_STATUS.get(status, frozenset())
    backend_status = hold.status or ("suspended" if hold.suspended else "queued")
    if hold.cancellation_requested:
        backend_status += " (cancellation requested)"
        actions = actions - {HoldAction.CANCEL}
    return Hold(
        id=str(hold.hold_id),
        item=item,
        title_level=not hold.item_level,
        status=status,
        queue_position=hold.priority if hold.priority and hold.priority > 0 else None,
        pickup_library=hold.pickup_library_id,
        cancellation_requested=bool(hold.cancellation_requested),
        pickup_deadline=hold.expiration_date if status is HoldStatus.READY else None,
        created=hold.hold_date,
        expires=hold.expiration_date if status is not HoldStatus.READY else None,
        suspended_until=hold.suspended_until.date() if hold.suspended_until else None,
        backend_status=backend_status,
        allowed_actions=actions,
    )


def to_library(library: KohaLibrary) -> Library:
    """A pickup location."""
    return Library(code=library.library_id, name=library.name)


# Koha's built-in debit types (account_debit_types, installer/data/mysql/mandatory) -> ours.
# Libraries add their own codes (a damage charge is usually one): those, and MANUAL, are read
# from the code and the line's description.
_DEBIT_TYPES: dict[str, FeeType] = {
    "LOST": FeeType.LOST_ITEM,
    "OVERDUE": FeeType.OVERDUE,
    "PROCESSING": FeeType.PROCESSING,
    "NEW_CARD": FeeType.CARD_REPLACEMENT,
    "RESERVE": FeeType.HOLD_FEE,
    "RESERVE_EXPIRED": FeeType.HOLD_FEE,
    "RENT": FeeType.RENTAL,
    "RENT_DAILY": FeeType.RENTAL,
    "RENT_RENEW": FeeType.RENTAL,
    "RENT_DAILY_RENEW": FeeType.RENTAL,
    "ACCOUNT": FeeType.ADMINISTRATIVE,
    "ACCOUNT_RENEW": FeeType.ADMINISTRATIVE,
}


def fee_type(line: KohaAccountLine) -> FeeType:
    """Our fee type for a Koha debit line."""
    code = (line.debit_type or "").upper()
    known = _DEBIT_TYPES.get(code)
    if known is not None:
        return known
    return fee_type_from_text(
        code.replace("_", " ") if code != "MANUAL" else None, line.description
    )


def to_fee(line: KohaAccountLine, item: Item | None) -> Fee | None:
    """One outstanding debit as a charge (None when it owes nothing, or a negative sum)."""
    owed = yen(line.amount_outstanding)
    if owed is None or owed <= 0:
        return None
    return Fee(
        id=str(line.account_line_id) if line.account_line_id is not None else None,
        type=fee_type(line),
        backend_type=line.debit_type,
        amount=owed,
        original_amount=yen(line.amount),
        description=(line.description or "").strip() or None,
        item_id=item.id if item is not None else None,
        title=(item.title or None) if item is not None else None,
        date=line.date.date() if line.date is not None else None,
    )


def to_fee_account(balance: KohaPatronBalance, items: dict[int, Item | None]) -> FeeAccount:
    """The account ``GET /patrons/{patron_id}/account`` describes; ``items`` by Koha item id.

    ``balance`` is the total (debits less credits); a negative one is a credit to the patron.
    """
    fees: list[Fee] = []
    unreadable = 0
    for line in balance.outstanding_debits.lines:
        item = items.get(line.item_id) if line.item_id is not None else None
        fee = to_fee(line, item)
        if fee is not None:
            fees.append(fee)
        elif (yen(line.amount_outstanding) or 0) < 0:
            unreadable += 1  # a debit owing less than nothing: Koha broke its own rule
    total = yen(balance.balance) or 0
    credits = abs(yen(balance.outstanding_credits.total) or 0)
    return FeeAccount(
        fees=tuple(fees), total=max(total, 0), credit=max(credits, -total, 0), unreadable=unreadable
    )
