"""``FolioBackend``: the ILSBackend port over FOLIO's circulation APIs, through Okapi.

Every circulation body sent here is one of mod-circulation's schemas (``renew-by-id-request``,
``renew-by-barcode-request``, ``request-by-instance-id``, ``request`` for the PUTs of cancel and
pickup change); the tests hold each one against the schemas in ``shared/reference/folio``.

Routes, and where each is defined:

- gateway login: ``POST /authn/login-with-expiry`` or ``/authn/login`` (see ``auth``);
- patron by card: ``GET /users?query=barcode=="…"`` (mod-users); password: ``POST
  /patron-pin/verify`` with ``{"id", "pin"}`` (mod-users: 200 match, 422 no match);
- loans: ``GET /circulation/loans``; renew: ``POST /circulation/renew-by-id`` (item UUID)
  or ``/circulation/renew-by-barcode`` (item barcode) (mod-circulation); self-check: ``POST
  /circulation/check-out-by-barcode`` and ``/circulation/check-in-by-barcode`` at the
  tenant's ``service_point_id`` (a loan's item keeps its UUID as id and carries its barcode);
- holds are FOLIO requests: ``GET /circulation/requests``; a title (``instance:<uuid>``, or
  an item when ``request_level = "Title"``) is requested with ``POST
  /circulation/requests/instances`` (``request-by-instance-id.json``: FOLIO makes a title-level
  request when its TLR setting is on, else picks a copy), one copy (``request_level = "Item"``)
  with ``POST /circulation/requests`` (``request.json``: ``requestLevel`` Item with the item,
  its holdings record and instance, as mod-patron's ``RequestObjectFactory`` builds it); cancel
  and move pickup by ``PUT /circulation/requests/{id}`` with the whole record changed;
- where a request may be picked up: ``GET /circulation/requests/allowed-service-points``
  (``operation=create`` with ``requesterId`` and ``itemId`` or ``instanceId``,
  ``operation=replace`` with ``requestId``): the request policy's service points per request
  type (``allowed-service-points-response.json``), checked before anything is sent;
- pickup libraries: ``GET /service-points?query=pickupLocation==true``; items: ``GET
  /inventory/items/{id}`` or ``?query=barcode==…``, ``GET /holdings-storage/holdings/{id}``,
  ``GET /inventory/instances/{id}`` (mod-inventory-storage, mod-inventory);
- blocks: ``GET /manualblocks?query=userId==…`` (mod-feesfines) and ``GET
  /automated-patron-blocks/{userId}`` (mod-patron-blocks).

Every answer is checked against what was asked before it is used: loans and requests belong to
the patron, a renewed loan is the item renewed, a created request is for the patron and the
title or item asked, an item is the item asked. A mismatch is ``BackendProtocolError`` (502).
Every hold call first reads the request and checks it is the patron's own.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import structlog
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
from ils_gateway.adapters.folio import mapping
from ils_gateway.adapters.folio.catalog import FolioCatalog
from ils_gateway.adapters.folio.client import FolioClient
from ils_gateway.adapters.folio.config import FolioBackendConfig
from ils_gateway.adapters.folio.errors import FolioCall
from ils_gateway.adapters.folio.mapping import (
    INSTANCE_PREFIX,
    OPEN_STATUSES,
    FolioAllowedServicePoint,
    FolioAutomatedBlock,
    FolioHoldings,
    FolioInstance,
    FolioInventoryItem,
    FolioLoan,
    FolioLoanPolicy,
    FolioManualBlock,
    FolioRequest,
    FolioServicePoint,
    FolioUser,
    parse,
    parse_list,
)
from ils_gateway.adapters.rest import renew_in_turn
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendProtocolError,
    CancelRefused,
    GatewayError,
    HoldRefused,
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
    mask_card,
)
from ils_gateway.domain.vocab import (
    BlockReason,
    ContactMethod,
    HoldStatus,
    MaterialType,
    Outcome,
    RefusalReason,
)
from ils_gateway.tenants.materials import MaterialTypeMap

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# The user id an unknown card's PIN is checked against: the nil UUID, no user's id.
_DECOY_USER_ID = "00000000-0000-0000-0000-000000000000"
_LIMIT = 1000  # FOLIO pages collections (default 10); a patron's loans and holds fit in one
_CANCELLED = "Closed - Cancelled"
_CANCEL_NOTE = "Cancelled by the patron online"
# Request types for one copy, in the order tried. FOLIO's own instance requests try Page, Recall,
# Hold (RequestByInstanceIdResource); a patron portal asks for a Hold before a Recall, because a
# recall cuts short another patron's loan.
_ITEM_REQUEST_TYPES = ("Page", "Hold", "Recall")
# The records read by id or barcode (``FolioBackend._by_id``, ``_by_barcode``).
_R = TypeVar("_R", FolioUser, FolioRequest, FolioInventoryItem, FolioHoldings, FolioInstance)
_log = structlog.get_logger(__name__)

_Owned = TypeVar("_Owned", FolioLoan, FolioRequest, mapping.FolioAccount)

# Why FOLIO's circulation APIs (as this adapter uses them) lack what they lack.
_SELF_CHECK = Unavailable(
    "FOLIO adapter: no service_point_id in the tenant's backend settings, so no check-out or"
    " check-in (FOLIO records both at a service point)"
)
_NOT_OFFERED = {
    Capability.CHANGE_HOLD_CONTACT: Unavailable(
        "FOLIO requests carry no contact method (notice preferences)"
    ),
    Capability.SUSPEND_HOLD: Unavailable("FOLIO requests cannot be suspended"),
    Capability.CHECKOUT: _SELF_CHECK,
    Capability.CHECKIN: _SELF_CHECK,
    Capability.CHANGE_PASSWORD: Unavailable(
        "FOLIO adapter: this tenant checks no patron PIN (verify_patron_pin = false)"
    ),
}


def _mismatch(what: str, asked: str, got: object) -> BackendProtocolError:
    """FOLIO answered about something other than what was asked."""
    return BackendProtocolError(
        detail="The library system sent an unexpected answer.",
        # Neither value: they are cards, items or patrons' ids.
        operator_detail=f"FOLIO {what}: the answer is about another record than asked",
    )


def cql_string(value: str) -> str:
    """``value`` as a quoted CQL string: backslash, quote and CQL masking characters escaped."""
    return '"' + re.sub(r'([\\"*?^])', r"\\\1", value) + '"'


def _folio_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FolioBackend(GuardedBackend):
    """The gateway's port to one library's FOLIO tenant, over its circulation APIs."""

    def __init__(
        self,
        config: FolioBackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timezone: str = "Asia/Tokyo",
        material_types: MaterialTypeMap | None = None,
    ) -> None:
        """``timezone`` is the tenant's (``TenantConfig.timezone``): FOLIO gives instants, and
        due dates and pickup deadlines are days in the library's own zone."""
        self._config = config
        self._client = FolioClient(config, transport=transport, now=now)
        # With the tenant's map (the runtime always passes it) holds and titles are typed from
        # their copies; without one (a bare adapter) defaults apply and no lookups are added.
        self._type_holds = material_types is not None
        self._types = material_types or MaterialTypeMap()
        # Types of items and titles (instance -> its first copy) seen, for typing holds.
        self._type_cache: TTLCache[str, MaterialType] = TTLCache(
            4096,
            max(self._types.title_type_cache_seconds, 1),
            timer=lambda: now().timestamp(),
        )
        self._now = now
        self._zone = ZoneInfo(timezone)
        # Renewals allowed per loan policy id (None: unlimited or not said), read once each.
        self._loan_policies: dict[str, int | None] = {}
        self._capabilities = Capabilities(
            {
                Capability.AUTHENTICATE: CapabilitySupport(
                    Support.NATIVE, {"password": config.verify_patron_pin}
                ),
                Capability.PATRON_SUMMARY: Support.NATIVE,
                Capability.LIST_LOANS: CapabilitySupport(Support.NATIVE, {"renewability": False}),
                Capability.RENEW: CapabilitySupport(Support.NATIVE, {"reasons": True}),
                Capability.RENEW_MANY: Support.EMULATED,
                Capability.LIST_HOLDS: CapabilitySupport(Support.NATIVE, {"closed": False}),
                Capability.PLACE_HOLD: CapabilitySupport(
                    Support.NATIVE,
                    {
                        "title_level": True,
                        "folio_request_level": config.request_level,
                        "contact_method": False,
                    },
                ),
                Capability.CANCEL_HOLD: Support.NATIVE,
                Capability.CHANGE_HOLD_PICKUP: Support.NATIVE,
                Capability.LIST_PICKUP_LIBRARIES: Support.NATIVE,
                Capability.GET_ITEM: Support.NATIVE,
                # mod-feesfines GET /accounts (userId==… and status.name==Open)
                Capability.LIST_FEES: Support.NATIVE,
                # check-out/check-in-by-barcode at the tenant's service point
                **(
                    {Capability.CHECKOUT: Support.NATIVE, Capability.CHECKIN: Support.NATIVE}
                    if config.service_point_id
                    else {}
                ),
                # The patron's password is the mod-users patron PIN: checked with
                # /patron-pin/verify, set with POST /patron-pin.
                **(
                    {Capability.CHANGE_PASSWORD: Support.NATIVE} if config.verify_patron_pin else {}
                ),
            },
            missing=_NOT_OFFERED,
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def client(self) -> FolioClient:
        """The HTTP client (tests read its login counter)."""
        return self._client

    async def close(self) -> None:
        await self._client.aclose()

    def catalog(self) -> FolioCatalog:
        """This tenant's inventory search and record view (issue 19), on the same client."""
        return FolioCatalog(self._client, self._types, self._zone)

    def _today(self) -> date:
        return self._now().astimezone(self._zone).date()

    # -- patrons ---------------------------------------------------------------------------

    async def authenticate(self, card_number: str, password: str) -> Patron:
        users = await self._by_barcode(FolioUser, "/users", "users", card_number)
        if len(users) != 1:  # none, or a barcode FOLIO holds twice: never guess
            await self._decoy_pin_check(password)
            raise AuthenticationFailed(
                operator_detail=f"FOLIO /users by barcode: {len(users)} matches"
            )
        user = users[0]
        if user.barcode is not None and user.barcode != card_number:
            raise _mismatch(
                "GET /users by barcode", mask_card(card_number), mask_card(user.barcode)
            )
        if self._config.verify_patron_pin:
            if not password:
                raise AuthenticationFailed(operator_detail="empty PIN")
            await self._client.call(
                FolioCall.PIN_VERIFY,
                "POST",
                "/patron-pin/verify",
                json={"id": user.id, "pin": password},
                accept=frozenset({200, 204}),
            )
        return await self._summary(user, card_number)

    async def _decoy_pin_check(self, password: str) -> None:
        """For a card FOLIO does not know, the same PIN check a known card gets (against the
        nil UUID, no user's id; whatever it answers), so an unknown card and a wrong PIN cost
        the same requests and about the same time: card numbers cannot be probed."""
        if not self._config.verify_patron_pin or not password:
            return
        try:
            await self._client.call(
                FolioCall.PIN_VERIFY,
                "POST",
                "/patron-pin/verify",
                json={"id": _DECOY_USER_ID, "pin": password},
                accept=frozenset({200, 204}),
            )
        except AuthenticationFailed:
            pass

    async def change_password(self, patron: Patron, old_password: str, new_password: str) -> None:
        """Check the old PIN (``POST /patron-pin/verify``), then set the new one with
        ``POST /patron-pin`` ``{"id", "pin"}`` (mod-users PatronPinAPI, 201)."""
        try:
            await self._client.call(
                FolioCall.PIN_VERIFY,
                "POST",
                "/patron-pin/verify",
                json={"id": patron.id, "pin": old_password},
                accept=frozenset({200, 204}),
            )
        except AuthenticationFailed:
            raise PasswordRejected(
                "The current password is not correct",
                problems=["current password is not correct"],
                operator_detail="FOLIO: old PIN refused",
            ) from None
        await self._client.call(
            FolioCall.SET_PIN,
            "POST",
            "/patron-pin",
            json={"id": patron.id, "pin": new_password},
            accept=frozenset({200, 201, 204}),
        )

    # -- account lifecycle (issue 18) -----------------------------------------------------

    @property
    def account_writes(self) -> frozenset[str]:
        """The contact always (``PUT /users/{userId}``); the password where the patron's
        password is the mod-users patron PIN (``verify_patron_pin``)."""
        if self._config.verify_patron_pin:
            return frozenset({"password", "contact"})
        return frozenset({"contact"})

    async def find_patron(self, card_number: str) -> Patron:
        """``GET /users?query=barcode==…``: exactly one user, else ``NotFound``."""
        users = await self._by_barcode(FolioUser, "/users", "users", card_number)
        if len(users) != 1:
            raise NotFound("No patron with this card number.")
        user = users[0]
        if user.barcode is not None and user.barcode != card_number:
            raise _mismatch(
                "GET /users by barcode", mask_card(card_number), mask_card(user.barcode)
            )
        return await self._summary(user, card_number)

    async def set_password(self, patron: Patron, new_password: str) -> None:
        """``POST /patron-pin`` ``{"id", "pin"}`` (mod-users PatronPinAPI): no old PIN asked."""
        await self._client.call(
            FolioCall.SET_PIN,
            "POST",
            "/patron-pin",
            json={"id": _path_id(patron.id), "pin": new_password},
            accept=frozenset({200, 201, 204}),
        )

    async def update_contact(self, patron: Patron, change: ContactChange) -> Patron:
        """Read the user (``GET /users/{userId}``), change ``personal.email``/``phone`` and
        write the whole record back with ``PUT /users/{userId}`` (mod-users: the body is the
        full userdata.json record, which replaces the stored one; 204). Then read back: the
        record must show the change."""
        user_id = _path_id(patron.id)
        _, raw = await self._by_id(FolioUser, "/users/{id}", user_id)
        if not isinstance(raw, dict):
            raise BackendProtocolError(operator_detail="FOLIO GET /users/{id}: not an object")
        body = copy.deepcopy(raw)
        personal = dict(body.get("personal") or {})
        for name, wanted in (("email", change.email), ("phone", change.phone)):
            if wanted is None:
                continue
            if wanted:
                personal[name] = wanted
            else:
                personal.pop(name, None)
        body["personal"] = personal
        await self._client.call(
            FolioCall.UPDATE_USER, "PUT", f"/users/{user_id}", json=body, accept=frozenset({204})
        )
        fresh, _ = await self._by_id(FolioUser, "/users/{id}", user_id)
        updated = await self._summary(fresh, patron.card_number)
        shown = updated.model_copy(update={"phone": fresh.personal.phone})
        if not change.applied_to(shown):
            raise BackendProtocolError(
                detail="The library system did not keep the change.",
                operator_detail="FOLIO PUT /users/{id}: read back without the change",
            )
        return updated

    async def _blocks(self, user_id: str) -> list[BlockReason]:
        """The patron's manual and automated blocks, both checked to be this patron's."""
        manual_body, automated_body = await asyncio.gather(
            self._client.call_json(
                FolioCall.READ,
                "GET",
                "/manualblocks",
                params={"query": f"userId=={cql_string(user_id)}", "limit": _LIMIT},
            ),
            self._client.call_json(
                FolioCall.READ, "GET", f"/automated-patron-blocks/{_path_id(user_id)}"
            ),
        )
        manual = parse_list(FolioManualBlock, manual_body, "manualblocks", "GET /manualblocks")
        for block in manual:
            if block.userId != user_id:
                raise _mismatch("GET /manualblocks", user_id, block.userId)
        automated = parse_list(
            FolioAutomatedBlock,
            automated_body,
            "automatedPatronBlocks",
            "GET /automated-patron-blocks/{userId}",
        )
        return mapping.patron_blocks(manual, automated, self._now())

    async def _summary(self, user: FolioUser, card_number: str) -> Patron:
        """The patron with blocks, and counts from the same loan and request lists the patron
        is shown: the login answer and ``patron_summary`` never disagree with the lists."""
        bare = mapping.patron(user, card_number, self._today(), self._zone, [])
        loans, requests, blocks = await asyncio.gather(
            self._open_loans(bare), self._open_requests(bare), self._blocks(user.id)
        )
        today = self._today()
        statuses = [mapping.hold_status(r.status) for r in requests]
        return mapping.patron(user, card_number, today, self._zone, blocks).model_copy(
            update={
                "loans_count": len(loans),
                "overdue_count": sum(
                    1
                    for ln in loans
                    if mapping.loan(ln, today, self._zone, types=self._types).overdue
                ),
                "holds_count": len(requests),
                "holds_ready_count": statuses.count(HoldStatus.READY),
            }
        )

    async def patron_summary(self, patron: Patron) -> Patron:
        user, _ = await self._by_id(FolioUser, "/users/{id}", _path_id(patron.id))
        return await self._summary(user, patron.card_number)

    # -- fees ------------------------------------------------------------------------------

    async def list_fees(self, patron: Patron) -> FeeAccount:
        """The patron's open fees/fines (mod-feesfines ``/accounts``), each checked to be
        theirs; title and barcode come with each account."""
        accounts = await self._patrons_records(
            mapping.FolioAccount,
            "/accounts",
            "accounts",
            f"userId=={cql_string(patron.id)} and status.name==Open",
            patron.id,
            lambda account: account.userId,
        )
        return mapping.fee_account(accounts, self._zone)

    # -- loans -----------------------------------------------------------------------------

    async def _open_loans(self, patron: Patron) -> list[FolioLoan]:
        loans = await self._patrons_records(
            FolioLoan,
            "/circulation/loans",
            "loans",
            f"userId=={cql_string(patron.id)} and status.name==Open",
            patron.id,
            lambda ln: ln.userId,
        )
        # The query asks for open loans only; a closed one FOLIO sends anyway is not current.
        return [ln for ln in loans if ln.status is None or ln.status.name != "Closed"]

    async def list_loans(self, patron: Patron) -> list[Loan]:
        today = self._today()
        loans = await self._open_loans(patron)
        codes = await self._checkout_point_codes(loans)
        limits = await self._renewal_limits({ln.loanPolicyId for ln in loans if ln.loanPolicyId})
        return [
            mapping.loan(
                ln,
                today,
                self._zone,
                codes,
                limits.get(ln.loanPolicyId or ""),
                self._types,
            )
            for ln in loans
        ]

    async def _renewal_limits(self, policy_ids: set[str]) -> dict[str, int | None]:
        """Renewals each loan policy allows (``renewalsPolicy``), remembered per policy id.

        A policy that cannot be read (no permission, gone) gives no limit: the tenant's
        ``max_renewals`` stands, and the loan list is still shown.
        """
        for policy_id in policy_ids - self._loan_policies.keys():
            path = f"/loan-policy-storage/loan-policies/{policy_id}"
            try:
                body = await self._client.call_json(FolioCall.READ, "GET", path)
                allowed = parse(FolioLoanPolicy, body, f"GET {path}").renewals_allowed
            except GatewayError as exc:
                _log.info("folio loan policy not read", error=exc.type_slug)
                continue
            if len(self._loan_policies) >= 256:
                self._loan_policies.clear()
            self._loan_policies[policy_id] = allowed
        return {i: self._loan_policies[i] for i in policy_ids if i in self._loan_policies}

    async def _checkout_point_codes(self, loans: Sequence[FolioLoan]) -> dict[str, str]:
        """Service point id -> code, when a loan names its checkout point by id only."""
        if all(
            ln.checkoutServicePointId is None
            or (ln.checkoutServicePoint is not None and ln.checkoutServicePoint.code)
            for ln in loans
        ):
            return {}
        return {p.id: p.code for p in await self._service_points()}

    async def renew(self, patron: Patron, item_id: str) -> RenewalResult:
        if _UUID.match(item_id):
            path = "/circulation/renew-by-id"
            payload = {"itemId": item_id, "userId": patron.id}
        else:  # an item barcode, as kiosks and SIP2-minded callers know items
            path = "/circulation/renew-by-barcode"
            payload = {"itemBarcode": item_id, "userBarcode": patron.card_number}
        body = await self._client.call_json(
            FolioCall.RENEW, "POST", path, json=payload, accept=frozenset({200, 201})
        )
        record = parse(FolioLoan, body, f"POST {path}")
        got = record.itemId if _UUID.match(item_id) else record.item.barcode
        if got != item_id:
            raise _mismatch(f"POST {path}", item_id, got)
        if record.userId != patron.id:
            raise _mismatch(f"POST {path}", patron.id, record.userId)
        renewed = mapping.loan(record, self._today(), self._zone, types=self._types)
        return RenewalResult(item_id=item_id, outcome=Outcome.OK, loan=renewed)

    async def renew_many(
        self, patron: Patron, item_ids: Sequence[str]
    ) -> BatchResult[RenewalResult]:
        return await renew_in_turn(functools.partial(self.renew, patron), item_ids)

    # -- holds (FOLIO requests) ------------------------------------------------------------

    async def _open_requests(self, patron: Patron) -> list[FolioRequest]:
        return await self._patrons_records(
            FolioRequest,
            "/circulation/requests",
            "requests",
            f"requesterId=={cql_string(patron.id)} and "
            '(status=="Open*" or status=="New*") sortby requestDate',
            patron.id,
            lambda r: r.requesterId,
        )

    async def _patrons_records(
        self,
        model: type[_Owned],
        path: str,
        key: str,
        query: str,
        patron_id: str,
        owner: Callable[[_Owned], object],
    ) -> list[_Owned]:
        """The records of the collection at ``path`` that the CQL ``query`` finds (one page),
        each checked to be the patron's (``owner`` reads whose it is)."""
        where = f"GET {path}"
        body = await self._client.call_json(
            FolioCall.READ, "GET", path, params={"query": query, "limit": _LIMIT}
        )
        records = parse_list(model, body, key, where)
        for record in records:
            if owner(record) != patron_id:
                raise _mismatch(where, patron_id, owner(record))
        return records

    async def _by_id(self, model: type[_R], path: str, record_id: str) -> tuple[_R, Any]:
        """The record at ``path`` whose ``{id}`` is ``record_id`` (a UUID), checked to be that
        record, and the answer as FOLIO sent it."""
        where = f"GET {path}"
        raw = await self._client.call_json(FolioCall.READ, "GET", path.replace("{id}", record_id))
        record = parse(model, raw, where)
        if record.id != record_id:
            raise _mismatch(where, record_id, record.id)
        return record, raw

    async def _by_barcode(self, model: type[_R], path: str, key: str, barcode: str) -> list[_R]:
        """The records of the collection at ``path`` with ``barcode``: two at most, since one is
        all the caller may use (``key`` names the list in FOLIO's answer)."""
        body = await self._client.call_json(
            FolioCall.READ,
            "GET",
            path,
            params={"query": f"barcode=={cql_string(barcode)}", "limit": 2},
        )
        return parse_list(model, body, key, f"GET {path}")

    async def _own_request(self, patron: Patron, hold_id: str) -> dict[str, Any]:
        if not _UUID.match(hold_id):
            raise NotFound("No such hold.")
        record, raw = await self._by_id(FolioRequest, "/circulation/requests/{id}", hold_id)
        if record.requesterId != patron.id:
            raise NotFound("No such hold.", operator_detail="request of another patron")
        assert isinstance(raw, dict)
        return raw

    async def _pickup_codes(self, requests: Sequence[FolioRequest]) -> dict[str, str]:
        if all(r.pickupServicePoint and r.pickupServicePoint.code for r in requests):
            return {}
        return {p.id: p.code for p in await self._service_points()}

    async def _to_holds(self, requests: Sequence[FolioRequest]) -> list[Hold]:
        for r in requests:  # an unknown status fails before any further call
            mapping.hold_status(r.status)
        codes = await self._pickup_codes(requests)
        holds = [mapping.hold(r, self._zone, codes) for r in requests]
        kinds = await asyncio.gather(*(self._request_type(r) for r in requests))
        return [
            h
            if kind is None
            else h.model_copy(update={"item": h.item.model_copy(update={"material_type": kind})})
            for h, kind in zip(holds, kinds, strict=True)
        ]

    async def _request_type(self, record: FolioRequest) -> MaterialType | None:
        """The type of what a request holds: its copy's, else its title's first copy's."""
        if not self._type_holds:
            return None
        if record.itemId and _UUID.match(record.itemId):
            return await self._item_type(record.itemId)
        if record.instanceId and _UUID.match(record.instanceId):
            return await self._title_type(record.instanceId)
        return None

    async def _item_type(self, item_id: str) -> MaterialType:
        kind = self._type_cache.get(item_id)
        if kind is None:
            record, _ = await self._by_id(FolioInventoryItem, "/inventory/items/{id}", item_id)
            kind = mapping.item(record, self._types).material_type
            self._type_cache[item_id] = kind
        return kind

    async def _title_type(self, instance_id: str) -> MaterialType | None:
        """A title's type from its copies: its holdings (``instanceId==``), then the first
        holdings record's first item (``holdingsRecordId==``)."""
        key = INSTANCE_PREFIX + instance_id
        kind = self._type_cache.get(key)
        if kind is not None:
            return kind
        query = f"instanceId=={cql_string(instance_id)}"
        body = await self._client.call_json(
            FolioCall.READ, "GET", "/holdings-storage/holdings", params={"query": query, "limit": 1}
        )
        holdings = parse_list(
            FolioHoldings, body, "holdingsRecords", "GET /holdings-storage/holdings"
        )
        if not holdings or holdings[0].instanceId != instance_id:
            return None
        query = f"holdingsRecordId=={cql_string(holdings[0].id)}"
        body = await self._client.call_json(
            FolioCall.READ, "GET", "/inventory/items", params={"query": query, "limit": 1}
        )
        items = parse_list(FolioInventoryItem, body, "items", "GET /inventory/items")
        if not items:
            return None
        kind = mapping.item(items[0], self._types).material_type
        self._type_cache[key] = kind
        return kind

    async def list_holds(self, patron: Patron) -> list[Hold]:
        return await self._to_holds(await self._open_requests(patron))

    async def list_ended_holds(self, patron: Patron) -> list[Hold]:
        """Requests closed as cancelled (by the patron or staff) or expired, newest first."""
        closed = await self._patrons_records(
            FolioRequest,
            "/circulation/requests",
            "requests",
            f"requesterId=={cql_string(patron.id)} and "
            '(status=="Closed - Cancelled" or status=="Closed - Pickup expired" or '
            'status=="Closed - Unfilled") sortby requestDate/sort.descending',
            patron.id,
            lambda r: r.requesterId,
        )
        return await self._to_holds(closed)

    async def _service_point_id(self, pickup_library: str) -> str:
        for point in await self._service_points():
            if pickup_library in (point.code, point.id):
                return point.id
        raise HoldRefused(
            RefusalReason.INVALID_PICKUP_LIBRARY,
            "This library is not a pickup location.",
            operator_detail=f"no FOLIO pickup service point with code {pickup_library!r}",
        )

    async def _allowed_service_points(self, **params: str) -> dict[str, set[str]]:
        """Request type -> ids of the service points the request policy allows."""
        body = await self._client.call_json(
            FolioCall.READ, "GET", "/circulation/requests/allowed-service-points", params=params
        )
        if not isinstance(body, dict):
            raise BackendProtocolError(
                detail="The library system sent an unexpected answer.",
                operator_detail="FOLIO allowed-service-points: not an object",
            )
        allowed: dict[str, set[str]] = {}
        for request_type, rows in body.items():
            points = [
                parse(FolioAllowedServicePoint, row, "GET allowed-service-points")
                for row in rows or []
            ]
            allowed[request_type] = {p.id for p in points}
        return allowed

    async def _item_record(self, item_id: str) -> FolioInventoryItem:
        """An item by UUID or by barcode, checked to be the item asked for."""
        if _UUID.match(item_id):
            return (await self._by_id(FolioInventoryItem, "/inventory/items/{id}", item_id))[0]
        if not item_id.strip():
            raise NotFound("No such item.")
        found = await self._by_barcode(FolioInventoryItem, "/inventory/items", "items", item_id)
        if not found:
            raise NotFound("No such item.", operator_detail="no FOLIO item with that barcode")
        if len(found) > 1:
            raise BackendProtocolError(
                detail="The library system sent an unexpected answer.",
                operator_detail="FOLIO GET /inventory/items: two items with one barcode",
            )
        if found[0].barcode != item_id:
            raise _mismatch("GET /inventory/items by barcode", item_id, found[0].barcode)
        return found[0]

    async def _instance_of(self, record: FolioInventoryItem) -> str:
        """The instance of an item, through its holdings record (as mod-patron finds it)."""
        if record.holdingsRecordId is None or not _UUID.match(record.holdingsRecordId):
            raise BackendProtocolError(
                detail="The library system sent an unexpected answer.",
                operator_detail="FOLIO: an item has no holdings record",
            )
        path = "/holdings-storage/holdings/{id}"
        holdings, _ = await self._by_id(FolioHoldings, path, record.holdingsRecordId)
        return holdings.instanceId

    @staticmethod
    def _not_allowed(allowed: dict[str, set[str]], pickup_library: str) -> HoldRefused:
        if not any(allowed.values()):
            return HoldRefused(
                RefusalReason.NON_CIRCULATING,
                "This title cannot be reserved.",
                operator_detail="FOLIO request policy allows no request here",
            )
        return HoldRefused(
            RefusalReason.INVALID_PICKUP_LIBRARY,
            "This title cannot be collected at this library.",
            operator_detail=f"FOLIO request policy does not allow pickup at {pickup_library!r}",
        )

    async def place_hold(
        self,
        patron: Patron,
        item_id: str,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        """A title (``instance:<uuid>``) is requested as a title; an item (UUID or barcode) as
        its title when ``request_level`` is Title, else as that copy. The pickup point must be
        one the request policy allows for this patron and title or copy."""
        # FOLIO notifies by the patron's notice preferences, not per request (declared as
        # PLACE_HOLD option contact_method=False), so contact_method is not sent.
        if item_id.startswith(INSTANCE_PREFIX):
            instance_id = item_id[len(INSTANCE_PREFIX) :]
            if not _UUID.match(instance_id):
                raise NotFound("No such title.", operator_detail="not a FOLIO instance id")
            return await self._request_title(patron, instance_id, pickup_library)
        record = await self._item_record(item_id)
        instance_id = await self._instance_of(record)
        if self._config.request_level == "Title":
            return await self._request_title(patron, instance_id, pickup_library)
        return await self._request_item(patron, record, instance_id, pickup_library)

    async def _request_title(self, patron: Patron, instance_id: str, pickup_library: str) -> Hold:
        point_id, allowed = await asyncio.gather(
            self._service_point_id(pickup_library),
            self._allowed_service_points(
                operation="create", requesterId=patron.id, instanceId=instance_id
            ),
        )
        if not any(point_id in points for points in allowed.values()):
            raise self._not_allowed(allowed, pickup_library)
        payload = {
            "requestDate": _folio_instant(self._now()),
            "requesterId": patron.id,
            "instanceId": instance_id,
            "requestLevel": self._config.request_level,
            "pickupServicePointId": point_id,
        }
        path = "/circulation/requests/instances"
        body = await self._client.call_json(
            FolioCall.PLACE_HOLD, "POST", path, json=payload, accept=frozenset({201})
        )
        record = parse(FolioRequest, body, f"POST {path}")
        self._check_created(record, patron, path, instance_id=instance_id)
        return (await self._to_holds([record]))[0]

    async def _request_item(
        self, patron: Patron, item: FolioInventoryItem, instance_id: str, pickup_library: str
    ) -> Hold:
        point_id, allowed = await asyncio.gather(
            self._service_point_id(pickup_library),
            self._allowed_service_points(operation="create", requesterId=patron.id, itemId=item.id),
        )
        request_type = next(
            (t for t in _ITEM_REQUEST_TYPES if point_id in allowed.get(t, set())), None
        )
        if request_type is None:
            raise self._not_allowed(allowed, pickup_library)
        payload = {
            "requestType": request_type,
            "requestLevel": "Item",
            "requestDate": _folio_instant(self._now()),
            "requesterId": patron.id,
            "instanceId": instance_id,
            "holdingsRecordId": item.holdingsRecordId,
            "itemId": item.id,
            "fulfillmentPreference": "Hold Shelf",
            "pickupServicePointId": point_id,
        }
        path = "/circulation/requests"
        body = await self._client.call_json(
            FolioCall.PLACE_HOLD, "POST", path, json=payload, accept=frozenset({201})
        )
        record = parse(FolioRequest, body, f"POST {path}")
        self._check_created(record, patron, path, instance_id=instance_id, item_id=item.id)
        return (await self._to_holds([record]))[0]

    @staticmethod
    def _check_created(
        record: FolioRequest,
        patron: Patron,
        path: str,
        *,
        instance_id: str,
        item_id: str | None = None,
    ) -> None:
        if record.requesterId != patron.id:
            raise _mismatch(f"POST {path}", patron.id, record.requesterId)
        if record.instanceId is not None and record.instanceId != instance_id:
            raise _mismatch(f"POST {path}", instance_id, record.instanceId)
        if item_id is not None and record.itemId != item_id:
            raise _mismatch(f"POST {path}", item_id, record.itemId)

    async def cancel_hold(self, patron: Patron, hold_id: str) -> CancelOutcome:
        raw = await self._own_request(patron, hold_id)
        if raw.get("status") not in OPEN_STATUSES:
            raise CancelRefused(
                RefusalReason.NOT_CANCELLABLE_IN_STATE,
                "This hold is already closed.",
                backend_message=str(raw.get("status")),
            )
        changed = {
            **raw,
            "status": _CANCELLED,
            "cancellationReasonId": self._config.cancellation_reason_id,
            "cancelledByUserId": patron.id,
            "cancelledDate": _folio_instant(self._now()),
            "cancellationAdditionalInformation": _CANCEL_NOTE,
        }
        await self._put_request(FolioCall.CANCEL_HOLD, hold_id, changed)
        # FOLIO closes the request outright ("Closed - Cancelled"); there is no request flow.
        return CancelOutcome.CANCELLED

    async def _put_request(self, call: FolioCall, hold_id: str, changed: dict[str, Any]) -> None:
        """Replace the request ``hold_id`` with ``changed`` (FOLIO answers 204)."""
        await self._client.call(
            call, "PUT", f"/circulation/requests/{hold_id}", json=changed, accept=frozenset({204})
        )

    async def _change_pickup(
        self, patron: Patron, hold_id: str, pickup_library: str | None
    ) -> Hold:
        raw = await self._own_request(patron, hold_id)
        if pickup_library is not None:
            if raw.get("status") != "Open - Not yet filled":
                raise HoldRefused(
                    RefusalReason.NOT_MODIFIABLE_IN_STATE,
                    "The pickup library cannot be changed now.",
                    backend_message=str(raw.get("status")),
                )
            point_id, allowed = await asyncio.gather(
                self._service_point_id(pickup_library),
                self._allowed_service_points(operation="replace", requestId=hold_id),
            )
            if point_id not in allowed.get(str(raw.get("requestType")), set()):
                raise self._not_allowed(allowed, pickup_library)
            changed = {k: v for k, v in raw.items() if k != "pickupServicePoint"}
            changed["pickupServicePointId"] = point_id
            await self._put_request(FolioCall.CHANGE_PICKUP, hold_id, changed)
            raw = await self._own_request(patron, hold_id)
        record = parse(FolioRequest, raw, "GET /circulation/requests/{id}")
        return (await self._to_holds([record]))[0]

    # -- libraries and items ---------------------------------------------------------------

    async def _service_points(self) -> list[FolioServicePoint]:
        body = await self._client.call_json(
            FolioCall.READ,
            "GET",
            "/service-points",
            params={"query": "pickupLocation==true", "limit": _LIMIT},
        )
        points = parse_list(FolioServicePoint, body, "servicepoints", "GET /service-points")
        return [p for p in points if p.pickupLocation]

    async def list_pickup_libraries(self) -> list[Library]:
        return [mapping.library(p) for p in await self._service_points()]

    # -- circulation (self-check machines) -------------------------------------------------

    def _service_point(self, capability: Capability) -> str:
        self._capabilities.require(capability)
        point = self._config.service_point_id
        assert point is not None  # the capability is declared only with one
        return point

    async def _barcode(self, item_id: str) -> str:
        """The barcode FOLIO's circulation takes: the id itself, or an item UUID's barcode."""
        if item_id.startswith(INSTANCE_PREFIX) or not item_id.strip():
            raise NotFound("No such item.")  # a title is never lent or returned
        if not _UUID.match(item_id):
            return item_id
        record = await self._item_record(item_id)
        if not record.barcode:
            raise NotFound("No such item.", operator_detail="FOLIO item without a barcode")
        return record.barcode

    async def checkout(self, patron: Patron, item_id: str) -> Loan:
        """``POST /circulation/check-out-by-barcode`` (``check-out-by-barcode-request.json``:
        item and user barcodes, the tenant's service point); 201 is the new loan, checked to
        be this patron's loan of this copy. FOLIO's refusals are 422 with its own message."""
        point = self._service_point(Capability.CHECKOUT)
        barcode = await self._barcode(item_id)
        path = "/circulation/check-out-by-barcode"
        payload = {
            "itemBarcode": barcode,
            "userBarcode": patron.card_number,
            "servicePointId": point,
        }
        try:
            body = await self._client.call_json(
                FolioCall.CHECKOUT, "POST", path, json=payload, accept=frozenset({201})
            )
        except Refused as exc:
            raise _no_such_barcode(exc) from exc
        record = parse(FolioLoan, body, f"POST {path}")
        if record.item.barcode != barcode:
            raise _mismatch(f"POST {path}", barcode, record.item.barcode)
        if record.userId != patron.id:
            raise _mismatch(f"POST {path}", patron.id, record.userId)
        return mapping.loan(record, self._today(), self._zone, types=self._types)

    async def checkin(self, item_id: str) -> Item:
        """``POST /circulation/check-in-by-barcode`` (``check-in-by-barcode-request.json``:
        barcode, service point, the check-in time); 200 carries the copy as it now stands
        (``Available``, ``Awaiting pickup`` for a hold here, ``In transit``), checked to be
        the copy asked for."""
        point = self._service_point(Capability.CHECKIN)
        barcode = await self._barcode(item_id)
        path = "/circulation/check-in-by-barcode"
        payload = {
            "itemBarcode": barcode,
            "servicePointId": point,
            "checkInDate": _folio_instant(self._now()),
        }
        try:
            body = await self._client.call_json(
                FolioCall.CHECKIN, "POST", path, json=payload, accept=frozenset({200})
            )
        except Refused as exc:
            raise _no_such_barcode(exc) from exc
        answer = parse(mapping.FolioCheckIn, body, f"POST {path}")
        if answer.item.barcode != barcode:
            raise _mismatch(f"POST {path}", barcode, answer.item.barcode)
        if answer.loan is not None and answer.loan.itemId != answer.item.id:
            raise _mismatch(f"POST {path}", answer.item.id, answer.loan.itemId)
        return mapping.checked_in_item(answer, self._types)

    async def get_item(self, item_id: str) -> Item:
        """An item by UUID or barcode, or a title by ``instance:<uuid>``; the answer carries the
        id it was asked by."""
        if item_id.startswith(INSTANCE_PREFIX):
            instance_id = item_id[len(INSTANCE_PREFIX) :]
            if not _UUID.match(instance_id):
                raise NotFound("No such title.")
            record, _ = await self._by_id(FolioInstance, "/inventory/instances/{id}", instance_id)
            title = mapping.instance(record)
            kind = await self._title_type(instance_id) if self._type_holds else None
            return title if kind is None else title.model_copy(update={"material_type": kind})
        # The item under the id it was asked by (its UUID or its barcode), like every lookup.
        found = mapping.item(await self._item_record(item_id), self._types)
        self._type_cache[found.id] = found.material_type
        return found.model_copy(update={"id": item_id})


# mod-circulation's words for a barcode it does not know: check-out "No item with barcode …
# could be found" (ItemByBarcodeInStorageFinder), check-in "No item with barcode … exists".
_NO_SUCH_BARCODE = re.compile(r"^No item with barcode .* (could be found|exists)$")


def _no_such_barcode(refusal: Refused) -> GatewayError:
    """FOLIO's 422 for an unknown barcode is ``NotFound``; any other 422 stays a refusal."""
    if _NO_SUCH_BARCODE.match(refusal.backend_message or ""):
        return NotFound("No such item.", operator_detail=refusal.operator_detail)
    return refusal


def _path_id(value: str) -> str:
    if not _UUID.match(value):
        raise NotFound("No such patron.")
    return value
