"""Koha's answers and httpx's failures, turned into the gateway's error tree in one place.

Koha reports errors as ``{"error": "...", "error_code": "..."}`` with an HTTP status. What a
status means depends on what the gateway was doing (a 403 on a renewal is Koha refusing the
renewal; a 403 on a patron lookup is the gateway's API user lacking a permission), so the
table below is keyed by (call, status), with ``None`` as "any call". The vendor's message is
always kept: as ``backend_message`` on refusals, in ``operator_detail`` otherwise.

Koha's refusal codes are mapped to the canonical RefusalReason by ``REFUSAL_CODES``; the
codes are the ones Koha 23.x puts in ``allows_renewal.error`` (C4::Circulation::CanBookBeRenewed)
and in the 403 text of POST /holds (C4::Reserves::CanItemBeReserved / CanBookBeReserved), plus
the patron checks of newer Koha (Koha::Patron::can_place_holds).

Where the code travels (``_REFUSAL_FORMS``): Koha sends ``error_code`` only on some answers, so
the code is also read from the message text, in the shapes Koha's controllers write them:

- POST /checkouts/{id}/renewal, refused: 403 ``{"error": "Renewal not authorized (<code>)"}``
  with no ``error_code`` (Koha/REST/V1/Checkouts.pm, ``renew``).
- POST /holds, refused by the item or record rules: 403 ``{"error": "Hold cannot be placed.
  Reason: <code>"}`` (Koha/REST/V1/Holds.pm, ``add``, every version).
- POST /holds, refused because of the patron (newer Koha, ``can_place_holds``): 409
  ``{"error": "Hold cannot be placed. Reason: <code>", "error_code": "<code>"}`` (the same
  file; t/db_dependent/api/v1/holds.t checks these bodies). Only Koha's own codes are
listed: a library rule Koha has no code for reaches us as the code Koha would send (e.g. an
interlibrary loan a site denies through ItemsDeniedRenewal is ``item_denied_renewal``).
Errors Koha sends without a code (suspending a found hold, moving one) fall back per call.

``KOHA`` gives all of this, with Koha's paging and login, to ``adapters.rest.RestClient``;
failures below HTTP are translated by ``adapters.rest.translate_transport``.
"""

from __future__ import annotations

import enum
import re

import httpx

from ils_gateway.adapters.rest import ErrorBody, PageLinks, Vendor
from ils_gateway.domain.errors import (
    AccountChangeRefused,
    AuthenticationFailed,
    CancelRefused,
    GatewayError,
    HoldRefused,
    NotFound,
    PasswordRejected,
    Refused,
    RenewalRefused,
)
from ils_gateway.domain.vocab import RefusalReason

SYSTEM = "Koha"


class KohaCall(enum.Enum):
    """What the gateway was asking Koha to do; it decides what an error status means."""

    READ = "read"
    PATRON_LOGIN = "patron_login"
    RENEW = "renew"
    PLACE_HOLD = "place_hold"
    CANCEL_HOLD = "cancel_hold"
    CHANGE_PICKUP = "change_pickup"
    SUSPEND_HOLD = "suspend_hold"
    RESUME_HOLD = "resume_hold"
    CHANGE_PASSWORD = "change_password"
    UPDATE_PATRON = "update_patron"
    CHECKOUT = "checkout"

    @property
    def writes(self) -> bool:
        return self not in (KohaCall.READ, KohaCall.PATRON_LOGIN)


_HOLD_CALLS = (
    KohaCall.PLACE_HOLD,
    KohaCall.CHANGE_PICKUP,
    KohaCall.SUSPEND_HOLD,
    KohaCall.RESUME_HOLD,
)

