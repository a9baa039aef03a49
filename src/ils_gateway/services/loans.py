"""Loans: list them with renewability explained, renew one or several.

The tenant's rules are applied first (``rules.renewal_refusal``): a renewal they forbid is
refused without asking the ILS, with the same reason the list showed. What they allow goes to
the backend, whose refusal (reason mapped by the adapter, message kept) is passed on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from ils_gateway.adapters.resilience.journal import unsettled
from ils_gateway.domain.errors import GatewayError, NotFound, RenewalRefused
from ils_gateway.domain.fees import BlockedAction
from ils_gateway.domain.models import BatchResult, Loan, RenewalResult
from ils_gateway.domain.vocab import Feature
from ils_gateway.lru import SmallLru
from ils_gateway.services import rules
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.fees import refuse_when_owing
from ils_gateway.services.list_memo import AnnotatedLists
from ils_gateway.tenants.loans import Bookmobile
from ils_gateway.tenants.policy import RenewalPolicy

if TYPE_CHECKING:
    from ils_gateway.services.mylists.hooks import LoanHooks

# Annotated loans remembered per service (a few per patron of the cached reads).
_MAX_ANNOTATED = 4096
# Annotated lists remembered per service (one per patron of the cached reads).
_MAX_LISTS = 1024


class LoanService:
    """Loan use cases of one tenant."""

    def __init__(self, tenant: TenantContext, hooks: LoanHooks | None = None) -> None:
        self._tenant = tenant
        self._calendar = tenant.calendar
        # The tenant's bookmobiles (from its fixed configuration): built once, not per loan.
        self._bookmobiles = [
            Bookmobile(code=lib.code, stations=tuple(s.code for s in lib.bookmobile_stations))
            for lib in tenant.config.pickup_libraries
            if lib.bookmobile_stations
        ]
        # The reading history's capture, when the gateway has a store.
        self._hooks = hooks
        # Cached reads hand out the same frozen Loan objects until the cache is refreshed, so
        # each one's annotation is remembered: id(loan) -> (loan, policy, day, annotated loan).
        # The loan is kept in the entry, so its id cannot be reused while the entry lives.
        self._annotated: SmallLru[int, tuple[Loan, RenewalPolicy, date, Loan]] = SmallLru(
            maxsize=_MAX_ANNOTATED
        )  # evicts one at a time, least recently used first
        # The last annotated list of each patron, while the loans read are the same objects
        # and the policy and the day are equal (``AnnotatedLists``).
        self._lists: AnnotatedLists[Loan] = AnnotatedLists(_MAX_LISTS)

    async def list_loans(self, caller: Caller) -> list[Loan]:
        """Current loans, each saying whether it can be renewed today and, if not, why."""
        self._tenant.require_feature(Feature.LOANS, caller.channel)
        loans = await self._tenant.backend.list_loans(caller.patron)
        if self._hooks is not None:
            await self._hooks.loans_listed(caller, loans)
        today = self._tenant.today()
        policy = self._tenant.policy.renewal
        # The same frozen loans (a cached read's) on the same day under the same policy: the
        # list annotated last time (each step depends on nothing else: the calendar and the
        # bookmobiles are the tenant's fixed configuration).
        basis = (policy, today)
        known = self._lists.get(caller.patron.id, loans, basis)
        if known is not None:
            return known
        annotated = [self._annotate(self._placed(loan), policy, today) for loan in loans]
        self._lists.put(caller.patron.id, loans, basis, annotated)
        return annotated

    def _placed(self, loan: Loan) -> Loan:
        """``loan`` with its bookmobile named when a bookmobile (or one of its stops) lent it."""
        placed = rules.with_bookmobile(loan, self._tenant.config.policy.loans, self._bookmobiles)
        return rules.due_on_calendar(placed, self._calendar)

    def _annotate(self, loan: Loan, policy: RenewalPolicy, today: date) -> Loan:
        known = self._annotated.get(id(loan))
        if known is not None and known[0] is loan and known[1] is policy and known[2] == today:
            return known[3]
        annotated = rules.annotate_loan(loan, policy, today)
        self._annotated[id(loan)] = (loan, policy, today, annotated)
        return annotated

    async def renew(self, caller: Caller, item_id: str) -> RenewalResult:
        """Renew one loan; raises ``RenewalRefused`` (with reason) or ``NotFound``."""
        loans = await self._prepare(caller)
        if unsettled("renew", item_id):
            # An earlier try may have renewed it: the loan now shows that renewal, so the
            # rules would judge the wrong state. The backend reads it back and decides.
            return await self._tenant.backend.renew(caller.patron, item_id)
        loan = _find(loans, item_id)
        if loan is None:
            raise NotFound("You are not borrowing this item", operator_detail=item_id)
        self._refuse_by_rule(self._placed(loan))
        return await self._tenant.backend.renew(caller.patron, item_id)

    async def renew_many(
        self, caller: Caller, item_ids: Sequence[str]
    ) -> BatchResult[RenewalResult]:
        """Renew several loans; one result per id, in request order."""
        loans = await self._prepare(caller)
        results: dict[int, RenewalResult] = {}
        to_ask: list[tuple[int, str]] = []
        for index, item_id in enumerate(item_ids):
            loan = _find(loans, item_id)
            if unsettled("renew", item_id):  # settled by the backend (see ``renew``)
                to_ask.append((index, item_id))
                continue
            try:
                if loan is None:
                    raise NotFound("You are not borrowing this item", operator_detail=item_id)
                self._refuse_by_rule(self._placed(loan))
            except GatewayError as exc:
                results[index] = RenewalResult.from_error(item_id, exc)
            else:
                to_ask.append((index, item_id))
        if to_ask:
            batch = await self._tenant.backend.renew_many(
                caller.patron, [item_id for _, item_id in to_ask]
            )
            for (index, _), result in zip(to_ask, batch.results, strict=True):
                results[index] = result
        ordered = tuple(results[i] for i in range(len(item_ids)))
        return BatchResult[RenewalResult](results=ordered, completed_at=self._tenant.now())

    async def _prepare(self, caller: Caller) -> list[Loan]:
        self._tenant.require_feature(Feature.RENEWALS, caller.channel)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        await refuse_when_owing(self._tenant, caller.patron, BlockedAction.RENEWALS, RenewalRefused)
        return await self._tenant.backend.list_loans(caller.patron)

    def _refuse_by_rule(self, loan: Loan) -> None:
        reason = rules.renewal_refusal(loan, self._tenant.policy.renewal, self._tenant.today())
        if reason is not None:
            labels = self._tenant.labels
            raise RenewalRefused(
                reason,
                labels.label(reason, "en"),
                operator_detail="refused by tenant rule before asking the ILS",
            )


def _find(loans: Sequence[Loan], item_id: str) -> Loan | None:
    """The loan of ``item_id``: by loan id, item id, or the copy's barcode (a self-check
    machine knows FOLIO's copies by barcode, the loan list by UUID)."""
    for loan in loans:
        if item_id in (loan.id, loan.item.id) or (item_id and loan.item.barcode == item_id):
            return loan
    return None
