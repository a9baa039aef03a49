"""FOLIO's answers turned into the gateway's error tree, in one place.

FOLIO reports a refused business rule as 422 with mod-circulation's ``errors`` body
(``extended-errors.json``: ``{"errors": [{"message", "code", "parameters", "overridableBlock"}]}``)
and everything else (400, 401, 403, 404, 500) as ``text/plain``. What a status means depends on
what the gateway was doing (a 422 on a renewal is the library refusing it; a 422 on
``/patron-pin/verify`` is a wrong PIN), so the table is keyed by (call, status), ``None``
meaning any call. The vendor's message is always kept: as ``backend_message`` on refusals, in
``operator_detail`` otherwise.

FOLIO gives no stable codes for most refusals, so ``REFUSAL_MESSAGES`` maps mod-circulation's
English messages (its ``RenewalValidator``, ``RequestService`` and policy checks) by pattern;
an ``overridableBlock`` named ``patronBlock`` is always a patron block, and so are the codes of
``_BLOCK_CODES`` (mod-circulation ``ErrorCode``): an automated block's message is whatever text
the library configured for the block condition, so only its code says what it is.

``FOLIO`` gives all of this, with FOLIO's login, to ``adapters.rest.RestClient``.
"""

from __future__ import annotations

import enum
import re

import httpx

from ils_gateway.adapters.rest import ErrorBody, Vendor
from ils_gateway.domain.errors import (
    AccountChangeRefused,
    AuthenticationFailed,
    BadRequest,
    CancelRefused,
    GatewayError,
    HoldRefused,
    PasswordRejected,
    Refused,
    RenewalRefused,
)
from ils_gateway.domain.vocab import RefusalReason

SYSTEM = "FOLIO"


class FolioCall(enum.Enum):
    """What the gateway was asking FOLIO to do; it decides what an error status means."""

    READ = "read"
    PIN_VERIFY = "pin_verify"
    RENEW = "renew"
    PLACE_HOLD = "place_hold"
    CANCEL_HOLD = "cancel_hold"
    CHANGE_PICKUP = "change_pickup"
    SET_PIN = "set_pin"
    UPDATE_USER = "update_user"
    CHECKOUT = "checkout"
    CHECKIN = "checkin"

    @property
    def writes(self) -> bool:
        """True when the call changes something in FOLIO."""
        return self not in (FolioCall.READ, FolioCall.PIN_VERIFY)


# (call, status) -> error class; a call of None matches any call. Most specific first.
STATUS_TABLE: dict[tuple[FolioCall | None, int], type[GatewayError]] = {
    # mod-users answers 422 when the PIN does not match, 404 when the user has none.
    (FolioCall.PIN_VERIFY, 422): AuthenticationFailed,
    (FolioCall.PIN_VERIFY, 404): AuthenticationFailed,
    (FolioCall.RENEW, 422): RenewalRefused,
    (FolioCall.PLACE_HOLD, 422): HoldRefused,
    (FolioCall.CHANGE_PICKUP, 422): HoldRefused,
    (FolioCall.CANCEL_HOLD, 422): CancelRefused,
    # check-out/check-in-by-barcode: the circulation rules said no (or no such barcode, which
    # the adapter tells apart by FOLIO's message).
    (FolioCall.CHECKOUT, 422): Refused,
    (FolioCall.CHECKIN, 422): Refused,
    # POST /patron-pin: a PIN the tenant's FOLIO will not take.
    (FolioCall.SET_PIN, 422): PasswordRejected,
    # PUT /users/{userId} (mod-users users.raml): 400 text (e.g. a changed id), 422 a record
    # userdata.json refuses (additionalProperties: false, personal.lastName required).
    (FolioCall.UPDATE_USER, 400): AccountChangeRefused,
    (FolioCall.UPDATE_USER, 422): AccountChangeRefused,
    # 422 on a read is a query FOLIO could not run (e.g. CQL it rejects): the gateway's input.
    (None, 422): BadRequest,
    # Elsewhere a status means what rest.ANY_CALL_STATUSES says: 401 after a fresh login or
    # 403 ("Access requires permission: ...") is the *gateway's* FOLIO user lacking a
    # permission; 409 is a PUT on a request staff changed meanwhile (optimistic locking).
}

