"""A tenant's house rules as pure functions: no I/O, the clock passed in.

The services call these before asking the backend (a renewal 20 days overdue at Saitama is
refused as ``too_overdue`` without a round trip) and to annotate lists (every loan says whether
it can be renewed now and why not; every hold lists the actions allowed now). The backend keeps
the final say: a loan the rules allow may still be refused by the ILS, and that refusal is
passed on with the ILS's own message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from ils_gateway.adapters.base import Capabilities, Capability
from ils_gateway.domain.calendar import LibraryCalendar
from ils_gateway.domain.errors import AuthenticationFailed, MaintenanceWindow
from ils_gateway.domain.models import Hold, Library, Loan, RenewabilityUnknown
from ils_gateway.domain.vocab import (
    BlockReason,
    Channel,
    ContactMethod,
    Feature,
    HoldAction,
    HoldStatus,
    ItemSource,
    LoanState,
    RefusalReason,
)
from ils_gateway.tenants.loans import Bookmobile, LoanPolicy, branch_keys
from ils_gateway.tenants.policy import CardPolicy, HoldPolicy, Policy, RenewalPolicy

# Blocks that make the card itself unusable: login is refused with PatronBlocked. Other blocks
# (overdue items, fines) let the patron in to see what is wrong; the ILS refuses their writes.
CARD_BLOCKS = frozenset(
    {
        BlockReason.CARD_EXPIRED,
        BlockReason.CARD_UNUSED,
        BlockReason.LOST_CARD,
        BlockReason.ADMINISTRATIVE,
        BlockReason.TOO_MANY_CLAIMS,
        BlockReason.OTHER,
    }
)


def normalise_card(policy: CardPolicy, raw: str) -> str:
    """The tenant's canonical card number; a malformed one fails like a wrong password."""
    card = policy.normalise(raw)
    if card is None:
        # Same error as a wrong password: the response must not say which was wrong.
        raise AuthenticationFailed(operator_detail="card number does not match the tenant pattern")
    return card


def check_writes_allowed(policy: Policy, now: datetime) -> None:
    """Raise ``MaintenanceWindow`` while the tenant's nightly window is open."""
    if policy.maintenance is None:
        return
    until = policy.maintenance.window_end(now)
    if until is not None:
        raise MaintenanceWindow(until, now=now)


def days_overdue(loan: Loan, today: date) -> int:
    """Whole days past the due date (0 when not yet due)."""
    return max(0, (today - loan.due_date).days)


def renewal_refusal(loan: Loan, policy: RenewalPolicy, today: date) -> RefusalReason | None:
    """Why the tenant's rules forbid renewing ``loan`` today, or None when they allow it.

    Checks run from the most permanent reason to the most passing one, so the patron is told
    the reason that will still hold tomorrow.
    """
    if loan.interlibrary and not policy.interlibrary_loans:
        return RefusalReason.INTERLIBRARY_LOAN
    if loan.item.material_type in policy.excluded_material_types:
        return RefusalReason.EXCLUDED_ITEM_TYPE
    if any(key in policy.excluded_loan_branches for key in _branch_keys(loan)):
        return RefusalReason.EXCLUDED_ITEM_TYPE
    if loan.renewals_used is not None and loan.renewals_used >= renewal_limit(loan, policy):
        return RefusalReason.RENEWAL_LIMIT
    late = days_overdue(loan, today)
    if late > 0:
        mode = policy.overdue.mode
        if mode == "refuse":
            return RefusalReason.OVERDUE
        if mode == "shortened" and late > policy.overdue.grace_days:
            return RefusalReason.TOO_OVERDUE
    elif policy.earliest_days_before_due is not None:
        if (loan.due_date - today).days > policy.earliest_days_before_due:
            return RefusalReason.TOO_EARLY
    return None


