"""The tenant rules as pure functions, on the seed libraries' own policies."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ils_gateway.adapters.base import Capabilities, Capability, Support
from ils_gateway.domain.errors import AuthenticationFailed, MaintenanceWindow
from ils_gateway.domain.models import (
    BookmobileStation,
    Hold,
    HoldSequenceInfo,
    Item,
    Library,
    Loan,
    RenewabilityUnknown,
)
from ils_gateway.domain.vocab import (
    ContactMethod,
    HoldAction,
    HoldStatus,
    MaterialType,
    RefusalReason,
)
from ils_gateway.services import rules
from ils_gateway.tenants.loader import load_tenants
from ils_gateway.tenants.loans import Bookmobile, LoanPolicy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
TENANTS = load_tenants(EXAMPLES)
TODAY = date(2025, 6, 10)


def policy(tenant_id: str):
    return TENANTS.get(tenant_id).policy


def loan(due: date, **kw) -> Loan:
    item = Item(
        id=kw.pop("item_id", "I1"), title="t", material_type=kw.pop("mt", MaterialType.BOOK)
    )
    return Loan(id=item.id, item=item, due_date=due, **kw)


@pytest.mark.parametrize(
    ("days_late", "reason"),
    [
        (0, None),
        (1, None),
        (14, None),
        (15, RefusalReason.TOO_OVERDUE),
        (20, RefusalReason.TOO_OVERDUE),
    ],
)
def test_saitama_overdue_renewal_is_shortened_then_refused(days_late, reason):
    renewal = policy("saitama").renewal
    overdue = loan(TODAY - timedelta(days=days_late))
    assert rules.renewal_refusal(overdue, renewal, TODAY) is reason
    if reason is None and days_late:
        assert rules.expected_due_date(overdue, renewal, TODAY) == TODAY + timedelta(
            days=14 - days_late
        )


def test_saitama_too_early_until_13_days_before_due():
    renewal = policy("saitama").renewal
    assert rules.renewal_refusal(loan(TODAY + timedelta(days=14)), renewal, TODAY) is (
        RefusalReason.TOO_EARLY
    )
    assert rules.renewal_refusal(loan(TODAY + timedelta(days=13)), renewal, TODAY) is None
    assert rules.expected_due_date(loan(TODAY + timedelta(days=3)), renewal, TODAY) == (
        TODAY + timedelta(days=14)
    )


def test_ibaraki_exclusions_and_branch_period():
    renewal = policy("ibaraki").renewal
    due = TODAY + timedelta(days=3)
    assert rules.renewal_refusal(loan(due, interlibrary=True), renewal, TODAY) is (
        RefusalReason.INTERLIBRARY_LOAN
    )
    assert rules.renewal_refusal(loan(due, mt=MaterialType.ART_REPRODUCTION), renewal, TODAY) is (
        RefusalReason.EXCLUDED_ITEM_TYPE
    )
    assert rules.renewal_refusal(loan(due, loan_branch="bookmobile"), renewal, TODAY) is (
        RefusalReason.EXCLUDED_ITEM_TYPE
    )
    assert rules.renewal_refusal(loan(TODAY - timedelta(days=1)), renewal, TODAY) is (
        RefusalReason.OVERDUE
    )
    assert rules.renewal_refusal(loan(due, renewals_used=1), renewal, TODAY) is (
        RefusalReason.RENEWAL_LIMIT
    )
    assert rules.expected_due_date(loan(due), renewal, TODAY) == TODAY + timedelta(days=15)
    assert rules.expected_due_date(loan(due, loan_branch="EKI"), renewal, TODAY) == (
        TODAY + timedelta(days=14)
    )


def test_annotate_keeps_backend_verdict_and_rule_wins():
    renewal = policy("nishinomiya").renewal
    held = loan(TODAY + timedelta(days=2), renewable=False, refusal_reason=RefusalReason.HAS_HOLDS)
    assert rules.annotate_loan(held, renewal, TODAY).refusal_reason is RefusalReason.HAS_HOLDS
    late = rules.annotate_loan(loan(TODAY - timedelta(days=3)), renewal, TODAY)
    assert (late.renewable, late.refusal_reason, late.days_overdue, late.overdue) == (
        False,
        RefusalReason.OVERDUE,
        3,
        True,
    )
    silent = loan(TODAY + timedelta(days=2), renewable=False)
    assert rules.annotate_loan(silent, renewal, TODAY).refusal_reason is (
        RefusalReason.NOT_RENEWABLE
    )


def test_card_normalisation_per_tenant():
    assert rules.normalise_card(policy("saitama").card, "123-456-7890") == "1234567890"
    assert rules.normalise_card(policy("saitama").card, "１２３４５６７８９０") == "1234567890"
    with pytest.raises(AuthenticationFailed):
        rules.normalise_card(policy("saitama").card, "123456")
    assert rules.normalise_card(policy("kanagawa").card, "123456") == "123456"
    with pytest.raises(AuthenticationFailed):
        rules.normalise_card(policy("kanagawa").card, "1234567")


def test_ibaraki_maintenance_window_refuses_writes_with_end_time():
    ibaraki = policy("ibaraki")
    jst = datetime.fromisoformat("2025-06-10T03:55:00+09:00")
    with pytest.raises(MaintenanceWindow) as caught:
        rules.check_writes_allowed(ibaraki, jst)
    assert caught.value.detail == "Service paused until 04:20"
    rules.check_writes_allowed(ibaraki, datetime.fromisoformat("2025-06-10T04:20:00+09:00"))
    rules.check_writes_allowed(ibaraki, datetime.fromisoformat("2025-06-10T03:49:59+09:00"))
    rules.check_writes_allowed(policy("saitama"), jst)


ALL = Capabilities({c: Support.NATIVE for c in Capability})


def hold(status: HoldStatus, **kw) -> Hold:
    return Hold(id="H1", item=Item(id="B1", title="t"), status=status, **kw)


@pytest.mark.parametrize("status", list(HoldStatus))
def test_nishinomiya_allowed_actions_follow_states(status):
    holds_policy = policy("nishinomiya").holds
    actions = rules.allowed_hold_actions(hold(status), holds_policy, ALL)
    assert (HoldAction.CANCEL in actions) == (status in holds_policy.cancel_allowed_states)
    assert (HoldAction.CHANGE_PICKUP in actions) == (status in holds_policy.modify_allowed_states)
    if status is HoldStatus.IN_TRANSIT:  # 取消 is hidden only for 手配済・検討中・準備中・提供可能
        assert rules.cancel_refusal(hold(status), holds_policy) is None
    if status is HoldStatus.PREPARING:
        assert rules.cancel_refusal(hold(status), holds_policy) is (
            RefusalReason.NOT_CANCELLABLE_IN_STATE
        )


def test_capabilities_and_sequences_limit_actions():
    holds_policy = policy("nishinomiya").holds
    sip2_like = Capabilities({Capability.CANCEL_HOLD: Support.NATIVE})
    assert rules.allowed_hold_actions(hold(HoldStatus.WAITING), holds_policy, sip2_like) == {
        HoldAction.CANCEL
    }
    seq = HoldSequenceInfo(sequence_id="s", position=2, length=3)
    in_sequence = hold(HoldStatus.WAITING, sequence=seq)
    assert HoldAction.CANCEL not in rules.allowed_hold_actions(in_sequence, holds_policy, ALL)
    assert rules.cancel_refusal(in_sequence, holds_policy) is RefusalReason.IN_SEQUENCE


def test_saitama_bookmobile_needs_a_station_and_phone():
    holds_policy = policy("saitama").holds
    libraries = [
        Library(code="CEN", name="中央図書館"),
        Library(
            code="BM",
            name="移動図書館",
            is_bookmobile_stop=True,
            bookmobile_stations=(BookmobileStation(code="BM-01", name="市役所前"),),
        ),
    ]

    def check(code, contact):
        return rules.pickup_refusal(
            holds_policy, libraries, pickup_library=code, contact_method=contact
        )

    assert check("CEN", ContactMethod.EMAIL) is None
    assert check("BM", ContactMethod.PHONE) is RefusalReason.BOOKMOBILE_STOP_REQUIRED
    assert check("BM-01", ContactMethod.EMAIL) is RefusalReason.BOOKMOBILE_CONTACT_PHONE_ONLY
    assert check("BM-01", ContactMethod.PHONE) is None
    assert check("NOPE", ContactMethod.PHONE) is RefusalReason.INVALID_PICKUP_LIBRARY


def test_kanagawa_contact_methods_for_new_and_changed_holds():
    holds_policy = policy("kanagawa").holds
    libraries = [Library(code="CEN", name="中央図書館")]
    assert (
        rules.pickup_refusal(
            holds_policy, libraries, pickup_library="CEN", contact_method=ContactMethod.PHONE
        )
        is RefusalReason.CONTACT_METHOD_NOT_OFFERED
    )
    assert (
        rules.pickup_refusal(
            holds_policy, libraries, pickup_library="CEN", contact_method=ContactMethod.EMAIL
        )
        is None
    )
    waiting = hold(HoldStatus.WAITING, pickup_library="CEN")
    assert (
        rules.change_refusal(
            waiting,
            holds_policy,
            libraries,
            pickup_library=None,
            contact_method=ContactMethod.PHONE,
        )
        is RefusalReason.CONTACT_METHOD_NOT_OFFERED
    )
    assert (
        rules.change_refusal(
            waiting, holds_policy, libraries, pickup_library=None, contact_method=ContactMethod.NONE
        )
        is None
    )


def test_bookmobile_loans_by_vehicle_or_station_code():
    # Issue 16: "bookmobile" in excluded_loan_branches means any bookmobile of the tenant file,
    # lent by the vehicle or at one of its stations; a bookmobile's own code means that one.
    loans_policy = LoanPolicy(bookmobiles=(Bookmobile(code="BM", stations=("BM01", "BM02")),))
    extra = [Bookmobile(code="BM9", stations=("S1",))]  # e.g. from the pickup libraries
    renewal = policy("ibaraki").renewal
    due = TODAY + timedelta(days=3)
    for branch, mobile in (("BM", "BM"), ("BM02", "BM"), ("S1", "BM9"), ("CEN", None)):
        placed = rules.with_bookmobile(loan(due, loan_branch=branch), loans_policy, extra)
        assert placed.bookmobile == mobile
        expected = RefusalReason.EXCLUDED_ITEM_TYPE if mobile else None
        assert rules.renewal_refusal(placed, renewal, TODAY) is expected
    only_bm9 = renewal.model_copy(
        update={"excluded_loan_branches": frozenset({"BM9"}), "branch_period_days": {"BM": 7}}
    )
    at_station = rules.with_bookmobile(loan(due, loan_branch="BM01"), loans_policy)
    assert rules.renewal_refusal(at_station, only_bm9, TODAY) is None
    assert rules.renewal_period_days(at_station, only_bm9, TODAY) == 7


def test_bookmobile_codes_must_be_unique():
    with pytest.raises(ValueError, match="BM01"):
        LoanPolicy(
            bookmobiles=(
                Bookmobile(code="BM", stations=("BM01",)),
                Bookmobile(code="BM2", stations=("BM01",)),
            )
        )


def test_renewability_unknown_without_a_renewal_count():
    renewal = policy("nishinomiya").renewal
    due = TODAY + timedelta(days=3)
    unknown = rules.annotate_loan(loan(due, renewals_used=None), renewal, TODAY)
    assert unknown.renewable is None and unknown.refusal_reason is None
    assert unknown.renewable_unknown is RenewabilityUnknown.RENEWAL_COUNT_UNKNOWN
    assert unknown.renewals_remaining is None
    # A rule that refuses still refuses (an overdue loan at Nishinomiya).
    late = rules.annotate_loan(loan(TODAY - timedelta(days=1), renewals_used=None), renewal, TODAY)
    assert late.renewable is False and late.renewable_unknown is None
    # The backend's own limit, when stricter than the rule's, is the one that counts.
    known = rules.annotate_loan(loan(due, renewals_used=0, renewals_allowed=0), renewal, TODAY)
    assert (known.renewable, known.refusal_reason, known.renewals_remaining) == (
        False,
        RefusalReason.RENEWAL_LIMIT,
        0,
    )
    fresh = rules.annotate_loan(loan(due, renewals_used=0), renewal, TODAY)
    assert (fresh.renewable, fresh.renewals_remaining) == (True, 1)
