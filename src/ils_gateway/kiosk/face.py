"""The gateway as an ACS for self-check machines: one tenant's ``SIP2Server`` handler.

``KioskFace(services, config)`` answers each request from the tenant's backend (SIP2, Koha or
FOLIO) through the same services and rules as the patron API, on the ``kiosk`` channel:

- 93 against the tenant's kiosk logins; 99 → 98 with BX saying only what the backend can do;
- 23/63 authenticate the card (normalised by the tenant's rule) and password (AD, required:
  the backends only lend a patron record to a caller who knows it); a blocked or expired card
  is answered with BL=Y, its status bits set and the block's label in AF; an unknown card or a
  wrong password with BL=N, CQ=N. 63 lists loans (AU), overdue loans (AT), ready holds (AS)
  and other holds (CD), paged by BP/BQ, each entry the copy's barcode or, where there is
  none (a hold on a title), the title;
- 11 checkout (the reading history of an opted-in patron captures the loan through the list
  hooks, sealed to the patron's public key: no password needed), 09 checkin, 17 item
  information, 29 renew and 65 renew all (tenant renewal rules first), 15 hold (+ place,
  - cancel, * change pickup; a hold is named by its id or by the barcode it was placed with,
  even when the ILS lists it under its title), 35 end session;
- every refusal is ok=0 (or N) with a patron-readable screen message (AF): the tenant's label
  for the refusal or block reason, in Japanese unless configured otherwise;
- each connection is answered by its ``TerminalRules`` (``rules_for``: the tenant's
  ``[tenants.kiosk_sip2.reply]`` and ``.policy``, or a terminal profile's): the terminal's
  policy is checked before a checkout (``kiosk.terminal_policy``), and answers are worded and
  shaped by its reply shaping (``kiosk.reply_shaping``; docs/kiosk-reply-policy.md).

93, 99 → 98, 35 and the shape of each refusal are ``sip2.acs.ACSFace``'s, shared with the
simulator's ACS; 96/97 and repeated requests are the server face's (``sip2.server``); so is
log redaction (passwords hidden, card numbers masked). The face calls the tenant's services
(``kiosk.services.KioskServices``), never a backend. ``open_kiosk_faces(gateway)`` starts one
server per tenant whose ``kiosk_sip2`` is enabled; ``kiosk_context`` does it inside the aiohttp app.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any, Literal, TypedDict, TypeVar

import structlog
from aiohttp import web

from ils_gateway.adapters.base import CancelOutcome, Capability
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendUnavailable,
    FeatureDisabled,
    GatewayError,
    MaintenanceWindow,
    NotFound,
    PatronBlocked,
    Refused,
)
from ils_gateway.domain.labels import Language
from ils_gateway.domain.models import Hold, Item, Loan, Patron
from ils_gateway.domain.vocab import (
    BlockReason,
    Channel,
    HoldStatus,
    ItemSource,
    RefusalReason,
)
from ils_gateway.kiosk.circulation_status import circulation_status as _circulation
from ils_gateway.kiosk.config import KioskSip2Config, listener_settings, server_settings
from ils_gateway.kiosk.reload import KioskServers, ReloadResult, reload_from_file
from ils_gateway.kiosk.reply_shaping import (
    ReplyShaper,
    amend,
    checkin_answer,
    checkin_outcome,
)
from ils_gateway.kiosk.services import KioskServices, kiosk_services
from ils_gateway.kiosk.terminal_policy import PolicyRefused, check_checkout, policy_text
from ils_gateway.kiosk.terminal_rules import TerminalRules, resolve_rules
from ils_gateway.kiosk.terminals import TerminalDesk, refusal_for
from ils_gateway.observability import metrics
from ils_gateway.runtime.keys import GATEWAY_KEY, KIOSK_RELOAD_KEY, SETTINGS_KEY
from ils_gateway.runtime.tenant import Gateway
from ils_gateway.services import rules
from ils_gateway.services.account import LoginLocked
from ils_gateway.services.context import Caller
from ils_gateway.sip2.acs import (
    ACSFace,
    PatronAnswer,
    RequestHandler,
    StatusReport,
    end_of_day,
    page,
)
from ils_gateway.sip2.fields import (
    CirculationStatus,
    HoldMode,
    PatronStatus,
    PatronStatusFlag,
    SipDate,
    SummaryItem,
    SupportedMessages,
)
from ils_gateway.sip2.messages import (
    BlockPatron,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    FeePaidRequest,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    ItemStatusUpdateRequest,
    LoginRequest,
    LoginResponse,
    Message,
    PatronEnableRequest,
    PatronEnableResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
)
from ils_gateway.sip2.server import SIP2Server, SIP2Session
from ils_gateway.tenants.terminal_policy import PolicyRefusal
from ils_gateway.tenants.terminal_reply import CheckinShaping, ReplyEvent

__all__ = ["KIOSK_SERVERS_KEY", "KioskFace", "kiosk_context", "open_kiosk_faces"]

log = structlog.get_logger(__name__)

_PatronReply = TypeVar("_PatronReply", PatronStatusResponse, PatronInformationResponse)
_LoanReply = TypeVar("_LoanReply", CheckoutResponse, RenewResponse)

# Screen messages for what is not a labelled refusal or block: (Japanese, English).
_TEXTS: dict[str, tuple[str, str]] = {
    "bad_login": ("カード番号またはパスワードが正しくありません", "Wrong card number or password"),
    "login_locked": (
        "ログインの失敗が続いたため、しばらくご利用いただけません",
        "Too many failed logins; please try again later",
    ),
    "no_password": ("パスワードを入力してください", "Please enter your password"),
    "no_item": ("資料が見つかりません", "Item not found"),
    "no_hold": ("該当する予約がありません", "No such hold"),
    "cancel_requested": (
        "取消を受け付けました。図書館で手続きのうえ取り消します",
        "Cancellation requested: the library will cancel the hold",
    ),
    "no_pickup": ("受取館を指定してください", "Please choose a pickup library"),
    "not_here": ("この機械ではご利用いただけません", "Not available on this machine"),
    "maintenance": (
        "システムメンテナンス中です。しばらくしてからご利用ください",
        "Maintenance in progress; please try again later",
    ),
    "unavailable": (
        "ただいま処理できません。カウンターにお問い合わせください",
        "Cannot be done now; please ask at the counter",
    ),
    "not_on_loan": ("貸出されていない資料です", "This item was not on loan"),
    "hold_blocks_checkin": (
        "予約のある資料です。カウンターへお持ちください",
        "This item is on hold for someone; please hand it to staff",
    ),
}

# Blocks that make the card unusable deny every privilege; the others set their own bit.
_BLOCK_FLAGS: dict[BlockReason, frozenset[PatronStatusFlag]] = {
    BlockReason.LOST_CARD: frozenset({PatronStatusFlag.CARD_REPORTED_LOST}),
    BlockReason.OVERDUE_ITEMS: frozenset({PatronStatusFlag.TOO_MANY_ITEMS_OVERDUE}),
    BlockReason.FINES: frozenset({PatronStatusFlag.EXCESSIVE_OUTSTANDING_FINES}),
    BlockReason.TOO_MANY_CLAIMS: frozenset({PatronStatusFlag.TOO_MANY_CLAIMS_OF_ITEMS_RETURNED}),
}
_ALL_DENIED = frozenset(
    {
        PatronStatusFlag.CHARGE_PRIVILEGES_DENIED,
        PatronStatusFlag.RENEWAL_PRIVILEGES_DENIED,
        PatronStatusFlag.RECALL_PRIVILEGES_DENIED,
        PatronStatusFlag.HOLD_PRIVILEGES_DENIED,
    }
)
_PAGE_LIMIT = 50  # most entries in one 64 list, whatever BP/BQ ask


class _Screen(Exception):
    """A refusal whose screen message is already worded."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class KioskFace(ACSFace):
    """Answers one tenant's self-check machines through its services and rules (a SIP2 ACS)."""

    def __init__(
        self, services: KioskServices, config: KioskSip2Config, desk: TerminalDesk | None = None
    ) -> None:
        self._services = services
        self._desk = desk or TerminalDesk(services.tenant_id, config)
        self._default_lang: Language = (
            config.screen_language or services.tenant.config.language.default
        )
        self._library_names = {
            library.code: library.name for library in services.tenant.config.pickup_libraries
        }
        self._tenant_rules = resolve_rules(config)
        self._tenant_shaper = ReplyShaper(self._tenant_rules.reply, self._library_names)
        self._rules_generation = self._desk.generation

    @property
    def _config(self) -> KioskSip2Config:
        """The tenant's kiosk settings now: a reload (``TerminalDesk.apply``) changes them."""
        return self._desk.config

    @property
    def desk(self) -> TerminalDesk:
        """The terminal profiles this face applies (reloadable)."""
        return self._desk

    def rules_for(self, session: SIP2Session) -> TerminalRules:
        """The reply shaping and policy ``session``'s machine is answered by: its terminal
        profile's own where it has them, else the tenant's (as of the last reload)."""
        return self._rules_and_shaper(session)[0]

    def _rules_and_shaper(self, session: SIP2Session) -> tuple[TerminalRules, ReplyShaper]:
        if self._rules_generation != self._desk.generation:
            self._tenant_rules = resolve_rules(self._config)
            self._tenant_shaper = ReplyShaper(self._tenant_rules.reply, self._library_names)
            self._rules_generation = self._desk.generation
        profile = self._desk.profile(session)
        if profile.reply is None and profile.policy is None:
            return self._tenant_rules, self._tenant_shaper
        cached = session.data.get(_SESSION_RULES)
        if cached is not None and cached[0] is profile:
            return cached[1], cached[2]
        rules_ = resolve_rules(self._config, profile)
        shaper = (
            self._tenant_shaper
            if rules_.reply is self._tenant_rules.reply
            else ReplyShaper(rules_.reply, self._library_names)
        )
        session.data[_SESSION_RULES] = (profile, rules_, shaper)
        return rules_, shaper

    async def handle(self, message: Message, session: SIP2Session) -> Message:
        """A request the session's profile allows, answered under the connection's rules
        (shaped by them last) and counted; one it does not, refused in its answer's shape
        ("not available on this machine")."""
        code = message.code
        if not self._desk.allowed(session, code):
            refusal = refusal_for(self, message, self._text("not_here"))
            if refusal is not None:
                log.info("kiosk.message_not_allowed", tenant=self.tenant_id, code=code)
                metrics.kiosk_message(self.tenant_id, code, "disallowed")
                return refusal
        rules_, shaper = self._rules_and_shaper(session)
        token = _RULES.set((rules_, shaper))
        try:
            answer = await super().handle(message, session)
        except BaseException:
            metrics.kiosk_message(self.tenant_id, code, "failed")
            raise
        finally:
            _RULES.reset(token)
        refused = getattr(answer, "ok", True) is False
        metrics.kiosk_message(self.tenant_id, code, "refused" if refused else "ok")
        return shaper.finish(answer)

    @property
    def _rules(self) -> TerminalRules:
        current = _RULES.get()
        return current[0] if current is not None else self._tenant_rules

    @property
    def _shaper(self) -> ReplyShaper:
        current = _RULES.get()
        return current[1] if current is not None else self._tenant_shaper

    def handlers(self) -> Mapping[str, RequestHandler]:
        """This face's requests (93, 99 and 35 are ``ACSFace``'s)."""
        return {
            "93": self._terminal_login,
            "23": self._patron_status,
            "63": self._patron_information,
            "11": self._checkout,
            "09": self._checkin,
            "17": self._item_information,
            "29": self._renew,
            "65": self._renew_all,
            "15": self._hold,
            "01": self._block_patron,
            "19": self._item_status_update,
            "25": self._patron_enable,
            "37": self._fee_paid,
        }

    @property
    def tenant_id(self) -> str:
        """The tenant this face answers for."""
        return self._services.tenant_id

    @property
    def institution_id(self) -> str:
        """AO sent back to the machines."""
        return self._config.institution_id

    # --- session ---------------------------------------------------------------------------

    def login_accepted(self, user: str, password: str) -> bool:
        """One of the tenant's kiosk logins."""
        return self._config.login_accepted(user, password)

    async def _terminal_login(self, msg: LoginRequest, session: SIP2Session) -> LoginResponse:
        """93, counted: a user or address with too many failed logins is locked for a while
        (the account service's guard), so a terminal password cannot be guessed."""
        user = msg.login_user_id or ""
        password = msg.login_password or ""
        account = self._config.login_named(user)
        if account is not None and not account.allowed_from(session.address):
            # Before the password: a login used from elsewhere is refused whatever it says.
            log.warning(
                "kiosk.login_outside_subnet",
                tenant=self.tenant_id,
                user=user,
                address=session.address,
            )
            metrics.kiosk_error(self.tenant_id, "login_outside_subnet")
            return LoginResponse.build(ok=False)
        ok = await self._services.account.terminal_login(
            user, session.address, lambda: self.login_accepted(user, password)
        )
        if ok:
            session.login_user = user
            self._desk.logged_in(session, msg.location_code, user)
            log.info(
                "kiosk.terminal_login",
                tenant=self.tenant_id,
                user=user,
                **self._desk.describe(session),
            )
        else:
            self.login_refused(user)
            metrics.kiosk_error(self.tenant_id, "login_refused")
        return LoginResponse.build(ok=ok)

    def login_refused(self, user: str) -> None:
        """Logged: a machine with a wrong login, or someone trying."""
        log.warning("kiosk.login_refused", tenant=self.tenant_id, user=user)

    def status_report(self, session: SIP2Session) -> StatusReport:
        """98: only what the backend can do, and nothing written in a maintenance window."""
        supported = self.supported_messages()
        writable = self._writes_allowed()
        return StatusReport(
            checkin_ok=supported.checkin and writable,
            checkout_ok=supported.checkout and writable,
            renewal_policy=supported.renew and writable,
            status_update_ok=False,
            timeout_period=self._config.timeout_period,
            institution_id=self._config.institution_id,
            library_name=self._config.library_name or self._services.tenant_name,
            supported_messages=self._desk.restrict(supported, session).to_bx(),
            screen_messages=[] if writable else [self._text("maintenance")],
        )

    def supported_messages(self) -> SupportedMessages:
        """BX: the requests this face can honour with the tenant's backend."""
        can = self._services.capabilities.supports
        return SupportedMessages(
            patron_status=can(Capability.AUTHENTICATE),
            checkout=can(Capability.CHECKOUT) and self._lending_enabled(),
            checkin=can(Capability.CHECKIN) and self._lending_enabled(),
            block_patron=False,
            sc_acs_status=True,
            request_resend=True,
            login=True,
            patron_information=can(Capability.AUTHENTICATE) and can(Capability.LIST_LOANS),
            end_patron_session=True,
            fee_paid=False,
            item_information=can(Capability.GET_ITEM),
            item_status_update=False,
            patron_enable=False,
            hold=can(Capability.PLACE_HOLD) or can(Capability.CANCEL_HOLD),
            renew=can(Capability.RENEW),
            renew_all=can(Capability.RENEW) or can(Capability.RENEW_MANY),
        )

    # --- patrons ---------------------------------------------------------------------------

    async def _patron_status(
        self, msg: PatronStatusRequest, session: SIP2Session
    ) -> PatronStatusResponse:
        token = _REQUEST_LANGUAGE.set(_SIP2_LANGUAGES.get(msg.language))
        try:
            return await self._patron_status_in_language(msg)
        finally:
            _REQUEST_LANGUAGE.reset(token)

    async def _patron_status_in_language(self, msg: PatronStatusRequest) -> PatronStatusResponse:
        card = msg.patron_identifier or ""
        answer = {"language": msg.language, **self.echo(msg, patron=True)}
        try:
            patron = await self._authenticate(card, msg.patron_password)
        except (_Screen, GatewayError) as exc:
            return self._unknown_patron(PatronStatusResponse, msg, exc)
        answer_24 = PatronStatusResponse.build(
            strip=True,
            patron_status=self._status_bits(patron),
            personal_name=self._shaper.patron_name(patron),
            valid_patron=True,
            valid_patron_password=True,
            screen_messages=[
                *self._password_note(patron, msg.patron_password),
                *self._block_texts(patron),
            ],
            **answer,
        )
        return self._patron_words(answer_24, patron)

    async def _patron_information(
        self, msg: PatronInformationRequest, session: SIP2Session
    ) -> PatronInformationResponse:
        token = _REQUEST_LANGUAGE.set(_SIP2_LANGUAGES.get(msg.language))
        try:
            return await self._patron_information_in_language(msg)
        finally:
            _REQUEST_LANGUAGE.reset(token)

    async def _patron_information_in_language(
        self, msg: PatronInformationRequest
    ) -> PatronInformationResponse:
        card = msg.patron_identifier or ""
        answer = {"language": msg.language, **self.echo(msg, patron=True)}
        try:
            patron = await self._authenticate(card, msg.patron_password)
            if self._services.notices is not None:  # a child's self-check login: こどもメール
                await self._services.notices.kiosk_login(patron, self._services.tenant_name)
            caller = Caller(patron, Channel.KIOSK)
            summary = await self._services.account.summary(caller)
            loans = await self._optional(self._services.loans.list_loans(caller))
            holds = await self._optional(self._services.holds.list_holds(caller))
        except (_Screen, GatewayError) as exc:
            return self._unknown_patron(PatronInformationResponse, msg, exc)
        summary = summary.model_copy(update={"blocks": patron.blocks or summary.blocks})
        lists = _patron_lists(loans, holds)
        wanted = _requested_list(msg.summary.items)
        entries: _ItemLists = {}
        if wanted is not None and wanted in lists:
            entries[wanted] = page(lists[wanted], msg.start_item, msg.end_item, _PAGE_LIMIT)
        limits = self._services.policy.holds
        answer_64 = PatronInformationResponse.build(
            strip=True,
            patron_status=self._status_bits(summary, overdue=len(lists["overdue_items"])),
            hold_items_count=len(lists["hold_items"]),
            overdue_items_count=len(lists["overdue_items"]),
            charged_items_count=len(lists["charged_items"]),
            fine_items_count=0,
            recall_items_count=0,
            unavailable_holds_count=len(lists["unavailable_hold_items"]),
            personal_name=self._shaper.patron_name(summary),
            # BZ is four digits (spec); strict SCs refuse "20".
            hold_items_limit=(
                f"{min(limits.max_total, 9999):04d}" if limits.max_total is not None else None
            ),
            valid_patron=True,
            valid_patron_password=True,
            # What is owed, where the library system's summary says it (SIP2 BV; docs/fees.md)
            currency_type="JPY" if summary.fees_owed is not None else None,
            fee_amount=str(summary.fees_owed) if summary.fees_owed is not None else None,
            screen_messages=[
                *self._password_note(patron, msg.patron_password),
                *self._block_texts(summary),
            ],
            **entries,
            **answer,
        )
        return self._patron_words(answer_64, summary)

    def _patron_words(self, answer: _PatronReply, patron: Patron) -> _PatronReply:
        """A known patron's 24/64 in the library's words: custom fields, home library and the
        added AF/AG lines."""
        shaper: ReplyShaper = self._shaper
        values = shaper.patron_values(patron)
        screen = shaper.home_library_lines(patron) + shaper.screen_lines(ReplyEvent.PATRON, values)
        return amend(
            answer,
            extra=shaper.patron_fields(patron),
            screen=screen,
            prints=shaper.print_lines(ReplyEvent.PATRON, values),
        )

    async def _optional(self, listing: Awaitable[list[Any]]) -> list[Any]:
        """A list the tenant may have switched off on kiosks: empty then."""
        try:
            return await listing
        except FeatureDisabled:
            return []

    # --- items and circulation -----------------------------------------------------------

    async def _checkout(self, msg: CheckoutRequest, session: SIP2Session) -> CheckoutResponse:
        card, item_id = msg.patron_identifier or "", msg.item_identifier or ""
        try:
            _refuse_cancel(msg.cancel, self._text("not_here"))
            # Refused before the ILS is asked for the patron.
            self._services.circulation.require_lending(Channel.KIOSK)
            patron = await self._usable_patron(card, msg.patron_password)
            caller = Caller(patron, Channel.KIOSK)
            decision = await check_checkout(self._rules.policy, self._services, caller, item_id)
            if decision.inhouse and decision.item is not None:
                return self._inhouse_use(msg, patron, decision.item)
            loan = await self._services.circulation.checkout(caller, item_id)
        except (_Screen, GatewayError, PolicyRefused) as exc:
            log.info("kiosk.checkout_refused", tenant=self.tenant_id, error=_kind(exc))
            return self.refused_loan(CheckoutResponse, msg, self._screen_text(exc))
        return self._loan_words(
            self.lent(
                CheckoutResponse,
                msg,
                title=loan.item.title,
                due_date=self._shaper.due_date(loan.due_date, end_of_day(loan.due_date)),
            ),
            ReplyEvent.CHECKOUT,
            patron,
            loan.item,
            loan.due_date,
        )

    def _inhouse_use(self, msg: CheckoutRequest, patron: Patron, item: Item) -> CheckoutResponse:
        """A checkout the terminal's policy makes in-house use (Koha inhouse_item_types,
        inhouse_patron_categories): ok, desensitize N, no due date, no loan made. Logged as
        the in-house use record (no backend takes one through the gateway)."""
        log.info(
            "kiosk.inhouse_use",
            tenant=self.tenant_id,
            material_type=item.material_type.value,
            category=patron.category,
        )
        shaper = self._shaper
        values = {**shaper.patron_values(patron), **shaper.item_values(item)}
        answer = CheckoutResponse.build(
            strip=True,
            ok=True,
            renewal_ok=False,
            desensitize=False,
            title_identifier=item.title,
            due_date="",
            screen_messages=[
                policy_text(self._rules.policy, PolicyRefusal.INHOUSE_USE, self._lang)
            ],
            **self.echo(msg, patron=True, item=True),
        )
        return amend(
            answer,
            extra=shaper.item_fields(item),
            screen=shaper.screen_lines(ReplyEvent.INHOUSE_USE, values),
            prints=shaper.print_lines(ReplyEvent.INHOUSE_USE, values),
        )

    def _loan_words(
        self,
        answer: _LoanReply,
        event: ReplyEvent,
        patron: Patron,
        item: Item,
        due: date | None,
    ) -> _LoanReply:
        """A 12/30 made in the library's words: custom item fields, added AF/AG lines."""
        shaper = self._shaper
        values = {
            **shaper.patron_values(patron),
            **shaper.item_values(item),
            "due_date": _due_text(shaper, due),
        }
        return amend(
            answer,
            extra=shaper.item_fields(item),
            screen=shaper.screen_lines(event, values),
            prints=shaper.print_lines(event, values),
        )

    async def _checkin(self, msg: CheckinRequest, session: SIP2Session) -> CheckinResponse:
        barcode = msg.item_identifier or ""
        shaping = self._rules.reply.checkin
        # The copy is read before and after only where the library's check-in rules need it
        # (not on loan, lost, caught for a hold): the default answers from the check-in alone.
        reads = shaping != CheckinShaping()
        try:
            _refuse_cancel(msg.cancel, self._text("not_here"))
            self._services.circulation.require_lending(Channel.KIOSK)
            before = await self._read_item(barcode) if reads else None
            item = await self._services.circulation.checkin(barcode, Channel.KIOSK)
            after = await self._read_item(barcode) if reads else item
        except (_Screen, GatewayError) as exc:
            log.info("kiosk.checkin_refused", tenant=self.tenant_id, error=_kind(exc))
            return self.refused_checkin(msg, self._screen_text(exc))
        shaper = self._shaper
        values = shaper.item_values(item)
        decided = checkin_answer(shaping, checkin_outcome(before, after), item, values)
        answer = CheckinResponse.build(
            strip=True,
            ok=decided.ok,
            resensitize=decided.resensitize,
            alert=decided.alert,
            permanent_location=item.location or "",
            title_identifier=item.title,
            sort_bin=decided.sort_bin,
            screen_messages=[self._text(decided.refusal)] if decided.refusal else [],
            **self.echo(msg, item=True),
        )
        shown = {
            **values,
            "sort_bin": decided.sort_bin or "",
            "alert_type": decided.alert_type or "",
            "outcome": decided.outcome,
        }
        return amend(
            answer,
            extra=[*decided.extra_fields(shaping), *shaper.item_fields(item)],
            screen=[*decided.screen_lines, *shaper.screen_lines(ReplyEvent.CHECKIN, shown)],
            prints=shaper.print_lines(ReplyEvent.CHECKIN, shown),
        )

    async def _read_item(self, barcode: str) -> Item | None:
        """The copy as it is now, for the check-in rules; None where it cannot be read (then
        the check-in itself decides, and its answer is a plain return)."""
        try:
            return await self._services.catalog.item(barcode)
        except GatewayError:
            return None

    async def _item_information(
        self, msg: ItemInformationRequest, session: SIP2Session
    ) -> ItemInformationResponse:
        item_id = msg.item_identifier or ""
        try:
            sighting = self._rules.reply.item_seen
            item = await self._services.catalog.item(item_id, sighting=sighting)
        except GatewayError as exc:
            return self.item_not_found(item_id, self._screen_text(exc))
        status = _circulation(item.circulation_status)
        if status is CirculationStatus.LOST and self._rules.reply.lost_as_missing:
            status = CirculationStatus.MISSING  # Koha lost_status_for_missing
        shaper = self._shaper
        values = shaper.item_values(item)
        answer = ItemInformationResponse.build(
            strip=True,
            circulation_status=status,
            transaction_date=self.sip_now(),
            item_identifier=item_id,
            title_identifier=item.title,
            permanent_location=item.location,
        )
        return amend(
            answer,
            extra=shaper.item_fields(item),
            screen=shaper.screen_lines(ReplyEvent.ITEM_INFORMATION, values),
            prints=shaper.print_lines(ReplyEvent.ITEM_INFORMATION, values),
        )

    async def _renew(self, msg: RenewRequest, session: SIP2Session) -> RenewResponse:
        card, item_id = msg.patron_identifier or "", msg.item_identifier or ""
        try:
            patron = await self._usable_patron(card, msg.patron_password)
            result = await self._services.loans.renew(Caller(patron, Channel.KIOSK), item_id)
        except (_Screen, GatewayError) as exc:
            return self.refused_loan(RenewResponse, msg, self._screen_text(exc))
        loan = result.loan
        due = self._shaper.due_date(result.new_due_date, end_of_day(result.new_due_date))
        answer = self.lent(
            RenewResponse,
            msg,
            title=loan.item.title if loan is not None else "",
            due_date=due or SipDate.none(),
            renewal_ok=True,
        )
        item = loan.item if loan is not None else Item(id=item_id, title="")
        return self._loan_words(answer, ReplyEvent.RENEW, patron, item, result.new_due_date)

    async def _renew_all(self, msg: RenewAllRequest, session: SIP2Session) -> RenewAllResponse:
        card = msg.patron_identifier or ""
        try:
            patron = await self._usable_patron(card, msg.patron_password)
            caller = Caller(patron, Channel.KIOSK)
            loans = await self._services.loans.list_loans(caller)
            batch = await self._services.loans.renew_many(caller, [loan.item.id for loan in loans])
        except (_Screen, GatewayError) as exc:
            return self.refused_renew_all(msg, self._screen_text(exc))
        renewed = [r.item_id for r in batch.results if r.ok]
        refused = [r for r in batch.results if not r.ok]
        notes = [f"{r.item_id}: {self._result_text(r.reason, r.detail)}" for r in refused]
        return RenewAllResponse.build(
            strip=True,
            ok=True,
            renewed_count=len(renewed),
            unrenewed_count=len(refused),
            renewed_items=renewed,
            unrenewed_items=[r.item_id for r in refused],
            screen_messages=notes,
            **self.echo(msg),
        )

    async def _hold(self, msg: HoldRequest, session: SIP2Session) -> HoldResponse:
        card = msg.patron_identifier or ""
        target = msg.item_identifier or msg.title_identifier or ""
        try:
            patron = await self._usable_patron(card, msg.patron_password)
            caller = Caller(patron, Channel.KIOSK)
            hold = await self._hold_action(caller, msg.hold_mode, target, msg.pickup_location)
            requested = msg.hold_mode is HoldMode.DELETE and hold.cancellation_requested
        except (_Screen, GatewayError) as exc:
            return self.refused_hold(msg, self._screen_text(exc))
        return HoldResponse.build(
            strip=True,
            ok=True,
            available=hold.status is HoldStatus.READY,
            expiration_date=end_of_day(hold.pickup_deadline or hold.expires),
            queue_position=str(hold.queue_position) if hold.queue_position else None,
            pickup_location=hold.pickup_library,
            title_identifier=hold.item.title,
            screen_messages=[self._text("cancel_requested")] if requested else [],
            item_identifier=msg.item_identifier or None,
            **self.echo(msg, patron=True),
        )

    async def _hold_action(
        self, caller: Caller, mode: HoldMode, target: str, pickup: str | None
    ) -> Hold:
        holds = self._services.holds
        if mode is HoldMode.ADD:
            pickup = pickup or caller.patron.home_library
            if not pickup:
                raise _Screen(self._text("no_pickup"))
            batch = await holds.place_holds(caller, [target], pickup)
            result = batch.results[0]
            if result.hold is None:
                raise _Screen(self._result_text(result.reason, result.detail))
            return result.hold
        hold = await holds.find_hold(caller, target)
        if hold is None:
            raise _Screen(self._text("no_hold"))
        if mode is HoldMode.DELETE:
            if await holds.cancel_hold(caller, hold.id) is CancelOutcome.CANCELLATION_REQUESTED:
                # Not cancelled yet: the hold stays on the shelf until staff act.
                return hold.model_copy(update={"cancellation_requested": True})
            return hold.model_copy(update={"status": HoldStatus.CANCELLED})
        if not pickup:
            raise _Screen(self._text("no_pickup"))
        return await holds.change_hold(caller, hold.id, pickup_library=pickup)

    # --- what this face does not do: a clear "no" of the right shape ------------------------

    async def _block_patron(self, msg: BlockPatron, session: SIP2Session) -> Message:
        return self.unknown_patron(PatronStatusResponse, msg, self._text("not_here"), valid=None)

    async def _item_status_update(
        self, msg: ItemStatusUpdateRequest, session: SIP2Session
    ) -> Message:
        return self.refused_item_status_update(msg, self._text("not_here"))

    async def _patron_enable(self, msg: PatronEnableRequest, session: SIP2Session) -> Message:
        return self.unknown_patron(PatronEnableResponse, msg, self._text("not_here"), valid=None)

    async def _fee_paid(self, msg: FeePaidRequest, session: SIP2Session) -> Message:
        """37: no library system takes a payment through the gateway (no backend offers one),
        so 38 with payment accepted N and the library's words; BX says fee paid N."""
        return self.refused_fee_paid(
            msg, policy_text(self._rules.policy, PolicyRefusal.PAYMENT_NOT_TAKEN, self._lang)
        )

    # --- helpers ---------------------------------------------------------------------------

    async def _authenticate(self, card: str, password: str | None) -> Patron:
        """The patron behind card and password (AD); blocked patrons are returned, not refused."""
        return await self._services.account.identify(card, self._password(password))

    async def _usable_patron(self, card: str, password: str | None) -> Patron:
        """As ``_authenticate``, refusing a card that cannot be used (expired, lost…): the
        account service's login, as on the web. A temporary password the tenant gates
        (``account.temporary_password_gate``) may lend, renew or hold nothing: refused with the
        screen message that names the library's password page."""
        password = self._password(password)
        login = await self._services.account.login(card, password)
        if login.password_change_required:
            raise _Screen(self._password_note(login.patron, password)[0])
        return login.patron

    def _password(self, password: str | None) -> str:
        """AD is required: the backends only lend a patron record to a caller who knows it."""
        if not password:
            raise _Screen(self._text("no_password"))
        return password

    def _card_blocks(self, patron: Patron) -> list[BlockReason]:
        return self._services.account.card_blocks(patron)

    def _status_bits(self, patron: Patron, overdue: int = 0) -> PatronStatus:
        flags: set[PatronStatusFlag] = set()
        blocks = set(patron.blocks) | set(self._card_blocks(patron))
        if blocks & rules.CARD_BLOCKS:
            flags |= _ALL_DENIED
        for block in blocks:
            flags |= _BLOCK_FLAGS.get(block, frozenset())
        if overdue or patron.overdue_count:
            flags.add(PatronStatusFlag.TOO_MANY_ITEMS_OVERDUE)
        return PatronStatus.from_flags(flags)

    def _block_texts(self, patron: Patron) -> list[str]:
        labels = self._services.labels
        blocks = dict.fromkeys([*self._card_blocks(patron), *patron.blocks])
        return [labels.label(block, self._lang) for block in blocks]

    def _screen_text(self, error: Exception) -> str:
        """What the machine shows for a refusal: the tenant's label where there is one."""
        labels = self._services.labels
        if isinstance(error, _Screen):
            return error.text
        if isinstance(error, PolicyRefused):
            return policy_text(self._rules.policy, error.kind, self._lang)
        if isinstance(error, Refused):
            if error.reason is RefusalReason.UNKNOWN and error.backend_message:
                return error.backend_message
            return labels.label(error.reason, self._lang)
        if isinstance(error, PatronBlocked):
            return "、".join(labels.label(b, self._lang) for b in error.blocks)
        if isinstance(error, AuthenticationFailed):
            return self._text("bad_login")
        if isinstance(error, LoginLocked):
            return self._text("login_locked")
        if isinstance(error, NotFound):
            return self._text("no_item")
        if isinstance(error, FeatureDisabled):
            return self._text("not_here")
        if isinstance(error, MaintenanceWindow):
            return self._text("maintenance")
        if not isinstance(error, BackendUnavailable):
            log.warning("kiosk.request_failed", tenant=self.tenant_id, error=_kind(error))
        return self._text("unavailable")

    def _result_text(self, reason: RefusalReason | None, detail: str | None) -> str:
        if reason is not None and reason is not RefusalReason.UNKNOWN:
            return self._services.labels.label(reason, self._lang)
        return detail or self._text("unavailable")

    def _text(self, key: str) -> str:
        ja, en = _TEXTS[key]
        return ja if self._lang == "ja" else en

    @property
    def _lang(self) -> Language:
        """The language of this request's screen messages: the one its 23/63 asked for, else
        the tenant's."""
        return _REQUEST_LANGUAGE.get() or self._default_lang

    def _password_note(self, patron: Patron, password: str | None) -> list[str]:
        """A temporary password's screen message, naming the library's password page where
        the library system cannot change it through the gateway."""
        account = self._services.account
        if not password or not account.temporary(patron, password):
            return []
        url = account.password_change_url()
        if self._lang == "en":
            return [f"Temporary password: please change it{f' at {url}' if url else ''}"]
        return [f"仮パスワードです。パスワードを変更してください{f'（{url}）' if url else ''}"]

    def _lending_enabled(self) -> bool:
        return self._services.circulation.lending_enabled(Channel.KIOSK)

    def _writes_allowed(self) -> bool:
        try:
            rules.check_writes_allowed(self._services.policy, self._services.now())
        except MaintenanceWindow:
            return False
        return True

    def sip_now(self) -> SipDate:
        """The tenant's local time."""
        return SipDate.from_datetime(self._services.now().replace(tzinfo=None))

    def _unknown_patron(
        self,
        answer: type[PatronAnswer],
        msg: Message,
        error: Exception,
    ) -> PatronAnswer:
        return self.unknown_patron(answer, msg, self._screen_text(error), password_checked=True)


