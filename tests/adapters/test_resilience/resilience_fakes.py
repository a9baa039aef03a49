"""A fake library system (a test double of the *backend*) with scripted faults, and a clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from ils_gateway.adapters.base import CancelOutcome, Capabilities, Capability
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendUnavailable,
    FeatureDisabled,
    GatewayError,
    NotFound,
    OutcomeUnknown,
    RenewalRefused,
)
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    Item,
    Library,
    Loan,
    Patron,
    RenewalResult,
)
from ils_gateway.domain.vocab import ContactMethod, HoldStatus, Outcome, RefusalReason

FaultKind = Literal["raise", "lost", "hang", "hang_after", "silent_after"]


class FakeClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """An ``asyncio.sleep`` stand-in that records the waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Fault:
    """What the next call of one operation does wrong.

    raise: raise ``exc`` without doing anything; lost: do it, then raise ``OutcomeUnknown``
    (the answer was lost); hang: never answer, do nothing; hang_after: do it, never answer;
    silent_after: do it, then answer nothing at all (this call and every later one) until
    ``FakeLibrary.wake()`` — a library system that carries out a write and goes silent.
    """

    kind: FaultKind
    exc: GatewayError | None = None


def patron(pid: str = "p1") -> Patron:
    return Patron(id=pid, card_number=f"2000000{pid}")


def item(iid: str) -> Item:
    return Item(id=iid, title=f"本 {iid}")