# (call, status) -> error class; a call of None matches any call. Most specific first.
STATUS_TABLE: dict[tuple[KohaCall | None, int], type[GatewayError]] = {
    # Koha 23.05 Auth::Password#validate answers 400 "Validation failed" for a bad password.
    (KohaCall.PATRON_LOGIN, 400): AuthenticationFailed,
    # Patrons::Password#set: 400 "Passwords don't match" or the text of the
    # Koha::Exceptions::Password the new password broke (TooShort, TooWeak, whitespace).
    (KohaCall.CHANGE_PASSWORD, 400): PasswordRejected,
    # PUT /patrons/{patron_id} (Patrons#update): 400 a body the definition refuses or a value
    # Koha will not store; 409 a duplicate (e.g. userid, cardnumber) (paths/patrons.yaml).
    (KohaCall.UPDATE_PATRON, 400): AccountChangeRefused,
    (KohaCall.UPDATE_PATRON, 409): AccountChangeRefused,
    # 400 on a hold write is "The supplied pickup location is not valid" and the like.
    **{(call, 400): HoldRefused for call in _HOLD_CALLS},
    (KohaCall.RENEW, 403): RenewalRefused,
    # POST /checkouts (Checkouts#add): 403 "Checkout not authorized (<codes>)" for blockers,
    # 412 "Confirmation error" for a confirmation without a token, 409 ITEM_NOT_FOUND or
    # PATRON_NOT_FOUND.
    (KohaCall.CHECKOUT, 403): Refused,
    (KohaCall.CHECKOUT, 412): Refused,
    (KohaCall.CHECKOUT, 409): NotFound,
    # Newer Koha: a patron who may not place holds at all (Holds.pm ``can_place_holds``).
    (KohaCall.PLACE_HOLD, 409): HoldRefused,
    (KohaCall.CANCEL_HOLD, 403): CancelRefused,
    **{(call, 403): HoldRefused for call in _HOLD_CALLS},
    # PUT /holds/{id}/pickup_location: "Unable to perform action on hold" (waiting, in transit).
    (KohaCall.CHANGE_PICKUP, 409): HoldRefused,
    # Elsewhere a status means what rest.ANY_CALL_STATUSES says (401/403: the gateway's API
    # user, not the patron).
}

# Koha refusal code -> canonical reason; codes new to us fall back per call (see below).
REFUSAL_CODES: dict[str, str] = {
    # renewals (allows_renewal.error, "Renewal not authorized (<code>)")
    "on_reserve": "has_holds",
    "too_many": "renewal_limit",
    "too_soon": "too_early",
    "auto_too_soon": "too_early",
    "overdue": "overdue",
    "auto_too_late": "too_overdue",
    "restriction": "patron_blocked",
    "debarred": "patron_blocked",
    "auto_too_much_oweing": "patron_blocked",
    "auto_account_expired": "card_expired",
    "item_denied_renewal": "excluded_item_type",  # ItemsDeniedRenewal (how sites deny ILL)
    "onsite_checkout": "excluded_item_type",
    "recalled": "has_holds",
    "card_expired": "card_expired",
    # renewals allowed without the item in hand (UnseenRenewals) are used up: bring it in
    "too_unseen": "renewal_limit",
    # holds (POST /holds 403 "Hold cannot be placed. Reason: <code>", CanItemBeReserved)
    "tooManyReserves": "hold_limit",
    "tooManyHoldsForThisRecord": "hold_limit",
    "tooManyReservesToday": "hold_limit",
    "itemAlreadyOnHold": "duplicate_hold",
    "alreadyReserved": "duplicate_hold",
    "recall": "duplicate_hold",  # the patron already recalled this copy
    "alreadypossession": "already_on_loan",
    "notReservable": "non_circulating",
    "noReservesAllowed": "non_circulating",
    "damaged": "non_circulating",
    "cannotReserveFromOtherBranches": "non_circulating",
    "branchNotInHoldGroup": "non_circulating",
    "ageRestricted": "age_restriction",
    "libraryNotPickupLocation": "invalid_pickup_library",
    "libraryNotFound": "invalid_pickup_library",
    "pickupNotInHoldGroup": "invalid_pickup_library",
    "cannotBeTransferred": "invalid_pickup_library",
    # the patron may not place holds at all (Koha::Patron::can_place_holds, newer Koha)
    "expired": "card_expired",
    "restricted": "patron_blocked",
    "debt_limit": "patron_blocked",
    "card_lost": "patron_blocked",
    "bad_address": "patron_blocked",
    "hold_limit": "hold_limit",
    # checkouts (C4::Circulation::CanBookBeIssued: GET /checkouts/availability blockers and
    # confirms; POST /checkouts 403 "Checkout not authorized (<codes>)")
    "EXPIRED": "card_expired",
    "DEBARRED": "patron_blocked",
    "GNA": "patron_blocked",
    "CARD_LOST": "patron_blocked",
    "DEBT": "patron_blocked",
    "DEBT_GUARANTEES": "patron_blocked",
    "DEBT_GUARANTORS": "patron_blocked",
    "USERBLOCKEDNOENDDATE": "patron_blocked",
    "USERBLOCKEDWITHENDDATE": "patron_blocked",
    "USERBLOCKEDOVERDUE": "patron_blocked",
    "TOO_MANY": "loan_limit",
    "NOT_FOR_LOAN": "non_circulating",
    "NOT_FOR_LOAN_FORCING": "non_circulating",
    "WTHDRAWN": "non_circulating",
    "ITEM_LOST": "non_circulating",
    "RESTRICTED": "non_circulating",
    "BIBLIO_ALREADY_ISSUED": "already_on_loan",
    "RENEW_ISSUE": "already_on_loan",
    "RESERVED": "has_holds",
    "RESERVE_WAITING": "has_holds",
    "AGE_RESTRICTION": "age_restriction",
}

