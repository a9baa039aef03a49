"""The e-library's error answers and httpx's failures, turned into the gateway's error tree.

This is the only place that knows the e-library's ``errorCode`` values (``docs/elibrary-api.md``,
modelled on OverDrive's patron API). ``ERROR_CODES`` maps each code either to a canonical
``RefusalReason`` (the e-library said no; the error class then depends on the operation: see
``REFUSAL_CLASSES``) or to an error class. The vendor's ``message`` is always kept: as
``backend_message`` on refusals and in ``operator_detail`` everywhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import httpx

from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    BadRequest,
    CancelRefused,
    GatewayError,
    HoldRefused,
    NotFound,
    OutcomeUnknown,
    PatronBlocked,
    Refused,
)
from ils_gateway.domain.logsafe import path_shape
from ils_gateway.domain.vocab import BlockReason, RefusalReason


class ElibraryCall(enum.Enum):
    """What the gateway asked the e-library to do; it decides what a refusal is."""

    READ = "read"
    BORROW = "borrow"
    RETURN = "return"
    PLACE_HOLD = "place_hold"
    CANCEL_HOLD = "cancel_hold"

    @property
    def writes(self) -> bool:
        """True for calls that change the e-library's state (never retried)."""
        return self is not ElibraryCall.READ


REFUSAL_CLASSES: dict[ElibraryCall, type[Refused]] = {
    ElibraryCall.BORROW: Refused,
    ElibraryCall.RETURN: Refused,
    ElibraryCall.PLACE_HOLD: HoldRefused,
    ElibraryCall.CANCEL_HOLD: CancelRefused,
}


class _ServerFailure:
    """Marker: the e-library failed; a write's fate is unknown, a read may be tried later."""


SERVER_FAILURE = _ServerFailure()

Rule = RefusalReason | type[GatewayError] | _ServerFailure

ERROR_CODES: dict[str, Rule] = {
    # 400: the request did not match the API document; nothing a patron can change.
    "InvalidRequest": BadRequest,
    # 401 even after one fresh token: the library's client credentials are no longer accepted.
    # Patrons can only wait; the operator must renew the credentials.
    "InvalidToken": BackendUnavailable,
    # 403: the library suspended the patron's e-library use.
    "PatronBlocked": RefusalReason.PATRON_BLOCKED,
    # 403: the patron's card has expired.
    "PatronCardExpired": RefusalReason.CARD_EXPIRED,
    # 404: the card is not registered with the e-library (it registers on first sign-in).
    "PatronNotFound": NotFound,
    # 404: no such title, or not licensed to this library.
    "TitleNotFound": NotFound,
    # 404: cancel of a title the patron does not hold (already borrowed, lapsed or cancelled).
    "HoldNotFound": NotFound,
    # 404: return of a title the patron is not borrowing (perhaps it returned itself).
    "TitleNotCheckedOut": NotFound,
    # 409 borrow: every copy is lent or kept for a ready hold; a hold is the way forward.
    "NoCopiesAvailable": RefusalReason.NO_COPIES,
    # 409 borrow: the patron borrows as many e-books as allowed (Ibaraki: 3).
    "PatronLoanLimitReached": RefusalReason.LOAN_LIMIT,
    # 409 borrow or hold: the patron is borrowing this title now.
    "TitleAlreadyCheckedOut": RefusalReason.ALREADY_ON_LOAN,
    # 409 hold: the patron has as many e-book holds as allowed (Ibaraki: 3).
    "PatronHoldLimitReached": RefusalReason.HOLD_LIMIT,
    # 409 hold: the patron already holds this title.
    "AlreadyOnHold": RefusalReason.DUPLICATE_HOLD,
    # 409 hold: a copy is free, so no hold is needed; borrow instead.
    "TitleAvailableForCheckout": RefusalReason.TITLE_AVAILABLE,
    # 429: rate limited; Retry-After says when to come back.
    "TooManyRequests": BackendUnavailable,
    # 503: maintenance or overload; Retry-After says when to come back.
    "ServiceUnavailable": BackendUnavailable,
    # 500: the e-library failed part-way; a write may or may not have happened.
    "InternalError": SERVER_FAILURE,
}

