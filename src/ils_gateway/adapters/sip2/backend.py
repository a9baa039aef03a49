"""``Sip2Backend``: the ILSBackend port over a pool of SIP2 connections to one ACS.

Requests per operation (each line one round trip; "∥" = in parallel over the pool):

- authenticate: 63 with AD (BL valid patron, CQ valid password);
- patron summary: 63 without a list;
- loans: 63 listing AU (more pages with BP/BQ when the ACS caps a page), then ∥ one 17 per
  loan (due date AH, status, hold queue CF) — 1 + ceil(n / pool size) round trips;
- renew: 29; renew many: ∥ one 29 per loan (65 only when the ACS lacks 29);
- holds: ∥ 63 listing AS (ready) and 63 listing CD (not yet), then ∥ one 17 per entry;
- place / cancel / change pickup: 15 with mode ``+`` / ``-`` / ``*``; a placed hold is then
  read back as holds are (a title-level hold is listed under its title, not the barcode it
  was placed with); item: 17;
- checkout: 11; checkin: 09 (self-check kiosks);
- fees: 63 with "fine items" (AV lines, paged; BV the total, BH the currency: ``fees``).

Refusals (``ok 0``) become ``RenewalRefused`` / ``HoldRefused`` / ``CancelRefused`` with a
reason from the AF pattern table (``refusals``) and the ACS's text as ``backend_message``;
the pool's failures are translated by ``errors.translate_errors`` only. Capabilities are
derived from the BX flags of the 98 the pool received at login (``capabilities``); until
``start()`` has run they are all unavailable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TypedDict, TypeVar
from zoneinfo import ZoneInfo

from ils_gateway.adapters.base import (
    CancelOutcome,
    Capabilities,
    Capability,
    GuardedBackend,
    no_sightings,
)
from ils_gateway.adapters.sip2 import mapping
from ils_gateway.adapters.sip2.capabilities import PickupChange, capabilities_from_bx
from ils_gateway.adapters.sip2.catalog import copy_from_18
from ils_gateway.adapters.sip2.config import Sip2BackendConfig, client_settings
from ils_gateway.adapters.sip2.errors import translate_errors
from ils_gateway.adapters.sip2.fees import fee_account
from ils_gateway.adapters.sip2.mapping import TITLE_PREFIX, ListEntry
from ils_gateway.adapters.sip2.refusals import RefusalTable, SipAction, backend_message
from ils_gateway.domain.catalog import Copy
from ils_gateway.domain.clock import Clock
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendProtocolError,
    BadRequest,
    CancelRefused,
    FeatureDisabled,
    GatewayError,
    HoldRefused,
    NotFound,
    Refused,
    RenewalRefused,
)
from ils_gateway.domain.fees import FeeAccount
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    Item,
    Loan,
    Patron,
    RenewalResult,
)
from ils_gateway.domain.vocab import ContactMethod, Feature, MaterialType, Outcome, RefusalReason
from ils_gateway.sip2.client import SIP2ClientPool
from ils_gateway.sip2.fields import HoldMode, HoldType, SipDate, Summary, SummaryItem
from ils_gateway.sip2.messages import (
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
)
from ils_gateway.tenants.materials import MaterialTypeMap

__all__ = ["Sip2Backend"]

_M = TypeVar("_M", bound=Message)
_T = TypeVar("_T")

TOKYO = ZoneInfo("Asia/Tokyo")
# Entries asked for per 63 page; ACSs may cap lower, and the adapter then asks again.
DEFAULT_PAGE_SIZE = 50
# A refused 15 whose text says there is nothing to act on: the hold (or item) does not exist.
_NOT_FOUND = re.compile(
    r"該当する予約がありません|見つかりません|(?i:not found|no such|unknown (item|hold))"
)


def _required_id(value: str, what: str) -> str:
    """``value`` when it names something; ``BadRequest`` before any I/O when it is empty (a
    17 or 15 with an empty AB or AJ asks the ACS about nothing, or about everything)."""
    if not value.strip():
        raise BadRequest(f"The {what} is missing.", operator_detail=f"SIP2: empty {what} not sent")
    return value


class _CommonFields(TypedDict):
    """The fields every request this backend sends carries (typed for ``Cls.build``)."""

    institution_id: str
    terminal_password: str | None


class _LoanFields(_CommonFields):
    """The fields of an 11 (checkout) or a 29 (renew) besides their own flags."""

    transaction_date: SipDate
    nb_due_date: SipDate
    patron_identifier: str
    item_identifier: str


# Types of title-level holds remembered (a hold listed by its title has no copy to ask).
_MAX_HOLD_TYPES = 50_000


class Sip2Backend(GuardedBackend):
    """The gateway's port to one library system that speaks SIP2 2.00."""

    def __init__(
        self,
        config: Sip2BackendConfig,
        *,
        pool: SIP2ClientPool | None = None,
        tz: ZoneInfo = TOKYO,
        today: Callable[[], date] | None = None,
        now: Clock | None = None,
        title_level_holds: bool | None = None,
        pickup_change: PickupChange | None = None,
        page_size: int | None = None,
        retry_after: int = 30,
        material_types: MaterialTypeMap | None = None,
    ) -> None:
        # Keyword arguments override the tenant config (tests, benchmarks); None: the config's.
        self._config = config
        self._pool = pool if pool is not None else SIP2ClientPool(client_settings(config))
        self._sighting_pool: SIP2ClientPool | None = None  # opened at the first sighting
        self._tz = tz
        # The gateway's clock: transaction dates sent to the ACS, batch completion times.
        self._clock = now if now is not None else (lambda: datetime.now(tz))
        self._today = today if today is not None else (lambda: self._clock().astimezone(tz).date())
        self._title_level = (
            config.title_level_holds if title_level_holds is None else title_level_holds
        )
        self._pickup_change = config.pickup_change if pickup_change is None else pickup_change
        self._page_size = max(1, config.page_size if page_size is None else page_size)
        self._retry_after = retry_after
        self._refusals = RefusalTable(config.refusal_patterns)
        self._temporary_password = tuple(re.compile(p) for p in config.temporary_password_patterns)
        self._start_lock = asyncio.Lock()
        self._started = False
        self._caps_for: str | None = None
        self._caps = capabilities_from_bx(None)
        self._types = material_types or MaterialTypeMap()
        # Types of copies and titles seen (17/18), by barcode and by the key a title-level hold
        # is listed under (``title:...``): a title with no copy is typed by the copy it was
        # placed with. Each entry lives ``title_type_cache_seconds``.
        self._seen_types: dict[str, tuple[MaterialType, datetime]] = {}
        self._hold_types: dict[str, MaterialType] = {}

    def _remember_type(self, key: str, material_type: MaterialType, *, hold: bool = False) -> None:
        """Remember a copy's type briefly; a hold's (listed by title) while it may be listed."""
        if hold:
            if len(self._hold_types) >= _MAX_HOLD_TYPES:
                self._hold_types.pop(next(iter(self._hold_types)))
            self._hold_types[key] = material_type
            return
        ttl = timedelta(seconds=self._types.title_type_cache_seconds)
        if ttl:
            self._seen_types[key] = (material_type, self._clock() + ttl)

    def _known_type(self, key: str) -> MaterialType | None:
        if key in self._hold_types:
            return self._hold_types[key]
        found = self._seen_types.get(key)
        if found is None:
            return None
        if found[1] <= self._clock():
            del self._seen_types[key]
            return None
        return found[0]

    # -- lifecycle and capabilities ---------------------------------------------------------

    async def start(self) -> None:
        """Open the pool's first connection (93 login, 99 status) so capabilities are known."""
        async with self._start_lock:
            if self._started:
                return
            with translate_errors("start", retry_after=self._retry_after):
                await self._pool.start()
            self._started = True

    @property
    def capabilities(self) -> Capabilities:
        status = self._pool.acs_status
        bx = status.supported_messages if status is not None else None
        if bx is None:
            return capabilities_from_bx(None)
        if bx != self._caps_for:
            self._caps = capabilities_from_bx(
                bx,
                title_level_holds=self._title_level,
                pickup_change=self._pickup_change,
                lists_name_items=self._config.list_mode != "title",
            )
            self._caps_for = bx
        return self._caps

    async def close(self) -> None:
        await self._pool.aclose()
        if self._sighting_pool is not None:
            await self._sighting_pool.aclose()

    async def _require(self, capability: Capability) -> None:
        await self.start()  # capabilities are known once the ACS has sent its 98
        self.capabilities.require(capability)

    # -- requests ---------------------------------------------------------------------------

    async def _request(
        self,
        message: Message,
        expect: type[_M],
        *,
        write: bool = False,
        pool: SIP2ClientPool | None = None,
    ) -> _M:
        await self.start()
        with translate_errors(f"{message.code} request", retry_after=self._retry_after):
            answer = await (pool or self._pool).request(message, idempotent=not write)
        if not isinstance(answer, expect):
            raise BackendProtocolError(
                "The library system sent an unexpected answer.",
                operator_detail=f"SIP2: {message.code} answered with {answer.code}",
            )
        return answer

    def _common(self) -> _CommonFields:
        settings = self._pool.settings
        return {
            "institution_id": settings.institution_id,
            "terminal_password": settings.terminal_password or None,
        }

    def _now(self) -> SipDate:
        return SipDate.from_datetime(self._clock().astimezone(self._tz).replace(tzinfo=None))

    def _loan_fields(self, patron: Patron, item_id: str) -> _LoanFields:
        """The fields of an 11 or a 29 for the patron's loan of ``item_id``.

        The "no block due date" is used only for offline no-block transactions. The spec's
        "no date" is 18 spaces, but strict servers refuse a blank fixed date and close the
        connection (sip2.md "More real-server behaviour"); by default the transaction date is
        sent, which every server reads as a date. ``no_block_due_date = "blank"`` in the
        tenant file sends 18 spaces for servers that want exactly that.
        """
        now = self._now()
        blank = self._config.no_block_due_date == "blank"
        return {
            "transaction_date": now,
            "nb_due_date": SipDate.none() if blank else now,
            "patron_identifier": _required_id(patron.card_number, "card number"),
            "item_identifier": item_id,
            **self._common(),
        }

    async def _patron_info(
        self,
        card_number: str,
        summary: SummaryItem | None = None,
        *,
        password: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> PatronInformationResponse:
        request = PatronInformationRequest.build(
            language=self._config.language,
            transaction_date=self._now(),
            summary=Summary.of(summary),
            patron_identifier=_required_id(card_number, "card number"),
            patron_password=password,
            start_item=str(start) if start is not None else None,
            end_item=str(end) if end is not None else None,
            **self._common(),
        )
        answer = await self._request(request, PatronInformationResponse)
        if answer.valid_patron is False:
            raise NotFound(
                "No patron with this card number.",
                operator_detail="SIP2 64: BL=N",
            )
        return answer

    async def _list(self, card_number: str, which: SummaryItem) -> list[str]:
        """Every entry of one 64 list, page by page (BP/BQ) while the ACS caps pages.

        Real ACSs pad a page with empty entries (50 ``AS|`` for ``BP1|BQ50`` while the count
        says 0000, sip2.md "More real-server behaviour"): empty entries are dropped, and where
        the fixed-field count and the entries disagree the count wins (an ACS that leaves the
        count blank gets one page: without a count, paging could never end).
        """
        entries, _ = await self._list_pages(card_number, which)
        return entries

    async def _list_pages(
        self, card_number: str, which: SummaryItem
    ) -> tuple[list[str], PatronInformationResponse]:
        """``_list``'s entries, with the first page's 64 (its BV, BH and flags)."""
        field, count_attr = _LISTS[which]
        entries: list[str] = []
        first: PatronInformationResponse | None = None
        while True:
            start = len(entries) + 1
            answer = await self._patron_info(
                card_number, which, start=start, end=start + self._page_size - 1
            )
            first = first or answer
            page = [e for e in answer.get_all(field) if e.strip()]
            entries.extend(page)
            total: int | None = getattr(answer, count_attr)
            if total is None:  # no count to page by: this page is all there is
                return entries, first
            if len(entries) >= total:
                return entries[:total], first
            if not page:
                return entries, first

    async def _item_info(
        self, item_id: str, pool: SIP2ClientPool | None = None
    ) -> ItemInformationResponse:
        request = ItemInformationRequest.build(
            transaction_date=self._now(),
            item_identifier=_required_id(item_id, "item id"),
            **self._common(),
        )
        return await self._request(request, ItemInformationResponse, pool=pool)

    async def _gather(self, calls: Sequence[Awaitable[_T]]) -> list[_T]:
        """Run ``calls`` together (the pool bounds concurrency); the first error wins."""
        results: list[_T] = []
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result
            results.append(result)
        return results

    # -- patrons ----------------------------------------------------------------------------

    async def authenticate(self, card_number: str, password: str) -> Patron:
        await self._require(Capability.AUTHENTICATE)
        try:
            answer = await self._patron_info(card_number, password=password)
        except NotFound:
            raise AuthenticationFailed(operator_detail="SIP2 64: unknown card (BL=N)") from None
        if answer.valid_patron_password is not True:
            raise AuthenticationFailed(
                operator_detail=f"SIP2 64: password not accepted (CQ={answer.get('CQ')!r})"
            )
        return self._patron_from_64(answer, card_number)

    @property
    def account_writes(self) -> frozenset[str]:
        """None: SIP2 has no message that sets a PIN or an address (the gateway keeps them)."""
        return frozenset()

    async def find_patron(self, card_number: str) -> Patron:
        """The patron behind a card, without a password (63 without AD: the ACS answers BL
        and the record; CQ stays unset). ``NotFound`` when BL=N."""
        await self._require(Capability.PATRON_SUMMARY)
        answer = await self._patron_info(card_number)
        return self._patron_from_64(answer, card_number)

    def _patron_from_64(self, answer: PatronInformationResponse, card_number: str) -> Patron:
        return mapping.patron_from_64(
            answer,
            card_number,
            expiry_field=self._config.expiry_field,
            temporary_password=self._temporary_password,
        )

    async def patron_summary(self, patron: Patron) -> Patron:
        await self._require(Capability.PATRON_SUMMARY)
        answer = await self._patron_info(patron.card_number)
        fresh = self._patron_from_64(answer, patron.card_number)
        return patron.model_copy(update=fresh.model_dump(exclude_unset=True))

    async def list_fees(self, patron: Patron) -> FeeAccount:
        """63 with "fine items": the AV lines (paged like the other lists) and BV, the total."""
        await self._require(Capability.LIST_FEES)
        lines, answer = await self._list_pages(patron.card_number, SummaryItem.FINE_ITEMS)
        return fee_account(
            lines, answer.fee_amount, answer.currency_type, self._config.fine_item_format
        )

    # -- loans ------------------------------------------------------------------------------

    async def list_loans(self, patron: Patron) -> list[Loan]:
        await self._require(Capability.LIST_LOANS)
        raw = await self._list(patron.card_number, SummaryItem.CHARGED_ITEMS)
        entries = [mapping.parse_list_entry(e, self._config.list_mode) for e in raw]
        if any(e.item_id is None for e in entries):  # a loan is a copy: its barcode is strict
            raise BackendProtocolError(
                "The library system listed a loan without a readable item id.",
                operator_detail="SIP2 64: an AU entry's barcode has undecodable bytes",
            )
        ids = [e.item_id for e in entries if e.item_id]
        infos = await self._gather([self._item_info(i) for i in ids])
        today = self._today()
        loans = []
        for info in infos:
            if not mapping.item_known(info):
                raise BackendProtocolError(
                    "The library system listed a loan it does not know.",
                    operator_detail="SIP2: 17 for a charged item found nothing",
                )
            loans.append(
                mapping.loan_from_18(
                    info,
                    today=today,
                    tz=self._tz,
                    types=self._types,
                    fields=self._config.loan_fields,
                )
            )
        return loans

    async def renew(self, patron: Patron, item_id: str) -> RenewalResult:
        _required_id(item_id, "item id")
        await self._require(Capability.RENEW)
        request = RenewRequest.build(**self._loan_fields(patron, item_id))
        answer = await self._request(request, RenewResponse, write=True)
        if not answer.ok:
            lines = answer.screen_messages
            raise RenewalRefused(
                self._refusals.reason(lines, SipAction.RENEW),
                backend_message=backend_message(lines),
                operator_detail="SIP2 30 ok=0",
            )
        loan = mapping.renewed_loan(answer, today=self._today(), tz=self._tz, types=self._types)
        return RenewalResult(item_id=item_id, outcome=Outcome.OK, loan=loan)

    async def renew_many(
        self, patron: Patron, item_ids: Sequence[str]
    ) -> BatchResult[RenewalResult]:
        await self._require(Capability.RENEW_MANY)
        if not self.capabilities.supports(Capability.RENEW):
            return await self._renew_all(patron, item_ids)

        async def one(item_id: str) -> RenewalResult:
            try:
                return await self.renew(patron, item_id)
            except GatewayError as error:
                return RenewalResult.from_error(item_id, error)

        results = await asyncio.gather(*(one(i) for i in item_ids))
        return BatchResult(results=tuple(results), completed_at=self._clock())

    async def _renew_all(
        self, patron: Patron, item_ids: Sequence[str]
    ) -> BatchResult[RenewalResult]:
        """65 renews every loan: only when the patron asked for all of them."""
        raw = await self._list(patron.card_number, SummaryItem.CHARGED_ITEMS)
        charged = {mapping.parse_list_entry(e, self._config.list_mode).key for e in raw}
        if set(item_ids) != charged:
            raise FeatureDisabled(
                Feature.RENEWALS,
                detail="This library system can only renew all loans at once.",
                operator_detail="SIP2 ACS has 65 (renew all) but not 29 (renew)",
            )
        request = RenewAllRequest.build(
            transaction_date=self._now(),
            patron_identifier=_required_id(patron.card_number, "card number"),
            **self._common(),
        )
        answer = await self._request(request, RenewAllResponse, write=True)
        batch = mapping.renew_all_results(answer, item_ids, self._refusals)
        return batch.model_copy(update={"completed_at": self._clock()})

    # -- holds ------------------------------------------------------------------------------

    async def list_holds(self, patron: Patron) -> list[Hold]:
        await self._require(Capability.LIST_HOLDS)
        ready_raw, waiting_raw = await self._gather(
            [
                self._list(patron.card_number, SummaryItem.HOLD_ITEMS),
                self._list(patron.card_number, SummaryItem.UNAVAILABLE_HOLDS),
            ]
        )
        mode, titles = self._config.list_mode, self._config.title_hold_entries
        listed = [(mapping.parse_list_entry(e, mode), True) for e in ready_raw] + [
            (mapping.parse_list_entry(e, mode), False) for e in waiting_raw
        ]
        infos = await self._gather([self._entry_info(entry) for entry, _ in listed])
        holds = []
        for (entry, ready), info in zip(listed, infos, strict=True):
            shown = entry if info is not None else mapping.title_entry(entry, titles)
            holds.append(
                mapping.hold_from_entry(
                    shown,
                    available_list=ready,
                    item_info=info,
                    tz=self._tz,
                    title_level=self._title_level,
                    types=self._types,
                    title_type=self._known_type(shown.key) if info is None else None,
                )
            )
        return holds

    async def _entry_info(self, entry: ListEntry) -> ItemInformationResponse | None:
        """The 18 of the copy a hold entry names; None when it names a title only."""
        if entry.item_id is None:
            return None
        info = await self._item_info(entry.item_id)
        # ACSs that list barcodes still list a title for holds not yet tied to a copy.
        return info if mapping.item_known(info) else None

    async def place_hold(
        self,
        patron: Patron,
        item_id: str,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        placed = await self._place(patron, item_id, pickup_library)
        material_type = await self._type_of(item_id)
        if material_type is not None:
            # listed by its title from now on: remember the type its copy gave
            self._remember_type(placed.id, material_type, hold=True)
        listed = await self._as_listed(patron, placed)
        if material_type is None:
            return listed
        self._remember_type(listed.id, material_type, hold=True)
        item = listed.item.model_copy(update={"material_type": material_type})
        return listed.model_copy(update={"item": item})

    async def _type_of(self, item_id: str) -> MaterialType | None:
        """The type of the copy a hold is placed with (remembered from 17/18, else asked)."""
        known = self._known_type(item_id)
        if known is not None or item_id.startswith(TITLE_PREFIX):
            return known
        if not self.capabilities.supports(Capability.GET_ITEM):
            return None
        try:
            return (await self.get_item(item_id)).material_type
        except GatewayError:
            return None  # the 15 decides; the hold is typed later from its copy

    async def _place(self, patron: Patron, item_id: str, pickup_library: str) -> Hold:
        _required_id(item_id.removeprefix(TITLE_PREFIX), "item id")
        await self._require(Capability.PLACE_HOLD)
        answer = await self._hold_request(
            HoldMode.ADD,
            patron,
            item_id,
            pickup_library=pickup_library,
            hold_type=HoldType.ANY_COPY_OF_TITLE if self._title_level else HoldType.SPECIFIC_COPY,
        )
        if not answer.ok:
            raise self._hold_refusal(answer, SipAction.PLACE_HOLD, HoldRefused)
        return mapping.hold_placed(
            answer,
            item_id=item_id,
            title_level=self._title_level,
            pickup_library=pickup_library,
            tz=self._tz,
        )

    async def _as_listed(self, patron: Patron, placed: Hold) -> Hold:
        """The new hold as the hold list shows it, so its id is the one cancel and change take.

        A title-level hold not yet tied to a copy is listed by its title (CD entry), not by the
        barcode it was placed with; the 16 cannot say which. ``placed`` when no entry matches,
        and when several title entries carry its title (two editions of one name: naming the
        older hold would make a cancel hit it; the barcode still names the new one's record).
        """
        if not self.capabilities.supports(Capability.LIST_HOLDS):
            return placed
        try:
            listed = await self.list_holds(patron)
        except GatewayError:
            return placed  # the hold is placed; a failed read-back must not say otherwise
        found = next((hold for hold in listed if hold.id == placed.id), None)
        if found is None:  # listed by title (record id or title text, per ACS)
            titled = [
                hold
                for hold in listed
                if hold.id.startswith(TITLE_PREFIX) and hold.item.title == placed.item.title
            ]
            found = titled[0] if len(titled) == 1 else None
        if found is None:
            return placed
        return found.model_copy(
            update={"pickup_library": found.pickup_library or placed.pickup_library}
        )

    async def cancel_hold(self, patron: Patron, hold_id: str) -> CancelOutcome:
        _required_id(hold_id.removeprefix(TITLE_PREFIX), "hold id")
        await self._require(Capability.CANCEL_HOLD)
        answer = await self._hold_request(HoldMode.DELETE, patron, hold_id)
        if not answer.ok:
            raise self._hold_refusal(answer, SipAction.CANCEL_HOLD, CancelRefused)
        # SIP2's 16 has ok=1 or ok=0, nothing between, yet a library system that takes a found
        # hold's cancel only as a request for staff answers ok=1 and keeps the hold (as the
        # simulator does with ``cancellation_request_when_found``); the list tells which.
        if any(hold.id == hold_id for hold in await self.list_holds(patron)):
            return CancelOutcome.CANCELLATION_REQUESTED
        return CancelOutcome.CANCELLED

    async def _change_pickup(
        self, patron: Patron, hold_id: str, pickup_library: str | None
    ) -> Hold:
        await self._require(Capability.CHANGE_HOLD_PICKUP)
        if pickup_library is None:
            return await self._own_hold(patron, hold_id)
        if self._pickup_change == "replace":
            if await self.cancel_hold(patron, hold_id) is CancelOutcome.CANCELLATION_REQUESTED:
                # the hold stays until staff act: placing it again would make two
                raise HoldRefused(
                    RefusalReason.NOT_MODIFIABLE_IN_STATE,
                    "the library keeps this hold; only staff can move it now",
                )
            # placed again by the id it is listed under, so it keeps that id (no read-back)
            return await self._place(patron, hold_id, pickup_library)
        answer = await self._hold_request(
            HoldMode.CHANGE, patron, hold_id, pickup_library=pickup_library
        )
        if not answer.ok:
            raise self._hold_refusal(answer, SipAction.CHANGE_HOLD, HoldRefused)
        hold = mapping.hold_placed(
            answer,
            item_id=hold_id,
            title_level=hold_id.startswith(TITLE_PREFIX),
            pickup_library=pickup_library,
            tz=self._tz,
        )
        return hold.model_copy(update={"id": hold_id})

    async def _own_hold(self, patron: Patron, hold_id: str) -> Hold:
        for hold in await self.list_holds(patron):
            if hold.id == hold_id:
                return hold
        raise NotFound("No such hold.", operator_detail=f"SIP2: hold {hold_id!r} not listed")

    async def _hold_request(
        self,
        mode: HoldMode,
        patron: Patron,
        target: str,
        *,
        pickup_library: str | None = None,
        hold_type: HoldType | None = None,
    ) -> HoldResponse:
        by_title = target.startswith(TITLE_PREFIX)
        _required_id(
            target.removeprefix(TITLE_PREFIX), "item id" if mode is HoldMode.ADD else "hold id"
        )
        request = HoldRequest.build(
            hold_mode=mode,
            transaction_date=self._now(),
            pickup_location=pickup_library,
            hold_type=hold_type.value if hold_type is not None else None,
            patron_identifier=_required_id(patron.card_number, "card number"),
            item_identifier=None if by_title else target,
            title_identifier=target.removeprefix(TITLE_PREFIX) if by_title else None,
            **self._common(),
        )
        return await self._request(request, HoldResponse, write=True)

    def _hold_refusal(
        self,
        answer: HoldResponse,
        action: SipAction,
        error: type[HoldRefused] | type[CancelRefused],
    ) -> GatewayError:
        lines = answer.screen_messages
        text = backend_message(lines)
        operator = f"SIP2 16 ok=0 ({action.value})"
        if text and _NOT_FOUND.search(text):
            return NotFound("No such hold or item.", operator_detail=f"{operator}: not found")
        return error(
            self._refusals.reason(lines, action),
            backend_message=text,
            operator_detail=operator,
        )

    # -- items ------------------------------------------------------------------------------

    async def get_item(self, item_id: str) -> Item:
        return await self._get_item(item_id, None)

    async def sight_item(self, item_id: str) -> Item:
        """The item as a self-check's 17 sees it, sent over the ``sighting_login`` connection:
        the ACS account that records a 17 as a sighting. Without that login, refused."""
        login = self._config.sighting_login
        if login is None:
            raise no_sightings("SIP2 backend: no sighting_login (kiosk_sip2.reply.item_seen)")
        async with self._start_lock:
            if self._sighting_pool is None:
                settings = dataclasses.replace(
                    client_settings(self._config),
                    login_user=login.user,
                    login_password=login.password.get_secret_value(),
                    location_code=login.location,
                    pool_size=1,
                )
                pool = SIP2ClientPool(settings)
                try:
                    with translate_errors("start", retry_after=self._retry_after):
                        await pool.start()
                except BaseException:
                    await pool.aclose()
                    raise
                self._sighting_pool = pool
        return await self._get_item(item_id, self._sighting_pool)

    async def _get_item(self, item_id: str, pool: SIP2ClientPool | None) -> Item:
        _required_id(item_id, "item id")
        await self._require(Capability.GET_ITEM)
        info = await self._item_info(item_id, pool)  # the client checks AB (identity)
        if not mapping.item_known(info):
            raise NotFound("No such item.", operator_detail="SIP2 18: unknown item")
        item = mapping.item_from_18(info, types=self._types)
        self._remember_type(item.id or item_id, item.material_type)
        return item

    async def item_copies(self, barcodes: Sequence[str]) -> list[Copy]:
        """The copies of ``barcodes`` from their 17/18 (the catalogue's record view; issue 19).

        A barcode the ACS does not know, or an answer about another item, is left out.
        """
        await self._require(Capability.GET_ITEM)
        wanted = [b for b in barcodes if b]
        infos = await self._gather([self._item_info(b) for b in wanted])
        return [
            copy_from_18(info, self._tz)
            for barcode, info in zip(wanted, infos, strict=True)
            if mapping.item_known(info) and (info.item_identifier or "") == barcode
        ]

    # -- circulation (self-check kiosks) ----------------------------------------------------

    async def checkout(self, patron: Patron, item_id: str) -> Loan:
        _required_id(item_id, "item id")
        await self._require(Capability.CHECKOUT)
        request = CheckoutRequest.build(**self._loan_fields(patron, item_id))
        answer = await self._request(request, CheckoutResponse, write=True)
        if not answer.ok:
            lines = answer.screen_messages
            text = backend_message(lines)
            if text and _NOT_FOUND.search(text):
                raise NotFound("No such item.", operator_detail="SIP2 12 ok=0: not found")
            raise Refused(
                self._refusals.reason(lines, SipAction.CHECKOUT),
                backend_message=text,
                operator_detail="SIP2 12 ok=0",
            )
        return mapping.loan_from_12(answer, today=self._today(), tz=self._tz, types=self._types)

    async def checkin(self, item_id: str) -> Item:
        _required_id(item_id, "item id")
        await self._require(Capability.CHECKIN)
        request = CheckinRequest.build(
            transaction_date=self._now(),
            return_date=self._now(),
            current_location=self._config.location or "",
            item_identifier=item_id,
            **self._common(),
        )
        answer = await self._request(request, CheckinResponse, write=True)
        if not answer.ok:
            text = backend_message(answer.screen_messages)
            if text and _NOT_FOUND.search(text):
                raise NotFound("No such item.", operator_detail="SIP2 10 ok=0: not found")
            raise BackendProtocolError(
                "The library system did not take the item back.",
                operator_detail=f"SIP2 10 ok=0 ({'a' if text else 'no'} screen message)",
            )
        return mapping.item_from_10(answer, self._types)


_LISTS = {
    SummaryItem.CHARGED_ITEMS: ("AU", "charged_items_count"),
    SummaryItem.HOLD_ITEMS: ("AS", "hold_items_count"),
    SummaryItem.UNAVAILABLE_HOLDS: ("CD", "unavailable_holds_count"),
    SummaryItem.OVERDUE_ITEMS: ("AT", "overdue_items_count"),
    SummaryItem.FINE_ITEMS: ("AV", "fine_items_count"),
}
