"""A simulated library system (ILS): circulation and holds with house rules, no protocol.

``SimulatedLibrary`` owns a ``LibraryData`` dataset and applies ``HouseRules`` to it. The SIP2
ACS face and the Koha REST face sit on top and translate; nothing here knows a wire format.
Every operation is synchronous and atomic: it checks everything first and raises a
``Refusal`` (token + Japanese screen message) before changing anything. Time comes only from
the injected clock (aware datetimes, read in Asia/Tokyo); library rules count whole days.

Holds move through the ILS's own states (``HoldState``)::

    suggested → on_order → pending ──(copy checked in / on shelf)──→ transit → processing
                                  └──(copy already at the pickup library)──→ awaiting_pickup
    processing ──(processing_hours)──→ awaiting_pickup ──(checkout)──→ filled
                                                      └──(deadline passed)──→ lapsed
    any open state ──(cancel)──→ cancelled

A suspended hold is pending with ``suspended`` set; it is skipped when copies are allocated
and, when resumed (by hand or when ``suspended_until`` comes), goes to the head of the queue.
``advance()`` applies what the passing of time does: transit arrivals, shelving, lapses and
the end of suspensions.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

# ManualClock is re-exported while other branches still import it from here.
from ils_gateway.domain.clock import Clock
from ils_gateway.domain.clock import ManualClock as ManualClock
from ils_gateway.simulators.outcomes import (
    Authentication,
    CheckinResult,
    FeeView,
    HoldEvent,
    HoldView,
    ItemInfo,
    LoanView,
    PatronBlock,
    PatronInfo,
    Payment,
    PickupLocation,
    Refusal,
    RefusalToken,
    RenewAllResult,
    SimulatedFault,
    UnknownRecord,
)
from ils_gateway.simulators.policy import HoldState, HouseRules, OverdueRenewal, RenewalBasis
from ils_gateway.simulators.records import (
    Biblio,
    BranchKind,
    ContactMethod,
    Fee,
    FeeKind,
    Hold,
    Item,
    ItemStatus,
    LibraryData,
    Loan,
    Patron,
)

TOKYO = ZoneInfo("Asia/Tokyo")

_DATA = TypeAdapter(LibraryData)
_FORMAT = 1

# SIP2 circulation status (item information response, 18) for each item status.
_CIRCULATION_STATUS = {
    ItemStatus.ON_ORDER: "02",
    ItemStatus.AVAILABLE: "03",
    ItemStatus.CHECKED_OUT: "04",
    ItemStatus.CATALOGUING: "06",
    ItemStatus.HOLD_SHELF: "08",
    ItemStatus.RESHELVING: "09",
    ItemStatus.IN_TRANSIT: "10",
    ItemStatus.CLAIMED_RETURNED: "11",
    ItemStatus.LOST: "12",
    ItemStatus.MISSING: "13",
}
_NOT_LOANABLE = frozenset(
    {
        ItemStatus.ON_ORDER,
        ItemStatus.CATALOGUING,
        ItemStatus.CLAIMED_RETURNED,
        ItemStatus.LOST,
        ItemStatus.MISSING,
    }
)
# Holds that wait in a title's queue for a copy.
_QUEUED = (HoldState.PENDING, HoldState.ON_ORDER)


def _fine_item(fee: FeeView) -> str:
    """A 64 AV line as Koha's SIP server writes it by default: the account line's description,
    a space and the amount outstanding with two decimals (C4/SIP/ILS/Patron.pm ``fine_items``,
    ``av_field_template`` "[% accountline.description %] [% accountline.amountoutstanding |
    format('%.2f') %]")."""
    return f"{fee.description} {fee.outstanding:.2f}"


class Operation(StrEnum):
    """Every operation the fault knobs can slow down or fail."""

    AUTHENTICATE = "authenticate"
    PATRON_INFO = "patron_info"
    ITEM_INFO = "item_info"
    LOANS = "loans"
    HOLDS = "holds"
    CHECKOUT = "checkout"
    CHECKIN = "checkin"
    RENEW = "renew"
    RENEW_ALL = "renew_all"
    PLACE_HOLD = "place_hold"
    CANCEL_HOLD = "cancel_hold"
    CHANGE_PICKUP = "change_pickup"
    SUSPEND_HOLD = "suspend_hold"
    RESUME_HOLD = "resume_hold"
    EXTEND_PICKUP = "extend_pickup"
    PICKUP_LOCATIONS = "pickup_locations"
    BLOCK_PATRON = "block_patron"
    ENABLE_PATRON = "enable_patron"
    PAY_FEE = "pay_fee"
    CHANGE_PASSWORD = "change_password"
    UPDATE_CONTACT = "update_contact"


@dataclass
class FaultKnobs:
    """Injected failures and latency per operation (VuFind Demo driver style).

    Each operation draws from its own random stream seeded by ``seed`` and the operation's
    name, so a run of the same calls fails at the same places, whatever else runs between.
    ``latency`` is only stored: the faces sleep, the model never does.
    """

    seed: int = 0
    failure_rate: dict[Operation, float] = field(default_factory=dict)
    latency: dict[Operation, float] = field(default_factory=dict)  # seconds
    _streams: dict[Operation, random.Random] = field(default_factory=dict, repr=False)

    def check(self, operation: Operation) -> None:
        """Raise ``SimulatedFault`` when this call of ``operation`` is chosen to fail."""
        rate = self.failure_rate.get(operation, 0.0)
        if rate <= 0:
            return
        stream = self._streams.get(operation)
        if stream is None:
            stream = self._streams[operation] = random.Random(f"{self.seed}:{operation.value}")
        if stream.random() < rate:
            raise SimulatedFault(operation.value)

    def latency_for(self, operation: Operation) -> float:
        """Seconds the face should wait before answering ``operation``."""
        return self.latency.get(operation, 0.0)


R = TypeVar("R")
CancelMode = Literal["rules", "cancel", "request"]