# The language a 23 or 63 asks for (SIP2 codes: 001 English, 014 Japanese; 000 unknown), for
# the screen messages of that one request.
_SIP2_LANGUAGES: dict[str, Language] = {"001": "en", "014": "ja"}
_REQUEST_LANGUAGE: ContextVar[Language | None] = ContextVar("kiosk_language", default=None)
# The rules of the connection a request came on, and their shaper, for that one request.
_SESSION_RULES = "kiosk.rules"  # session.data: (profile, its rules, their shaper)
_RULES: ContextVar[tuple[TerminalRules, ReplyShaper] | None] = ContextVar(
    "kiosk_rules", default=None
)


def _refuse_cancel(cancel: str | None, text: str) -> None:
    """BI=Y asks to undo the previous checkout or checkin: no backend can, so never act on it."""
    if (cancel or "").upper() == "Y":
        raise _Screen(text)


def _kind(error: Exception) -> str:
    if isinstance(error, PolicyRefused):
        return f"policy:{error.kind}"
    return error.type_slug if isinstance(error, GatewayError) else type(error).__name__


def _due_text(shaper: ReplyShaper, due: date | None) -> str:
    """The due date as templates show it: the library's format, else ISO."""
    if due is None:
        return ""
    shown = shaper.due_date(due, None)
    return shown.raw if shown is not None else due.isoformat()


