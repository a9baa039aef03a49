"""Holds: list them with the actions allowed now, place several, cancel, change pickup/contact.

The tenant's states decide what may be cancelled or changed (``cancel_allowed_states``,
``modify_allowed_states``); the backend's capabilities decide what can be done at all. Limits
the gateway can count (per material type, overdue items blocking holds, duplicates) are
checked before asking the ILS; the ILS still has the final say, item by item.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

# CancelOutcome is part of this service's answer (the API handlers read it from here).
from ils_gateway.adapters.base import CancelOutcome as CancelOutcome
from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.resilience.journal import unsettled
from ils_gateway.domain.errors import (
    CancelRefused,
    FeatureDisabled,
    GatewayError,
    HoldRefused,
    NotFound,
)
from ils_gateway.domain.fees import BlockedAction
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    HoldResult,
    Item,
    Library,
    Loan,
    Patron,
)
from ils_gateway.domain.vocab import (
    ContactMethod,
    Feature,
    HoldStatus,
    MaterialType,
    Outcome,
    RefusalReason,
)
from ils_gateway.services import rules
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.fees import refuse_when_owing
from ils_gateway.services.list_memo import AnnotatedLists

if TYPE_CHECKING:
    from ils_gateway.services.mylists.hooks import HoldHooks


# Annotated hold lists remembered per service (one per patron and channel of the cached reads).
_MAX_LISTS = 1024


class HoldService:
    """Hold use cases of one tenant."""

    def __init__(self, tenant: TenantContext, hooks: HoldHooks | None = None) -> None:
        self._tenant = tenant
        self._calendar = tenant.calendar  # the ready holds' next opening day
        # The lists' part (sequences, cancelled-hold history), when the gateway has a store.
        self._hooks = hooks
        # The last annotated list per (patron, channel), while the holds read are the same
        # objects and the holds policy, the backend's capabilities, the hold-changes switch
        # and the day are equal (``AnnotatedLists``; issue 17).
        self._lists: AnnotatedLists[Hold] = AnnotatedLists(_MAX_LISTS)

    async def list_holds(self, caller: Caller) -> list[Hold]:
        """Current holds, each with ``allowed_actions`` for this tenant, backend and channel."""
        self._tenant.require_feature(Feature.HOLDS, caller.channel)
        holds = await self._tenant.backend.list_holds(caller.patron)
        if self._hooks is not None:
            holds = await self._hooks.holds_listed(caller, holds)
        basis = (
            self._tenant.policy.holds,
            self._tenant.backend.capabilities,
            self._tenant.policy.feature_enabled(Feature.HOLD_CHANGES, caller.channel),
            self._tenant.today(),
        )
        key = (caller.patron.id, caller.channel)
        known = self._lists.get(key, holds, basis)
        if known is not None:
            return known
        annotated = [self._annotate(hold, caller) for hold in holds]
        self._lists.put(key, holds, basis, annotated)
        return annotated

    async def find_hold(self, caller: Caller, scanned: str) -> Hold | None:
        """The patron's open hold that ``scanned`` (a hold id, barcode or title) names.

        A hold placed with a barcode is often title-level in the ILS and listed under the
        title (``title:4``, ``biblio:4``) until a copy is set aside. Then the barcode's item
        information gives its title, and the one open title-level hold on that title is it;
        none when several are (a cancel must never hit the wrong hold). So with a title
        itself (what a self-check shows for a hold with no copy): the one open hold of that
        title, none when two editions share it.
        """
        if not scanned:
            return None
        holds = [h for h in await self.list_holds(caller) if h.status.is_active]
        for hold in holds:
            if scanned in (hold.id, hold.item.id):
                return hold
        titled = [h for h in holds if h.item.title == scanned]
        if titled:
            return titled[0] if len(titled) == 1 else None
        backend = self._tenant.backend
        if not backend.capabilities.supports(Capability.GET_ITEM):
            return None
        try:
            item = await backend.get_item(scanned)
        except NotFound:
            return None
        same_title = [h for h in holds if h.title_level and h.item.title == item.title]
        return same_title[0] if len(same_title) == 1 and item.title else None

    async def place_holds(
        self,
        caller: Caller,
        item_ids: Sequence[str],
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> BatchResult[HoldResult]:
        """Place a hold on each item for pickup at ``pickup_library``; one result per item."""
        self._tenant.require_feature(Feature.HOLDS, caller.channel)
        self._require_capability(Capability.PLACE_HOLD, Feature.HOLDS)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        backend = self._tenant.backend
        libraries = await self._tenant.pickup_libraries()
        place_problem = rules.pickup_refusal(
            self._tenant.policy.holds,
            libraries,
            pickup_library=pickup_library,
            contact_method=contact_method,
        )
        if place_problem is not None:
            raise HoldRefused(place_problem, self._label(place_problem))
        await refuse_when_owing(self._tenant, caller.patron, BlockedAction.HOLDS, HoldRefused)
        holds = await backend.list_holds(caller.patron)
        loans = await backend.list_loans(caller.patron)
        self._refuse_when_overdue(loans)
        patron = await self._patron_for_age_limits(caller)
        counted = Counter(
            hold.item.material_type for hold in holds if self._counts_toward_limit(hold)
        )
        held_ids = {h.item.id for h in holds if h.status.is_active}
        on_loan_ids = {loan.item.id for loan in loans}
        results: list[HoldResult] = []
        for item_id in item_ids:
            try:
                item = await backend.get_item(item_id)
                # An earlier try may have placed it (now a "duplicate"): the backend reads back.
                if not unsettled("place_hold", item_id):
                    self._check_new_hold(item, counted, held_ids, on_loan_ids)
                    self._check_age_limits(patron, item, counted)
                hold = await backend.place_hold(
                    caller.patron, item_id, pickup_library, contact_method
                )
            except GatewayError as exc:
                results.append(HoldResult.from_error(item_id, exc))
                continue
            counted[item.material_type] += 1
            held_ids.add(item_id)
            results.append(
                HoldResult(item_id=item_id, outcome=Outcome.OK, hold=self._annotate(hold, caller))
            )
        return BatchResult[HoldResult](results=tuple(results), completed_at=self._tenant.now())

    async def cancel_hold(self, caller: Caller, hold_id: str) -> CancelOutcome:
        """Cancel one hold; ``CancelRefused`` when the tenant's states or a sequence forbid it.

        Returns what the library did: only a real cancel goes into the cancelled-hold history;
        a cancellation request leaves the hold listed until staff act.
        """
        self._tenant.require_feature(Feature.HOLDS, caller.channel)
        self._require_capability(Capability.CANCEL_HOLD, Feature.HOLDS)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        if unsettled("cancel_hold", hold_id):
            # An earlier try may have cancelled it (no longer listed): the backend reads back.
            return await self._settle_cancel(caller, hold_id)
        hold = await self._find(caller, hold_id)
        if self._hooks is not None:
            await self._hooks.before_cancel(caller, hold)
        reason = rules.cancel_refusal(hold, self._tenant.policy.holds)
        if reason is not None:
            raise CancelRefused(reason, self._label(reason))
        outcome = await self._tenant.backend.cancel_hold(caller.patron, hold_id)
        if outcome is CancelOutcome.CANCELLED and self._hooks is not None:
            await self._hooks.hold_cancelled(caller, hold)
        return outcome

    async def _settle_cancel(self, caller: Caller, hold_id: str) -> CancelOutcome:
        listed = await self._tenant.backend.list_holds(caller.patron)
        hold = next((h for h in listed if h.id == hold_id), None)
        outcome = await self._tenant.backend.cancel_hold(caller.patron, hold_id)
        if outcome is CancelOutcome.CANCELLED and hold is not None and self._hooks is not None:
            await self._hooks.hold_cancelled(caller, hold)
        return outcome

    async def change_hold(
        self,
        caller: Caller,
        hold_id: str,
        *,
        pickup_library: str | None = None,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        """Change a hold's pickup library and/or contact method while the tenant allows it."""
        self._tenant.require_feature(Feature.HOLD_CHANGES, caller.channel)
        if pickup_library is not None:
            self._require_capability(Capability.CHANGE_HOLD_PICKUP, Feature.HOLD_CHANGES)
        if contact_method is not None:
            self._require_capability(Capability.CHANGE_HOLD_CONTACT, Feature.HOLD_CHANGES)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        if unsettled("change_hold", hold_id):  # settled by the backend's read-back
            changed = await self._tenant.backend.change_hold(
                caller.patron, hold_id, pickup_library=pickup_library, contact_method=contact_method
            )
            return self._annotate(changed, caller)
        hold = await self._find(caller, hold_id)
        libraries: list[Library] = []
        if pickup_library is not None or hold.pickup_library is not None:
            libraries = await self._tenant.pickup_libraries()
        reason = rules.change_refusal(
            hold,
            self._tenant.policy.holds,
            libraries,
            pickup_library=pickup_library,
            contact_method=contact_method,
        )
        if reason is not None:
            raise HoldRefused(reason, self._label(reason), backend_message=hold.backend_status)
        changed = await self._tenant.backend.change_hold(
            caller.patron, hold_id, pickup_library=pickup_library, contact_method=contact_method
        )
        return self._annotate(changed, caller)

    async def _find(self, caller: Caller, hold_id: str) -> Hold:
        for hold in await self._tenant.backend.list_holds(caller.patron):
            if hold.id == hold_id:
                return hold
        raise NotFound("You have no such hold", operator_detail=hold_id)

    def _annotate(self, hold: Hold, caller: Caller) -> Hold:
        actions = rules.allowed_hold_actions(
            hold,
            self._tenant.policy.holds,
            self._tenant.backend.capabilities,
            hold_changes_enabled=self._tenant.policy.feature_enabled(
                Feature.HOLD_CHANGES, caller.channel
            ),
        )
        update: dict[str, object] = {"allowed_actions": actions}
        calendar = self._calendar
        if calendar is not None and hold.status is HoldStatus.READY:
            with contextlib.suppress(ValueError):  # closed longer than the calendar looks ahead
                update["next_opening_day"] = calendar.next_opening_day(
                    self._tenant.today(), include=True
                )
        return hold.model_copy(update=update)

    def _counts_toward_limit(self, hold: Hold) -> bool:
        if hold.status.is_active:
            return True
        # Kanagawa: cancelled holds still listed do not count; a tenant may say they do.
        return self._tenant.policy.holds.count_cancelled and hold.status is HoldStatus.CANCELLED

    def _refuse_when_overdue(self, loans: Sequence[Loan]) -> None:
        limit = self._tenant.policy.holds.refuse_when_overdue_days
        if limit is None:
            return
        today = self._tenant.today()
        loans = [rules.due_on_calendar(loan, self._calendar) for loan in loans]
        if any(rules.days_overdue(loan, today) >= limit for loan in loans):
            reason = RefusalReason.ITEM_OVERDUE_BLOCKS_HOLDS
            raise HoldRefused(reason, self._label(reason))

    def _check_new_hold(
        self, item: Item, counted: Counter[MaterialType], held_ids: set[str], on_loan_ids: set[str]
    ) -> None:
        policy = self._tenant.policy.holds
        reason: RefusalReason | None = None
        rule: str | None = None  # the tenant rule that refuses, named in the answer
        if item.id in held_ids:
            reason = RefusalReason.DUPLICATE_HOLD
        elif item.id in on_loan_ids:
            reason = RefusalReason.ALREADY_ON_LOAN
        elif item.reference_only:
            reason = RefusalReason.NON_CIRCULATING
        elif item.material_type in policy.excluded_material_types:
            reason, rule = RefusalReason.EXCLUDED_ITEM_TYPE, "holds.excluded_material_types"
        elif not policy.transfers and _on_the_shelf(item):
            reason, rule = RefusalReason.TITLE_AVAILABLE, "holds.transfers = false"
        elif policy.max_total is not None and sum(counted.values()) >= policy.max_total:
            reason, rule = RefusalReason.HOLD_LIMIT, f"holds.max_total = {policy.max_total}"
        else:
            for limit in policy.limits:
                if item.material_type in limit.material_types and (
                    sum(counted[t] for t in limit.material_types) >= limit.max
                ):
                    reason = RefusalReason.HOLD_LIMIT
                    rule = f"holds.limits {limit.name} = {limit.max}"
                    break
        if reason is not None:
            raise self._refused(reason, rule)

    def _refused(self, reason: RefusalReason, rule: str | None) -> HoldRefused:
        """The refusal of a rule the gateway applies itself, before asking the ILS."""
        label = self._label(reason)
        detail = f"{label} ({rule})" if rule else label
        operator = f"gateway rule {rule}, before the ILS" if rule else None
        return HoldRefused(reason, detail, operator_detail=operator)

    async def _patron_for_age_limits(self, caller: Caller) -> Patron:
        """The patron with the birth date the age limits need: a session keeps no birth date,
        so the backend's record is read (only for tenants with an age limit)."""
        limits = self._tenant.policy.holds.age_limits
        patron = caller.patron
        if patron.birth_date is not None or not any(a.under_age for a in limits):
            return patron
        return await self._tenant.backend.patron_summary(patron)

    def _check_age_limits(self, patron: Patron, item: Item, counted: Counter[MaterialType]) -> None:
        """Refuse before the ILS when the patron's age or category limit is reached
        (Akiruno: no holds below middle-school age, ``max = 0``)."""
        today = self._tenant.today()
        for limit in self._tenant.policy.holds.age_limits:
            if not limit.counts(item.material_type):
                continue
            if not limit.applies(patron.birth_date, patron.category, today):
                continue
            if sum(n for kind, n in counted.items() if limit.counts(kind)) >= limit.max:
                rule = f"holds.age_limits {limit.name} = {limit.max}"
                raise self._refused(RefusalReason.AGE_RESTRICTION, rule)

    def _require_capability(self, capability: Capability, feature: Feature) -> None:
        if not self._tenant.backend.capabilities.supports(capability):
            raise FeatureDisabled(
                feature,
                detail="The library system does not offer this",
                operator_detail=f"backend capability {capability} unavailable",
            )

    def _label(self, reason: RefusalReason) -> str:
        return self._tenant.labels.label(reason, "en")


def _on_the_shelf(item: Item) -> bool:
    """Whether the backend reports the copy on the shelf (SIP2 03, Koha and FOLIO "available"):
    a hold on it is a transfer (取り寄せ) to the pickup library."""
    return (item.circulation_status or "").strip().lower() == "available"