def _operation(
    op: Operation,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    def decorate(method: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(method)
        def wrapper(self: SimulatedLibrary, *args: Any, **kwargs: Any) -> R:
            self.faults.check(op)
            return method(self, *args, **kwargs)

        return wrapper

    return decorate


class SimulatedLibrary:
    """An in-memory ILS with house rules: the model behind the SIP2 and Koha simulators."""

    def __init__(
        self,
        data: LibraryData,
        clock: Clock,
        *,
        rules: HouseRules | None = None,
        faults: FaultKnobs | None = None,
    ) -> None:
        self.data = data
        if rules is not None:
            data.rules = rules
        self._clock = clock
        self.faults = faults or FaultKnobs()
        self._reindex()

    # ----- persistence -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: dict[str, Any], clock: Clock, **kwargs: Any) -> SimulatedLibrary:
        """A library from the JSON-shaped dict that ``to_dict`` writes."""
        if raw.get("format") != _FORMAT:
            raise ValueError(f"unsupported dataset format {raw.get('format')!r}")
        return cls(_DATA.validate_python(raw["library"]), clock, **kwargs)

    @classmethod
    def from_json(cls, path: str | Path, clock: Clock, **kwargs: Any) -> SimulatedLibrary:
        """A library from a JSON dataset file (the simulators' ``--data FILE``)."""
        import json

        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), clock, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The whole dataset, rules included, as JSON-ready data."""
        return {"format": _FORMAT, "library": _DATA.dump_python(self.data, mode="json")}

    def to_json(self) -> str:
        """The whole dataset as JSON text (UTF-8, Japanese kept readable)."""
        import json

        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @property
    def rules(self) -> HouseRules:
        """The house rules in force."""
        return self.data.rules

    def now(self) -> datetime:
        """The clock's time in Asia/Tokyo."""
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the simulator's clock must return aware datetimes")
        return now.astimezone(TOKYO)

    def today(self) -> date:
        """The library's current day."""
        return self.now().date()

    # ----- reads ---------------------------------------------------------------------------

    @_operation(Operation.AUTHENTICATE)
    def authenticate(self, card_number: str, password: str) -> Authentication:
        """Check a card number and password (never says more than found / matched)."""
        patron = self._patrons_by_card.get(card_number)
        if patron is None:
            return Authentication(patron_found=False, password_ok=False)
        if patron.password != password:
            return Authentication(patron_found=True, password_ok=False)
        return Authentication(
            patron_found=True,
            password_ok=True,
            patron_id=patron.id,
            temporary_password=patron.temporary_password,
            blocks=self._blocks(patron),
        )

    @_operation(Operation.PATRON_INFO)
    def patron_info(self, card_number: str) -> PatronInfo:
        """A patron's account summary with the lists a SIP2 64 response carries."""
        return self._patron_info(self._patron(card_number))

    def patron_by_id(self, patron_id: int) -> PatronInfo:
        """The same summary, by the ILS's patron id (Koha's ``patron_id``)."""
        patron = self._patrons.get(patron_id)
        if patron is None:
            raise UnknownRecord("patron", patron_id)
        return self._patron_info(patron)

    @_operation(Operation.ITEM_INFO)
    def item_info(self, barcode: str) -> ItemInfo:
        """Everything a self-check or the Koha items API says about one copy."""
        return self._item_info(self._item(barcode))

    def item_seen(self, barcode: str, *, mark_found: bool) -> None:
        """A self-check's item information saw the copy: its last-seen day is today, and
        with ``mark_found`` a lost copy is found (Koha's SIP account setting
        ``seen_on_item_information``: ``keep_lost`` updates ``datelastseen`` and leaves
        ``itemlost``, ``mark_found`` also sets ``itemlost`` to 0; Koha-Community/Koha
        ``t/db_dependent/SIP/Message.t``, test_item_information_v2)."""
        item = self._item(barcode)
        item.last_seen = self.today()
        if mark_found and item.status is ItemStatus.LOST:
            item.status = ItemStatus.AVAILABLE

    def items_of(self, biblio_id: int) -> list[ItemInfo]:
        """The copies of a title."""
        self._biblio(biblio_id)
        return [self._item_info(i) for i in self.data.items if i.biblio_id == biblio_id]

    def biblio(self, biblio_id: int) -> Biblio:
        """A copy of a title record."""
        return replace(self._biblio(biblio_id))

    def biblios(self) -> list[Biblio]:
        """Copies of every title record."""
        return [replace(b) for b in self.data.biblios]

    @_operation(Operation.LOANS)
    def loans(self, card_number: str) -> list[LoanView]:
        """A patron's current loans, earliest due first."""
        patron = self._patron(card_number)
        loans = sorted(self._open_loans(patron.id), key=lambda loan: (loan.due, loan.id))
        return [self._loan_view(loan) for loan in loans]

    @_operation(Operation.HOLDS)
    def holds(self, card_number: str, *, include_closed: bool = False) -> list[HoldView]:
        """A patron's holds, oldest first; closed ones (history) only when asked."""
        patron = self._patron(card_number)
        return [
            self._hold_view(h)
            for h in self.data.holds
            if h.patron_id == patron.id and (include_closed or h.state.is_open)
        ]

    def hold_by_id(self, hold_id: int) -> HoldView:
        """Any hold by id (for faces that address holds directly)."""
        return self._hold_view(self._hold_record(hold_id))

    @_operation(Operation.PICKUP_LOCATIONS)
    def pickup_locations(self) -> list[PickupLocation]:
        """Where holds can be collected: pickup libraries, then bookmobile stations."""
        return self._pickup_locations()

    def _pickup_locations(self) -> list[PickupLocation]:
        found: list[PickupLocation] = []
        for branch in self.data.branches:
            if branch.kind is BranchKind.BOOKMOBILE:
                found.extend(
                    PickupLocation(s.code, f"{branch.name} {s.name}", bookmobile=branch.code)
                    for s in branch.stations
                )
            elif branch.pickup:
                found.append(PickupLocation(branch.code, branch.name))
        return found

    def renewal_check(self, card_number: str, barcode: str) -> tuple[Refusal | None, date | None]:
        """Would renewing this loan now succeed? (refusal, None) or (None, new due date)."""
        patron = self._patron(card_number)
        return self._renewal_check(self._own_loan(patron, self._item(barcode)), patron)

    # ----- circulation ---------------------------------------------------------------------

    def checkout_refusals(self, card_number: str, barcode: str) -> list[Refusal]:
        """Every reason a checkout of this copy to this patron would be refused now (none: it
        would be lent), in the order ``checkout`` checks them; nothing changes."""
        patron = self._patron(card_number)
        item = self._item(barcode)
        found: list[Refusal] = []
        blocks = self._blocks(patron)
        if PatronBlock.EXPIRED in blocks:
            found.append(Refusal(RefusalToken.CARD_EXPIRED))
        elif blocks:
            found.append(
                Refusal(RefusalToken.RESTRICTION, "利用が制限されているため貸出できません")
            )
        if item.not_for_loan:
            found.append(Refusal(RefusalToken.NOT_FOR_LOAN))
        current = self._open_loan_of_item(item.id)
        if current is not None:
            mine = current.patron_id == patron.id
            found.append(
                Refusal(RefusalToken.ALREADY_POSSESSION if mine else RefusalToken.CHECKED_OUT)
            )
        elif item.status in _NOT_LOANABLE:
            found.append(Refusal(RefusalToken.NOT_LOANABLE_NOW))
        held = self._found_hold_on(item.id)
        if held is not None and held.patron_id != patron.id:
            found.append(Refusal(RefusalToken.RESERVED))
        return found

    @_operation(Operation.CHECKOUT)
    def checkout(self, card_number: str, barcode: str, branch: str | None = None) -> LoanView:
        """Lend a copy; a hold of this patron on the copy (or its title) becomes filled."""
        refusals = self.checkout_refusals(card_number, barcode)
        if refusals:
            raise refusals[0]
        patron = self._patron(card_number)
        item = self._item(barcode)
        branch = branch or item.location
        found = self._found_hold_on(item.id)
        fills = found or self._own_queued_hold(patron.id, item)
        biblio = self._biblio_of(item)

        now = self.now()
        loan = Loan(
            id=self._next_id(self.data.loans),
            item_id=item.id,
            patron_id=patron.id,
            branch=branch,
            checked_out=now,
            due=now.date() + timedelta(days=self.rules.loan_period(biblio.item_type)),
        )
        self.data.loans.append(loan)
        item.status = ItemStatus.CHECKED_OUT
        item.location = branch
        patron.last_activity = now.date()
        if fills is not None:
            self._close(fills, HoldState.FILLED)
            fills.item_id = item.id
        return self._loan_view(loan)

    @_operation(Operation.CHECKIN)
    def checkin(self, barcode: str, branch: str | None = None) -> CheckinResult:
        """Take a copy back at ``branch`` and send it to the next hold, if any.

        A copy arriving at the pickup library of the hold it travels for goes on the hold
        shelf. A copy that was not on loan is still checked for holds (Koha does the same).
        """
        item = self._item(barcode)
        branch = branch or item.location
        if branch not in self._branches:
            raise UnknownRecord("branch", branch)
        loan = self._open_loan_of_item(item.id)
        now = self.now()
        if loan is not None:
            loan.returned = now
            self._charge_overdue_fine(loan, item, now.date())
        found = self._found_hold_on(item.id)
        if found is not None:
            if found.state is HoldState.TRANSIT and self._pickup_branch(found.pickup) == branch:
                self._put_on_shelf(found, item, branch, now)
            return CheckinResult(barcode, loan.id if loan else None, self._hold_view(found), None)
        hold, route_to = self._allocate(item, branch, now)
        return CheckinResult(
            barcode, loan.id if loan else None, self._hold_view(hold) if hold else None, route_to
        )

    @_operation(Operation.RENEW)
    def renew(self, card_number: str, barcode: str) -> LoanView:
        """Renew one loan under the house rules."""
        patron = self._patron(card_number)
        loan = self._own_loan(patron, self._item(barcode))
        return self._renew(loan, patron)

    @_operation(Operation.RENEW_ALL)
    def renew_all(self, card_number: str) -> RenewAllResult:
        """Renew every loan that may be renewed; each loan succeeds or fails on its own."""
        patron = self._patron(card_number)
        renewed: list[LoanView] = []
        unrenewed: list[tuple[str, Refusal]] = []
        for loan in sorted(self._open_loans(patron.id), key=lambda loan: loan.id):
            try:
                renewed.append(self._renew(loan, patron))
            except Refusal as refusal:
                unrenewed.append((self._items[loan.item_id].barcode, refusal))
        return RenewAllResult(tuple(renewed), tuple(unrenewed))

    # ----- holds ---------------------------------------------------------------------------

    @_operation(Operation.PLACE_HOLD)
    def place_hold(
        self,
        card_number: str,
        pickup: str,
        *,
        biblio_id: int | None = None,
        barcode: str | None = None,
        contact: ContactMethod | None = None,
        allocate: bool = True,
    ) -> HoldView:
        """Place a title-level hold (``biblio_id``) or an item-level hold (``barcode``).

        When a copy is on the shelf it is allocated at once (staff would pull it), unless
        ``allocate`` is False: then the hold waits in the queue until a copy is checked in,
        as Koha's holds do (see ``simulators.koha``).
        """
        if (biblio_id is None) == (barcode is None):
            raise ValueError("give exactly one of biblio_id and barcode")
        patron = self._patron(card_number)
        item = self._item(barcode) if barcode is not None else None
        if item is not None:
            biblio = self._biblio(item.biblio_id)
        else:
            assert biblio_id is not None  # exactly one of the two, checked above
            biblio = self._biblio(biblio_id)
        contact = contact or self._default_contact(patron, pickup)
        self._check_pickup(pickup, contact)
        blocks = self._blocks(patron)
        if PatronBlock.EXPIRED in blocks:
            raise Refusal(RefusalToken.EXPIRED)
        if blocks:
            raise Refusal(RefusalToken.DEBARRED)
        copies = [item] if item else self._copies(biblio.id)
        if biblio.item_type in self.rules.not_holdable_types or (
            copies and all(c.not_for_loan for c in copies)
        ):
            raise Refusal(RefusalToken.NOT_RESERVABLE)
        self._check_overdue_block(patron)
        open_holds = [h for h in self.data.holds if h.patron_id == patron.id and h.state.is_open]
        if any(h.biblio_id == biblio.id for h in open_holds):
            raise Refusal(RefusalToken.ALREADY_RESERVED)
        held_items = {loan.item_id for loan in self._open_loans(patron.id)}
        if any(c.id in held_items for c in copies):
            raise Refusal(RefusalToken.ALREADY_POSSESSION)
        self._check_hold_limits(open_holds, biblio)

        now = self.now()
        queue = self._queue(biblio.id)
        hold = Hold(
            id=self._next_id(self.data.holds),
            patron_id=patron.id,
            biblio_id=biblio.id,
            pickup=pickup,
            placed=now,
            state=HoldState.PENDING,
            rank=max((h.rank for h in queue), default=0) + 1,
            item_id=item.id if item else None,
            item_level=item is not None,
            state_since=now,
            contact=contact,
        )
        self.data.holds.append(hold)
        on_shelf = self._copy_on_shelf(hold) if allocate else None
        if on_shelf is not None:
            self._allocate(on_shelf, on_shelf.location, now)
        return self._hold_view(hold)

    @_operation(Operation.CANCEL_HOLD)
    def cancel_hold(
        self,
        card_number: str,
        hold_id: int,
        *,
        mode: CancelMode = "rules",
        by_staff: bool = False,
    ) -> HoldView:
        """Cancel a hold; a found hold that may not be cancelled gets a cancellation request.

        ``mode``: "rules" as above; "cancel" cancels in any open state, as a staff client may
        (Koha's DELETE /holds/{id}); "request" files a cancellation request on a found hold.
        ``by_staff``: the library cancels it at its desk (not the patron); it says so later.
        """
        hold = self._own_hold(self._patron(card_number), hold_id)
        hold.cancelled_by_staff = by_staff
        if mode == "request":
            if not hold.state.is_found:
                raise Refusal(RefusalToken.NOT_CANCELLABLE)
            hold.cancellation_requested = True
        elif mode == "cancel" or hold.state in self.rules.cancellable_states:
            self._close(hold, HoldState.CANCELLED)
            self._release_found_copy(hold)
        elif hold.state.is_found and self.rules.cancellation_request_when_found:
            hold.cancellation_requested = True
        else:
            raise Refusal(RefusalToken.NOT_CANCELLABLE)
        return self._hold_view(hold)

    @_operation(Operation.CHANGE_PICKUP)
    def change_pickup(
        self,
        card_number: str,
        hold_id: int,
        pickup: str,
        contact: ContactMethod | None = None,
    ) -> HoldView:
        """Move a hold to another pickup location (and contact method)."""
        patron = self._patron(card_number)
        hold = self._own_hold(patron, hold_id)
        self._check_modifiable(hold)
        contact = contact or (
            ContactMethod.PHONE if self._is_station(pickup) else self._default_contact(patron, "")
        )
        self._check_pickup(pickup, contact)
        hold.pickup = pickup
        hold.contact = contact
        return self._hold_view(hold)

    @_operation(Operation.SUSPEND_HOLD)
    def suspend_hold(self, card_number: str, hold_id: int, until: date | None = None) -> HoldView:
        """Pause a pending hold (予約取置スキップ) until a date, or until resumed."""
        hold = self._own_hold(self._patron(card_number), hold_id)
        self._check_modifiable(hold)
        if until is not None and until <= self.today():
            raise ValueError("suspension must end after today")
        hold.suspended = True
        hold.suspended_until = until
        return self._hold_view(hold)

    @_operation(Operation.RESUME_HOLD)
    def resume_hold(self, card_number: str, hold_id: int) -> HoldView:
        """End a suspension; the hold goes to the head of its title's queue."""
        hold = self._own_hold(self._patron(card_number), hold_id)
        if not hold.suspended:
            raise Refusal(RefusalToken.NOT_SUSPENDED)
        self._resume(hold)
        return self._hold_view(hold)

    @_operation(Operation.EXTEND_PICKUP)
    def extend_pickup(self, card_number: str, hold_id: int) -> HoldView:
        """Keep a ready hold on the shelf longer (取置期限延長), if nobody else waits."""
        hold = self._own_hold(self._patron(card_number), hold_id)
        if hold.state is not HoldState.AWAITING_PICKUP or hold.deadline is None:
            raise Refusal(RefusalToken.NOT_AWAITING_PICKUP)
        if hold.extensions >= self.rules.pickup_extensions:
            raise Refusal(RefusalToken.EXTENSION_USED)
        if self._others_waiting(hold.biblio_id, hold.patron_id):
            raise Refusal(RefusalToken.OTHERS_WAITING)
        hold.deadline += timedelta(days=self.rules.pickup_extension_days)
        hold.extensions += 1
        return self._hold_view(hold)

    def advance(self, now: datetime | None = None) -> list[HoldEvent]:
        """Apply what time does to holds, up to ``now`` (default: the clock).

        Suspensions whose date has come end; copies in transit arrive after ``transit_days``
        and are shelved after ``processing_hours``; holds left on the shelf past their
        deadline lapse and their copy goes to the next hold. Returns what moved, in order.
        """
        now = (now or self.now()).astimezone(TOKYO)
        events: list[HoldEvent] = []
        for hold in list(self.data.holds):
            if not hold.state.is_open:
                continue
            before = hold.state
            if hold.suspended and hold.suspended_until and hold.suspended_until <= now.date():
                self._resume(hold)
                events.append(HoldEvent(hold.id, before, hold.state, resumed=True))
            if hold.state is HoldState.TRANSIT and hold.state_since is not None:
                arrival = hold.state_since + timedelta(days=self.rules.transit_days)
                if arrival <= now:
                    hold.state = HoldState.PROCESSING
                    hold.state_since = arrival
                    assert hold.item_id is not None  # a hold in transit or processing has its copy
                    item = self._items[hold.item_id]
                    item.status = ItemStatus.HOLD_SHELF
                    item.location = self._pickup_branch(hold.pickup)
            if hold.state is HoldState.PROCESSING and hold.state_since is not None:
                shelved = hold.state_since + timedelta(hours=self.rules.processing_hours)
                if shelved <= now:
                    assert hold.item_id is not None  # a hold in transit or processing has its copy
                    item = self._items[hold.item_id]
                    self._put_on_shelf(hold, item, item.location, shelved)
            if (
                hold.state is HoldState.AWAITING_PICKUP
                and hold.deadline is not None
                and hold.deadline < now.date()
            ):
                self._close(hold, HoldState.LAPSED, now)
                self._release_found_copy(hold, now)
            if hold.state is not before:
                events.append(HoldEvent(hold.id, before, hold.state))
        return events

    # ----- account -------------------------------------------------------------------------

    @_operation(Operation.BLOCK_PATRON)
    def block_patron(self, card_number: str, note: str | None = None) -> PatronInfo:
        """Block a card (SIP2 01, or staff)."""
        patron = self._patron(card_number)
        patron.block_note = note or "セルフ機からの要求により利用を停止しました"
        return self._patron_info(patron)

    @_operation(Operation.ENABLE_PATRON)
    def enable_patron(self, card_number: str) -> PatronInfo:
        """Lift a staff block and count today as a use of the card (an expiry stays)."""
        patron = self._patron(card_number)
        patron.block_note = None
        patron.last_activity = self.today()
        return self._patron_info(patron)

    @_operation(Operation.PAY_FEE)
    def pay_fee(self, card_number: str, amount: int, fee_id: int | None = None) -> Payment:
        """Pay ``amount`` yen towards one fee, or towards the oldest fees first."""
        patron = self._patron(card_number)
        fees = [f for f in self.data.fees if f.patron_id == patron.id and f.outstanding > 0]
        if fee_id is not None:
            fees = [f for f in fees if f.id == fee_id]
            if not fees and not any(f.id == fee_id for f in self.data.fees):
                raise UnknownRecord("fee", fee_id)
        owed = sum(f.outstanding for f in fees)
        if owed == 0:
            raise Refusal(RefusalToken.NO_FEES)
        if amount <= 0 or amount > owed:
            raise Refusal(RefusalToken.INVALID_AMOUNT)
        left = amount
        touched: list[int] = []
        for fee in sorted(fees, key=lambda f: f.id):
            take = min(left, fee.outstanding)
            if take:
                fee.paid += take
                left -= take
                touched.append(fee.id)
        remaining = sum(
            f.outstanding for f in self.data.fees if f.patron_id == patron.id and f.outstanding > 0
        )
        return Payment(accepted=amount, outstanding=remaining, fee_ids=tuple(touched))

    @_operation(Operation.CHANGE_PASSWORD)
    def change_password(self, card_number: str, old_password: str, new_password: str) -> None:
        """Replace the password (also ends a temporary password)."""
        patron = self._patron(card_number)
        if patron.password != old_password:
            raise Refusal(RefusalToken.WRONG_PASSWORD)
        rules = self.rules
        if (
            not rules.password_min_length <= len(new_password) <= rules.password_max_length
            or not all("!" <= ch <= "~" for ch in new_password)
            or "|" in new_password
            or new_password == old_password
        ):
            raise Refusal(RefusalToken.PASSWORD_REJECTED)
        patron.password = new_password
        patron.temporary_password = False

    @_operation(Operation.CHANGE_PASSWORD)
    def set_password(self, card_number: str, new_password: str) -> None:
        """Set a new password without the old one (a staff-side change, as Koha's
        ``POST /patrons/{patron_id}/password``); also ends a temporary password. Refused
        with ``PASSWORD_REJECTED`` when it breaks the house length rules or has whitespace."""
        patron = self._patron(card_number)
        rules = self.rules
        if (
            not rules.password_min_length <= len(new_password) <= rules.password_max_length
            or new_password != new_password.strip()
        ):
            raise Refusal(RefusalToken.PASSWORD_REJECTED)
        patron.password = new_password
        patron.temporary_password = False

    @_operation(Operation.UPDATE_CONTACT)
    def update_contact(self, card_number: str, *, email: str | None, phone: str | None) -> None:
        """A staff-side edit of the patron's record: the e-mail address and phone become
        these (None: none), as a whole-record write (Koha's PUT /patrons/{id}, FOLIO's PUT
        /users/{id}) leaves them."""
        patron = self._patron(card_number)
        patron.email = email
        patron.phone = phone

    # ----- rules ---------------------------------------------------------------------------

    def _charge_overdue_fine(self, loan: Loan, item: Item, today: date) -> None:
        """A library with an overdue fine charges it when a late copy comes back (Koha's
        OVERDUE debit, finalised at check-in; FOLIO's "Overdue fine" at check-in)."""
        rate = self.rules.overdue_fine_per_day
        days = (today - loan.due).days
        if rate is None or days <= 0:
            return
        amount = days * rate
        if self.rules.overdue_fine_cap is not None:
            amount = min(amount, self.rules.overdue_fine_cap)
        self.data.fees.append(
            Fee(
                id=max((f.id for f in self.data.fees), default=0) + 1,
                patron_id=loan.patron_id,
                kind=FeeKind.OVERDUE,
                amount=amount,
                description=f"延滞金 ({days}日 {item.barcode})",
                item_id=item.id,
                created=today,
            )
        )

    def _blocks(self, patron: Patron) -> tuple[PatronBlock, ...]:
        today = self.today()
        blocks: list[PatronBlock] = []
        if patron.block_note is not None:
            blocks.append(PatronBlock.MANUAL)
        if patron.expiry_date < today:
            blocks.append(PatronBlock.EXPIRED)
        years = self.rules.inactive_block_years
        if years is not None and patron.last_activity < _years_before(today, years):
            blocks.append(PatronBlock.INACTIVE)
        return tuple(blocks)

    def _renewal_check(self, loan: Loan, patron: Patron) -> tuple[Refusal | None, date | None]:
        """Renewal rules in order; the first that applies names the refusal."""
        rules = self.rules
        today = self.today()
        item = self._items[loan.item_id]
        item_type = self._biblio_of(item).item_type
        blocks = self._blocks(patron)
        overdue = (today - loan.due).days
        if PatronBlock.EXPIRED in blocks:
            return Refusal(RefusalToken.CARD_EXPIRED), None
        if blocks:
            return Refusal(RefusalToken.RESTRICTION), None
        if item.interlibrary_from and not rules.renew_interlibrary_loans:
            return Refusal(RefusalToken.INTERLIBRARY_LOAN), None
        if (
            item_type in rules.renewal_excluded_types
            or loan.branch in rules.renewal_excluded_branches
        ):
            return Refusal(RefusalToken.ITEM_DENIED_RENEWAL), None
        if loan.renewals >= rules.max_renewals:
            return Refusal(RefusalToken.TOO_MANY), None
        if not rules.renew_when_others_wait and self._others_waiting(
            item.biblio_id, patron.id, item_id=item.id
        ):
            return Refusal(RefusalToken.ON_RESERVE), None
        if overdue > 0:
            if rules.overdue_renewal is OverdueRenewal.IN_PERIOD_ONLY:
                return Refusal(RefusalToken.OVERDUE), None
            if rules.overdue_renewal is OverdueRenewal.SHORTENED:
                if overdue > rules.overdue_grace_days:
                    return Refusal(RefusalToken.TOO_LATE), None
                return None, today + timedelta(days=rules.overdue_grace_days - overdue)
        earliest = rules.earliest_renewal_days_before_due
        if earliest is not None and (loan.due - today).days > earliest:
            return Refusal(RefusalToken.TOO_SOON), None
        start = today if rules.renewal_basis is RenewalBasis.RENEWAL_DAY else loan.due
        return None, start + timedelta(days=rules.renewal_days)

    def _renew(self, loan: Loan, patron: Patron) -> LoanView:
        refusal, new_due = self._renewal_check(loan, patron)
        if refusal is not None:
            raise refusal
        assert new_due is not None
        loan.due = new_due
        loan.renewals += 1
        patron.last_activity = self.today()
        return self._loan_view(loan)

    def _check_overdue_block(self, patron: Patron) -> None:
        days = self.rules.overdue_days_blocking_holds
        if days is None:
            return
        today = self.today()
        if any((today - loan.due).days >= days for loan in self._open_loans(patron.id)):
            raise Refusal(RefusalToken.ITEM_OVERDUE)

    def _check_hold_limits(self, open_holds: list[Hold], biblio: Biblio) -> None:
        rules = self.rules
        if rules.max_holds is not None and len(open_holds) >= rules.max_holds:
            raise Refusal(RefusalToken.TOO_MANY_RESERVES)
        for limit in rules.hold_limits:
            if biblio.item_type not in limit.item_types:
                continue
            counted = sum(
                1 for h in open_holds if self._biblios[h.biblio_id].item_type in limit.item_types
            )
            if counted >= limit.max:
                raise Refusal(
                    RefusalToken.TOO_MANY_RESERVES,
                    f"この種類の資料の予約は{limit.max}件までです",
                )

    def _check_pickup(self, pickup: str, contact: ContactMethod) -> None:
        if pickup not in {p.code for p in self._pickup_locations()}:
            raise Refusal(RefusalToken.PICKUP_NOT_VALID)
        if (
            self._is_station(pickup)
            and self.rules.bookmobile_contact_phone_only
            and contact is not ContactMethod.PHONE
        ):
            raise Refusal(RefusalToken.BOOKMOBILE_PHONE_ONLY)

    def _check_modifiable(self, hold: Hold) -> None:
        if hold.state in self.rules.modifiable_states:
            return
        if hold.state.is_found:
            raise Refusal(RefusalToken.HOLD_FOUND)
        raise Refusal(RefusalToken.NOT_MODIFIABLE)

    def _default_contact(self, patron: Patron, pickup: str) -> ContactMethod:
        if self._is_station(pickup):
            return ContactMethod.PHONE
        if patron.email:
            return ContactMethod.EMAIL
        return ContactMethod.PHONE if patron.phone else ContactMethod.NONE

    # ----- hold mechanics ------------------------------------------------------------------

    def _queue(self, biblio_id: int) -> list[Hold]:
        """Open holds on a title still waiting for a copy, in queue order."""
        queue = [h for h in self.data.holds if h.biblio_id == biblio_id and h.state in _QUEUED]
        return sorted(queue, key=lambda h: (h.rank, h.id))

    def _others_waiting(self, biblio_id: int, patron_id: int, item_id: int | None = None) -> bool:
        """Does another patron's active hold wait for this title (or this very copy)?"""
        return any(
            h.patron_id != patron_id
            and not h.suspended
            and (not h.item_level or item_id is None or h.item_id == item_id)
            for h in self._queue(biblio_id)
        )

    def _next_hold_for(self, item: Item) -> Hold | None:
        if item.not_for_loan:
            return None
        for hold in self._queue(item.biblio_id):
            if hold.suspended or (hold.item_level and hold.item_id != item.id):
                continue
            if hold.state is HoldState.ON_ORDER or hold.state is HoldState.PENDING:
                return hold
        return None

    def _allocate(self, item: Item, branch: str, now: datetime) -> tuple[Hold | None, str | None]:
        """Give a copy that is free at ``branch`` to the next hold, or put it back."""
        hold = self._next_hold_for(item)
        item.location = branch
        if hold is None:
            item.status = ItemStatus.AVAILABLE
            return None, None
        hold.item_id = item.id
        destination = self._pickup_branch(hold.pickup)
        if destination == branch:
            self._put_on_shelf(hold, item, branch, now)
            return hold, None
        hold.state = HoldState.TRANSIT
        hold.state_since = now
        item.status = ItemStatus.IN_TRANSIT
        return hold, destination

    def _put_on_shelf(self, hold: Hold, item: Item, branch: str, when: datetime) -> None:
        hold.state = HoldState.AWAITING_PICKUP
        hold.state_since = when
        hold.deadline = when.astimezone(TOKYO).date() + timedelta(days=self.rules.pickup_shelf_days)
        item.status = ItemStatus.HOLD_SHELF
        item.location = branch

    def _release_found_copy(self, hold: Hold, now: datetime | None = None) -> None:
        """After a found hold closes, its copy serves the next hold or goes back on the shelf."""
        if hold.item_id is None:
            return
        item = self._items[hold.item_id]
        if item.status in (ItemStatus.HOLD_SHELF, ItemStatus.IN_TRANSIT) and (
            self._found_hold_on(item.id) is None
        ):
            self._allocate(item, item.location, now or self.now())

    def _resume(self, hold: Hold) -> None:
        queue = self._queue(hold.biblio_id)
        hold.suspended = False
        hold.suspended_until = None
        hold.rank = min((h.rank for h in queue), default=hold.rank) - 1

    def _close(self, hold: Hold, state: HoldState, when: datetime | None = None) -> None:
        hold.state = state
        hold.state_since = when or self.now()
        hold.suspended = False
        hold.suspended_until = None

    def _copy_on_shelf(self, hold: Hold) -> Item | None:
        """A free copy the new hold can have now, preferring one at its pickup library."""
        free = [
            i
            for i in self._copies(hold.biblio_id)
            if i.status is ItemStatus.AVAILABLE
            and not i.not_for_loan
            and (not hold.item_level or i.id == hold.item_id)
        ]
        if not free or self._next_hold_for(free[0]) is not hold:
            return None
        destination = self._pickup_branch(hold.pickup)
        return next((i for i in free if i.location == destination), free[0])

    def _own_queued_hold(self, patron_id: int, item: Item) -> Hold | None:
        for hold in self._queue(item.biblio_id):
            if hold.patron_id == patron_id and (not hold.item_level or hold.item_id == item.id):
                return hold
        return None

    def _found_hold_on(self, item_id: int) -> Hold | None:
        for hold in self.data.holds:
            if hold.item_id == item_id and hold.state.is_found:
                return hold
        return None

    # ----- views ---------------------------------------------------------------------------

    def _loan_view(self, loan: Loan) -> LoanView:
        item = self._items[loan.item_id]
        biblio = self._biblio_of(item)
        refusal = None
        if loan.returned is None:
            refusal, _ = self._renewal_check(loan, self._patrons[loan.patron_id])
        return LoanView(
            checkout_id=loan.id,
            item_id=item.id,
            barcode=item.barcode,
            biblio_id=biblio.id,
            title=biblio.title,
            item_type=biblio.item_type,
            patron_id=loan.patron_id,
            branch=loan.branch,
            checked_out=loan.checked_out,
            due=loan.due,
            renewals=loan.renewals,
            overdue_days=max(0, (self.today() - loan.due).days) if loan.returned is None else 0,
            interlibrary=item.interlibrary_from is not None,
            returned=loan.returned,
            renewal_refusal=refusal,
        )

    def _hold_view(self, hold: Hold) -> HoldView:
        biblio = self._biblios[hold.biblio_id]
        queue = self._queue(hold.biblio_id)
        position = next((n for n, h in enumerate(queue, 1) if h is hold), None)
        item = self._items.get(hold.item_id) if hold.item_id is not None else None
        return HoldView(
            hold_id=hold.id,
            patron_id=hold.patron_id,
            biblio_id=biblio.id,
            title=biblio.title,
            item_type=biblio.item_type,
            state=hold.state,
            item_level=hold.item_level,
            item_id=item.id if item else None,
            barcode=item.barcode if item else None,
            pickup=hold.pickup,
            placed=hold.placed,
            queue_position=position,
            queue_length=len(queue),
            suspended=hold.suspended,
            suspended_until=hold.suspended_until,
            deadline=hold.deadline,
            extensions=hold.extensions,
            cancellation_requested=hold.cancellation_requested,
            contact=hold.contact,
            closed=None if hold.state.is_open else hold.state_since,
            cancelled_by_staff=hold.cancelled_by_staff and hold.state is HoldState.CANCELLED,
        )

    def _item_info(self, item: Item) -> ItemInfo:
        biblio = self._biblio_of(item)
        loan = self._open_loan_of_item(item.id)
        found = self._found_hold_on(item.id)
        circulation = _CIRCULATION_STATUS[item.status]
        if found is not None and found.state is HoldState.PROCESSING:
            circulation = "06"  # arrived, not yet on the hold shelf
        return ItemInfo(
            item_id=item.id,
            barcode=item.barcode,
            biblio_id=biblio.id,
            title=biblio.title,
            author=biblio.author,
            item_type=biblio.item_type,
            status=item.status.value,
            circulation_status=circulation,
            home_branch=item.home_branch,
            location=item.location,
            call_number=item.call_number,
            not_for_loan=item.not_for_loan,
            holdable=not item.not_for_loan
            and biblio.item_type not in self.rules.not_holdable_types,
            interlibrary_from=item.interlibrary_from,
            hold_queue_length=len(self._queue(biblio.id)),
            due=loan.due if loan else None,
            on_hold_shelf=found is not None and found.state is HoldState.AWAITING_PICKUP,
            in_transit=item.status is ItemStatus.IN_TRANSIT,
            hold_pickup_deadline=found.deadline if found else None,
            hold_pickup=found.pickup if found else None,
            checked_out=loan.checked_out.date() if loan else None,
            renewals=loan.renewals if loan else None,
            acquired=item.acquired,
            loan_branch=loan.branch if loan else None,
            last_seen=item.last_seen,
        )

    def _patron_info(self, patron: Patron) -> PatronInfo:
        today = self.today()
        loans = sorted(self._open_loans(patron.id), key=lambda loan: (loan.due, loan.id))
        holds = [h for h in self.data.holds if h.patron_id == patron.id and h.state.is_open]
        fees = [f for f in self.data.fees if f.patron_id == patron.id and f.outstanding > 0]
        fee_views = tuple(self._fee_view(f) for f in sorted(fees, key=lambda f: f.id))

        def label(hold: Hold) -> str:
            if hold.item_id is not None:
                return self._items[hold.item_id].barcode
            return self._biblios[hold.biblio_id].title

        return PatronInfo(
            patron_id=patron.id,
            card_number=patron.card_number,
            name=patron.name,
            name_kana=patron.name_kana,
            category=patron.category.value,
            home_branch=patron.home_branch,
            email=patron.email,
            phone=patron.phone,
            address=patron.address,
            birth_date=patron.birth_date,
            expiry_date=patron.expiry_date,
            temporary_password=patron.temporary_password,
            blocks=self._blocks(patron),
            block_note=patron.block_note,
            hold_items=tuple(label(h) for h in holds if h.state is HoldState.AWAITING_PICKUP),
            overdue_items=tuple(self._items[ln.item_id].barcode for ln in loans if ln.due < today),
            charged_items=tuple(self._items[ln.item_id].barcode for ln in loans),
            fine_items=tuple(_fine_item(view) for view in fee_views),
            unavailable_holds=tuple(
                label(h) for h in holds if h.state is not HoldState.AWAITING_PICKUP
            ),
            fee_total=sum(f.outstanding for f in fees),
            hold_ids=tuple(h.id for h in holds),
            fees=fee_views,
        )

    def _fee_view(self, fee: Fee) -> FeeView:
        item = self._items.get(fee.item_id) if fee.item_id is not None else None
        return FeeView(
            id=fee.id,
            kind=fee.kind.value,
            amount=fee.amount,
            outstanding=fee.outstanding,
            description=fee.description,
            created=fee.created,
            item_id=fee.item_id,
            barcode=item.barcode if item is not None else None,
            title=self._biblio_of(item).title if item is not None else None,
        )

    # ----- lookups -------------------------------------------------------------------------

    def _reindex(self) -> None:
        data = self.data
        self._branches = {b.code: b for b in data.branches}
        self._stations = {s.code: b.code for b in data.branches for s in b.stations}
        self._biblios = {b.id: b for b in data.biblios}
        self._items = {i.id: i for i in data.items}
        self._items_by_barcode = {i.barcode: i for i in data.items}
        self._patrons = {p.id: p for p in data.patrons}
        self._patrons_by_card = {p.card_number: p for p in data.patrons}

    def _patron(self, card_number: str) -> Patron:
        patron = self._patrons_by_card.get(card_number)
        if patron is None:
            raise UnknownRecord("patron", "card")  # the card number itself is not echoed
        return patron

    def _item(self, barcode: str) -> Item:
        item = self._items_by_barcode.get(barcode)
        if item is None:
            raise UnknownRecord("item", barcode)
        return item

    def _biblio(self, biblio_id: int) -> Biblio:
        biblio = self._biblios.get(biblio_id)
        if biblio is None:
            raise UnknownRecord("biblio", biblio_id)
        return biblio

    def _biblio_of(self, item: Item) -> Biblio:
        return self._biblios[item.biblio_id]

    def _copies(self, biblio_id: int) -> list[Item]:
        return [i for i in self.data.items if i.biblio_id == biblio_id]

    def _hold_record(self, hold_id: int) -> Hold:
        for hold in self.data.holds:
            if hold.id == hold_id:
                return hold
        raise UnknownRecord("hold", hold_id)

    def _own_hold(self, patron: Patron, hold_id: int) -> Hold:
        hold = self._hold_record(hold_id)
        if hold.patron_id != patron.id or not hold.state.is_open:
            raise UnknownRecord("hold", hold_id)
        return hold

    def _open_loans(self, patron_id: int) -> Iterable[Loan]:
        return [ln for ln in self.data.loans if ln.patron_id == patron_id and ln.returned is None]

    def _open_loan_of_item(self, item_id: int) -> Loan | None:
        for loan in self.data.loans:
            if loan.item_id == item_id and loan.returned is None:
                return loan
        return None

    def _own_loan(self, patron: Patron, item: Item) -> Loan:
        loan = self._open_loan_of_item(item.id)
        if loan is None or loan.patron_id != patron.id:
            raise Refusal(RefusalToken.NOT_CHECKED_OUT)
        return loan

    def _is_station(self, code: str) -> bool:
        return code in self._stations

    def _pickup_branch(self, code: str) -> str:
        """The branch a pickup location belongs to (a station's bookmobile)."""
        return self._stations.get(code, code)

    @staticmethod
    def _next_id(records: list[Any]) -> int:
        return max((r.id for r in records), default=0) + 1


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