# Item ids the adapters give what is not a scannable copy: a title (SIP2 ``title:<record id>``
# or ``title:<title>``, adapters/sip2/mapping.py; Koha ``biblio:<biblio_id>``) or a Koha copy
# with no barcode (``item:<item_id>``, adapters/koha/mapping.py).
_NOT_A_BARCODE = ("title:", "biblio:", "item:")


def _entry(item: Item) -> str:
    """A 64 list entry: the copy's barcode, else its title (a machine shows or scans these; the
    gateway's own ids mean nothing to it)."""
    if item.source is ItemSource.ILS and item.barcode:
        return item.barcode  # FOLIO: the id is the item's UUID, the barcode is what is scanned
    if item.source is ItemSource.ILS and item.id and not item.id.startswith(_NOT_A_BARCODE):
        return item.id
    return item.title or item.id


def _patron_lists(loans: Sequence[Loan], holds: Sequence[Hold]) -> dict[str, list[str]]:
    """The 64 item lists by accessor name: AU, AT, AS (ready holds), CD (other holds)."""
    active = [h for h in holds if h.status.is_active]
    return {
        "charged_items": [_entry(loan.item) for loan in loans],
        "overdue_items": [_entry(loan.item) for loan in loans if loan.overdue],
        "hold_items": [_entry(h.item) for h in active if h.status is HoldStatus.READY],
        "unavailable_hold_items": [
            _entry(h.item) for h in active if h.status is not HoldStatus.READY
        ],
    }