# mod-circulation message (searched, case-insensitive) -> canonical reason. First match wins.
REFUSAL_MESSAGES: tuple[tuple[re.Pattern[str], RefusalReason], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason)
    for pattern, reason in (
        (r"maximum renewal number", RefusalReason.RENEWAL_LIMIT),
        (r"active recall request|active, pending hold request", RefusalReason.HAS_HOLDS),
        (r"would not change the due date", RefusalReason.TOO_EARLY),
        (r"patron blocked|blocked from", RefusalReason.PATRON_BLOCKED),
        # check-out: a copy another patron requested (RequestedByAnotherPatronValidator)
        (r"requested by another patron", RefusalReason.HAS_HOLDS),
        (r"already has an open request", RefusalReason.DUPLICATE_HOLD),
        (r"(currently|already) has this item on loan", RefusalReason.ALREADY_ON_LOAN),
        (r"maximum (limit|number) of .*requests", RefusalReason.HOLD_LIMIT),
        (
            r"pickup (service point|location)|not a pickup location",
            RefusalReason.INVALID_PICKUP_LIBRARY,
        ),
        (r"inactive user|user is (inactive|expired)|expired user", RefusalReason.CARD_EXPIRED),
        (
            r"not allowed for this patron and item combination|not loanable|cannot be requested",
            RefusalReason.NON_CIRCULATING,
        ),
        (r"cannot be renewed|not renewable", RefusalReason.NOT_RENEWABLE),
        # check-out: "… has the item status Missing and cannot be checked out"
        (r"cannot be checked out", RefusalReason.NON_CIRCULATING),
        (r"closed request", RefusalReason.NOT_MODIFIABLE_IN_STATE),
    )
)


# mod-circulation ErrorCode values that mean the patron is blocked (UserManualBlocksValidator,
# AutomatedPatronBlocksValidator).
_BLOCK_CODES = frozenset({"USER_IS_BLOCKED_MANUALLY", "USER_IS_BLOCKED_AUTOMATICALLY"})


def refusal_reason(
    messages: list[str], blocks: list[str], call: FolioCall | None = None
) -> RefusalReason:
    """The canonical reason for FOLIO's refusal messages, or a call's fallback."""
    if "patronBlock" in blocks or _BLOCK_CODES & set(blocks):
        return RefusalReason.PATRON_BLOCKED
    for message in messages:
        for pattern, reason in REFUSAL_MESSAGES:
            if pattern.search(message):
                return reason
    if call is FolioCall.RENEW:
        return RefusalReason.NOT_RENEWABLE
    if call is FolioCall.CANCEL_HOLD:
        return RefusalReason.NOT_CANCELLABLE_IN_STATE
    if call is FolioCall.CHANGE_PICKUP:
        return RefusalReason.NOT_MODIFIABLE_IN_STATE
    return RefusalReason.UNKNOWN


def read_error(response: httpx.Response) -> ErrorBody:
    """FOLIO's messages, and overridable block names and block codes, in an error answer (text
    or ``errors``)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:500]
        return ErrorBody((text,) if text else ())
    messages: list[str] = []
    blocks: list[str] = []
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        if isinstance(error.get("message"), str):
            messages.append(error["message"])
        block = error.get("overridableBlock")
        if isinstance(block, dict) and isinstance(block.get("name"), str):
            blocks.append(block["name"])
        if error.get("code") in _BLOCK_CODES:
            blocks.append(error["code"])
    return ErrorBody(tuple(messages), blocks=tuple(blocks))


FOLIO: Vendor[FolioCall] = Vendor(
    system=SYSTEM,
    accept="application/json, text/plain",
    read_call=FolioCall.READ,
    status_table=STATUS_TABLE,
    read_error=read_error,
    refusal_reason=lambda body, call: refusal_reason(list(body.messages), list(body.blocks), call),
    login_where="login",
    # /patron-pin/verify is a POST that changes nothing: tried again like a read.
    safe_calls=frozenset({FolioCall.PIN_VERIFY}),
)