# Where Koha writes the code into the message (see the module docstring).
_REFUSAL_FORMS = (
    re.compile(r"^Renewal not authorized \((\w+)\)"),
    re.compile(r"^Checkout not authorized \((\w+)"),
    re.compile(r"Reason:\s*(\w+)"),
)


def _code_in_text(message: str | None) -> str | None:
    """The refusal code in one of Koha's message shapes, if it has one."""
    for form in _REFUSAL_FORMS:
        match = form.search(message or "")
        if match:
            return match.group(1)
    return None


def refusal_reason(code: str | None, call: KohaCall | None = None) -> RefusalReason:
    """The canonical reason for a Koha refusal code, or a call's fallback for codes new to us."""
    if code and code in REFUSAL_CODES:
        return RefusalReason(REFUSAL_CODES[code])
    if call is KohaCall.RENEW:
        return RefusalReason.NOT_RENEWABLE
    if call in (KohaCall.CHANGE_PICKUP, KohaCall.SUSPEND_HOLD, KohaCall.RESUME_HOLD):
        # "Found hold cannot be suspended", "Unable to perform action on hold": no code.
        return RefusalReason.NOT_MODIFIABLE_IN_STATE
    if call is KohaCall.CANCEL_HOLD:
        return RefusalReason.NOT_CANCELLABLE_IN_STATE
    return RefusalReason.UNKNOWN


def read_error(response: httpx.Response) -> ErrorBody:
    """Koha's ``{"error", "error_code"}`` body (the code read from the text when absent), or
    the text of an answer that is not JSON."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:500]
        return ErrorBody((text,) if text else ())
    if not isinstance(body, dict):
        return ErrorBody()
    message = body.get("error")
    code = body.get("error_code")
    if not isinstance(message, str):
        message = None
    if not isinstance(code, str):
        code = _code_in_text(message)
    return ErrorBody((message,) if message else (), code)


KOHA: Vendor[KohaCall] = Vendor(
    system=SYSTEM,
    accept="application/json",
    read_call=KohaCall.READ,
    status_table=STATUS_TABLE,
    read_error=read_error,
    refusal_reason=lambda body, call: refusal_reason(body.code, call),
    login_where="/oauth/token",
    # Only GETs are tried again; the password check (a POST) is sent once, since one that
    # reached Koha may have counted toward the patron's FailedLoginAttempts (C4::Auth::checkpw).
    safe_calls=frozenset(),
    # The most rows one list may have: far above any patron's loans or holds or a library's
    # branches; beyond it Koha is not answering the question the gateway asked.
    paging=PageLinks(page="_page", size="_per_page", total="X-Total-Count", max_rows=2000),
)