_ListName = Literal["charged_items", "overdue_items", "hold_items", "unavailable_hold_items"]


class _ItemLists(TypedDict, total=False):
    """The 64 item list a 63 asked for (at most one), as ``PatronInformationResponse.build``
    takes it."""

    charged_items: list[str]
    overdue_items: list[str]
    hold_items: list[str]
    unavailable_hold_items: list[str]


_SUMMARY_FIELDS: dict[SummaryItem, _ListName] = {
    SummaryItem.HOLD_ITEMS: "hold_items",
    SummaryItem.OVERDUE_ITEMS: "overdue_items",
    SummaryItem.CHARGED_ITEMS: "charged_items",
    SummaryItem.UNAVAILABLE_HOLDS: "unavailable_hold_items",
}


def _requested_list(items: frozenset[SummaryItem] | set[SummaryItem]) -> _ListName | None:
    """The one list a 63 asks for (the spec allows one; the first wins if several are set)."""
    for item in sorted(items, key=lambda s: s.value):
        return _SUMMARY_FIELDS.get(item)
    return None


@asynccontextmanager
async def open_kiosk_faces(
    gateway: Gateway, *, reuse_port: bool = False
) -> AsyncIterator[KioskServers]:
    """Start a SIP2 face for every tenant whose ``kiosk_sip2`` is enabled, on its own
    ``host:port`` and each of its ``listeners``; close them on exit.

    Yields the running servers by tenant id (their bound ports for tests and the operator),
    with every listener's server and each tenant's ``TerminalDesk`` (``kiosk.reload``).
    """
    async with AsyncExitStack() as stack:
        servers = KioskServers()
        for runtime in gateway:
            config = runtime.config.kiosk_sip2
            if config is None or not config.enabled:
                continue
            desk = TerminalDesk(runtime.config.id, config)
            face = KioskFace(kiosk_services(runtime), config, desk)
            tenant = face.tenant_id

            def fault(session: SIP2Session | None, kind: str, tenant: str = tenant) -> None:
                metrics.kiosk_error(tenant, kind)

            hooks: dict[str, Any] = {"framing": desk.framing, "on_error": fault}
            own = server_settings(config, reuse_port=reuse_port, **hooks)
            started = []
            for listener, settings in [
                (None, own),
                *((ln, listener_settings(config, ln, reuse_port=reuse_port, **hooks))
                  for ln in config.listeners),
            ]:  # fmt: skip
                server = SIP2Server(face.handle, settings)
                await stack.enter_async_context(server)
                desk.bind_listener(server.port, listener)
                log.info(
                    "kiosk.face_started",
                    tenant=tenant,
                    port=server.port,
                    listener=listener.name if listener is not None else None,
                    tls=settings.ssl is not None,
                    proxy_protocol=settings.proxy_protocol,
                )
                started.append(server)
            servers[tenant] = started[0]
            servers.listeners[tenant] = started
            servers.desks[tenant] = desk
        yield servers


