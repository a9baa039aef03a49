"""E-book loans and holds as canonical list entries, and the merge with the ILS lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from ils_gateway.domain.ebooks import EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.models import Hold, Item, Loan
from ils_gateway.domain.vocab import HoldAction, HoldStatus, ItemSource, MaterialType
from ils_gateway.services.ebooks.bridge import key_matches
from ils_gateway.services.ebooks.merge import (
    hold_from_ebook,
    loan_from_ebook,
    merge_holds,
    merge_loans,
)

TOKYO = ZoneInfo("Asia/Tokyo")
TITLE = EbookTitle(id="KD000001", title="こころ", author="夏目漱石")


def ebook_loan(due: datetime) -> EbookLoan:
    return EbookLoan(title=TITLE, borrowed=due - timedelta(days=15), due=due)


def test_ebook_loan_is_due_on_the_local_date_and_not_renewable():
    # 16:00 UTC on the 16th is 01:00 on the 17th in Tokyo: the patron's due date is the 17th.
    loan = loan_from_ebook(ebook_loan(datetime(2025, 6, 16, 16, 0, tzinfo=UTC)), TOKYO)
    assert loan.due_date == date(2025, 6, 17)
    assert loan.source is ItemSource.EBOOK and loan.item.source is ItemSource.EBOOK
    assert loan.item.material_type is MaterialType.EBOOK
    assert (loan.renewable, loan.renewals_allowed) == (False, 0)


def test_ready_hold_deadline_and_waiting_hold_position():
    placed = datetime(2025, 6, 1, 9, 0, tzinfo=TOKYO)
    ready = hold_from_ebook(
        EbookHold(
            title=TITLE,
            status=HoldStatus.READY,
            placed=placed,
            ready_since=placed + timedelta(days=1),
            ready_until=placed + timedelta(days=8),
        ),
        TOKYO,
    )
    waiting = hold_from_ebook(
        EbookHold(title=TITLE, status=HoldStatus.WAITING, placed=placed, queue_position=2),
        TOKYO,
    )
    assert (ready.status, ready.pickup_deadline) == (HoldStatus.READY, date(2025, 6, 9))
    assert (waiting.queue_position, waiting.pickup_deadline) == (2, None)
    assert ready.allowed_actions == {HoldAction.CANCEL} == waiting.allowed_actions
    assert ready.source is ItemSource.EBOOK and ready.created == date(2025, 6, 1)


@settings(max_examples=50, deadline=None)
@given(
    ils_days=st.lists(st.integers(0, 60), max_size=6),
    ebook_hours=st.lists(st.integers(1, 60 * 24), max_size=3),
)
def test_merged_loans_keep_every_entry_sorted_by_due_date(ils_days, ebook_hours):
    start = datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO)
    ils = [
        Loan(id=f"B{i}", item=Item(id=f"B{i}", title="本"), due_date=start.date() + timedelta(d))
        for i, d in enumerate(ils_days)
    ]
    ebooks = [ebook_loan(start + timedelta(hours=h)) for h in ebook_hours]
    merged = merge_loans(ils, ebooks, TOKYO)
    assert len(merged) == len(ils) + len(ebooks)
    assert [loan.due_date for loan in merged] == sorted(loan.due_date for loan in merged)
    # ILS entries due on the same day keep the ILS's order (a stable sort).
    by_due = sorted(ils, key=lambda loan: loan.due_date)
    assert [x.id for x in merged if x.source is ItemSource.ILS] == [x.id for x in by_due]


def test_merged_holds_put_ebook_holds_after_the_ils_holds():
    ils = [Hold(id="H1", item=Item(id="B1", title="本"), status=HoldStatus.WAITING)]
    placed = datetime(2025, 6, 1, tzinfo=TOKYO)
    ebook = EbookHold(title=TITLE, status=HoldStatus.WAITING, placed=placed, queue_position=1)
    merged = merge_holds(ils, [ebook], TOKYO)
    assert [(h.id, h.source) for h in merged] == [("H1", "ils"), ("KD000001", "ebook")]


def test_bridge_keys_compare_every_key_and_refuse_empty():
    keys = (SecretStr("first-key"), SecretStr("second-key"))
    assert key_matches("second-key", keys)
    assert not key_matches("second-ke", keys)
    assert not key_matches("", keys)
    assert not key_matches(None, keys)
    assert not key_matches("anything", ())
