"""The ACS side of SIP2 that every server face shares: one dispatch, the common answers.

A face (the gateway's kiosk face, the simulator's ACS) subclasses ``ACSFace`` and supplies
only its own handlers (``handlers()``: message code → handler, sync or async), its 93 check
(``login_accepted``), what its 98 says (``status_report``) and its clock (``sip_now``). Here:

- dispatch by message code (a code with no handler closes the connection, as Evergreen's
  SIPServer and FOLIO edge-sip2 do with a message they cannot handle);
- 93: the login check, the session's ``login_user`` set on success;
- 99 → 98 from the face's ``StatusReport``; 35 → 36;
- refusal answers (ok=0 / N with a screen message, of the right shape for each request).

97, repeated requests, 96 for a bad frame and the login gate before a 93 are the server
face's (``sip2.server`` over ``sip2.connection``), not a handler's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property
from typing import Any, TypeVar

import structlog

from ils_gateway.sip2.errors import RequestRejected, error_site
from ils_gateway.sip2.fields import CirculationStatus, PatronStatus, SipDate
from ils_gateway.sip2.messages import (
    ACSStatus,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    FeePaidRequest,
    FeePaidResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationResponse,
    ItemStatusUpdateRequest,
    ItemStatusUpdateResponse,
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
    SCStatus,
)
from ils_gateway.sip2.server import SIP2Session

__all__ = [
    "UNKNOWN_PATRON_STATUS",
    "ACSFace",
    "PatronAnswer",
    "RequestHandler",
    "StatusReport",
    "end_of_day",
    "page",
    "page_bound",
]

log = structlog.get_logger("ils_gateway.sip2.acs")

_LoanAnswer = TypeVar("_LoanAnswer", CheckoutResponse, RenewResponse)
PatronAnswer = TypeVar(
    "PatronAnswer", PatronStatusResponse, PatronInformationResponse, PatronEnableResponse
)
"""A 24, 64 or 26: ``unknown_patron`` answers with the class it is given."""

RequestHandler = Callable[[Any, SIP2Session], Message | Awaitable[Message]]
"""One request code's handler: the request (its message class) and the session → the answer."""

UNKNOWN_PATRON_STATUS = PatronStatus("Y" * 4 + " " * 10)
"""The 14-char patron status of a patron the ACS does not know or let in: all privileges
denied."""


@dataclass(frozen=True)
class StatusReport:
    """What one face says of itself in its 98 (the rest is the same for every face)."""

    checkin_ok: bool
    checkout_ok: bool
    renewal_policy: bool
    status_update_ok: bool
    timeout_period: int
    institution_id: str
    library_name: str
    supported_messages: str
    screen_messages: Sequence[str] = ()