class FakeLibrary:
    """A small in-memory library system: loans and holds per patron, faults per operation."""

    def __init__(self, today: date = date(2025, 6, 2)) -> None:
        self.today = today
        # Whether item information gives the copy's status (SIP2 18, Koha, FOLIO do).
        self.item_status = False
        self.loans: dict[str, dict[str, Loan]] = {}
        self.holds: dict[str, dict[str, Hold]] = {}
        self.calls: Counter[str] = Counter()
        self.faults: dict[str, list[Fault]] = {}
        self.down = False
        self.cancellation_request_flow = False
        self.title_level_ids = False  # list holds under ``title:<n>`` (SIP2 title entries)
        self.silent = False
        self.lists_pickup = True  # False: hold lists leave the pickup library out (SIP2 CD)
        self._next_hold = 1
        self.passwords: dict[str, str] = {}  # card -> password, for the cards that have one

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities.native(*Capability)

    # --- test controls ---

    def lend(self, patron_id: str, item_id: str, due: date | None = None) -> None:
        loan = Loan(id=item_id, item=item(item_id), due_date=due or self.today + timedelta(14))
        self.loans.setdefault(patron_id, {})[item_id] = loan

    def fault(self, op: str, kind: FaultKind, exc: GatewayError | None = None, times: int = 1):
        self.faults.setdefault(op, []).extend(Fault(kind, exc) for _ in range(times))

    def wake(self) -> None:
        """End a silence: calls are answered again (those that hung stay unanswered)."""
        self.silent = False

    async def _run(self, op: str, apply: Callable[[], Any]) -> Any:
        self.calls[op] += 1
        if self.silent:
            await asyncio.Event().wait()
        if self.down:
            raise BackendUnavailable(retry_after=60)
        queue = self.faults.get(op)
        fault = queue.pop(0) if queue else None
        if fault is None:
            return apply()
        if fault.kind == "raise":
            assert fault.exc is not None
            raise fault.exc
        if fault.kind == "hang":
            await asyncio.Event().wait()
        result = apply()
        if fault.kind == "lost":
            raise OutcomeUnknown(operator_detail="answer lost")
        if fault.kind == "silent_after":
            self.silent = True
        await asyncio.Event().wait()  # hang_after
        return result  # pragma: no cover

    # --- ILSBackend ---

    async def authenticate(self, card_number: str, password: str) -> Patron:
        def apply() -> Patron:
            known = self.passwords.get(card_number)
            if known is not None and known != password:
                raise AuthenticationFailed()
            return patron(card_number[-2:])

        return await self._run("authenticate", apply)

    async def patron_summary(self, p: Patron) -> Patron:
        def apply() -> Patron:
            return p.model_copy(update={"loans_count": len(self.loans.get(p.id, {}))})

        return await self._run("patron_summary", apply)

    async def list_loans(self, p: Patron) -> list[Loan]:
        return await self._run("list_loans", lambda: list(self.loans.get(p.id, {}).values()))

    async def renew(self, p: Patron, item_id: str) -> RenewalResult:
        def apply() -> RenewalResult:
            loan = self.loans.get(p.id, {}).get(item_id)
            if loan is None:
                raise NotFound()
            if loan.renewals_used >= 1:
                raise RenewalRefused(RefusalReason.RENEWAL_LIMIT)
            renewed = loan.model_copy(
                update={"due_date": loan.due_date + timedelta(14), "renewals_used": 1}
            )
            self.loans[p.id][item_id] = renewed
            return RenewalResult(item_id=item_id, outcome=Outcome.OK, loan=renewed)

        return await self._run("renew", apply)

    async def renew_many(self, p: Patron, item_ids: Sequence[str]) -> BatchResult[RenewalResult]:
        async def one(item_id: str) -> RenewalResult:
            try:
                return await self.renew(p, item_id)
            except GatewayError as exc:
                return RenewalResult.from_error(item_id, exc)

        results = [await one(i) for i in item_ids]
        return await self._run("renew_many", lambda: BatchResult(results=tuple(results)))

    async def list_holds(self, p: Patron) -> list[Hold]:
        def apply() -> list[Hold]:
            holds = list(self.holds.get(p.id, {}).values())
            if self.lists_pickup:
                return holds
            return [h.model_copy(update={"pickup_library": None}) for h in holds]

        return await self._run("list_holds", apply)

    async def place_hold(
        self,
        p: Patron,
        item_id: str,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        def apply() -> Hold:
            listed = item(item_id)
            if self.title_level_ids:  # listed under the title record, not the copy
                listed = Item(id=f"title:{50 + self._next_hold}", title=listed.title)
            hold = Hold(
                id=f"h{self._next_hold}" if not self.title_level_ids else listed.id,
                item=listed,
                status=HoldStatus.WAITING,
                pickup_library=pickup_library,
                contact_method=contact_method,
            )
            self._next_hold += 1
            self.holds.setdefault(p.id, {})[hold.id] = hold
            return hold

        return await self._run("place_hold", apply)

    async def cancel_hold(self, p: Patron, hold_id: str) -> CancelOutcome:
        def apply() -> CancelOutcome:
            hold = self.holds.get(p.id, {}).get(hold_id)
            if hold is None:
                raise NotFound()
            if hold.status is HoldStatus.READY and self.cancellation_request_flow:
                # newer Koha: a hold on the shelf stays, marked, until staff act
                self.holds[p.id][hold_id] = hold.model_copy(update={"cancellation_requested": True})
                return CancelOutcome.CANCELLATION_REQUESTED
            del self.holds[p.id][hold_id]
            return CancelOutcome.CANCELLED

        return await self._run("cancel_hold", apply)

    def _update_hold(self, p: Patron, hold_id: str, **changes: Any) -> Hold:
        hold = self.holds.get(p.id, {}).get(hold_id)
        if hold is None:
            raise NotFound()
        hold = hold.model_copy(update=changes)
        self.holds[p.id][hold_id] = hold
        return hold

    async def change_hold(
        self,
        p: Patron,
        hold_id: str,
        *,
        pickup_library: str | None = None,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        changes = {"pickup_library": pickup_library} if pickup_library else {}
        if contact_method:
            changes["contact_method"] = contact_method
        return await self._run("change_hold", lambda: self._update_hold(p, hold_id, **changes))

    async def suspend_hold(self, p: Patron, hold_id: str, until: date | None) -> Hold:
        return await self._run(
            "suspend_hold",
            lambda: self._update_hold(
                p, hold_id, status=HoldStatus.SUSPENDED, suspended_until=until
            ),
        )

    async def resume_hold(self, p: Patron, hold_id: str) -> Hold:
        return await self._run(
            "resume_hold",
            lambda: self._update_hold(p, hold_id, status=HoldStatus.WAITING, suspended_until=None),
        )

    async def list_pickup_libraries(self) -> list[Library]:
        return await self._run(
            "list_pickup_libraries", lambda: [Library(code="CEN", name="中央図書館")]
        )

    async def get_item(self, item_id: str) -> Item:
        def apply() -> Item:
            if not item_id.startswith("i"):
                raise NotFound()
            if not self.item_status:
                return item(item_id)
            lent = any(item_id in loans for loans in self.loans.values())
            return item(item_id).model_copy(
                update={"circulation_status": "charged" if lent else "available"}
            )

        return await self._run("get_item", apply)

    async def checkout(self, p: Patron, item_id: str) -> Loan:
        def apply() -> Loan:
            self.lend(p.id, item_id)
            return self.loans[p.id][item_id]

        return await self._run("checkout", apply)

    async def checkin(self, item_id: str) -> Item:
        def apply() -> Item:
            for loans in self.loans.values():
                loans.pop(item_id, None)
            return item(item_id)

        return await self._run("checkin", apply)

    async def change_password(self, p: Patron, old_password: str, new_password: str) -> None:
        """Only for cards given a password in ``passwords`` (else switched off)."""
        if p.card_number not in self.passwords:
            raise FeatureDisabled("password_change")

        def apply() -> None:
            if self.passwords[p.card_number] != old_password:
                raise AuthenticationFailed()
            self.passwords[p.card_number] = new_password

        await self._run("change_password", apply)

    async def close(self) -> None:
        self.calls["close"] += 1