def renewal_period_days(loan: Loan, policy: RenewalPolicy, today: date) -> int | None:
    """Days a renewal granted today runs for, by the tenant's rule (None: the ILS decides).

    Saitama's shortened overdue renewal gives ``grace_days - days overdue``.
    """
    late = days_overdue(loan, today)
    if late > 0 and policy.overdue.mode == "shortened":
        return policy.overdue.grace_days - late
    for key in _branch_keys(loan):
        if key in policy.branch_period_days:
            return policy.branch_period_days[key]
    return policy.period_days


def _branch_keys(loan: Loan) -> tuple[str, ...]:
    return branch_keys(loan.loan_branch, loan.bookmobile)


def renewal_limit(loan: Loan, policy: RenewalPolicy) -> int:
    """Renewals allowed in all: the stricter of the library system's limit and the rule's."""
    if loan.renewals_allowed is None:
        return policy.max_renewals
    return min(loan.renewals_allowed, policy.max_renewals)


def with_bookmobile(loan: Loan, loans_policy: LoanPolicy, extra: Iterable[Bookmobile] = ()) -> Loan:
    """``loan`` with ``bookmobile`` set when its branch is a bookmobile or one of its stations."""
    mobile = loans_policy.bookmobile_of(loan.loan_branch, extra)
    if mobile is None or mobile == loan.bookmobile:
        return loan
    return loan.model_copy(update={"bookmobile": mobile})


def due_on_calendar(loan: Loan, calendar: LibraryCalendar | None) -> Loan:
    """``loan`` with its due date moved to the next opening day when it falls on a day the
    library is closed and the tenant's calendar says so (``due_on_closed_day``)."""
    if calendar is None or not calendar.due_on_closed_day or loan.source is ItemSource.EBOOK:
        return loan
    try:
        due = calendar.due_date(loan.due_date)
    except ValueError:  # closed longer than the calendar looks ahead: the ILS's date stands
        return loan
    return loan if due == loan.due_date else loan.model_copy(update={"due_date": due})


def expected_due_date(loan: Loan, policy: RenewalPolicy, today: date) -> date | None:
    """The due date a renewal granted today should give, or None when the ILS decides."""
    period = renewal_period_days(loan, policy, today)
    return None if period is None else today + timedelta(days=period)


def annotate_loan(loan: Loan, policy: RenewalPolicy, today: date) -> Loan:
    """``loan`` with ``renewable``/``refusal_reason`` combining the tenant's rules and the ILS.

    A rule's reason wins over the backend's verdict (it is the one the library's own page
    gives); where the rules allow it, the backend's "not renewable" and its reason stand.
    E-book loans return themselves and are left as they are.
    """
    if loan.source is ItemSource.EBOOK:
        return loan
    late = days_overdue(loan, today)
    update: dict[str, object] = {"days_overdue": late}
    if late > 0:
        update["state"] = LoanState.OVERDUE
    limit = renewal_limit(loan, policy)
    if loan.renewals_used is not None:
        update["renewals_remaining"] = max(0, limit - loan.renewals_used)
    reason = renewal_refusal(loan, policy, today)
    if reason is not None:
        update |= {"renewable": False, "refusal_reason": reason, "renewable_unknown": None}
    elif loan.renewable is False and loan.refusal_reason is None:
        update["refusal_reason"] = RefusalReason.NOT_RENEWABLE
    elif loan.renewable is True and loan.renewals_used is None:
        # Nothing says how many renewals were used: "yes" would be a guess that the library
        # system may refuse (renewal_limit). The renewal itself still goes to the ILS.
        update |= {
            "renewable": None,
            "renewable_unknown": RenewabilityUnknown.RENEWAL_COUNT_UNKNOWN,
        }
    if all(getattr(loan, name) == value for name, value in update.items()):
        return loan  # nothing to add (the common case): frozen, so safe to share
    return loan.model_copy(update=update)