class ACSFace(ABC):
    """A SIP2 ACS: ``handle`` is the ``SIP2Server`` handler."""

    @abstractmethod
    def handlers(self) -> Mapping[str, RequestHandler]:
        """The face's own handlers by request code (93, 99 and 35 are answered here)."""

    @abstractmethod
    def login_accepted(self, user: str, password: str) -> bool:
        """Whether a 93 with ``user`` (CN) and ``password`` (CO) logs the machine in."""

    @abstractmethod
    def status_report(self, session: SIP2Session) -> StatusReport:
        """What this ACS says in its 98 now."""

    @abstractmethod
    def sip_now(self) -> SipDate:
        """The transaction date of an answer."""

    @property
    @abstractmethod
    def institution_id(self) -> str:
        """AO of answers whose request has none."""

    def login_refused(self, user: str) -> None:  # noqa: B027 (a hook; nothing by default)
        """A 93 was refused (for a face that logs it)."""

    async def handle(self, message: Message, session: SIP2Session) -> Message:
        """Answer one request (the ``SIP2Server`` handler)."""
        return await self.dispatch(message, session)

    async def dispatch(self, message: Message, session: SIP2Session) -> Message:
        """The answer of the handler for ``message``'s code.

        A request the codec accepted but no handler can take (a value a handler cannot use:
        BV ``nan``, ...) never escapes as an unhandled exception: it is answered with the
        refusal of its shape (``refusal``), or the connection is closed (``RequestRejected``)
        where there is none. A write (11, 29, 09, 65, 15, 19, 37) is never answered "refused"
        after a failure: it may have been carried out, so the connection is closed and the
        machine (or the gateway's client) treats its outcome as unknown, never as "not done".
        (A field over its length limit never gets here: the server
        face closes the connection, ``SIP2ServerSettings.max_field_chars``.) Logged once,
        naming the message code and the error type, never a value.
        """
        handler = self._table.get(message.code)
        if handler is None:
            raise ConnectionAbortedError(f"{message.code}: no handler on this ACS")
        try:
            answer = handler(message, session)
            if not isinstance(answer, Message):
                answer = await answer
        except (ConnectionError, RequestRejected):
            raise
        except Exception as exc:
            where = error_site(exc)
            refusal = self.refusal(message, self.refusal_text)
            log.warning(
                "sip2.acs.request_failed",
                code=message.code,
                error=type(exc).__name__,
                where=where,
                answered="refusal" if refusal is not None else "closed",
            )
            if refusal is None:
                raise RequestRejected(f"{message.code}: {type(exc).__name__}") from None
            return refusal
        return answer

    refusal_text: str = "Request refused"
    """The screen message (AF) of a refusal for a request the handlers could not take."""

    def refusal(self, msg: Message, text: str) -> Message | None:
        """The refusal answer of a read request ``msg`` (17, 23, 63, 25), or None: for a
        write, whose failure may have come after it was carried out, and for a request with no
        refusal shape."""
        if msg.code == "17":
            return self.item_not_found(msg.get("AB") or "", text)
        if isinstance(msg, PatronStatusRequest):
            return self.unknown_patron(PatronStatusResponse, msg, text, valid=None)
        if isinstance(msg, PatronInformationRequest):
            return self.unknown_patron(PatronInformationResponse, msg, text, valid=None)
        if isinstance(msg, PatronEnableRequest):
            return self.unknown_patron(PatronEnableResponse, msg, text, valid=None)
        return None

    @cached_property
    def _table(self) -> dict[str, RequestHandler]:
        common: dict[str, RequestHandler] = {
            "93": self._acs_login,
            "99": self._acs_status,
            "35": self._acs_end_session,
        }
        return {**common, **self.handlers()}

    # --- what every ACS answers alike ---------------------------------------------------

    def _acs_login(self, msg: LoginRequest, session: SIP2Session) -> LoginResponse:
        user = msg.login_user_id or ""
        ok = self.login_accepted(user, msg.login_password or "")
        if ok:
            session.login_user = user
        else:
            self.login_refused(user)
        return LoginResponse.build(ok=ok)

    def _acs_status(self, msg: SCStatus, session: SIP2Session) -> ACSStatus:
        report = self.status_report(session)
        return ACSStatus.build(
            online_status=True,
            checkin_ok=report.checkin_ok,
            checkout_ok=report.checkout_ok,
            acs_renewal_policy=report.renewal_policy,
            status_update_ok=report.status_update_ok,
            offline_ok=False,
            timeout_period=report.timeout_period,
            retries_allowed=3,
            date_time_sync=self.sip_now(),
            protocol_version="2.00",
            institution_id=report.institution_id,
            library_name=report.library_name,
            supported_messages=report.supported_messages,
            terminal_location=session.login_user or None,
            screen_messages=list(report.screen_messages),
        )

    def _acs_end_session(self, msg: EndPatronSessionRequest, session: SIP2Session) -> Message:
        return EndSessionResponse.build(
            end_session=True,
            transaction_date=self.sip_now(),
            institution_id=self.ao(msg),
            patron_identifier=msg.patron_identifier or "",
        )

    def ao(self, msg: Message) -> str:
        """AO of the answer: the request's, else this ACS's."""
        return msg.get("AO") or self.institution_id

    # --- refusals: ok=0 (or N) and the screen message, in each answer's shape --------------

    def lent(
        self,
        answer: type[_LoanAnswer],
        msg: CheckoutRequest | RenewRequest,
        *,
        title: str,
        due_date: SipDate | None,
        renewal_ok: bool = False,
        magnetic_media: bool | None = None,
        media_type: str | None = None,
        ok: bool = True,
        screen_messages: Sequence[str] = (),
    ) -> _LoanAnswer:
        """12 or 30: the loan made or renewed (desensitize), or refused (``ok=False``)."""
        return answer.build(
            strip=True,
            ok=ok,
            renewal_ok=renewal_ok,
            magnetic_media=magnetic_media,
            desensitize=ok,
            title_identifier=title,
            due_date=due_date,
            media_type=media_type,
            screen_messages=list(screen_messages),
            **self.echo(msg, patron=True, item=True),
        )

    def refused_loan(
        self,
        answer: type[_LoanAnswer],
        msg: CheckoutRequest | RenewRequest,
        text: str,
        *,
        title: str = "",
        due: date | None = None,
    ) -> _LoanAnswer:
        """11 or 29 refused: AJ and AH as far as the ACS knows them."""
        return self.lent(
            answer,
            msg,
            ok=False,
            title=title,
            due_date=end_of_day(due) or SipDate.none(),
            screen_messages=[text],
        )

    def refused_checkin(self, msg: CheckinRequest, text: str) -> CheckinResponse:
        """09 refused: alert, no location."""
        return CheckinResponse.build(
            strip=True,
            ok=False,
            resensitize=False,
            alert=True,
            permanent_location="",
            screen_messages=[text],
            **self.echo(msg, item=True),
        )

    def refused_renew_all(self, msg: RenewAllRequest, text: str) -> RenewAllResponse:
        """65 refused: nothing renewed, nothing listed."""
        return RenewAllResponse.build(
            strip=True,
            ok=False,
            renewed_count=0,
            unrenewed_count=0,
            screen_messages=[text],
            **self.echo(msg),
        )

    def refused_hold(self, msg: HoldRequest, text: str) -> HoldResponse:
        """15 refused (AB echoed only when the request named a copy)."""
        return HoldResponse.build(
            strip=True,
            ok=False,
            available=False,
            screen_messages=[text],
            item_identifier=msg.item_identifier or None,
            **self.echo(msg, patron=True),
        )

    def item_not_found(self, barcode: str, text: str) -> ItemInformationResponse:
        """18 for a copy the ACS cannot find (or tell about)."""
        return ItemInformationResponse.build(
            strip=True,
            circulation_status=CirculationStatus.OTHER,
            transaction_date=self.sip_now(),
            item_identifier=barcode,
            title_identifier="",
            screen_messages=[text],
        )

    def refused_item_status_update(
        self, msg: ItemStatusUpdateRequest, text: str
    ) -> ItemStatusUpdateResponse:
        """19 refused: no properties stored."""
        return ItemStatusUpdateResponse.build(
            item_properties_ok=False,
            transaction_date=self.sip_now(),
            item_identifier=msg.item_identifier or "",
            screen_messages=[text],
        )

    def refused_fee_paid(self, msg: FeePaidRequest, text: str) -> FeePaidResponse:
        """37 refused: payment not accepted (BK echoed)."""
        return FeePaidResponse.build(
            payment_accepted=False,
            transaction_id=msg.transaction_id,
            screen_messages=[text],
            **self.echo(msg, patron=True),
        )

    def unknown_patron(
        self,
        answer: type[PatronAnswer],
        msg: Message,
        text: str,
        *,
        valid: bool | None = False,
        password_checked: bool = False,
    ) -> PatronAnswer:
        """24, 64 or 26 for a patron the ACS does not know or let in: BL=N (no BL when
        ``valid`` is None); CQ=N too where the ACS says the password was checked."""
        return answer.build(
            strip=True,
            patron_status=UNKNOWN_PATRON_STATUS,
            language=getattr(msg, "language", "000"),
            personal_name="",
            valid_patron=valid,
            valid_patron_password=False if password_checked else None,
            screen_messages=[text],
            **self.echo(msg, patron=True),
        )

    def echo(self, msg: Message, *, patron: bool = False, item: bool = False) -> dict[str, Any]:
        """Transaction date, AO, and AA/AB as the request gave them."""
        echo: dict[str, Any] = {"transaction_date": self.sip_now(), "institution_id": self.ao(msg)}
        if patron:
            echo["patron_identifier"] = msg.get("AA") or ""
        if item:
            echo["item_identifier"] = msg.get("AB") or ""
        return echo


def end_of_day(day: date | None) -> SipDate | None:
    """A due date as the end of that local day (what ACSs commonly send)."""
    if day is None:
        return None
    return SipDate.from_datetime(datetime.combine(day, time(23, 59, 59)))


def page_bound(raw: str | None, default: int) -> int:
    """BP or BQ as a 1-based position; ``default`` when absent or not a number."""
    if raw is None or not raw.strip().isdigit():
        return default
    return max(1, int(raw))


def page(entries: Sequence[str], start: str | None, end: str | None, limit: int) -> list[str]:
    """The BP..BQ slice of a 64 list, at most ``limit`` entries whatever is asked."""
    first = page_bound(start, 1)
    last = min(page_bound(end, len(entries)), first + limit - 1)
    return list(entries[first - 1 : last])
