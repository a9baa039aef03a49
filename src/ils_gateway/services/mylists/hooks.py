"""What the core hold and loan services ask of the lists while they work.

- Holds listed: cancelled and expired holds go into the cancelled-hold history (``observe``);
  a patron with hold sequences has them enforced (later members held back or released), and
  every hold carries its place in its sequence (``annotate``); an OR-hold group one of whose
  holds is filled has its other holds cancelled (``OrHoldService.enforce``). When enforcing
  fails (the library refused a suspend, timed out…) the list is still shown, annotated; the
  periodic job or the next look tries again. A failing gateway store never hides the library's lists
  (recording is skipped and logged); a cancel is refused when the sequence check cannot run.
- Before a cancel: a hold in a sequence cannot be cancelled (``check_cancel``).
- After a cancel through the gateway: it goes into the cancelled-hold history (``record``),
  only when the library cancelled it (a cancellation request leaves the hold active).
- Loans listed: recorded in the reading history when the patron has it on (``capture``), on
  every channel (the kiosk rule is about showing the history, not about recording it).

``HoldHooks`` and ``LoanHooks`` are what ``HoldService`` and ``LoanService`` accept; ``ListHooks``
implements both for one tenant over ``MyLists``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import structlog

from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.models import Hold, HoldEndedBy, Loan, Patron
from ils_gateway.store.records import CancelReason

if TYPE_CHECKING:
    from ils_gateway.services.context import Caller, TenantContext
    from ils_gateway.services.mylists.context import PatronContext
    from ils_gateway.services.mylists.runtime import MyLists

log = structlog.get_logger(__name__)


class HoldHooks(Protocol):
    """Steps the hold service takes around listing and cancelling."""

    async def holds_listed(self, caller: Caller, holds: Sequence[Hold]) -> list[Hold]:
        """The holds as the patron should see them (sequence places, held-back as waiting)."""
        ...

    async def before_cancel(self, caller: Caller, hold: Hold) -> None:
        """Raise (``CancelRefused``) when the gateway forbids cancelling ``hold``."""
        ...

    async def hold_cancelled(self, caller: Caller, hold: Hold) -> None:
        """``hold`` was cancelled through the gateway."""
        ...


class LoanHooks(Protocol):
    """Steps the loan service takes after listing."""

    async def loans_listed(self, caller: Caller, loans: Sequence[Loan]) -> None:
        """The gateway saw these loans."""
        ...


class NoticeObserver(Protocol):
    """Who notices patrons of what the lists show (``services.notices.NoticeService``)."""

    async def holds_seen(self, patron: Patron, holds: Sequence[Hold]) -> int:
        """Notice the ready holds not noticed yet."""
        ...

    async def loans_seen(self, patron: Patron, loans: Sequence[Loan]) -> int:
        """Remind of loans due soon, notice overdue ones, not noticed yet."""
        ...


class ListHooks:
    """The list services' part in listing holds and loans and in cancelling, for one tenant;
    with ``notices``, what the patron's lists show is also noticed (issue 18)."""

    def __init__(
        self, lists: MyLists, tenant: TenantContext, notices: NoticeObserver | None = None
    ) -> None:
        self._lists = lists
        self._tenant = tenant
        self._notices = notices

    async def _notice(
        self, caller: Caller, holds: Sequence[Hold] = (), loans: Sequence[Loan] = ()
    ) -> None:
        """Hand what was listed to the notices; a failure is logged, the list still shows."""
        if self._notices is None:
            return
        try:
            if holds:
                await self._notices.holds_seen(caller.patron, holds)
            if loans:
                await self._notices.loans_seen(caller.patron, loans)
        except Exception:
            log.exception("notices not given", tenant=self._tenant.id)

    def _ctx(self, caller: Caller) -> PatronContext:
        return self._lists.context(self._tenant.config, caller.patron, caller.channel)

    async def holds_listed(self, caller: Caller, holds: Sequence[Hold]) -> list[Hold]:
        """Record ended holds; enforce and annotate sequences."""
        ctx = self._ctx(caller)
        try:
            await self._lists.cancelled.observe(ctx, holds)
            await self._observe_ended(caller, ctx)
        except Exception:
            # The gateway store failing must not hide the library's own list.
            log.exception("cancelled-hold history not recorded", tenant=ctx.tenant.id)
        await self._notice(caller, holds=holds)
        if await self._lists.store.or_holds.list(ctx.owner):
            try:
                holds = (await self._lists.or_holds.enforce(ctx, self._tenant.backend)).holds
            except GatewayError as exc:
                # The list still shows; the job (or the next look) clears the group.
                log.warning("or-hold enforcement failed", tenant=ctx.tenant.id, error=exc.type_slug)
        if not await self._lists.store.sequences.list(ctx.owner):
            return list(holds)
        try:
            return await self._lists.sequences.enforce(ctx, self._tenant.backend)
        except GatewayError as exc:
            # The list still shows; the job (or the next look) keeps the order.
            log.warning("sequence enforcement failed", tenant=ctx.tenant.id, error=exc.type_slug)
            return await self._lists.sequences.annotate(ctx, holds)

    async def _observe_ended(self, caller: Caller, ctx: PatronContext) -> None:
        """Keep the holds the library system reports ended (cancelled by the library too, or
        expired), where it can list them (FOLIO's closed requests); a failure is logged."""
        if ctx.policy.holds.cancelled_history_days is None:
            return
        source = getattr(self._tenant.backend, "list_ended_holds", None)
        if source is None:
            return
        try:
            ended = await source(caller.patron)
        except GatewayError as exc:
            log.warning("ended holds not read", tenant=ctx.tenant.id, error=exc.type_slug)
            return
        await self._lists.cancelled.observe(ctx, ended)

    async def before_cancel(self, caller: Caller, hold: Hold) -> None:
        """A hold in a sequence must leave it before it can be cancelled."""
        await self._lists.sequences.check_cancel(self._ctx(caller), hold.id)

    async def hold_cancelled(self, caller: Caller, hold: Hold) -> None:
        """Keep the cancelled hold in the cancelled-hold history (the cancel itself is done:
        a store failure here is logged, not reported as a failed cancel)."""
        ctx = self._ctx(caller)
        try:
            mine = hold.model_copy(update={"ended_by": HoldEndedBy.PATRON})
            await self._lists.cancelled.record(ctx, mine, CancelReason.CANCELLED)
        except Exception:
            log.exception("cancelled-hold history not recorded", tenant=ctx.tenant.id)

    async def loans_listed(self, caller: Caller, loans: Sequence[Loan]) -> None:
        """Record the loans in the reading history (if the patron has it on).

        A failure is logged and the loans are still shown; the periodic job catches up.
        """
        ctx = self._ctx(caller)
        try:
            await self._lists.history.capture(ctx, loans, looked=True)
        except Exception:
            log.exception("reading history not captured", tenant=ctx.tenant.id)
        await self._notice(caller, loans=loans)
