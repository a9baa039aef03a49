"""``KohaBackend``: the ILSBackend port over Koha's REST API (v1).

Every path, parameter and body here is one of Koha's published definition (``api/v1/swagger``,
the 23.05 snapshot in ``shared/reference/koha``); the tests hold each request against it.
Ids: a loan's id is Koha's ``checkout_id``; an item's id is its barcode (``external_id``), the
same id the SIP2 face uses; a title (record) is ``biblio:<biblio_id>``; a hold's id is
``hold_id``. Every hold call first checks that the hold is the patron's own.

Every filter on an id asks for an exact match (``_match=exact``): Koha's default is
*contains* (Koha/REST/Plugin/Query.pm), under which ``patron_id=1`` also finds patron 10.
Every answer is then held against the request (``answers.require_belongs``) before it is
used; lists are read to their last page (``KohaClient.call_list``). The summary counts
come from the same lists the patron is shown (``mapping.with_counts``), at login as on
``patron_summary``.

Self-check: a checkout asks ``GET /checkouts/availability`` first and refuses whatever Koha
would block or ask staff to confirm, then sends ``POST /checkouts`` without a token; Koha's
REST API has no check-in (docs/kiosk-lending.md).

Titles: Koha's checkout, hold and item objects carry none, and the snapshot's only ``biblio``
embed is on bundled items, so titles come from ``GET /biblios/{biblio_id}`` with
``Accept: application/json`` (Koha::Biblio->to_api; API permission ``catalogue``). They are
fetched once per distinct record, a few at a time, and kept for ``title_ttl`` seconds: a
list of twenty loans of five titles costs five record reads, and the next list none.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import httpx
from cachetools import TTLCache

from ils_gateway.adapters.base import (
    CancelOutcome,
    Capabilities,
    Capability,
    CapabilitySupport,
    ContactChange,
    GuardedBackend,
    Support,
    Unavailable,
)
from ils_gateway.adapters.koha import errors, mapping
from ils_gateway.adapters.koha.answers import require_belongs
from ils_gateway.adapters.koha.catalog import KohaCatalog
from ils_gateway.adapters.koha.client import KohaClient
from ils_gateway.adapters.koha.config import KohaBackendConfig, item_types
from ils_gateway.adapters.koha.errors import KohaCall
from ils_gateway.adapters.koha.schemas import (
    KohaAllowsRenewal,
    KohaBiblio,
    KohaCheckout,
    KohaCheckoutAvailability,
    KohaCheckoutSummary,
    KohaHold,
    KohaItem,
    KohaLibrary,
    KohaPatron,
    KohaPatronBalance,
    KohaPickupChange,
    parse,
)
from ils_gateway.adapters.rest import renew_in_turn
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendProtocolError,
    NotFound,
    PasswordRejected,
    Refused,
)
from ils_gateway.domain.fees import FeeAccount
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    Item,
    Library,
    Loan,
    Patron,
    RenewalResult,
)
from ils_gateway.domain.vocab import ContactMethod, MaterialType, Outcome, RefusalReason
from ils_gateway.tenants.materials import MaterialTypeMap

# Koha matches filters by "contains" unless told (Koha/REST/Plugin/Query.pm).
_EXACT = {"_match": "exact"}
# The user id an unknown card's password is checked against (its answer is never used).
_DECOY_USERID = "ils-gateway-no-such-patron"
_BIBLIO_PREFIX = "biblio:"
# Newer Koha returns a hold's cancellation_requested only when embedded (Koha::Hold->to_api;
# definitions/hold.yaml: "(x-koha-embed)"); older Koha refuses an embed it does not declare
# (400 "Embedding objects is not allowed on this endpoint.", Koha/REST/Plugin/Query.pm).
_CANCELLATION_EMBED = {"x-koha-embed": "cancellation_requested"}

# Titles change rarely (a cataloguer's correction); an hour keeps lists cheap and fresh enough.
TITLE_TTL_SECONDS = 3600.0
# Record reads in flight at once per backend: enough for a page of loans, gentle on Koha.
TITLE_FETCH_CONCURRENCY = 4
_TITLE_CACHE_SIZE = 4096


class _Cache(enum.Enum):
    NOT_CACHED = enum.auto()  # a record Koha no longer has is cached too, as None


# Why Koha's REST API (the v1 subset used) lacks what it lacks.
_NO_CHECKIN = "Koha's REST API has no check-in; connect check-in machines to Koha's SIP server"
_NOT_OFFERED = {
    Capability.CHANGE_HOLD_CONTACT: Unavailable(
        "Koha holds have no contact method",
        detail="This library notifies by your account settings, not per hold.",
    ),
    # Koha-Community/Koha's api/v1/swagger/paths has POST /checkouts but nothing that
    # returns an item (C4::Circulation::AddReturn is reached through SIP2 and the staff
    # interface only).
    Capability.CHECKIN: Unavailable(_NO_CHECKIN, detail=_NO_CHECKIN),
}


# Members of a GET /patrons/{patron_id} answer a PUT must not carry: readOnly in
# definitions/patron.yaml (the OpenAPI validator answers 400 "Read-only."), or embeds.
_KOHA_NOT_WRITTEN = frozenset(
    {"restricted", "anonymized", "checkouts_count", "overdues_count", "account_balance", "_strings"}
)


class KohaBackend(GuardedBackend):
    """The gateway's port to one library's Koha, over its REST API."""

    def __init__(
        self,
        config: KohaBackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = date.today,
        title_ttl: float = TITLE_TTL_SECONDS,
        title_concurrency: int = TITLE_FETCH_CONCURRENCY,
        material_types: MaterialTypeMap | None = None,
    ) -> None:
        self._config = config
        self._client = KohaClient(config, transport=transport, clock=clock)
        self._today = today
        self._biblios: TTLCache[int, KohaBiblio | None] = TTLCache(
            _TITLE_CACHE_SIZE, title_ttl, timer=clock
        )
        self._biblio_fetches: dict[int, asyncio.Future[KohaBiblio | None]] = {}
        self._biblio_slots = asyncio.Semaphore(title_concurrency)
        # With the tenant's map (the runtime always passes it) titles are typed from their
        # copies; without one (a bare adapter) defaults apply and no extra lookups are made.
        self._type_titles = material_types is not None
        types = material_types or MaterialTypeMap()
        self._item_types = {**item_types(config), **types.koha_item_types}
        # A title's type, from its first copy (GET /biblios/{id}/items), for title-level holds.
        self._title_types: TTLCache[int, MaterialType] = TTLCache(
            _TITLE_CACHE_SIZE, max(types.title_type_cache_seconds, 1), timer=clock
        )
        self._hold_embed = _CANCELLATION_EMBED if config.cancellation_request_flow else None
        self._capabilities = Capabilities(
            {
                Capability.AUTHENTICATE: Support.NATIVE,
                Capability.PATRON_SUMMARY: Support.NATIVE,
                Capability.LIST_LOANS: Support.NATIVE,
                Capability.RENEW: CapabilitySupport(Support.NATIVE, {"reasons": True}),
                Capability.RENEW_MANY: Support.EMULATED,
                Capability.LIST_HOLDS: Support.NATIVE,
                Capability.PLACE_HOLD: CapabilitySupport(
                    Support.NATIVE,
                    {"title_level": config.hold_level == "biblio", "contact_method": False},
                ),
                Capability.CANCEL_HOLD: CapabilitySupport(
                    Support.NATIVE,
                    {"cancellation_request": config.cancellation_request_flow},
                ),
                Capability.CHANGE_HOLD_PICKUP: Support.NATIVE,
                Capability.SUSPEND_HOLD: CapabilitySupport(Support.NATIVE, {"until_date": True}),
                Capability.LIST_PICKUP_LIBRARIES: Support.NATIVE,
                Capability.GET_ITEM: Support.NATIVE,
                # GET /checkouts/availability, then POST /checkouts without confirmation
                Capability.CHECKOUT: CapabilitySupport(Support.NATIVE, {"confirmations": False}),
                # POST /patrons/{patron_id}/password (Patrons::Password#set, staff side), after
                # the old password is checked through /auth/password/validation.
                Capability.CHANGE_PASSWORD: Support.NATIVE,
                # GET /patrons/{patron_id}/account (Patrons::Account#get, patron_balance)
                Capability.LIST_FEES: Support.NATIVE,
            },
            missing=_NOT_OFFERED,
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    async def close(self) -> None:
        await self._client.aclose()

    def catalog(self) -> KohaCatalog:
        """This Koha's catalogue search and record view (issue 19), on the same client."""
        return KohaCatalog(self._client, self._item_types)

    # -- patrons ---------------------------------------------------------------------------

    async def _patron_by_card(self, card_number: str) -> KohaPatron:
        rows = await self._client.call_list(
            "/patrons", params={"cardnumber": card_number, **_EXACT}
        )
        patrons = parse(list[KohaPatron], rows, "GET /patrons")
        require_belongs(patrons, "GET /patrons", folded=True, cardnumber=card_number)
        matches = [p for p in patrons if p.cardnumber == card_number]
        if len(matches) > 1:
            raise BackendProtocolError(
                detail="The library system answered a different request.",
                operator_detail="Koha GET /patrons: one card number, several patrons",
            )
        if not matches:
            raise NotFound("No patron with this card number.")
        return matches[0]

    async def _summary(self, koha_patron: KohaPatron, card_number: str) -> Patron:
        """The patron with counts from the same loan and hold lists the patron is shown."""
        today = self._today()
        patron = mapping.to_patron(koha_patron, card_number, today)
        rows, holds = await asyncio.gather(self._checkout_rows(patron), self._koha_holds(patron))
        checkouts = parse(list[KohaCheckoutSummary], rows, "GET /checkouts")
        return mapping.with_counts(patron, checkouts, holds, today)

    async def authenticate(self, card_number: str, password: str) -> Patron:
        try:
            koha_patron = await self._patron_by_card(card_number)
        except NotFound:
            await self._decoy_password_check(password)
            raise AuthenticationFailed(operator_detail="Koha: no patron with that card") from None
        await self._client.call(
            KohaCall.PATRON_LOGIN,
            "POST",
            "/auth/password/validation",
            json={"userid": koha_patron.userid or card_number, "password": password},
            accept=frozenset({200, 201, 204}),
        )
        return await self._summary(koha_patron, card_number)

    async def _decoy_password_check(self, password: str) -> None:
        """For a card Koha does not know, the same password check a known card gets (against a
        user id no patron has, whatever it answers), so an unknown card and a wrong password
        cost the same requests and about the same time: card numbers cannot be probed."""
        try:
            await self._client.call(
                KohaCall.PATRON_LOGIN,
                "POST",
                "/auth/password/validation",
                json={"userid": _DECOY_USERID, "password": password},
                accept=frozenset({200, 201, 204}),
            )
        except AuthenticationFailed:
            pass

    async def change_password(self, patron: Patron, old_password: str, new_password: str) -> None:
        """Check the old password (``/auth/password/validation``), then set the new one with
        ``POST /patrons/{patron_id}/password`` (``{"password", "password_2"}``, Koha 23.05's
        Patrons::Password#set). The public ``/public/patrons/{id}/password`` would need the
        patron's own Koha session, which the gateway (an API client) does not hold."""
        row = await self._client.call_json(KohaCall.READ, "GET", f"/patrons/{patron.id}")
        koha_patron = parse(KohaPatron, row, "GET /patrons/{patron_id}")
        require_belongs([koha_patron], "GET /patrons/{patron_id}", patron_id=patron.id)
        try:
            await self._client.call(
                KohaCall.PATRON_LOGIN,
                "POST",
                "/auth/password/validation",
                json={"userid": koha_patron.userid or patron.card_number, "password": old_password},
                accept=frozenset({200, 201, 204}),
            )
        except AuthenticationFailed:
            raise PasswordRejected(
                "The current password is not correct",
                problems=["current password is not correct"],
                operator_detail="Koha: old password refused",
            ) from None
        await self._client.call(
            KohaCall.CHANGE_PASSWORD,
            "POST",
            f"/patrons/{patron.id}/password",
            json={"password": new_password, "password_2": new_password},
            accept=frozenset({200, 204}),
        )

    # -- account lifecycle (issue 18) -----------------------------------------------------

    @property
    def account_writes(self) -> frozenset[str]:
        """Both: ``POST /patrons/{patron_id}/password`` and ``PUT /patrons/{patron_id}``."""
        return frozenset({"password", "contact"})

    async def find_patron(self, card_number: str) -> Patron:
        """``GET /patrons?cardnumber=…`` (exact), without a password check."""
        koha_patron = await self._patron_by_card(card_number)
        return await self._summary(koha_patron, card_number)

    async def set_password(self, patron: Patron, new_password: str) -> None:
        """``POST /patrons/{patron_id}/password`` with ``{"password", "password_2"}``
        (Patrons::Password#set, staff permission ``borrowers``): no old password is asked."""
        await self._client.call(
            KohaCall.CHANGE_PASSWORD,
            "POST",
            f"/patrons/{patron.id}/password",
            json={"password": new_password, "password_2": new_password},
            accept=frozenset({200, 204}),
        )

    async def update_contact(self, patron: Patron, change: ContactChange) -> Patron:
        """Read the whole patron (``GET /patrons/{patron_id}``), change the e-mail/phone, and
        write it all back with ``PUT /patrons/{patron_id}``: Koha's PUT (Patrons#update,
        ``set_from_api`` on the body) replaces the record, so a field left out is a field
        cleared; the read-only members (``restricted``, ``anonymized``: readOnly in
        definitions/patron.yaml, refused in a request body) and the embeds are not sent.
        The record is then read back and must show the change."""
        where = "GET /patrons/{patron_id}"
        row = await self._client.call_json(KohaCall.READ, "GET", f"/patrons/{patron.id}")
        current = parse(KohaPatron, row, where)
        require_belongs([current], where, patron_id=patron.id)
        if not isinstance(row, dict):
            raise BackendProtocolError(operator_detail=f"Koha {where}: not an object")
        body = {k: v for k, v in row.items() if k not in _KOHA_NOT_WRITTEN}
        if change.email is not None:
            body["email"] = change.email or None
        if change.phone is not None:
            body["phone"] = change.phone or None
        answer = await self._client.call_json(
            KohaCall.UPDATE_PATRON, "PUT", f"/patrons/{patron.id}", json=body
        )
        written = parse(KohaPatron, answer, "PUT /patrons/{patron_id}")
        require_belongs([written], "PUT /patrons/{patron_id}", patron_id=patron.id)
        fresh = parse(
            KohaPatron,
            await self._client.call_json(KohaCall.READ, "GET", f"/patrons/{patron.id}"),
            where,
        )
        require_belongs([fresh], where, patron_id=patron.id)
        updated = await self._summary(fresh, patron.card_number)
        if not change.applied_to(updated):
            raise BackendProtocolError(
                detail="The library system did not keep the change.",
                operator_detail="Koha PUT /patrons/{patron_id}: read back without the change",
            )
        return updated

    async def patron_summary(self, patron: Patron) -> Patron:
        row = await self._client.call_json(KohaCall.READ, "GET", f"/patrons/{patron.id}")
        koha_patron = parse(KohaPatron, row, "GET /patrons/{patron_id}")
        require_belongs([koha_patron], "GET /patrons/{patron_id}", patron_id=patron.id)
        return await self._summary(koha_patron, patron.card_number)

    # -- titles ----------------------------------------------------------------------------

    async def _biblio(self, biblio_id: int) -> KohaBiblio | None:
        """The record ``biblio_id`` (None when Koha no longer has it), cached, one fetch per id."""
        cached = self._biblios.get(biblio_id, _Cache.NOT_CACHED)
        if cached is not _Cache.NOT_CACHED:
            return cached
        pending = self._biblio_fetches.get(biblio_id)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch_biblio(biblio_id))
            self._biblio_fetches[biblio_id] = pending
            pending.add_done_callback(lambda _: self._biblio_fetches.pop(biblio_id, None))
        # shield: one caller giving up must not cancel the fetch the others are waiting for
        return await asyncio.shield(pending)

    async def _fetch_biblio(self, biblio_id: int) -> KohaBiblio | None:
        async with self._biblio_slots:
            try:
                row = await self._client.call_json(
                    KohaCall.READ,
                    "GET",
                    f"/biblios/{biblio_id}",
                    headers={"Accept": "application/json"},
                )
            except NotFound:
                biblio = None  # deleted record: the loan or hold stays, without a title
            else:
                biblio = parse(KohaBiblio, row, "GET /biblios/{biblio_id}")
                require_belongs([biblio], "GET /biblios/{biblio_id}", biblio_id=biblio_id)
        self._biblios[biblio_id] = biblio
        return biblio

    async def _to_item(self, koha_item: KohaItem) -> Item:
        biblio = await self._biblio(koha_item.biblio_id)
        return mapping.to_item(koha_item, self._item_types, biblio)

    # -- items -----------------------------------------------------------------------------

    async def _item_by_id(self, koha_item_id: int) -> KohaItem:
        row = await self._client.call_json(KohaCall.READ, "GET", f"/items/{koha_item_id}")
        item = parse(KohaItem, row, "GET /items/{item_id}")
        require_belongs([item], "GET /items/{item_id}", item_id=koha_item_id)
        return item

    async def _item_by_barcode(self, barcode: str) -> KohaItem:
        if not barcode or barcode.startswith(_BIBLIO_PREFIX):
            raise NotFound("No item with this id.")  # a title id is never a barcode
        rows = await self._client.call_list("/items", params={"external_id": barcode, **_EXACT})
        found = parse(list[KohaItem], rows, "GET /items")
        require_belongs(found, "GET /items", folded=True, external_id=barcode)
        items = [i for i in found if i.external_id == barcode]
        if not items:
            raise NotFound("No item with this id.")
        return items[0]

    async def _found_hold_status(self, koha_item: KohaItem) -> str | None:
        """The status letter of a hold this copy is set aside for (W, T, P), if any."""
        rows = await self._client.call_list(
            "/holds", params={"item_id": koha_item.item_id, **_EXACT}
        )
        holds = parse(list[KohaHold], rows, "GET /holds")
        require_belongs(holds, "GET /holds", item_id=koha_item.item_id)
        return next((h.status for h in holds if h.status), None)

    async def _title(self, item_id: str) -> Item:
        """The Item standing for a title (``biblio:N``), from its record alone."""
        biblio_id = _biblio_id(item_id)
        biblio = await self._biblio(biblio_id) if biblio_id is not None else None
        if biblio is None:
            raise NotFound("No item with this id.")
        return await self._typed_title(mapping.biblio_item(biblio_id, biblio), biblio_id)

    async def _typed_title(self, item: Item, biblio_id: int | None) -> Item:
        """A title's Item with the type of its copies (the first copy's item type)."""
        if biblio_id is None or not self._type_titles:
            return item
        kind = self._title_types.get(biblio_id)
        if kind is None:
            rows = await self._client.call_list(f"/biblios/{biblio_id}/items")
            copies = parse(list[KohaItem], rows, "GET /biblios/{biblio_id}/items")
            require_belongs(copies, "GET /biblios/{biblio_id}/items", biblio_id=biblio_id)
            if not copies:
                return item
            kind = mapping.material_type(copies[0], self._item_types)
            self._title_types[biblio_id] = kind
        return item.model_copy(update={"material_type": kind})

    async def get_item(self, item_id: str) -> Item:
        if item_id.startswith(_BIBLIO_PREFIX):
            return await self._title(item_id)
        koha_item = await self._item_by_barcode(item_id)
        found = None
        if mapping.may_be_set_aside(koha_item):
            found = await self._found_hold_status(koha_item)
        biblio = await self._biblio(koha_item.biblio_id)
        return mapping.to_item(koha_item, self._item_types, biblio, found)

    # -- loans -----------------------------------------------------------------------------

    async def _checkouts(self, patron: Patron) -> list[KohaCheckout]:
        return parse(list[KohaCheckout], await self._checkout_rows(patron), "GET /checkouts")

    async def _checkout_rows(self, patron: Patron) -> list[Any]:
        """The patron's current checkouts as Koha sent them, each one checked to be theirs."""
        rows = await self._client.call_list(
            "/checkouts", params={"patron_id": patron.id, "checked_in": "false", **_EXACT}
        )
        owners = parse(list[KohaCheckoutSummary], rows, "GET /checkouts")
        require_belongs(owners, "GET /checkouts", patron_id=patron.id)
        return rows

    async def _renewability(self, checkout_id: int) -> KohaAllowsRenewal:
        row = await self._client.call_json(
            KohaCall.READ, "GET", f"/checkouts/{checkout_id}/allows_renewal"
        )
        return parse(KohaAllowsRenewal, row, "GET /checkouts/{checkout_id}/allows_renewal")

    async def _loan(self, checkout: KohaCheckout, with_renewability: bool = True) -> Loan:
        item_task = self._checkout_item(checkout)
        if with_renewability:
            item, verdict = await asyncio.gather(
                item_task, self._renewability(checkout.checkout_id)
            )
        else:
            item, verdict = await item_task, None
        return mapping.to_loan(checkout, item, verdict, self._today())

    async def _checkout_item(self, checkout: KohaCheckout) -> Item:
        if checkout.item_id is None:
            return Item(id=checkout.external_id or f"checkout:{checkout.checkout_id}", title="")
        return await self._to_item(await self._item_by_id(checkout.item_id))

    async def checkout(self, patron: Patron, item_id: str) -> Loan:
        """Lend a copy the way Koha's REST API lets a client that cannot confirm anything:
        ``GET /checkouts/availability`` first (Checkouts#get_availability: CanBookBeIssued's
        ``blockers`` and ``confirms``); any blocker, and any confirmation (another patron's
        loan, a waiting hold, a lost copy…: a self-check machine has no staff to confirm), is
        a refusal with Koha's codes; else ``POST /checkouts`` ``{patron_id, item_id}`` with no
        token (Checkouts#add: 201 the checkout, or 403/412 if things changed meanwhile). The
        new checkout must be this patron's loan of this copy."""
        koha_item = await self._item_by_barcode(item_id)
        where = "GET /checkouts/availability"
        row = await self._client.call_json(
            KohaCall.READ,
            "GET",
            "/checkouts/availability",
            params={"patron_id": patron.id, "item_id": koha_item.item_id},
        )
        verdict = parse(KohaCheckoutAvailability, row, where)
        for kind, codes in (
            ("not authorized", verdict.blockers),
            ("needs confirmation", verdict.confirms),
        ):
            if codes:
                raise _checkout_refused(kind, codes)
        body = {"patron_id": int(patron.id), "item_id": koha_item.item_id}
        answer = await self._client.call_json(
            KohaCall.CHECKOUT, "POST", "/checkouts", json=body, accept=frozenset({201})
        )
        checkout = parse(KohaCheckout, answer, "POST /checkouts")
        require_belongs(
            [checkout], "POST /checkouts", patron_id=patron.id, item_id=koha_item.item_id
        )
        return await self._loan(checkout, with_renewability=False)

    async def list_fees(self, patron: Patron) -> FeeAccount:
        """``GET /patrons/{patron_id}/account``: ``balance`` is the total; each outstanding
        debit line a charge, with its item's barcode and title where it names an item."""
        where = "GET /patrons/{patron_id}/account"
        row = await self._client.call_json(KohaCall.READ, "GET", f"/patrons/{patron.id}/account")
        balance = parse(KohaPatronBalance, row, where)
        lines = balance.outstanding_debits.lines + balance.outstanding_credits.lines
        require_belongs(lines, where, patron_id=patron.id)
        ids = sorted({line.item_id for line in lines if line.item_id is not None})
        found = await asyncio.gather(*(self._fee_item(i) for i in ids))
        return mapping.to_fee_account(balance, dict(zip(ids, found, strict=True)))

    async def _fee_item(self, koha_item_id: int) -> Item | None:
        """The item a charge is for, titled; None when Koha no longer has it (a lost item is
        often withdrawn once paid for)."""
        try:
            return await self._to_item(await self._item_by_id(koha_item_id))
        except NotFound:
            return None

    async def list_loans(self, patron: Patron) -> list[Loan]:
        checkouts = await self._checkouts(patron)
        return list(await asyncio.gather(*(self._loan(c) for c in checkouts)))

    async def _find_checkout(self, patron: Patron, item_id: str) -> KohaCheckout:
        checkouts = await self._checkouts(patron)
        for checkout in checkouts:
            if str(checkout.checkout_id) == item_id or checkout.external_id == item_id:
                return checkout
        koha_item = await self._item_by_barcode(item_id)
        for checkout in checkouts:
            if checkout.item_id == koha_item.item_id:
                return checkout
        raise NotFound("This item is not on loan to you.")

    async def renew(self, patron: Patron, item_id: str) -> RenewalResult:
        checkout = await self._find_checkout(patron, item_id)
        row = await self._client.call_json(
            KohaCall.RENEW,
            "POST",
            f"/checkouts/{checkout.checkout_id}/renewal",
            accept=frozenset({201}),
        )
        renewed = parse(KohaCheckout, row, "POST /checkouts/{checkout_id}/renewal")
        require_belongs(
            [renewed],
            "POST /checkouts/{checkout_id}/renewal",
            checkout_id=checkout.checkout_id,
            patron_id=patron.id,
        )
        loan = await self._loan(renewed)
        return RenewalResult(item_id=item_id, outcome=Outcome.OK, loan=loan)

    async def renew_many(
        self, patron: Patron, item_ids: Sequence[str]
    ) -> BatchResult[RenewalResult]:
        return await renew_in_turn(functools.partial(self.renew, patron), item_ids)

    # -- holds -----------------------------------------------------------------------------

    async def _koha_holds(self, patron: Patron) -> list[KohaHold]:
        rows = await self._client.call_list(f"/patrons/{patron.id}/holds", headers=self._hold_embed)
        holds = parse(list[KohaHold], rows, "GET /patrons/{patron_id}/holds")
        require_belongs(holds, "GET /patrons/{patron_id}/holds", patron_id=patron.id)
        return holds

    async def _own_hold(self, patron: Patron, hold_id: str) -> KohaHold:
        if not (hold_id.isascii() and hold_id.isdigit()):
            raise NotFound("No such hold.")
        number = int(hold_id)
        rows = await self._client.call_list(
            "/holds",
            params={"hold_id": number, "patron_id": patron.id, **_EXACT},
            headers=self._hold_embed,
        )
        holds = parse(list[KohaHold], rows, "GET /holds")
        require_belongs(holds, "GET /holds", hold_id=number, patron_id=patron.id)
        if not holds:
            raise NotFound("No such hold.")
        return holds[0]

    async def _hold_item(self, hold: KohaHold) -> Item:
        if hold.item_level and hold.item_id is not None:
            return await self._to_item(await self._item_by_id(int(hold.item_id)))
        biblio = await self._biblio(hold.biblio_id) if hold.biblio_id is not None else None
        return await self._typed_title(mapping.biblio_item(hold.biblio_id, biblio), hold.biblio_id)

    async def _to_hold(self, hold: KohaHold) -> Hold:
        return mapping.to_hold(hold, await self._hold_item(hold))

    async def list_holds(self, patron: Patron) -> list[Hold]:
        holds = await self._koha_holds(patron)
        return list(await asyncio.gather(*(self._to_hold(h) for h in holds)))

    async def place_hold(
        self,
        patron: Patron,
        item_id: str,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        # contact_method is not a hold attribute in Koha: it notifies by the patron's
        # messaging preferences (declared as PLACE_HOLD option contact_method=False).
        body: dict[str, Any] = {"patron_id": int(patron.id), "pickup_library_id": pickup_library}
        if item_id.startswith(_BIBLIO_PREFIX):
            biblio_id = _biblio_id(item_id)
            if biblio_id is None:
                raise NotFound("No item with this id.")
            body["biblio_id"] = biblio_id  # a title: never looked up as a barcode
        else:
            koha_item = await self._item_by_barcode(item_id)
            if self._config.hold_level == "item":
                body["item_id"] = koha_item.item_id
            else:
                body["biblio_id"] = koha_item.biblio_id
        row = await self._client.call_json(
            KohaCall.PLACE_HOLD, "POST", "/holds", json=body, accept=frozenset({201})
        )
        hold = parse(KohaHold, row, "POST /holds")
        asked = {k: body[k] for k in ("patron_id", "biblio_id") if k in body}
        require_belongs([hold], "POST /holds", **asked)
        if "item_id" in body:
            require_belongs([hold], "POST /holds", item_id=body["item_id"])
        return await self._to_hold(hold)

    async def cancel_hold(self, patron: Patron, hold_id: str) -> CancelOutcome:
        """Cancel, saying whether Koha cancelled the hold or filed a cancellation request.

        With ``cancellation_request_flow`` a hold already on the hold shelf is not cancelled
        outright: newer Koha records a request for staff to act on and answers 202.
        """
        hold = await self._own_hold(patron, hold_id)
        headers = {}
        if self._config.cancellation_request_flow and hold.status == "W":
            headers["x-koha-override"] = "cancellation-request-flow"
        response = await self._client.call(
            KohaCall.CANCEL_HOLD,
            "DELETE",
            f"/holds/{hold.hold_id}",
            headers=headers,
            accept=frozenset({202, 204}),
        )
        if response.status_code == 202:
            return CancelOutcome.CANCELLATION_REQUESTED
        return CancelOutcome.CANCELLED

    async def _change_pickup(
        self, patron: Patron, hold_id: str, pickup_library: str | None
    ) -> Hold:
        hold = await self._own_hold(patron, hold_id)
        if pickup_library is not None and pickup_library != hold.pickup_library_id:
            row = await self._client.call_json(
                KohaCall.CHANGE_PICKUP,
                "PUT",
                f"/holds/{hold.hold_id}/pickup_location",
                json={"pickup_library_id": pickup_library},
                idempotent=True,
            )
            moved = parse(KohaPickupChange, row, "PUT /holds/{hold_id}/pickup_location")
            where = "PUT /holds/{hold_id}/pickup_location"
            require_belongs([moved], where, pickup_library_id=pickup_library)
            hold = await self._own_hold(patron, hold_id)
        return await self._to_hold(hold)

    async def suspend_hold(self, patron: Patron, hold_id: str, until: date | None) -> Hold:
        hold = await self._own_hold(patron, hold_id)
        await self._client.call(
            KohaCall.SUSPEND_HOLD,
            "POST",
            f"/holds/{hold.hold_id}/suspension",
            json={"end_date": until.isoformat()} if until is not None else None,
            accept=frozenset({201}),
        )
        return await self._to_hold(await self._own_hold(patron, hold_id))

    async def resume_hold(self, patron: Patron, hold_id: str) -> Hold:
        hold = await self._own_hold(patron, hold_id)
        await self._client.call(
            KohaCall.RESUME_HOLD,
            "DELETE",
            f"/holds/{hold.hold_id}/suspension",
            accept=frozenset({204}),
        )
        return await self._to_hold(await self._own_hold(patron, hold_id))

    async def hold_pickup_libraries(self, patron: Patron, hold_id: str) -> list[Library]:
        """Where this one hold may be collected (Koha's pickup rules for its item or title)."""
        hold = await self._own_hold(patron, hold_id)
        rows = await self._client.call_list(f"/holds/{hold.hold_id}/pickup_locations")
        return [mapping.to_library(lib) for lib in parse(list[KohaLibrary], rows, "pickups")]

    async def item_pickup_libraries(self, patron: Patron, item_id: str) -> list[Library]:
        """Where the patron could collect a hold on this item."""
        koha_item = await self._item_by_barcode(item_id)
        rows = await self._client.call_list(
            f"/items/{koha_item.item_id}/pickup_locations", params={"patron_id": patron.id}
        )
        return [mapping.to_library(lib) for lib in parse(list[KohaLibrary], rows, "pickups")]

    async def list_pickup_libraries(self) -> list[Library]:
        rows = await self._client.call_list("/libraries")
        libraries = parse(list[KohaLibrary], rows, "GET /libraries")
        return [mapping.to_library(lib) for lib in libraries if lib.pickup_location is not False]


def _checkout_refused(kind: str, codes: dict[str, Any]) -> Refused:
    """A checkout Koha would not make unasked, in Koha's words: its upper-case codes (the
    lower-case members are details, such as another patron's card, never shown)."""
    named = sorted(c for c in codes if c.isupper())
    reason = next(
        (errors.refusal_reason(c) for c in named if c in errors.REFUSAL_CODES),
        RefusalReason.UNKNOWN,
    )
    message = f"Checkout {kind} ({' '.join(named)})"
    return Refused(reason, message, backend_message=message, operator_detail=f"Koha: {message}")


def _biblio_id(item_id: str) -> int | None:
    """N of a title id ``biblio:N`` (None when it is not one)."""
    rest = item_id[len(_BIBLIO_PREFIX) :] if item_id.startswith(_BIBLIO_PREFIX) else ""
    return int(rest) if rest.isascii() and rest.isdigit() else None