_UNAVAILABLE = "The e-library cannot be reached now."
_UNCONFIRMED = "The e-library did not confirm the request; check your loans and holds first."


@dataclass(frozen=True)
class VendorError:
    """The parts of an e-library error answer the translator reads."""

    status: int
    code: str | None
    message: str | None
    retry_after: int | None


def read_vendor_error(response: httpx.Response) -> VendorError:
    """Status, errorCode, message and Retry-After of an error answer (any body shape)."""
    code: str | None = None
    message: str | None = None
    try:
        body = response.json()
    except ValueError:
        message = response.text.strip()[:500] or None
    else:
        if isinstance(body, dict):
            raw_code = body.get("errorCode") or body.get("error")
            raw_message = body.get("message") or body.get("error_description")
            code = raw_code if isinstance(raw_code, str) else None
            message = raw_message if isinstance(raw_message, str) else None
    retry_after: int | None = None
    header = response.headers.get("Retry-After", "")
    if header.isdigit():
        retry_after = int(header)
    return VendorError(response.status_code, code, message, retry_after)


def _rule_for(error: VendorError) -> Rule:
    if error.code in ERROR_CODES:
        return ERROR_CODES[error.code]
    # Codes new to us fall back on the status, as the API document asks.
    if error.status == 409 or error.status == 403:
        return RefusalReason.UNKNOWN
    if error.status == 404:
        return NotFound
    if error.status in (429, 503):
        return BackendUnavailable
    if error.status >= 500:
        return SERVER_FAILURE
    return BackendProtocolError


def translate_error(
    call: ElibraryCall, response: httpx.Response, *, retry_after: int
) -> GatewayError:
    """The gateway error for an e-library answer outside 2xx."""
    error = read_vendor_error(response)
    request = response.request
    operator = (
        f"e-library {request.method} {path_shape(request.url.path)} -> {error.status}"
        f" [{error.code or 'no code'}]: {error.message or '(no message)'}"
    )
    wait = error.retry_after if error.retry_after is not None else retry_after
    rule = _rule_for(error)
    if isinstance(rule, RefusalReason):
        if call is ElibraryCall.READ:
            # Reads are not refused; a 403 on a list means the patron cannot use the e-library.
            blocks = [
                BlockReason.CARD_EXPIRED
                if rule is RefusalReason.CARD_EXPIRED
                else BlockReason.OTHER
            ]
            return PatronBlocked(blocks, error.message, operator_detail=operator)
        cls = REFUSAL_CLASSES[call]
        return cls(rule, error.message, backend_message=error.message, operator_detail=operator)
    if isinstance(rule, _ServerFailure):
        if call.writes:
            return OutcomeUnknown(_UNCONFIRMED, operator_detail=operator)
        return BackendUnavailable(_UNAVAILABLE, retry_after=wait, operator_detail=operator)
    if rule is BackendUnavailable:
        return BackendUnavailable(_UNAVAILABLE, retry_after=wait, operator_detail=operator)
    if rule is BackendProtocolError:
        return BackendProtocolError(
            "The e-library sent an unexpected answer.", operator_detail=operator
        )
    return rule(error.message, operator_detail=operator)


def translate_transport(
    call: ElibraryCall, exc: httpx.TransportError, *, retry_after: int
) -> GatewayError:
    """The gateway error for a request that failed below HTTP (connect, timeout, broken peer)."""
    operator = f"e-library {call.value}: {type(exc).__name__}: {exc}"
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if call.writes and not never_sent:
        return OutcomeUnknown(_UNCONFIRMED, operator_detail=operator)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.DecodingError):
        return BackendProtocolError("The e-library sent a broken answer.", operator_detail=operator)
    return BackendUnavailable(_UNAVAILABLE, retry_after=retry_after, operator_detail=operator)


def translate_token_failure(response: httpx.Response, *, retry_after: int) -> GatewayError:
    """The e-library would not issue the library a token: the operator's problem."""
    error = read_vendor_error(response)
    return BackendUnavailable(
        _UNAVAILABLE,
        retry_after=retry_after,
        operator_detail=(
            f"e-library /oauth/token -> {error.status} [{error.code or 'no code'}]:"
            f" {error.message or '(no message)'}"
        ),
    )
