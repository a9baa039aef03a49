"""The check-in answer's decision table (``kiosk.reply_shaping.checkin_answer``), outcome by
outcome, as Koha's ``C4/SIP/ILS/Transaction/Checkin.pm`` decides ok, alert and CV; and the
outcome from the copy read before and after (``checkin_outcome``)."""

from __future__ import annotations

import pytest

from ils_gateway.domain.models import Item
from ils_gateway.domain.vocab import MaterialType
from ils_gateway.kiosk.reply_shaping import checkin_answer, checkin_outcome
from ils_gateway.tenants.terminal_reply import CheckinShaping, SortRule

BOOK = Item(id="1", title="t", location="CEN")


def _copy(status: str | None) -> Item:
    return BOOK.model_copy(update={"circulation_status": status})


@pytest.mark.parametrize(
    ("before", "after", "outcome"),
    [
        ("charged", "available", "returned"),
        ("checked_out", None, "returned"),
        ("available", "available", "not_on_loan"),
        ("lost", "available", "lost"),
        ("missing", "available", "lost"),
        ("charged", "waiting_on_hold_shelf", "hold_shelf"),
        ("available", "awaiting_pickup", "hold_shelf"),
        ("charged", "in_transit", "in_transit"),
        ("lost", "in_transit", "in_transit"),
        ("claimed_returned", "available", "returned"),
    ],
)
def test_outcome(before: str, after: str | None, outcome: str) -> None:
    assert checkin_outcome(_copy(before), _copy(after) if after else None) == outcome


def test_outcome_unknown_before_is_a_return() -> None:
    assert checkin_outcome(None, _copy("available")) == "returned"
    assert checkin_outcome(None, None) == "returned"


@pytest.mark.parametrize(
    ("shaping", "outcome", "ok", "alert", "cv"),
    [
        (CheckinShaping(), "returned", True, False, None),
        (CheckinShaping(), "not_on_loan", True, False, None),
        (CheckinShaping(), "hold_shelf", True, True, None),
        (CheckinShaping(), "lost", True, True, None),
        (CheckinShaping(checked_in_ok=False), "not_on_loan", False, True, None),
        (CheckinShaping(checked_in_ok=False, alert_types=True), "not_on_loan", False, True, "99"),
        (CheckinShaping(alert_types=True), "hold_shelf", True, True, "01"),
        (CheckinShaping(alert_types=True), "in_transit", True, True, "04"),
        (CheckinShaping(alert_types=True), "returned", True, False, None),
        (CheckinShaping(holds_block_checkin=True), "in_transit", False, True, "99"),
        (CheckinShaping(holds_block_checkin=True), "returned", True, False, None),
        (CheckinShaping(cv_triggers_alert=True), "lost", True, True, "99"),
        (CheckinShaping(cv_triggers_alert=True), "returned", True, False, None),
        (CheckinShaping(cv_send_00_on_success=True), "returned", True, False, "00"),
        (CheckinShaping(cv_send_00_on_success=True, checked_in_ok=False), "not_on_loan",
         False, True, None),
    ],
)  # fmt: skip
def test_decision(shaping: CheckinShaping, outcome, ok: bool, alert: bool, cv) -> None:
    answer = checkin_answer(shaping, outcome, BOOK, {})
    assert (answer.ok, answer.alert, answer.alert_type) == (ok, alert, cv)
    assert answer.resensitize == (ok and outcome not in ("hold_shelf", "in_transit"))


def test_rule_alert_type_wins_and_first_rule_wins() -> None:
    shaping = CheckinShaping(
        alert_types=True,
        hold_sort_bin="H",
        sort_rules=(
            SortRule(
                outcomes=frozenset({"hold_shelf"}),
                material_types=frozenset({MaterialType.DVD}),
                sort_bin="D",
            ),
            SortRule(outcomes=frozenset({"hold_shelf"}), alert_type="02"),
            SortRule(sort_bin="ANY"),
        ),
    )
    hold = checkin_answer(shaping, "hold_shelf", BOOK, {})
    assert (hold.alert_type, hold.sort_bin) == ("02", "H")  # the rule names no bin: the hold's
    plain = checkin_answer(shaping, "returned", BOOK, {})
    assert (plain.alert_type, plain.sort_bin) == (None, "ANY")
    dvd = BOOK.model_copy(update={"material_type": MaterialType.DVD})
    assert checkin_answer(shaping, "hold_shelf", dvd, {}).sort_bin == "D"
