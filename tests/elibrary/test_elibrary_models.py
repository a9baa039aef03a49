"""The e-book domain models: frozen, aware instants, statuses limited to waiting and ready."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from ils_gateway.domain.ebooks import EbookAvailability, EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.vocab import HoldStatus, ItemSource, MaterialType
from ils_gateway.simulators.elibrary import JST

NOW = datetime(2025, 4, 1, 10, tzinfo=JST)
TITLE = EbookTitle(id="KD1", title="こころ", author="夏目漱石")


def test_title_is_an_ebook_and_frozen():
    assert (TITLE.material_type, TITLE.source) == (MaterialType.EBOOK, ItemSource.EBOOK)
    assert not TITLE.can_borrow_now  # availability unknown is not "free"
    with pytest.raises(ValidationError):
        TITLE.title = "別の本"  # type: ignore[misc]


def test_availability_cannot_exceed_owned_copies():
    with pytest.raises(ValidationError):
        EbookAvailability(copies_owned=1, copies_available=2)
    free = TITLE.model_copy(
        update={"availability": EbookAvailability(copies_owned=2, copies_available=1)}
    )
    assert free.can_borrow_now


def test_loan_needs_aware_instants_in_order():
    loan = EbookLoan(title=TITLE, borrowed=NOW, due=NOW + timedelta(days=15))
    assert loan.returns_itself and loan.source is ItemSource.EBOOK
    with pytest.raises(ValidationError):
        EbookLoan(title=TITLE, borrowed=NOW.replace(tzinfo=None), due=NOW + timedelta(days=1))
    with pytest.raises(ValidationError):
        EbookLoan(title=TITLE, borrowed=NOW, due=NOW)


def test_hold_fields_follow_its_status():
    waiting = EbookHold(title=TITLE, status=HoldStatus.WAITING, placed=NOW, queue_position=2)
    assert waiting.ready_until is None
    ready = EbookHold(
        title=TITLE,
        status=HoldStatus.READY,
        placed=NOW,
        ready_since=NOW,
        ready_until=NOW + timedelta(days=7),
    )
    assert ready.queue_position is None
    bad = [
        {"status": HoldStatus.READY},  # no ready_until
        {"status": HoldStatus.READY, "ready_until": NOW, "queue_position": 1},
        {"status": HoldStatus.WAITING, "ready_until": NOW},
        {"status": HoldStatus.IN_TRANSIT},  # e-books do not travel
        {"status": HoldStatus.WAITING, "queue_position": 0},
    ]
    for fields in bad:
        with pytest.raises(ValidationError):
            EbookHold(title=TITLE, placed=NOW, **fields)
