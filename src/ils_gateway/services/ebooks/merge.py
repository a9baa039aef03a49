"""E-book loans and holds as canonical list entries, merged into the patron's ILS lists.

E-book entries become ``Loan``/``Hold`` with ``source = ebook`` and the title id as their id,
so a portal shows one list and routes actions by ``source``. Instants (the e-library works to
the minute) become dates in the library's time zone: an e-book due at 2025-06-17T10:00+09:00
is due on 2025-06-17. The ILS part of a list is never hidden by the e-library: when it fails,
the merged list carries the ILS entries and ``EbookPart(available=False)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo

from pydantic import BaseModel, ConfigDict, Field

from ils_gateway.domain.ebooks import EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.models import Hold, Item, Loan
from ils_gateway.domain.vocab import HoldAction, HoldStatus, ItemSource, MaterialType

# An e-library lets a patron withdraw a hold while it waits and while a copy is kept for them.
EBOOK_HOLD_ACTIONS: frozenset[HoldAction] = frozenset({HoldAction.CANCEL})


class EbookPart(BaseModel):
    """Whether the e-book part of a merged list could be read (``available``), and if not why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    available: bool
    detail: str | None = Field(None, description="patron-readable reason when not available")
    count: int = Field(0, ge=0, description="e-book entries in the list")


def _local_date(at: datetime, zone: tzinfo) -> date:
    return at.astimezone(zone).date()


def ebook_item(title: EbookTitle) -> Item:
    """The e-book title as a canonical ``Item`` (source ``ebook``)."""
    return Item(
        id=title.id,
        title=title.title,
        author=title.author,
        isbn=title.isbn,
        material_type=MaterialType.EBOOK,
        source=ItemSource.EBOOK,
        location=title.publisher,
    )


def loan_from_ebook(loan: EbookLoan, zone: tzinfo) -> Loan:
    """An e-book loan as a ``Loan``: due on the local date of its due instant, never renewed."""
    return Loan(
        id=loan.title.id,
        item=ebook_item(loan.title),
        loaned_on=_local_date(loan.borrowed, zone),
        due_date=_local_date(loan.due, zone),
        renewals_allowed=0,
        renewable=False,
        source=ItemSource.EBOOK,
    )


def hold_from_ebook(hold: EbookHold, zone: tzinfo) -> Hold:
    """An e-book hold as a ``Hold``: waiting (with queue position) or ready until its deadline."""
    ready = hold.status is HoldStatus.READY
    return Hold(
        id=hold.title.id,
        item=ebook_item(hold.title),
        status=hold.status,
        queue_position=hold.queue_position,
        pickup_deadline=_local_date(hold.ready_until, zone) if ready and hold.ready_until else None,
        created=_local_date(hold.placed, zone),
        backend_status=str(hold.status),
        allowed_actions=EBOOK_HOLD_ACTIONS,
        source=ItemSource.EBOOK,
    )


def merge_loans(
    ils: Sequence[Loan],
    ebooks: Sequence[EbookLoan],
    zone: tzinfo,
    convert: Callable[[EbookLoan], Loan] | None = None,
) -> list[Loan]:
    """ILS loans and e-book loans in one list, earliest due first (ILS first on a tie).

    ``convert`` turns an e-book loan into a ``Loan`` (default ``loan_from_ebook`` in ``zone``).
    """
    as_loan = convert or (lambda loan: loan_from_ebook(loan, zone))
    merged = list(ils) + [as_loan(loan) for loan in ebooks]
    # sorted() is stable and ILS entries come first, so ties keep the ILS's own order.
    return sorted(merged, key=lambda loan: loan.due_date)


def merge_holds(
    ils: Sequence[Hold],
    ebooks: Sequence[EbookHold],
    zone: tzinfo,
    convert: Callable[[EbookHold], Hold] | None = None,
) -> list[Hold]:
    """ILS holds in the ILS's order, then e-book holds in the order they were placed.

    ``convert`` turns an e-book hold into a ``Hold`` (default ``hold_from_ebook`` in ``zone``).
    """
    as_hold = convert or (lambda hold: hold_from_ebook(hold, zone))
    return list(ils) + [as_hold(hold) for hold in ebooks]
