"""Domain models: frozen, masked card numbers, per-item results consistent with outcome."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ils_gateway.domain.errors import BackendUnavailable, HoldRefused
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    HoldResult,
    Item,
    Loan,
    Patron,
    RenewalResult,
    mask_card,
)
from ils_gateway.domain.vocab import HoldStatus, MaterialType, Outcome, RefusalReason


def test_patron_repr_never_shows_card_or_contact() -> None:
    patron = Patron(id="p1", card_number="0123456789", email="a@example.jp", phone="0312345678")
    text = repr(patron) + str(patron)
    assert "0123456789" not in text and "a@example.jp" not in text
    assert patron.masked_card == "******6789"


@settings(max_examples=50)
@given(st.text(alphabet="0123456789-", min_size=0, max_size=20))
def test_mask_card_keeps_at_most_four(card: str) -> None:
    masked = mask_card(card)
    assert len(masked) == len(card)
    visible = [c for c in masked if c != "*"]
    assert len(visible) <= 4
    assert len(card) == 0 or masked.startswith("*")


def test_models_are_frozen_and_strict() -> None:
    item = Item(id="b1", title="吾輩は猫である")
    with pytest.raises(ValidationError):
        item.title = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Item(id="b1", title="x", colour="red")  # type: ignore[call-arg]


def test_loan_overdue_and_renewability() -> None:
    item = Item(id="b1", title="t")
    loan = Loan(id="b1", item=item, due_date=date(2025, 1, 1), days_overdue=3)
    assert loan.overdue
    refused = Loan(
        id="b1",
        item=item,
        due_date=date(2025, 1, 1),
        renewable=False,
        refusal_reason=RefusalReason.HAS_HOLDS,
    )
    assert refused.refusal_reason is RefusalReason.HAS_HOLDS
    with pytest.raises(ValidationError, match="refusal_reason"):
        Loan(id="b1", item=item, due_date=date(2025, 1, 1), refusal_reason=RefusalReason.OVERDUE)


def test_hold_material_type_comes_from_item() -> None:
    hold = Hold(
        id="h1", item=Item(id="t1", title="t", material_type=MaterialType.DVD), status="ready"
    )
    assert hold.material_type is MaterialType.DVD
    assert hold.status is HoldStatus.READY


def test_item_result_outcome_consistency() -> None:
    with pytest.raises(ValidationError):
        RenewalResult(item_id="b1", outcome=Outcome.REFUSED)
    with pytest.raises(ValidationError):
        RenewalResult(item_id="b1", outcome=Outcome.OK, reason=RefusalReason.HAS_HOLDS)
    with pytest.raises(ValidationError):
        RenewalResult(item_id="b1", outcome=Outcome.ERROR)


def test_results_from_errors_and_batch_grouping() -> None:
    refused = HoldResult.from_error(
        "t1", HoldRefused(RefusalReason.HOLD_LIMIT, backend_message="上限")
    )
    failed = HoldResult.from_error("t2", BackendUnavailable(retry_after=5))
    ok = HoldResult(item_id="t3", outcome=Outcome.OK)
    assert (refused.reason, refused.backend_message) == (RefusalReason.HOLD_LIMIT, "上限")
    assert failed.error_type == "backend-unavailable" and failed.reason is None
    batch = BatchResult[HoldResult](results=(refused, failed, ok))
    assert batch.succeeded == (ok,)
    assert batch.refused == (refused,)
    assert batch.failed == (failed,)


def test_renewal_result_new_due_date() -> None:
    loan = Loan(id="b1", item=Item(id="b1", title="t"), due_date=date(2025, 2, 1))
    assert RenewalResult(item_id="b1", outcome=Outcome.OK, loan=loan).new_due_date == date(
        2025, 2, 1
    )