def allowed_hold_actions(
    hold: Hold,
    policy: HoldPolicy,
    capabilities: Capabilities,
    *,
    hold_changes_enabled: bool = True,
) -> frozenset[HoldAction]:
    """What the patron may do to ``hold`` now: tenant states × backend capabilities."""
    actions: set[HoldAction] = set()
    status = hold.status
    if not status.is_active:
        return frozenset()
    if (
        status in policy.cancel_allowed_states
        and hold.sequence is None
        and not hold.cancellation_requested  # already asked; staff act next
        and capabilities.supports(Capability.CANCEL_HOLD)
    ):
        actions.add(HoldAction.CANCEL)
    if hold_changes_enabled and status in policy.modify_allowed_states:
        if capabilities.supports(Capability.CHANGE_HOLD_PICKUP):
            actions.add(HoldAction.CHANGE_PICKUP)
        if capabilities.supports(Capability.CHANGE_HOLD_CONTACT):
            actions.add(HoldAction.CHANGE_CONTACT)
    if policy.skip_allowed and capabilities.supports(Capability.SUSPEND_HOLD):
        if status is HoldStatus.WAITING:
            actions.add(HoldAction.SUSPEND)
        elif status is HoldStatus.SUSPENDED:
            actions.add(HoldAction.RESUME)
    if (
        policy.pickup_extension is not None
        and status is HoldStatus.READY
        and not hold.pickup_extended
    ):
        actions.add(HoldAction.EXTEND_PICKUP)
    return frozenset(actions)


def cancel_refusal(hold: Hold, policy: HoldPolicy) -> RefusalReason | None:
    """Why the tenant's rules forbid cancelling ``hold`` now, or None."""
    if hold.sequence is not None:
        return RefusalReason.IN_SEQUENCE
    if hold.status not in policy.cancel_allowed_states:
        return RefusalReason.NOT_CANCELLABLE_IN_STATE
    return None


def change_refusal(
    hold: Hold,
    policy: HoldPolicy,
    libraries: Iterable[Library],
    *,
    pickup_library: str | None,
    contact_method: ContactMethod | None,
) -> RefusalReason | None:
    """Why the tenant's rules forbid changing ``hold`` this way, or None."""
    if hold.status not in policy.modify_allowed_states:
        return RefusalReason.NOT_MODIFIABLE_IN_STATE
    return pickup_refusal(
        policy,
        libraries,
        pickup_library=pickup_library or hold.pickup_library,
        contact_method=contact_method or hold.contact_method,
        check_library=pickup_library is not None,
    )


def pickup_refusal(
    policy: HoldPolicy,
    libraries: Iterable[Library],
    *,
    pickup_library: str | None,
    contact_method: ContactMethod | None,
    check_library: bool = True,
) -> RefusalReason | None:
    """Why a pickup place and contact method are not acceptable together, or None.

    A contact method must be one the library offers (``holds.contact_methods``); a bookmobile
    is chosen by one of its stations (not the vehicle); where the tenant says so (Saitama),
    bookmobile pickups are notified by phone only.
    """
    if contact_method is not None and contact_method not in policy.contact_methods:
        return RefusalReason.CONTACT_METHOD_NOT_OFFERED
    if pickup_library is None:
        return None
    libraries = list(libraries)
    stations = {s.code for lib in libraries for s in lib.bookmobile_stations}
    codes = {lib.code for lib in libraries}
    vehicles = {lib.code for lib in libraries if lib.bookmobile_stations}
    if check_library:
        if pickup_library in vehicles:
            return RefusalReason.BOOKMOBILE_STOP_REQUIRED
        if pickup_library not in codes and pickup_library not in stations:
            return RefusalReason.INVALID_PICKUP_LIBRARY
    at_bookmobile = pickup_library in stations
    if (
        at_bookmobile
        and policy.bookmobile_contact == "phone_only"
        and contact_method not in (None, ContactMethod.PHONE)
    ):
        return RefusalReason.BOOKMOBILE_CONTACT_PHONE_ONLY
    return None


def feature_enabled(policy: Policy, feature: Feature, channel: Channel) -> bool:
    """True unless the tenant switched ``feature`` off on ``channel``."""
    return policy.feature_enabled(feature, channel)