KIOSK_SERVERS_KEY = web.AppKey("kiosk_servers", KioskServers)


async def kiosk_context(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: the SIP2 faces run while the app runs (after the gateway).

    Where the tenant file is known (``GatewaySettings.tenants_source``), SIGHUP and the operator
    call (``KIOSK_RELOAD_KEY``) reload the faces' terminal profiles from it."""
    settings = app[SETTINGS_KEY]
    reuse_port = settings.reuse_port  # serve --workers: every worker listens
    async with open_kiosk_faces(app[GATEWAY_KEY], reuse_port=reuse_port) as servers:
        app[KIOSK_SERVERS_KEY] = servers
        source = settings.tenants_source
        if source is None:
            yield
            return

        def reload(tenant: str | None = None) -> list[ReloadResult]:
            desks = servers.desks if tenant is None else {
                t: d for t, d in servers.desks.items() if t == tenant
            }  # fmt: skip
            return reload_from_file(desks, source)

        app[KIOSK_RELOAD_KEY] = reload
        loop = asyncio.get_running_loop()
        hooked = False
        try:
            loop.add_signal_handler(signal.SIGHUP, reload)
            hooked = True
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            log.info("kiosk.sighup_unavailable")  # not the main thread, or no SIGHUP here
        try:
            yield
        finally:
            if hooked:
                loop.remove_signal_handler(signal.SIGHUP)
