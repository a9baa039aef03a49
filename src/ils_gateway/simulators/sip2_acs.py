"""The SIP2 face of the simulated library: an ACS on the wire, built on ``sip2.server``.

``SimulatedACS(library)`` is a handler for ``SIP2Server``: it turns each request into calls
on ``SimulatedLibrary`` and answers the way real ACSs do:

- refusals are ``ok=0`` (or ``N``) with the library's Japanese screen message in AF;
- holds are reported in 64: ready ones in AS, the rest in CD, selected by the summary field
  and paged by BP/BQ (at most ``page_limit`` entries, whatever is asked). A hold with no copy
  yet is listed as ``<title record id> <title>`` (``title_hold_entries="record_id_title"``,
  the default) — the id a 15 takes back in AJ to cancel or move it — or by its title only
  (``"title"``, as some real ACSs do);
- 64 (and 24) carry the card's expiry date in a vendor field (``expiry_field``, default
  ``PA`` with ``YYYYMMDD`` as Evergreen sends it; None leaves it out), and a patron on a
  temporary password gets ``temporary_password_message`` as a screen message (AF);
- 98 states ``supported_messages`` (BX) and ``timeout_period`` (tenths of a second);
- text the wire encoding cannot write (a title with 𠮷 over CP932) is sent with a replacement
  mark rather than failing the answer (``text_errors="replace"``); identifiers never are;
- item state is reported in 18: circulation status, hold queue length (CF), due date (AH),
  hold pickup deadline (CM), locations;
- 93 logins are checked against ``logins`` (CN → CO); when any login is configured the server
  face refuses patron and circulation messages before a successful 93.

The resend rules (97 from the cached last response, a repeated AY/AZ answered from the cache,
96 for a bad checksum) live in the server face and the sans-I/O connection, not here.
Latency per request code (``latency``) is slept before answering, for tests and benchmarks;
the library's own fault knobs add theirs per operation.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ils_gateway.simulators.library import Operation, SimulatedLibrary
from ils_gateway.simulators.outcomes import (
    HoldView,
    ItemInfo,
    LoanView,
    PatronBlock,
    PatronInfo,
    Refusal,
    UnknownRecord,
)
from ils_gateway.simulators.policy import HoldState, ItemType
from ils_gateway.sip2.acs import (
    ACSFace,
    RequestHandler,
    StatusReport,
    end_of_day,
    page,
    page_bound,
)
from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.sip2.fields import (
    CirculationStatus,
    Field,
    PatronStatus,
    PatronStatusFlag,
    SipDate,
    SummaryItem,
)
from ils_gateway.sip2.messages import (
    ACSStatus,
    BlockPatron,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    FeePaidRequest,
    FeePaidResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    ItemStatusUpdateRequest,
    ItemStatusUpdateResponse,
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
from ils_gateway.sip2.server import SIP2Server, SIP2ServerSettings, SIP2Session

_LoanAnswer = TypeVar("_LoanAnswer", CheckoutResponse, RenewResponse)
_Typed = TypeVar(
    "_Typed", CheckoutResponse, RenewResponse, CheckinResponse, ItemInformationResponse
)

__all__ = [
    "QUIRK_NAMES",
    "ServerLimits",
    "SimulatedACS",
    "Sip2Quirks",
    "server_settings",
    "start_sip2_simulator",
]

# Screen messages for what the library model reports as exceptions rather than refusals.
_NO_PATRON = "利用者が見つかりません"
_NO_ITEM = "資料が見つかりません"
_NO_HOLD = "該当する予約がありません"
_WRONG_PASSWORD = "パスワードが正しくありません"
_BAD_AMOUNT = "金額が正しくありません"
_RENEWALS_OFF = "現在、貸出延長は受け付けていません"
TEMPORARY_PASSWORD_MESSAGE = "仮パスワードです。パスワードを変更してください"

_OPERATIONS = {
    "93": Operation.AUTHENTICATE,
    "23": Operation.PATRON_INFO,
    "63": Operation.PATRON_INFO,
    "11": Operation.CHECKOUT,
    "09": Operation.CHECKIN,
    "01": Operation.BLOCK_PATRON,
    "17": Operation.ITEM_INFO,
    "25": Operation.ENABLE_PATRON,
    "15": Operation.PLACE_HOLD,
    "29": Operation.RENEW,
    "65": Operation.RENEW_ALL,
    "37": Operation.PAY_FEE,
}

# The requests the simulated library answers itself.
_HANDLED = ("23", "63", "01", "25", "37", "17", "19", "11", "09", "29", "65", "15")

# SIP2 media type (CK) for each item type.
_MEDIA_TYPE = {
    ItemType.BOOK: "001",
    ItemType.PICTURE_BOOK: "001",
    ItemType.MAGAZINE: "002",
    ItemType.KAMISHIBAI: "000",
    ItemType.CD: "006",
    ItemType.DVD: "000",
    ItemType.CASSETTE: "004",
    ItemType.ART: "000",
}

_SUMMARY_LISTS = {
    SummaryItem.HOLD_ITEMS: ("AS", "hold_items"),
    SummaryItem.OVERDUE_ITEMS: ("AT", "overdue_items"),
    SummaryItem.CHARGED_ITEMS: ("AU", "charged_items"),
    SummaryItem.FINE_ITEMS: ("AV", "fine_items"),
    SummaryItem.RECALL_ITEMS: ("BU", None),
    SummaryItem.UNAVAILABLE_HOLDS: ("CD", "unavailable_holds"),
}


LEGACY_BYTES = {"utf-8": "\udce9", "cp932": "\udc85"}
"""The byte a legacy record carries in a title, per wire encoding (as a surrogateescape
character): Latin-1 é in UTF-8; an unmapped lead byte in CP932."""


@dataclass(frozen=True)
class Sip2Quirks:
    """Switches for what real ACSs do that the spec does not say (sip2.md, "What real ACSs do"
    and "More real-server behaviour"; frames in ``../shared/reference/sip2_wire_examples.txt``).

    Every switch is off by default (the simulator then answers as the spec reads);
    ``Sip2Quirks.all()`` turns on every quirk a gateway must live with. ``renewals_off`` is a
    library setting rather than a protocol habit and stays out of ``all()``.
    """

    pad_lists: bool = False
    """Pad the asked-for 64 list with empty entries up to the BP/BQ range (``AS|`` × 50 for
    ``BP1|BQ50`` while the count says 0000). Evergreen returns ``[@list[($start-1)..($end-1)]]``
    — a Perl slice past the end yields undef entries — and ``add_field`` writes undef as an
    empty field (Evergreen ``Open-ILS/src/perlmods/lib/OpenILS/SIP/Patron.pm`` hold_items /
    unavail_holds; ``evergreen-library-system/SIPServer`` ``ILS/Patron.pm`` and ``Sip.pm``
    ``add_field``: "Undefined value being added")."""
    real_field_order: bool = False
    """Fields in the order real servers write them, not the spec's: AO after the other fields
    (before AF/AG) in 30, 16 and 26, and last in 64 (Evergreen SIPServer ``Sip/MsgType.pm``
    handle_renew / handle_hold / handle_patron_enable; wire example [24], an Evergreen 64 with
    AO last); an empty ``AQ|`` in 10 (``Sip/MsgType.pm`` handle_checkin writes
    ``add_field(FID_PERM_LOCN, $item->permanent_location)`` even when the item has none)."""
    crlf_output: bool = False
    """Answer with CRLF after each frame, as Koha's SIP server does by default (sip2.md
    "Framing"). CR, CRLF and LF input are accepted unless ``cr_only_input`` (Evergreen
    SIPServer ``Sip.pm`` read_SIP_packet strips them: "Cen-Tec self-check terminals transmit
    '\\r\\n'")."""
    cr_only_input: bool = False
    """Read CR-terminated frames only and close the connection, without an answer, on a frame
    ended by LF or CRLF, as strict servers do (sip2.md "More real-server behaviour": "Strict
    servers close the connection on what they cannot parse: ... CRLF terminators"; the spec's
    terminator is CR alone). The gateway's client writes CR by default (``terminator = "cr"``
    in the tenant file)."""
    misleading_status_flags: bool = False
    """98 says checkin N and checkout N while both work, and renewal policy Y whatever the
    renewals do: FOLIO edge-sip2 takes these flags from the SC station settings, not from
    what the ACS does (``repositories/SettingsRepository.java``: checkinOk, checkoutOk,
    acsRenewalPolicy from ``scStationConfig``). Probe, do not trust (sip2.md)."""
    renewals_off: bool = False
    """Refuse every 29 and 65 (renewals switched off) while 98 and BX still say Y."""
    idle_drop: float | None = None
    """Close a connection silent for this many seconds (real ACSs do after about a minute,
    sip2.md "Session"); None: never."""
    drop_on: frozenset[str] = frozenset()
    """Request codes answered by closing the connection instead of a response (37 on several
    servers; a server-side crash on 09 — sip2.md "More real-server behaviour"). Evergreen
    SIPServer ``Sip/MsgType.pm`` new() skips a message type it has no handler for and FOLIO
    edge-sip2 ``MainVerticle.handleBuffer`` logs "Error locating handler" and answers
    nothing."""
    status_before_login: bool = True
    """False: a 99 before a successful 93 closes the connection (when logins are configured;
    sip2.md: "99 before 93 when status-before-login is off")."""
    legacy_title_bytes: bool = False
    """Titles of copies whose barcode ends in 3 carry one legacy byte (``LEGACY_BYTES``) after
    the title, in 18, 12, 30, 16 and 10, and so do the titles of records whose id ends in 3
    where a 64 lists a hold by its title (CD) (sip2.md: "a legacy byte in a title (Latin-1 in
    a UTF-8 stream) is common in old records")."""
    empty_aj_is_title_renewal: bool = False
    """A 29 with an empty ``AJ|`` is read as a title renewal and refused (sip2.md: "leave AJ
    out when there is no title")."""
    strict_required_fields: bool = False
    """Close the connection on an 11 or 09 without AC, and on an 11 or 29 whose "no block due
    date" is 18 spaces (sip2.md: "Strict servers close the connection on what they cannot
    parse")."""

    @classmethod
    def all(cls) -> Sip2Quirks:
        """Every quirk a gateway must live with, on (idle drop after a minute, 37 dropped)."""
        return cls(
            pad_lists=True,
            real_field_order=True,
            crlf_output=True,
            cr_only_input=True,
            misleading_status_flags=True,
            idle_drop=60.0,
            drop_on=frozenset({"37"}),
            status_before_login=False,
            legacy_title_bytes=True,
            empty_aj_is_title_renewal=True,
            strict_required_fields=True,
        )

    @classmethod
    def named(cls, names: Iterable[str]) -> Sip2Quirks:
        """The quirks called ``names`` (``QUIRK_NAMES``; ``all`` for every one) on."""
        chosen = set(names)
        if "all" in chosen:
            return cls.all()
        unknown = chosen - set(QUIRK_NAMES)
        if unknown:
            raise ValueError(f"unknown SIP2 quirk(s): {', '.join(sorted(unknown))}")
        every = cls.all()
        values: dict[str, Any] = {}  # each a field of Sip2Quirks, read by name
        for name in chosen:
            attr = name.replace("-", "_")
            values[attr] = getattr(every, attr)
        if "renewals-off" in chosen:
            values["renewals_off"] = True
        return cls(**values)


QUIRK_NAMES = (
    "pad-lists",
    "real-field-order",
    "crlf-output",
    "cr-only-input",
    "misleading-status-flags",
    "renewals-off",
    "idle-drop",
    "drop-on",
    "status-before-login",
    "legacy-title-bytes",
    "empty-aj-is-title-renewal",
    "strict-required-fields",
)
"""Quirk names for ``--quirk`` (``status-before-login`` turns status-before-login *off*;
``drop-on`` drops 37; ``idle-drop`` drops after 60 s)."""


@dataclass
class SimulatedACS(ACSFace):
    """A SIP2 ACS over ``SimulatedLibrary``: one ``handle`` call per request (dispatch, 93,
    99, 35 and the refusal shapes are ``sip2.acs.ACSFace``'s, shared with the kiosk face)."""

    library: SimulatedLibrary
    logins: Mapping[str, str] = field(default_factory=dict)
    """93 login users (CN) and their passwords (CO); empty: no login needed."""
    institution_id: str = "MIDORI"
    latency: Mapping[str, float] = field(default_factory=dict)
    """Seconds to wait before answering, per request code (``"*"``: every code)."""
    page_limit: int = 50
    """Most entries listed in one 64, whatever BP/BQ ask (real ACSs cap pages too)."""
    item_properties: dict[str, str] = field(default_factory=dict)
    """CH values stored by 19 Item Status Update, per barcode."""
    title_hold_entries: Literal["record_id_title", "title"] = "record_id_title"
    """How AS/CD list a hold with no copy yet: ``<record id> <title>`` or the title only."""
    expiry_field: str | None = "PA"
    """Vendor field id carrying the card's expiry date (YYYYMMDD) in 64 and 24; None: none."""
    renewals_field: str | None = "ZR"
    """Vendor field id with a charged item's renewals so far, in 18; None: not sent (SIP2 2.00
    has no renewal count; real ACSs send one in a vendor field, if at all)."""
    renewals_limit_field: str | None = "ZL"
    """Vendor field id with the renewals allowed, in 18 of a charged item; None: not sent."""
    temporary_password_message: str = TEMPORARY_PASSWORD_MESSAGE
    """Screen message (AF) of a patron who logged in with a temporary password."""
    supported_messages: str = "Y" * 16
    """BX of the 98: which requests this ACS says it supports."""
    timeout_period: int = 600
    """98 timeout in tenths of a second (600: one minute, a common ACS setting)."""
    quirks: Sip2Quirks = field(default_factory=Sip2Quirks)
    """Real-server behaviour switched on (``Sip2Quirks``)."""
    encoding: str = "utf-8"
    """The wire encoding (for ``legacy_title_bytes``: which byte a legacy title carries)."""
    patron_age_fields: bool = True
    """Send PB (birth date) and PC (patron category) in 64, as Koha's SIP server does."""
    type_field: str | None = "CR"
    """Vendor field carrying the library's own item type code (BK, DVD, CD…) in 18, 12, 30
    and 10, as Koha's SIP server does with ``cr_item_field="itype"``; None: CK only."""
    seen_on_item_information: Mapping[str, Literal["keep_lost", "mark_found"]] = field(
        default_factory=dict
    )
    """Koha's SIP account setting of that name, per 93 login user (CN): a 17 on that
    account's connection records the copy as seen today (``keep_lost``), and finds a lost one
    too (``mark_found``); an account not listed (Koha's default, unset) only reads
    (``SimulatedLibrary.item_seen``)."""

    @property
    def login_required(self) -> bool:
        """True when 93 must succeed before patron and circulation messages."""
        return bool(self.logins)

    async def handle(self, message: Message, session: SIP2Session) -> Message:
        """Answer one request (the ``SIP2Server`` handler).

        Raises ``ConnectionAbortedError`` where a quirk makes the ACS drop the connection
        instead of answering (the server face then closes it without a word).
        """
        self._refuse_or_drop(message, session)
        delay = self.latency.get(message.code, self.latency.get("*", 0.0))
        operation = _OPERATIONS.get(message.code)
        if operation is not None:
            delay += self.library.faults.latency_for(operation)
        if delay > 0:
            await asyncio.sleep(delay)
        answer = await self.dispatch(message, session)
        return self._as_real_servers_write(message, answer)

    def handlers(self) -> Mapping[str, RequestHandler]:
        """The library's requests, ``_on_<code>`` each (93, 99 and 35 are ``ACSFace``'s)."""
        return {code: getattr(self, f"_on_{code}") for code in _HANDLED}

    # --- quirks ---

    def _refuse_or_drop(self, message: Message, session: SIP2Session) -> None:
        quirks = self.quirks
        code = message.code
        if code in quirks.drop_on:
            raise ConnectionAbortedError(f"{code}: this ACS drops the connection")
        if (
            code == "99"
            and not quirks.status_before_login
            and self.login_required
            and session.login_user is None
        ):
            raise ConnectionAbortedError("99 before 93: this ACS drops the connection")
        if quirks.strict_required_fields:
            if code in ("11", "09") and message.get("AC") is None:
                raise ConnectionAbortedError(f"{code} without AC: this ACS drops the connection")
            nb_due = getattr(message, "nb_due_date", None)
            if code in ("11", "29") and isinstance(nb_due, SipDate) and nb_due.raw == " " * 18:
                raise ConnectionAbortedError(f"{code} with a blank no-block due date: dropped")

    def _as_real_servers_write(self, request: Message, answer: Message) -> Message:
        quirks = self.quirks
        fields = answer.fields
        if quirks.pad_lists and isinstance(answer, PatronInformationResponse):
            fields = self._padded(request, fields)
        if quirks.legacy_title_bytes and answer.code in ("18", "12", "30", "16", "10"):
            fields = self._legacy_title(fields)
        if quirks.real_field_order:
            fields = _real_order(answer.code, fields)
        if quirks.misleading_status_flags and isinstance(answer, ACSStatus):
            return dataclasses.replace(
                answer, fields=fields, checkin_ok=False, checkout_ok=False, acs_renewal_policy=True
            )
        if fields is answer.fields:
            return answer
        return dataclasses.replace(answer, fields=fields)

    def _padded(self, request: Message, fields: tuple[Field, ...]) -> tuple[Field, ...]:
        assert isinstance(request, PatronInformationRequest)
        wanted = sorted(request.summary.items, key=lambda s: s.value)[:1]
        if not wanted or request.start_item is None or request.end_item is None:
            return fields  # Evergreen pads only a slice asked for with BP and BQ
        fid, _ = _SUMMARY_LISTS[wanted[0]]
        first = page_bound(request.start_item, 1)
        last = min(page_bound(request.end_item, first), first + self.page_limit - 1)
        listed = sum(1 for f, _ in fields if f == fid)
        padding = [(fid, "")] * max(0, last - first + 1 - listed)
        return _insert_before(fields, ("BD", "BE", "BF", "AF", "AG"), padding)

    def _legacy_title(self, fields: tuple[Field, ...]) -> tuple[Field, ...]:
        byte = LEGACY_BYTES.get(codecs.lookup(self.encoding).name)
        barcode = next((v for f, v in fields if f == "AB"), "")
        if byte is None or not barcode.endswith("3"):
            return fields
        return tuple((f, f"{v}{byte}" if f == "AJ" and v else v) for f, v in fields)

    # --- session ---

    def login_accepted(self, user: str, password: str) -> bool:
        """One of ``logins`` (any login when there are none)."""
        return not self.logins or self.logins.get(user) == password

    def status_report(self, session: SIP2Session) -> StatusReport:
        """98: everything on, ``supported_messages`` as configured."""
        return StatusReport(
            checkin_ok=True,
            checkout_ok=True,
            renewal_policy=True,
            status_update_ok=True,
            timeout_period=self.timeout_period,
            institution_id=self.institution_id,
            library_name=self.library.data.name,
            supported_messages=self.supported_messages,
        )

    # --- patrons ---

    def _on_23(self, msg: PatronStatusRequest, session: SIP2Session) -> PatronStatusResponse:
        card = msg.patron_identifier or ""
        try:
            info = self.library.patron_info(card)
        except UnknownRecord:
            return self.unknown_patron(PatronStatusResponse, msg, _NO_PATRON)
        return PatronStatusResponse.build(
            patron_status=self._status(info),
            language=msg.language,
            transaction_date=self.sip_now(),
            institution_id=self.ao(msg),
            patron_identifier=card,
            personal_name=info.name,
            valid_patron=True,
            valid_patron_password=self._password_ok(card, msg.patron_password),
            currency_type="JPY",
            fee_amount=str(info.fee_total),
            screen_messages=self._patron_messages(info),
            extra_fields=self._expiry(info),
        )

    def _on_63(
        self, msg: PatronInformationRequest, session: SIP2Session
    ) -> PatronInformationResponse:
        card = msg.patron_identifier or ""
        now = self.sip_now()
        try:
            info = self.library.patron_info(card)
        except UnknownRecord:
            return self.unknown_patron(PatronInformationResponse, msg, _NO_PATRON)
        counts = info.counts
        extra: list[tuple[str, str]] = []
        for wanted in sorted(msg.summary.items, key=lambda s: s.value)[:1]:
            fid, attr = _SUMMARY_LISTS[wanted]
            entries: tuple[str, ...] = getattr(info, attr) if attr else ()
            if wanted is SummaryItem.UNAVAILABLE_HOLDS:
                entries = self._unavailable_hold_entries(card)
            listed = page(entries, msg.start_item, msg.end_item, self.page_limit)
            extra += [(fid, e) for e in listed]
        rules = self.library.rules
        response = PatronInformationResponse.build(
            strip=True,
            patron_status=self._status(info),
            language=msg.language,
            transaction_date=now,
            hold_items_count=counts["hold"],
            overdue_items_count=counts["overdue"],
            charged_items_count=counts["charged"],
            fine_items_count=counts["fine"],
            recall_items_count=counts["recall"],
            unavailable_holds_count=counts["unavailable_hold"],
            institution_id=self.ao(msg),
            patron_identifier=card,
            personal_name=info.name,
            hold_items_limit=f"{rules.max_holds:04d}" if rules.max_holds is not None else None,
            valid_patron=True,
            valid_patron_password=self._password_ok(card, msg.patron_password),
            currency_type="JPY",
            fee_amount=str(info.fee_total),
            home_address=info.address or None,
            email_address=info.email,
            home_phone_number=info.phone,
            screen_messages=self._patron_messages(info),
        )
        # List fields go in the spec's place (before BD/BE/BF) — order is free on the wire,
        # but keeping them together reads better in logs.
        return PatronInformationResponse(
            **{n: getattr(response, n) for n in response._FIXED_NAMES},
            fields=_insert_before(
                response.fields,
                ("BD", "BE", "BF", "AF"),
                extra + self._expiry(info) + self._age_fields(info),
            ),
        )

    def _unavailable_hold_entries(self, card: str) -> tuple[str, ...]:
        """CD entries: the copy's barcode, else the title record (id and title) or title."""
        entries = []
        for hold in self.library.holds(card):
            if hold.state is HoldState.AWAITING_PICKUP:
                continue
            if hold.barcode is not None:
                entries.append(hold.barcode)
                continue
            title = hold.title
            if self.quirks.legacy_title_bytes and hold.biblio_id % 10 == 3:
                title += LEGACY_BYTES.get(codecs.lookup(self.encoding).name, "")
            if self.title_hold_entries == "record_id_title":
                entries.append(f"{hold.biblio_id} {title}")
            else:
                entries.append(title)
        return tuple(entries)

    def _age_fields(self, info: PatronInfo) -> list[tuple[str, str]]:
        """PB birth date and PC patron category, as Koha's SIP server sends them in 64."""
        if not self.patron_age_fields:
            return []
        return [("PB", info.birth_date.strftime("%Y%m%d")), ("PC", str(info.category))]

    def _expiry(self, info: PatronInfo) -> list[tuple[str, str]]:
        if self.expiry_field is None:
            return []
        return [(self.expiry_field, info.expiry_date.strftime("%Y%m%d"))]

    def _on_01(self, msg: BlockPatron, session: SIP2Session) -> PatronStatusResponse:
        card = msg.patron_identifier or ""
        try:
            info = self.library.block_patron(card, msg.blocked_card_message or None)
        except UnknownRecord:
            return self.unknown_patron(PatronStatusResponse, msg, _NO_PATRON)
        return PatronStatusResponse.build(
            patron_status=self._status(info),
            transaction_date=self.sip_now(),
            institution_id=self.ao(msg),
            patron_identifier=card,
            personal_name=info.name,
            valid_patron=True,
            screen_messages=self._block_messages(info),
        )

    def _on_25(self, msg: PatronEnableRequest, session: SIP2Session) -> PatronEnableResponse:
        card = msg.patron_identifier or ""
        try:
            info = self.library.enable_patron(card)
        except UnknownRecord:
            return self.unknown_patron(PatronEnableResponse, msg, _NO_PATRON)
        return PatronEnableResponse.build(
            patron_status=self._status(info),
            transaction_date=self.sip_now(),
            institution_id=self.ao(msg),
            patron_identifier=card,
            personal_name=info.name,
            valid_patron=True,
            valid_patron_password=self._password_ok(card, msg.patron_password),
            screen_messages=self._block_messages(info),
        )

    def _on_37(self, msg: FeePaidRequest, session: SIP2Session) -> FeePaidResponse:
        card = msg.patron_identifier or ""
        try:
            amount = float(msg.fee_amount or "")
            fee_id = int(msg.fee_identifier) if msg.fee_identifier else None
        except ValueError:
            return self.refused_fee_paid(msg, _BAD_AMOUNT)
        try:
            payment = self.library.pay_fee(card, round(amount), fee_id)
        except Refusal as refusal:
            return self.refused_fee_paid(msg, refusal.message)
        except UnknownRecord as unknown:
            text = _NO_PATRON if unknown.kind == "patron" else "該当する料金がありません"
            return self.refused_fee_paid(msg, text)
        note = f"{payment.accepted}円を受け付けました。未納額 {payment.outstanding}円"
        return FeePaidResponse.build(
            payment_accepted=True,
            transaction_id=msg.transaction_id,
            screen_messages=[note],
            **self.echo(msg, patron=True),
        )

    # --- items ---

    def _on_17(self, msg: ItemInformationRequest, session: SIP2Session) -> ItemInformationResponse:
        barcode = msg.item_identifier or ""
        try:
            seen = self.seen_on_item_information.get(session.login_user or "")
            if seen is not None:
                self.library.item_seen(barcode, mark_found=seen == "mark_found")
            info = self.library.item_info(barcode)
        except UnknownRecord:
            return self.item_not_found(barcode, _NO_ITEM)
        notes = []
        if info.not_for_loan:
            notes.append("館内利用のみ")
        if info.on_hold_shelf:
            notes.append("予約資料として取置中")
        return self._typed(
            ItemInformationResponse.build(
                strip=True,
                circulation_status=CirculationStatus(info.circulation_status),
                transaction_date=self.sip_now(),
                hold_queue_length=str(info.hold_queue_length),
                due_date=end_of_day(info.due),
                hold_pickup_date=end_of_day(info.hold_pickup_deadline),
                item_identifier=barcode,
                title_identifier=info.title,
                owner=info.home_branch,
                media_type=_MEDIA_TYPE.get(info.item_type, "000"),
                permanent_location=info.home_branch,
                current_location=info.loan_branch or info.location,  # a charged item: where lent
                item_properties=self.item_properties.get(barcode),
                screen_messages=notes,
                extra_fields=self._loan_counts(info),
            ),
            info.item_type,
        )

    def _loan_counts(self, info: ItemInfo) -> list[Field]:
        """Vendor fields with the open loan's renewals used and allowed (charged items only)."""
        if info.renewals is None:
            return []
        counts = [
            (self.renewals_field, str(info.renewals)),
            (self.renewals_limit_field, str(self.library.rules.max_renewals)),
        ]
        return [(fid, value) for fid, value in counts if fid is not None]

    def _on_19(
        self, msg: ItemStatusUpdateRequest, session: SIP2Session
    ) -> ItemStatusUpdateResponse:
        barcode = msg.item_identifier or ""
        try:
            info = self.library.item_info(barcode)
        except UnknownRecord:
            return self.refused_item_status_update(msg, _NO_ITEM)
        self.item_properties[barcode] = msg.item_properties or ""
        return ItemStatusUpdateResponse.build(
            strip=True,
            item_properties_ok=True,
            transaction_date=self.sip_now(),
            item_identifier=barcode,
            title_identifier=info.title,
            item_properties=msg.item_properties,
        )

    # --- circulation ---

    def _on_11(self, msg: CheckoutRequest, session: SIP2Session) -> CheckoutResponse:
        card, barcode = msg.patron_identifier or "", msg.item_identifier or ""
        refusal = self._patron_password_refusal(card, msg.patron_password)
        if refusal is None:
            try:
                loan = self.library.checkout(card, barcode, self._branch(session))
            except Refusal as exc:
                refusal = exc.message
            except UnknownRecord as unknown:
                refusal = _NO_PATRON if unknown.kind == "patron" else _NO_ITEM
            else:
                return self._loan_answer(CheckoutResponse, msg, loan, renewal_ok=loan.renewable)
        return self.refused_loan(CheckoutResponse, msg, refusal, title=self._title(barcode))

    def _loan_answer(
        self,
        answer: type[_LoanAnswer],
        msg: CheckoutRequest | RenewRequest,
        loan: LoanView,
        *,
        renewal_ok: bool,
    ) -> _LoanAnswer:
        """12 or 30 for a loan the library made or renewed: AJ, AH and CK from the loan."""
        lent = self.lent(
            answer,
            msg,
            title=loan.title,
            due_date=end_of_day(loan.due),
            renewal_ok=renewal_ok,
            magnetic_media=False,
            media_type=_MEDIA_TYPE.get(loan.item_type),
        )
        return self._typed(lent, loan.item_type)

    def _typed(self, answer: _Typed, item_type: ItemType) -> _Typed:
        """``answer`` with the item type code in ``type_field`` (before AF/AG, as Koha)."""
        if self.type_field is None:
            return answer
        extra = [(self.type_field, item_type.value)]
        fields = _insert_before(answer.fields, ("AF", "AG"), extra)
        return type(answer)(**{n: getattr(answer, n) for n in answer._FIXED_NAMES}, fields=fields)

    def _on_09(self, msg: CheckinRequest, session: SIP2Session) -> CheckinResponse:
        barcode = msg.item_identifier or ""
        location = msg.current_location or ""
        branch = location if location in {b.code for b in self.library.data.branches} else None
        try:
            result = self.library.checkin(barcode, branch)
            info = self.library.item_info(barcode)
        except UnknownRecord:
            return self.refused_checkin(msg, _NO_ITEM)
        notes: list[str] = []
        sort_bin = None
        # CV alert type as Koha's SIP server sends it (C4/SIP/ILS/Transaction/Checkin.pm):
        # 01 a hold to fill here, 02 a hold at another library (the copy travels).
        alert_type: list[tuple[str, str]] = []
        if result.loan_id is None:
            notes.append("貸出されていない資料です")
        if result.hold is not None:
            if result.route_to:
                notes.append(f"予約資料です。{result.route_to}へ回送してください")
                sort_bin = result.route_to
                alert_type = [("CV", "02")]
            else:
                notes.append("予約資料です。予約棚へ置いてください")
                sort_bin = "HOLD"
                alert_type = [("CV", "01")]
        return self._typed(
            CheckinResponse.build(
                strip=True,
                ok=True,
                resensitize=result.hold is None,
                magnetic_media=False,
                alert=result.hold is not None,
                permanent_location=info.home_branch,
                title_identifier=info.title,
                sort_bin=sort_bin,
                media_type=_MEDIA_TYPE.get(info.item_type),
                screen_messages=notes,
                extra_fields=alert_type,
                **self.echo(msg, item=True),
            ),
            info.item_type,
        )

    def _on_29(self, msg: RenewRequest, session: SIP2Session) -> RenewResponse:
        card, barcode = msg.patron_identifier or "", msg.item_identifier or ""
        refusal = self._patron_password_refusal(card, msg.patron_password)
        if refusal is None and self.quirks.renewals_off:
            refusal = _RENEWALS_OFF
        if refusal is None and self.quirks.empty_aj_is_title_renewal and msg.get("AJ") == "":
            refusal = _NO_ITEM  # read as a renewal of the title "", which it cannot find
        if refusal is None:
            try:
                loan = self.library.renew(card, barcode)
            except Refusal as exc:
                refusal = exc.message
            except UnknownRecord as unknown:
                refusal = _NO_PATRON if unknown.kind == "patron" else _NO_ITEM
            else:
                return self._loan_answer(RenewResponse, msg, loan, renewal_ok=True)
        due = None
        try:
            due = self.library.item_info(barcode).due
        except UnknownRecord:
            pass
        return self.refused_loan(RenewResponse, msg, refusal, title=self._title(barcode), due=due)

    def _on_65(self, msg: RenewAllRequest, session: SIP2Session) -> RenewAllResponse:
        card = msg.patron_identifier or ""
        refusal = self._patron_password_refusal(card, msg.patron_password)
        if refusal is None and self.quirks.renewals_off:
            refusal = _RENEWALS_OFF
        if refusal is None:
            try:
                result = self.library.renew_all(card)
            except UnknownRecord:
                refusal = _NO_PATRON
            else:
                notes = [f"{barcode}: {why.message}" for barcode, why in result.unrenewed]
                return RenewAllResponse.build(
                    strip=True,
                    ok=True,
                    renewed_count=len(result.renewed),
                    unrenewed_count=len(result.unrenewed),
                    renewed_items=[loan.barcode for loan in result.renewed],
                    unrenewed_items=[barcode for barcode, _ in result.unrenewed],
                    screen_messages=notes,
                    **self.echo(msg),
                )
        return self.refused_renew_all(msg, refusal)

    # --- holds ---

    def _on_15(self, msg: HoldRequest, session: SIP2Session) -> HoldResponse:
        card = msg.patron_identifier or ""
        barcode = msg.item_identifier or None
        refusal = self._patron_password_refusal(card, msg.patron_password)
        if refusal is None:
            try:
                view = self._hold(msg, card, barcode)
            except Refusal as exc:
                refusal = exc.message
            except UnknownRecord as unknown:
                refusal = {"patron": _NO_PATRON, "hold": _NO_HOLD}.get(unknown.kind, _NO_ITEM)
            except ValueError:
                refusal = "予約の指定が正しくありません"
            else:
                return HoldResponse.build(
                    strip=True,
                    ok=True,
                    available=view.state is HoldState.AWAITING_PICKUP,
                    expiration_date=end_of_day(view.deadline),
                    queue_position=str(view.queue_position) if view.queue_position else None,
                    pickup_location=view.pickup,
                    title_identifier=view.title,
                    item_identifier=barcode,
                    **self.echo(msg, patron=True),
                )
        return self.refused_hold(msg, refusal)

    def _hold(self, msg: HoldRequest, card: str, barcode: str | None) -> HoldView:
        lib = self.library
        mode = msg.hold_mode.value
        biblio_id = None
        if barcode is not None:
            biblio_id = lib.item_info(barcode).biblio_id
        elif msg.title_identifier and msg.title_identifier.isdigit():
            biblio_id = int(msg.title_identifier)
        if biblio_id is None:
            raise ValueError("no item or title given")
        if mode == "+":
            pickup = msg.pickup_location or lib.patron_info(card).home_branch
            if barcode is not None and msg.hold_type == "3":
                return lib.place_hold(card, pickup, barcode=barcode)
            return lib.place_hold(card, pickup, biblio_id=biblio_id)
        hold = next((h for h in lib.holds(card) if h.biblio_id == biblio_id), None)
        if hold is None:
            raise UnknownRecord("hold", biblio_id)
        if mode == "-":
            return lib.cancel_hold(card, hold.hold_id)
        if not msg.pickup_location:
            raise ValueError("no pickup location to change to")
        return lib.change_pickup(card, hold.hold_id, msg.pickup_location)

    # --- helpers ---

    def sip_now(self) -> SipDate:
        """The library's clock."""
        return SipDate.from_datetime(self.library.now().replace(tzinfo=None))

    def _branch(self, session: SIP2Session) -> str | None:
        # A self-check logged in with a branch code as its user stands at that branch.
        codes = {b.code for b in self.library.data.branches}
        return session.login_user if session.login_user in codes else None

    def _title(self, barcode: str) -> str:
        try:
            return self.library.item_info(barcode).title
        except UnknownRecord:
            return ""

    def _password_ok(self, card: str, password: str | None) -> bool | None:
        if not password:
            return None
        return self.library.authenticate(card, password).ok

    def _patron_password_refusal(self, card: str, password: str | None) -> str | None:
        if self._password_ok(card, password) is False:
            return _WRONG_PASSWORD
        return None

    @staticmethod
    def _status(info: PatronInfo) -> PatronStatus:
        flags: set[PatronStatusFlag] = set()
        if info.blocks:
            flags |= {
                PatronStatusFlag.CHARGE_PRIVILEGES_DENIED,
                PatronStatusFlag.RENEWAL_PRIVILEGES_DENIED,
                PatronStatusFlag.HOLD_PRIVILEGES_DENIED,
            }
        if info.overdue_items:
            flags.add(PatronStatusFlag.TOO_MANY_ITEMS_OVERDUE)
        if info.fee_total:
            flags.add(PatronStatusFlag.EXCESSIVE_OUTSTANDING_FEES)
        return PatronStatus.from_flags(flags)

    def _patron_messages(self, info: PatronInfo) -> list[str]:
        notes = self._block_messages(info)
        if info.temporary_password:
            notes.append(self.temporary_password_message)
        return notes

    @staticmethod
    def _block_messages(info: PatronInfo) -> list[str]:
        notes = []
        if PatronBlock.EXPIRED in info.blocks:
            notes.append("利用カードの有効期限が切れています")
        if PatronBlock.INACTIVE in info.blocks:
            notes.append("長期間ご利用がないため、カウンターで確認してください")
        if PatronBlock.MANUAL in info.blocks:
            notes.append(info.block_note or "利用が制限されています")
        return notes


def _insert_before(
    fields: tuple[tuple[str, str], ...], before: tuple[str, ...], extra: list[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    for i, (fid, _) in enumerate(fields):
        if fid in before:
            return (*fields[:i], *extra, *fields[i:])
    return (*fields, *extra)


# Where real servers put AO (Evergreen SIPServer Sip/MsgType.pm): after the other fields but
# before AF/AG in 30, 16 and 26; last of all in 64 (wire example [24]).
_AO_BEFORE_SCREEN = frozenset({"30", "16", "26"})


def _real_order(code: str, fields: tuple[Field, ...]) -> tuple[Field, ...]:
    if code == "10":
        return tuple((f, "" if f == "AQ" else v) for f, v in fields)
    if code == "64" or code in _AO_BEFORE_SCREEN:
        ao = [f for f in fields if f[0] == "AO"]
        rest = [f for f in fields if f[0] != "AO"]
        if code == "64":
            return (*rest, *ao)
        screen = [f for f in rest if f[0] in ("AF", "AG")]
        body = [f for f in rest if f[0] not in ("AF", "AG")]
        return (*body, *ao, *screen)
    return fields


def server_settings(
    acs: SimulatedACS,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    codec: CodecSettings | None = None,
    require_error_detection: bool = False,
    limits: ServerLimits | None = None,
) -> SIP2ServerSettings:
    """The server face's settings for ``acs``: its login rule and the wire-level quirks (CRLF
    out, CR-only input, idle drop, legacy bytes), error detection per message unless
    required; ``limits`` against hostile clients (the server face's defaults otherwise; the
    idle-drop quirk's timeout wins over ``limits.idle_timeout``)."""
    limits = limits or ServerLimits()
    codec = codec or CodecSettings(encoding=acs.encoding)
    quirks = acs.quirks
    return SIP2ServerSettings(
        host=host,
        port=port,
        codec=dataclasses.replace(
            codec,
            text_errors="replace",
            require_checksum=require_error_detection,
            raw_text_bytes=quirks.legacy_title_bytes,
            cr_only_input=quirks.cr_only_input,
            # CD lists holds with no copy by title: free text (legacy bytes, replacement marks)
            free_text_fields=codec.free_text_fields | {"AS", "CD"},
            terminator="\r\n" if quirks.crlf_output else codec.terminator,
        ),
        login_required=acs.login_required,
        idle_timeout=quirks.idle_drop if quirks.idle_drop is not None else limits.idle_timeout,
        frame_deadline=limits.frame_deadline,
        max_connections=limits.max_connections,
        max_connections_per_address=limits.max_connections_per_address,
        max_field_chars=limits.max_field_chars,
    )


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """The simulator's limits against hostile clients (``SIP2ServerSettings``' defaults)."""

    idle_timeout: float | None = SIP2ServerSettings.idle_timeout
    frame_deadline: float | None = SIP2ServerSettings.frame_deadline
    max_connections: int | None = SIP2ServerSettings.max_connections
    max_connections_per_address: int | None = SIP2ServerSettings.max_connections_per_address
    max_field_chars: int = SIP2ServerSettings.max_field_chars


async def start_sip2_simulator(
    library: SimulatedLibrary,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    logins: Mapping[str, str] | None = None,
    codec: CodecSettings | None = None,
    latency: Mapping[str, float] | None = None,
    institution_id: str = "MIDORI",
    require_error_detection: bool = False,
    limits: ServerLimits | None = None,
    **options: Any,
) -> tuple[SIP2Server, SimulatedACS]:
    """Start an ACS over ``library``; ``aclose()`` the server to stop it.

    Error detection is decided per message, as real ACSs do: a request with AY/AZ is checked
    and answered with them, one without is answered without; ``require_error_detection``
    makes a request without AZ a bad frame (answered 96). ``quirks=Sip2Quirks(...)`` (or
    ``Sip2Quirks.all()``) switches on real-server behaviour; the server-level ones (CRLF out,
    idle drop, legacy bytes on the wire) are set up here.

    ``options`` are further ``SimulatedACS`` fields (``title_hold_entries``, ``expiry_field``,
    ``supported_messages``, …). Titles and screen messages the encoding cannot write are
    always replaced, whatever ``codec`` says: an ACS does not fail an answer over a glyph.
    """
    codec = codec or CodecSettings()
    acs = SimulatedACS(
        library,
        logins=dict(logins or {}),
        institution_id=institution_id,
        latency=latency or {},
        encoding=codec.encoding,
        **options,
    )
    settings = server_settings(
        acs,
        host=host,
        port=port,
        codec=codec,
        require_error_detection=require_error_detection,
        limits=limits,
    )
    server = SIP2Server(acs.handle, settings)
    await server.start()
    return server, acs
