"""Deliberately wrong variants of the Koha REST, SIP2 and e-library simulators, for proving the
contract suite.

Each fault breaks one promise the way a misconfigured or buggy ILS would, on top of the
correct simulator (a middleware, or a wrapper round the ACS's handler, rewrites its answers),
so the contract tests can be shown to fail, and to fail in the right check.

``KohaFault``:

- ``unmappable_hold_status``: hold lists carry a ``status`` letter Koha never uses.
- ``missing_due_date``: checkouts come without ``due_date``.
- ``renewal_without_effect``: a renewal answers 201 with the loan as it was; nothing renewed.

``Sip2Fault``:

- ``unmappable_hold_status``: the 18 of a copy the patron holds says circulation status 01
  ("other"), which tells nothing about the hold.
- ``missing_due_date``: the 18 of a copy on loan has no AH; ``blank_due_date``: AH is empty.
- ``renewal_without_effect``: a 29 is answered ok with the loan's unchanged due date; nothing
  renewed.
- ``missing_title``: the 18 of any item has no AJ (title identifier).
- ``checkin_drops_connection``: a 09 naming an item the library does not have closes the
  connection, unanswered (as an ACS whose worker dies on an unknown barcode).
- ``cancel_answered_with_resend``: a 15 cancelling a hold on an item the library does not have
  is answered with a 96 (send again), however often it is sent: no readable answer.
- ``summary_counts_zero``: a 64 that lists nothing (no summary field asked) says 0 for every
  count; the 64s carrying a list keep the right counts.
- ``overdue_count_zero``: every 64 says 0 overdue items (and lists none in AT).
- ``repeated_hold_entry``: the first unavailable hold is listed twice in CD, and counted twice.

``ElibraryFault``:

- ``return_without_effect``: returning an e-book answers 204, and the patron keeps it.

Never serve these to anything but tests.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from aiohttp import web

from ils_gateway.simulators.elibrary import ElibrarySimulatorConfig, create_elibrary_app
from ils_gateway.simulators.koha import (
    API,
    KOHA_LIBRARY,
    Handler,
    checkout_json,
    create_koha_app,
)
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.outcomes import UnknownRecord
from ils_gateway.simulators.sip2_acs import SimulatedACS
from ils_gateway.sip2.fields import CirculationStatus, HoldMode, SipDate
from ils_gateway.sip2.messages import (
    CheckinRequest,
    HoldRequest,
    ItemInformationResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewRequest,
    RenewResponse,
    RequestSCResend,
)
from ils_gateway.sip2.server import SIP2Server, SIP2ServerSettings, SIP2Session


class KohaFault(StrEnum):
    """One way the broken Koha simulator breaks the contract."""

    UNMAPPABLE_HOLD_STATUS = "unmappable_hold_status"
    MISSING_DUE_DATE = "missing_due_date"
    RENEWAL_WITHOUT_EFFECT = "renewal_without_effect"


UNMAPPABLE_STATUS = "Z"  # not one of Koha's found letters (null, T, P, W)

_HOLD_LISTS = re.compile(rf"^{API}/(holds|patrons/\d+/holds)$")
_RENEWAL = re.compile(rf"^{API}/checkouts/(\d+)/renewal$")


def _rewrite(body: Any, change: Any) -> Any:
    rows = body if isinstance(body, list) else [body]
    for row in rows:
        if isinstance(row, dict):
            change(row)
    return body


async def _answer_json(response: web.StreamResponse) -> Any | None:
    if not isinstance(response, web.Response) or response.content_type != "application/json":
        return None
    return json.loads(response.text or "null")


def _fault_middleware(fault: KohaFault) -> Any:
    @web.middleware
    async def broken(request: web.Request, handler: Handler) -> web.StreamResponse:
        renewal = _RENEWAL.match(request.path)
        if fault is KohaFault.RENEWAL_WITHOUT_EFFECT and renewal and request.method == "POST":
            library: SimulatedLibrary = request.app[KOHA_LIBRARY]
            checkout_id = int(renewal.group(1))
            for patron in library.data.patrons:
                for loan in library.loans(patron.card_number):
                    if loan.checkout_id == checkout_id:
                        return web.json_response(checkout_json(loan), status=201)
            return await handler(request)
        response = await handler(request)
        if request.method != "GET" or response.status != 200:
            return response
        body = await _answer_json(response)
        if body is None:
            return response
        if fault is KohaFault.UNMAPPABLE_HOLD_STATUS and _HOLD_LISTS.match(request.path):
            body = _rewrite(body, lambda row: row.update(status=UNMAPPABLE_STATUS))
        elif fault is KohaFault.MISSING_DUE_DATE and request.path == f"{API}/checkouts":
            body = _rewrite(body, lambda row: row.pop("due_date", None))
        else:
            return response
        return web.json_response(body, status=response.status)

    return broken


def create_broken_koha_app(
    library: SimulatedLibrary, fault: KohaFault, **kwargs: Any
) -> web.Application:
    """The Koha simulator over ``library`` with ``fault`` (kwargs as ``create_koha_app``)."""
    app = create_koha_app(library, **kwargs)
    app.middlewares.append(_fault_middleware(fault))
    return app


class Sip2Fault(StrEnum):
    """One way the broken SIP2 ACS breaks the contract (``none``: it does not)."""

    NONE = "none"
    UNMAPPABLE_HOLD_STATUS = "unmappable_hold_status"
    MISSING_DUE_DATE = "missing_due_date"
    BLANK_DUE_DATE = "blank_due_date"
    RENEWAL_WITHOUT_EFFECT = "renewal_without_effect"
    MISSING_TITLE = "missing_title"
    CHECKIN_DROPS_CONNECTION = "checkin_drops_connection"
    CANCEL_ANSWERED_WITH_RESEND = "cancel_answered_with_resend"
    SUMMARY_COUNTS_ZERO = "summary_counts_zero"
    OVERDUE_COUNT_ZERO = "overdue_count_zero"
    REPEATED_HOLD_ENTRY = "repeated_hold_entry"


@dataclass
class BrokenACS(SimulatedACS):
    """The simulated ACS with one ``Sip2Fault`` applied to its answers."""

    fault: Sip2Fault = Sip2Fault.MISSING_DUE_DATE
    held_copies: set[str] = field(default_factory=set)
    """Barcodes listed in the AS/CD of any 64 answered so far."""

    async def handle(self, message: Message, session: SIP2Session) -> Message:
        """Answer as the correct ACS would, then break the answer."""
        if self.fault is Sip2Fault.RENEWAL_WITHOUT_EFFECT and isinstance(message, RenewRequest):
            return self._renewed_in_name_only(message)
        unknown = self._names_unknown_item(message)
        if self.fault is Sip2Fault.CHECKIN_DROPS_CONNECTION and unknown:
            if isinstance(message, CheckinRequest):
                raise ConnectionResetError("broken ACS: dropped on an unknown item")
        if self.fault is Sip2Fault.CANCEL_ANSWERED_WITH_RESEND and unknown:
            if isinstance(message, HoldRequest) and message.hold_mode is HoldMode.DELETE:
                return RequestSCResend()
        answer = await super().handle(message, session)
        if isinstance(answer, PatronInformationResponse):
            self.held_copies.update(answer.get_all("AS") + answer.get_all("CD"))
            return self._miscounted(message, answer)
        if not isinstance(answer, ItemInformationResponse):
            return answer
        if self.fault is Sip2Fault.UNMAPPABLE_HOLD_STATUS:
            if answer.item_identifier in self.held_copies:
                return replace(answer, circulation_status=CirculationStatus.OTHER)
        elif self.fault in (Sip2Fault.MISSING_DUE_DATE, Sip2Fault.BLANK_DUE_DATE):
            blank = self.fault is Sip2Fault.BLANK_DUE_DATE
            fields = [(f, "" if blank else None) if f == "AH" else (f, v) for f, v in answer.fields]
            return replace(answer, fields=tuple((f, v) for f, v in fields if v is not None))
        elif self.fault is Sip2Fault.MISSING_TITLE:
            return replace(answer, fields=tuple((f, v) for f, v in answer.fields if f != "AJ"))
        return answer

    def _names_unknown_item(self, message: Message) -> bool:
        barcode = message.get("AB")
        if not barcode:
            return False
        try:
            self.library.item_info(barcode)
        except UnknownRecord:
            return True
        return False

    def _unavailable_hold_entries(self, card: str) -> tuple[str, ...]:
        entries = super()._unavailable_hold_entries(card)
        if self.fault is Sip2Fault.REPEATED_HOLD_ENTRY:
            return entries + entries[:1]
        return entries

    def _miscounted(
        self, request: Message, answer: PatronInformationResponse
    ) -> PatronInformationResponse:
        if self.fault is Sip2Fault.REPEATED_HOLD_ENTRY and answer.unavailable_holds_count:
            return replace(answer, unavailable_holds_count=answer.unavailable_holds_count + 1)
        if self.fault is Sip2Fault.OVERDUE_COUNT_ZERO:
            fields = tuple((f, v) for f, v in answer.fields if f != "AT")
            return replace(answer, overdue_items_count=0, fields=fields)
        lists_nothing = isinstance(request, PatronInformationRequest) and not request.summary.items
        if self.fault is Sip2Fault.SUMMARY_COUNTS_ZERO and lists_nothing:
            return replace(
                answer,
                hold_items_count=0,
                overdue_items_count=0,
                charged_items_count=0,
                unavailable_holds_count=0,
            )
        return answer

    def _renewed_in_name_only(self, message: RenewRequest) -> RenewResponse:
        barcode = message.item_identifier or ""
        try:
            info = self.library.item_info(barcode)
        except UnknownRecord:
            info = None
        due = info.due if info is not None else None
        return RenewResponse.build(
            strip=True,
            ok=info is not None and due is not None,
            renewal_ok=True,
            magnetic_media=False,
            desensitize=True,
            transaction_date=SipDate.from_datetime(self.library.now().replace(tzinfo=None)),
            institution_id=message.institution_id or self.institution_id,
            patron_identifier=message.patron_identifier or "",
            item_identifier=barcode,
            title_identifier=info.title if info is not None else "",
            due_date=(
                SipDate.from_datetime(datetime.combine(due, time(23, 59, 59)))
                if due is not None
                else SipDate.none()
            ),
        )


async def start_broken_sip2_simulator(
    library: SimulatedLibrary,
    fault: Sip2Fault,
    *,
    logins: dict[str, str] | None = None,
    institution_id: str = "MIDORI",
) -> tuple[SIP2Server, BrokenACS]:
    """Start the ACS over ``library`` with ``fault`` on 127.0.0.1, a free port."""
    acs = BrokenACS(library, logins=dict(logins or {}), institution_id=institution_id, fault=fault)
    server = SIP2Server(
        acs.handle, SIP2ServerSettings(host="127.0.0.1", port=0, login_required=acs.login_required)
    )
    await server.start()
    return server, acs


class ElibraryFault(StrEnum):
    """One way the broken e-library simulator breaks the contract."""

    RETURN_WITHOUT_EFFECT = "return_without_effect"


_EBOOK_RETURN = re.compile(r"^/v1/patron/checkouts/[^/]+$")


def create_broken_elibrary_app(
    fault: ElibraryFault, config: ElibrarySimulatorConfig | None = None
) -> web.Application:
    """The e-library simulator (state under ``ELIBRARY_STATE``) with ``fault``."""

    @web.middleware
    async def broken(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "DELETE" and _EBOOK_RETURN.match(request.path):
            return web.Response(status=204)  # said returned; nothing returned
        return await handler(request)

    app = create_elibrary_app(config)
    app.middlewares.append(broken)
    return app
