"""A FOLIO-shaped REST face (through an Okapi-like gateway) over ``SimulatedLibrary``.

It serves the routes the gateway's FOLIO adapter uses, with the paths, parameters, status
codes and JSON shapes of FOLIO's definitions in ``shared/reference/folio`` (mod-circulation
``circulation.raml`` and its schemas) and, for modules that snapshot does not hold, the
modules' own definitions (named on each handler). The tests hold every body sent to it and
every answer against the reference schemas.

Gateway behaviour (Okapi): every call names the tenant in ``X-Okapi-Tenant``; every call but
the login carries the token the login issued in ``X-Okapi-Token`` (mod-authtoken answers 401
``text/plain`` otherwise). Login: ``POST /authn/login-with-expiry`` (mod-login /
mod-users-keycloak: 201, the token in the ``folioAccessToken`` cookie, expiries in the body)
and the legacy ``POST /authn/login`` (201, token in ``x-okapi-token``). Access tokens live
``TOKEN_LIFETIME`` seconds (FOLIO's default access token lifetime is 10 minutes).

FOLIO's own defaults and quirks kept: collections are paged with ``limit`` (default 10) and
``offset`` and report ``totalRecords``; queries are CQL (``folio_cql``); refusals are 422
with mod-circulation's ``errors`` (``message``, ``parameters`` as key/value pairs, ``code``
where mod-circulation sets one) and FOLIO's English messages; missing records and bad input
are ``text/plain``; ``/circulation/requests/instances`` follows the tenant's title-level
request setting (``tlr_enabled``), whatever ``requestLevel`` the body says
(RequestByInstanceIdResource). Request policy: ``allowed_service_points`` maps request types
(Page, Hold; this library has no recalls) to the codes of the service points allowed; None
means every pickup service point, which is FOLIO's default when a policy lists none.

What the library model has no field for (a request's type and level, cancellation reason)
the face keeps itself. FOLIO lets any open request be cancelled, so the face gives the
library that rule (``cancellable_states``: every open state, no cancellation requests).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiohttp import web

from ils_gateway.domain.clock import Clock
from ils_gateway.simulators import folio_cql
from ils_gateway.simulators.folio_records import (
    CANCELLATION_FIELDS,
    ITEM_STATUS,
    LOAN_POLICY_ID,
    MATERIAL_TYPE,
    MAX_OVERDUE_ITEMS,
    account_json,
    errors_json,
    folio_id,
    holdings_id,
    instant,
    item_json,
    loan_json,
    request_json,
    service_point_json,
    user_json,
)
from ils_gateway.simulators.library import TOKYO, Operation, SimulatedLibrary
from ils_gateway.simulators.outcomes import (
    HoldView,
    ItemInfo,
    PatronBlock,
    PatronInfo,
    Refusal,
    RefusalToken,
    SimulatedFault,
    UnknownRecord,
)
from ils_gateway.simulators.policy import HoldState
from ils_gateway.simulators.records import Biblio, ContactMethod, ItemStatus

TOKEN_LIFETIME = 600
REFRESH_LIFETIME = 604800
DEFAULT_LIMIT = 10  # RMB's default page size
REQUEST_TYPES = ("Page", "Hold")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Exchange:
    """One call as the face saw it, for tests to hold against FOLIO's schemas."""

    method: str
    route: str  # the route's pattern, e.g. /circulation/requests/{id}
    body: Any
    status: int
    answer: Any


@dataclass
class FolioState:
    """The face's own state: credentials, tokens, request details the model lacks."""

    library: SimulatedLibrary
    tenant: str
    username: str
    password: str
    tlr_enabled: bool = True
    allowed_service_points: Mapping[str, frozenset[str]] | None = None
    latency: Mapping[str, float] = field(default_factory=dict)
    token_clock: Clock = lambda: datetime.now(UTC)
    tokens: dict[str, datetime] = field(default_factory=dict)
    extras: dict[int, dict[str, Any]] = field(default_factory=dict)
    traffic: list[Exchange] = field(default_factory=list)


FOLIO_STATE = web.AppKey("folio_state", FolioState)


# -- answers ------------------------------------------------------------------------------


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, content_type="text/plain")


def _refused(message: str, code: str | None = None, **parameters: str) -> web.Response:
    return web.json_response(errors_json(message, code, **parameters), status=422)


def _first_missing(body: dict[str, Any], *required: tuple[str, str]) -> web.Response | None:
    """FOLIO's 422 for the first ``(field, message)`` of ``required`` whose field is not a
    string (the field named with the value "null"), or None when all are there."""
    for key, message in required:
        if not isinstance(body.get(key), str):
            return _refused(message, **{key: "null"})
    return None


def _collection(request: web.Request, key: str, records: list[dict[str, Any]]) -> web.Response:
    """A paged FOLIO collection: ``limit`` (default 10) and ``offset`` of the CQL matches."""
    try:
        found = folio_cql.select(records, request.query.get("query"))
    except folio_cql.CqlError as exc:
        return _text(400, f"CQL parse error: {exc}")
    try:
        limit = int(request.query.get("limit", DEFAULT_LIMIT))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        return _text(400, "limit and offset must be integers")
    if limit < 0 or offset < 0:
        return _text(400, "limit and offset must not be negative")
    page = found[offset : offset + limit]
    return web.json_response({key: page, "totalRecords": len(found)})


# -- lookups ------------------------------------------------------------------------------


def _state(request: web.Request) -> FolioState:
    return request.app[FOLIO_STATE]


def _lib(request: web.Request) -> SimulatedLibrary:
    return _state(request).library


def _patron_by_uuid(library: SimulatedLibrary, user_id: str) -> PatronInfo:
    for patron in library.data.patrons:
        if folio_id("user", patron.id) == user_id:
            return library.patron_by_id(patron.id)
    raise UnknownRecord("user", user_id)


def _barcode_by_uuid(library: SimulatedLibrary, item_id: str) -> str:
    for item in library.data.items:
        if folio_id("item", item.id) == item_id:
            return item.barcode
    raise UnknownRecord("item", item_id)


def _biblio_by_uuid(library: SimulatedLibrary, instance_id: str) -> int:
    for biblio in library.data.biblios:
        if folio_id("instance", biblio.id) == instance_id:
            return biblio.id
    raise UnknownRecord("instance", instance_id)


def _hold_by_uuid(library: SimulatedLibrary, request_id: str) -> HoldView:
    for hold in library.data.holds:
        if folio_id("request", hold.id) == request_id and hold.state is not HoldState.SUGGESTED:
            return library.hold_by_id(hold.id)
    raise UnknownRecord("request", request_id)


def _points(library: SimulatedLibrary) -> dict[str, dict[str, Any]]:
    """Every service point by code: the pickup locations, then the other branches."""
    points = {p.code: service_point_json(p) for p in library.pickup_locations()}
    for branch in library.data.branches:
        points.setdefault(branch.code, service_point_json((branch.code, branch.name), False))
    return points


def _point_code(library: SimulatedLibrary, point_id: str) -> str | None:
    for code, point in _points(library).items():
        if point["id"] == point_id:
            return code
    return None


def _active(patron: PatronInfo) -> bool:
    """FOLIO deactivates expired users; a card unused for years is deactivated too."""
    return not ({PatronBlock.EXPIRED, PatronBlock.INACTIVE} & set(patron.blocks))


def _user_json(patron: PatronInfo) -> dict[str, Any]:
    return user_json(patron, _active(patron))


def _request_json(state: FolioState, hold: HoldView) -> dict[str, Any]:
    return request_json(
        hold, state.library, state.extras.get(hold.hold_id, {}), _points(state.library)
    )


def _allowed(state: FolioState, request_type: str) -> list[str]:
    """Codes of the pickup service points the request policy allows for ``request_type``."""
    pickup = [p.code for p in state.library.pickup_locations()]
    if state.allowed_service_points is None:
        return pickup
    return [c for c in pickup if c in state.allowed_service_points.get(request_type, frozenset())]


# mod-circulation RequestTypeItemStatusWhiteList: the item statuses a Page or a Hold may be
# placed on (of those this library's copies can have).
_PAGEABLE = frozenset({"Available"})
_HOLDABLE = frozenset(
    {"Checked out", "Awaiting pickup", "In transit", "Missing", "On order", "In process"}
)


def _requestable_types(statuses: list[str], holdable: bool) -> list[str]:
    """Request types FOLIO allows for copies with these statuses: a Page for an available
    copy, a Hold for one on loan, on its way, ordered or missing; none for a lost one."""
    if not holdable:
        return []
    types = []
    if _PAGEABLE & set(statuses):
        types.append("Page")
    if _HOLDABLE & set(statuses):
        types.append("Hold")
    return types


# -- refusals in FOLIO's words ------------------------------------------------------------

# mod-circulation's messages (RenewalValidator, LoanPolicy, request validators) for the library's
# refusals. Where FOLIO has no such rule the nearest FOLIO refusal is used and marked.
_RENEWAL_REFUSALS: dict[RefusalToken, str] = {
    RefusalToken.TOO_MANY: "loan at maximum renewal number",
    RefusalToken.ON_RESERVE: (
        "Items with this loan policy cannot be renewed when there is an active, pending hold"
        " request"
    ),
    RefusalToken.TOO_SOON: "renewal would not change the due date",
    # FOLIO's loan policy says "not renewable" for a loan a policy excludes
    RefusalToken.OVERDUE: "loan is not renewable",
    RefusalToken.TOO_LATE: "loan is not renewable",
    RefusalToken.INTERLIBRARY_LOAN: "loan is not renewable",
    RefusalToken.ITEM_DENIED_RENEWAL: "loan is not renewable",
    RefusalToken.CARD_EXPIRED: "Cannot renew loan when user is inactive or expired",
}
_REQUEST_REFUSALS: dict[RefusalToken, str] = {
    RefusalToken.ALREADY_RESERVED: "This requester already has an open request for this instance",
    RefusalToken.ALREADY_POSSESSION: (
        "This requester already has a loan for one of the instance's items"
    ),
    RefusalToken.NOT_RESERVABLE: (
        "Hold requests are not allowed for this patron and title combination"
    ),
    RefusalToken.EXPIRED: "Inactive users cannot make requests",
    RefusalToken.PICKUP_NOT_VALID: "Service point is not a pickup location",
    # FOLIO has no open-request limit of its own; the wording is the simulator's
    RefusalToken.TOO_MANY_RESERVES: (
        "This requester has reached the maximum number of open requests"
    ),
}


def _renewal_refused(patron: PatronInfo, refusal: Refusal) -> web.Response:
    if refusal.token is RefusalToken.RESTRICTION:
        return _refused(
            "Patron blocked from renewing",
            "USER_IS_BLOCKED_MANUALLY",
            reason=patron.block_note or "",
        )
    message = _RENEWAL_REFUSALS.get(refusal.token, "loan is not renewable")
    return _refused(message, loanPolicyName="みどり市立図書館 貸出方針")


def _request_refused(patron: PatronInfo, refusal: Refusal) -> web.Response:
    if refusal.token is RefusalToken.DEBARRED:
        return _refused(
            "Patron blocked from requesting",
            "USER_IS_BLOCKED_MANUALLY",
            reason=patron.block_note or "",
        )
    if refusal.token is RefusalToken.ITEM_OVERDUE:
        # the library's overdue rule is FOLIO's "maximum number of overdue items" condition
        return _refused(refusal.message, "USER_IS_BLOCKED_AUTOMATICALLY")
    message = _REQUEST_REFUSALS.get(refusal.token, refusal.message)
    return _refused(message, requesterId=folio_id("user", patron.patron_id))


# -- gateway login ------------------------------------------------------------------------


async def _credentials(request: web.Request) -> tuple[str, str] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    user, password = body.get("username"), body.get("password")
    if not isinstance(user, str) or not isinstance(password, str):
        return None
    return user, password


def _issue(state: FolioState) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(24)
    expires = state.token_clock() + timedelta(seconds=TOKEN_LIFETIME)
    state.tokens[token] = expires
    return token, expires


def _login_refused(
    request: web.Request, credentials: tuple[str, str] | None
) -> web.Response | None:
    state = _state(request)
    if credentials is None:
        return _text(400, "Json content error")
    if credentials != (state.username, state.password):
        # mod-login: 422 with errors, code password.incorrect (or username.incorrect)
        code = "password.incorrect" if credentials[0] == state.username else "username.incorrect"
        message = "Password does not match" if code == "password.incorrect" else "Wrong username"
        return _refused(message, code, username=credentials[0])
    return None


async def login_with_expiry(request: web.Request) -> web.Response:
    """POST /authn/login-with-expiry (mod-login ramls/login.raml, loginResponseWithExpiry)."""
    credentials = await _credentials(request)
    refused = _login_refused(request, credentials)
    if refused is not None:
        return refused
    state = _state(request)
    token, expires = _issue(state)
    refresh_expires = state.token_clock() + timedelta(seconds=REFRESH_LIFETIME)
    response = web.json_response(
        {
            "accessTokenExpiration": instant(expires),
            "refreshTokenExpiration": instant(refresh_expires),
        },
        status=201,
    )
    response.set_cookie(
        "folioAccessToken", token, max_age=TOKEN_LIFETIME, httponly=True, samesite="Lax"
    )
    response.set_cookie(
        "folioRefreshToken",
        secrets.token_urlsafe(24),
        max_age=REFRESH_LIFETIME,
        httponly=True,
        samesite="Lax",
        path="/authn",
    )
    return response


async def login_legacy(request: web.Request) -> web.Response:
    """POST /authn/login (mod-login, before Poppy): the token in ``x-okapi-token``."""
    credentials = await _credentials(request)
    refused = _login_refused(request, credentials)
    if refused is not None:
        return refused
    token, _ = _issue(_state(request))
    return web.json_response({"okapiToken": token}, status=201, headers={"x-okapi-token": token})


# -- users, PINs, blocks ------------------------------------------------------------------


async def list_users(request: web.Request) -> web.Response:
    """GET /users (mod-users ramls/users.raml): CQL over userdata.json records."""
    library = _lib(request)
    users = [_user_json(library.patron_by_id(p.id)) for p in library.data.patrons]
    return _collection(request, "users", users)


async def get_user(request: web.Request) -> web.Response:
    """GET /users/{userId}: 404 text/plain when there is none."""
    user_id = request.match_info["id"]
    try:
        return web.json_response(_user_json(_patron_by_uuid(_lib(request), user_id)))
    except UnknownRecord:
        return _text(404, "User not found")


# mod-users userdata.json (copied in mod-patron's and edge-patron's ramls): the record and its
# ``personal`` part both have ``additionalProperties: false``; ``personal`` requires lastName.
_USER_PROPERTIES = frozenset(
    """username id externalSystemId barcode active type patronGroup departments meta proxyFor
    personal enrollmentDate expirationDate createdDate updatedDate metadata tags customFields
    preferredEmailCommunication""".split()
)
_PERSONAL_PROPERTIES = frozenset(
    """addresses dateOfBirth email firstName lastName middleName mobilePhone phone
    preferredContactTypeId preferredFirstName profilePictureLink""".split()
)


def _unknown_members(body: dict[str, Any]) -> list[str]:
    personal = body.get("personal")
    found = sorted(set(body) - _USER_PROPERTIES)
    if isinstance(personal, dict):
        found += [f"personal.{k}" for k in sorted(set(personal) - _PERSONAL_PROPERTIES)]
    return found


async def update_user(request: web.Request) -> web.Response:
    """PUT /users/{userId} (mod-users ramls/users.raml): the body is the whole userdata.json
    record and replaces the stored one; 204 with no body. 400 text when the body's ``id`` is
    not the path's, 404 text for an unknown user, 422 ``errors`` for a record the schema
    refuses (a member it does not define; ``personal`` without ``lastName``). Of the record,
    the model keeps ``personal.email`` and ``personal.phone``: one left out is gone."""
    user_id = request.match_info["id"]
    try:
        body = await request.json()
    except ValueError:
        return _text(400, "Json content error")
    if not isinstance(body, dict):
        return _text(400, "Json content error")
    library = _lib(request)
    try:
        patron = _patron_by_uuid(library, user_id)
    except UnknownRecord:
        return _text(404, "User not found")
    if body.get("id", user_id) != user_id:
        return _text(400, "You cannot change the value of the id field")
    unknown = _unknown_members(body)
    if unknown:
        return _refused("Unrecognized field", field=unknown[0])
    personal = body.get("personal")
    if not isinstance(personal, dict) or not isinstance(personal.get("lastName"), str):
        return _refused("must not be null", **{"personal.lastName": "null"})
    email, phone = personal.get("email"), personal.get("phone")
    library.update_contact(
        patron.card_number,
        email=email if isinstance(email, str) and email else None,
        phone=phone if isinstance(phone, str) and phone else None,
    )
    return web.Response(status=204)


async def verify_pin(request: web.Request) -> web.Response:
    """POST /patron-pin/verify (mod-users ramls/patronpin.raml): 200 on a match, 422 when the
    PIN does not match, 404 when the user is unknown."""
    try:
        body = await request.json()
    except ValueError:
        return _text(400, "Json content error")
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        return _text(400, "Json content error")
    library = _lib(request)
    try:
        patron = _patron_by_uuid(library, body["id"])
    except UnknownRecord:
        return _text(404, "User not found")
    result = library.authenticate(patron.card_number, str(body.get("pin", "")))
    if not result.ok:
        return web.Response(status=422)
    return web.Response(status=200)


async def set_pin(request: web.Request) -> web.Response:
    """POST /patron-pin (mod-users ramls/patronpin.raml): ``{"id", "pin"}`` sets the user's
    PIN (hashed and upserted by mod-users); 201 with no body. mod-users has no PIN rules of
    its own; the simulated house rules (length) answer 422 here, as a FOLIO with a PIN policy
    module in front would."""
    try:
        body = await request.json()
    except ValueError:
        return _text(400, "Json content error")
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("id"), str)
        or not isinstance(body.get("pin"), str)
    ):
        return _text(400, "Json content error")
    library = _lib(request)
    try:
        patron = _patron_by_uuid(library, body["id"])
    except UnknownRecord:
        return _text(400, "User not found")
    try:
        library.set_password(patron.card_number, body["pin"])
    except Refusal:
        return _refused("PIN is not acceptable", pin="***")
    return web.Response(status=201)


async def manual_blocks(request: web.Request) -> web.Response:
    """GET /manualblocks (mod-feesfines ramls/manualblocks.raml, manualblockdata.json): a
    staff block for every patron the library has blocked by hand."""
    library = _lib(request)
    rows = []
    for record in library.data.patrons:
        if record.block_note is None:
            continue
        user_id = folio_id("user", record.id)
        rows.append(
            {
                "id": folio_id("manual-block", record.id),
                "type": "Manual",
                "desc": record.block_note,
                "patronMessage": "カウンターにお問い合わせください",
                "borrowing": True,
                "renewals": True,
                "requests": True,
                "userId": user_id,
            }
        )
    return _collection(request, "manualblocks", rows)


async def automated_blocks(request: web.Request) -> web.Response:
    """GET /automated-patron-blocks/{userId} (mod-patron-blocks
    ramls/automated-patron-blocks.json): the library's rule that an overdue loan of
    ``overdue_days_blocking_holds`` days stops new holds, as FOLIO's "maximum number of
    overdue items" condition set to block requests."""
    library = _lib(request)
    try:
        patron = _patron_by_uuid(library, request.match_info["id"])
    except UnknownRecord:
        return web.json_response({"automatedPatronBlocks": []})
    limit = library.rules.overdue_days_blocking_holds
    loans = library.loans(patron.card_number)
    blocks = []
    if limit is not None and any(ln.overdue_days >= limit for ln in loans):
        blocks.append(
            {
                "patronBlockConditionId": MAX_OVERDUE_ITEMS,
                "blockBorrowing": False,
                "blockRenewals": False,
                "blockRequests": True,
                "message": Refusal(RefusalToken.ITEM_OVERDUE).message,
            }
        )
    return web.json_response({"automatedPatronBlocks": blocks})


async def list_accounts(request: web.Request) -> web.Response:
    """GET /accounts (mod-feesfines ramls/accounts.raml, accountdataCollection.json): every
    patron's fees/fines, searched by CQL (``userId==… and status.name==Open``)."""
    library = _lib(request)
    rows: list[dict[str, Any]] = []
    for record in library.data.patrons:
        info = library.patron_by_id(record.id)
        rows.extend(account_json(info, fee, library) for fee in info.fees)
    return _collection(request, "accounts", rows)


# -- loans --------------------------------------------------------------------------------


async def list_loans(request: web.Request) -> web.Response:
    """GET /circulation/loans (circulation.raml, loans.json)."""
    library = _lib(request)
    rows: list[dict[str, Any]] = []
    for record in library.data.patrons:
        for loan in library.loans(record.card_number):
            rows.append(loan_json(loan, library))
    return _collection(request, "loans", rows)


async def _renew(request: web.Request, card: str, barcode: str) -> web.Response:
    library = _lib(request)
    patron = library.patron_info(card)
    item = library.item_info(barcode)
    owner = next(
        (
            ln
            for p in library.data.patrons
            for ln in library.loans(p.card_number)
            if ln.barcode == barcode
        ),
        None,
    )
    if owner is None:
        return _refused("No open loan found for the item barcode.", itemBarcode=barcode)
    if owner.patron_id != patron.patron_id:
        return _refused(
            "Cannot renew item checked out to different user", itemId=folio_id("item", item.item_id)
        )
    try:
        loan = library.renew(card, barcode)
    except Refusal as refusal:
        return _renewal_refused(patron, refusal)
    return web.json_response(loan_json(loan, library), status=200)


async def renew_by_id(request: web.Request) -> web.Response:
    """POST /circulation/renew-by-id (renew-by-id-request.json: itemId, userId)."""
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    missing = _first_missing(
        body,
        ("itemId", "Renewal request must have an item ID"),
        ("userId", "Renewal request must have a user ID"),
    )
    if missing is not None:
        return missing
    library = _lib(request)
    try:
        barcode = _barcode_by_uuid(library, body["itemId"])
    except UnknownRecord:
        return _refused("Item does not exist", itemId=body["itemId"])
    try:
        patron = _patron_by_uuid(library, body["userId"])
    except UnknownRecord:
        return _refused("user is not found", userId=body["userId"])
    return await _renew(request, patron.card_number, barcode)


async def renew_by_barcode(request: web.Request) -> web.Response:
    """POST /circulation/renew-by-barcode (renew-by-barcode-request.json)."""
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    missing = _first_missing(
        body,
        ("itemBarcode", "Renewal request must have an item barcode"),
        ("userBarcode", "Renewal request must have a user barcode"),
    )
    if missing is not None:
        return missing
    library = _lib(request)
    try:
        library.item_info(body["itemBarcode"])
    except UnknownRecord:
        return _refused(
            "No item with barcode " + body["itemBarcode"] + " exists",
            itemBarcode=body["itemBarcode"],
        )
    try:
        library.patron_info(body["userBarcode"])
    except UnknownRecord:
        return _refused(
            "Could not find user with matching barcode", userBarcode=body["userBarcode"]
        )
    return await _renew(request, body["userBarcode"], body["itemBarcode"])


# -- check-out and check-in -----------------------------------------------------------------

# The members each request schema declares (check-out-by-barcode-request.json,
# check-in-by-barcode-request.json). The check-in schema has ``additionalProperties: false``;
# the check-out one does not say, and the face refuses strangers there too (stricter).
_CHECK_OUT_FIELDS = frozenset(
    {
        "itemBarcode",
        "userBarcode",
        "proxyUserBarcode",
        "loanDate",
        "servicePointId",
        "overrideBlocks",
        "forceLoanPolicyId",
    }
)
_CHECK_IN_FIELDS = frozenset(
    {"itemBarcode", "servicePointId", "checkInDate", "claimedReturnedResolution", "sessionId"}
)
_LOAN_POLICY_NAME = "みどり市立図書館 貸出方針"


def _strangers(body: dict[str, Any], known: frozenset[str]) -> web.Response | None:
    """422 for the first member the schema does not declare, or None. The wording is the
    simulator's (Jackson's "Unrecognized field"): stricter than FOLIO where unsure."""
    for key in sorted(set(body) - known):
        return _refused(f'Unrecognized field "{key}"', **{key: json.dumps(body[key])})
    return None


def _branch_of_point(library: SimulatedLibrary, point_id: str) -> str | None:
    """The branch a service point id stands for (only branches lend and take back)."""
    code = _point_code(library, point_id)
    if code is None or all(b.code != code for b in library.data.branches):
        return None
    return code


def _check_out_refused(patron: PatronInfo, item: ItemInfo, refusal: Refusal) -> web.Response:
    """mod-circulation's 422 for the library's first reason (the validators' messages)."""
    token = refusal.token
    if token is RefusalToken.CARD_EXPIRED:
        # InactiveUserValidator (FOLIO deactivates an expired user)
        return _refused("Cannot check out to inactive user", userBarcode=patron.card_number)
    if token is RefusalToken.RESTRICTION:
        # UserManualBlocksValidator
        return _refused(
            "Patron blocked from borrowing",
            "USER_IS_BLOCKED_MANUALLY",
            reason=patron.block_note or "",
        )
    if token is RefusalToken.NOT_FOR_LOAN:
        # ItemIsNotLoanableValidator: an overridable block (itemNotLoanableBlock)
        body = errors_json(
            "Item is not loanable",
            itemBarcode=item.barcode,
            loanPolicyName=_LOAN_POLICY_NAME,
        )
        body["errors"][0]["overridableBlock"] = {
            "name": "itemNotLoanableBlock",
            "missingPermissions": ["circulation.override-item-not-loanable-block.post"],
        }
        return web.json_response(body, status=422)
    if token in (RefusalToken.CHECKED_OUT, RefusalToken.ALREADY_POSSESSION):
        # AlreadyCheckedOutValidator (whoever has it: the same patron too)
        return _refused("Item is already checked out", itemBarcode=item.barcode)
    if token is RefusalToken.RESERVED:
        # RequestedByAnotherPatronValidator
        return _refused(
            f"{item.title} (Barcode: {item.barcode}) cannot be checked out to user "
            f"{patron.name} because it has been requested by another patron",
            userBarcode=patron.card_number,
        )
    # ItemStatusValidator: lost, missing, on order, in process, claimed returned
    status = ITEM_STATUS.get(item.status, item.status)
    return _refused(
        f"{item.title} ({MATERIAL_TYPE[item.item_type]}) (Barcode: {item.barcode}) has the "
        f"item status {status} and cannot be checked out",
        itemBarcode=item.barcode,
    )


async def check_out_by_barcode(request: web.Request) -> web.Response:
    """POST /circulation/check-out-by-barcode (check-out-by-barcode-request.json; 201 loan.json).

    The validators' order and words of mod-circulation's CheckOutByBarcodeResource: a missing
    service point, an unknown user or item barcode, then the circulation rules (inactive user,
    manual block, item not loanable, already checked out, another patron's request, item
    status). No override is honoured: the gateway's user holds no override permission.
    """
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    stranger = _strangers(body, _CHECK_OUT_FIELDS)
    if stranger is not None:
        return stranger
    missing = _first_missing(
        body,
        ("itemBarcode", "Cannot check out item when item barcode is not provided"),
        ("userBarcode", "Cannot check out to a user when user barcode is not provided"),
        ("servicePointId", "Check out must be performed at a service point"),
    )
    if missing is not None:
        return missing
    if "overrideBlocks" in body:
        return _text(403, "Access requires permission: circulation.override-patron-block.post")
    library = _lib(request)
    branch = _branch_of_point(library, body["servicePointId"])
    if branch is None:
        return _refused(
            "Check out must be performed at a service point",
            servicePointId=body["servicePointId"],
        )
    try:
        patron = library.patron_info(body["userBarcode"])
    except UnknownRecord:
        return _refused(
            "Could not find user with matching barcode", userBarcode=body["userBarcode"]
        )
    try:
        item = library.item_info(body["itemBarcode"])
    except UnknownRecord:
        return _refused(
            f"No item with barcode {body['itemBarcode']} could be found",
            itemBarcode=body["itemBarcode"],
        )
    if not _active(patron):
        return _refused("Cannot check out to inactive user", userBarcode=patron.card_number)
    try:
        loan = library.checkout(patron.card_number, item.barcode, branch)
    except Refusal as refusal:
        return _check_out_refused(patron, item, refusal)
    return web.json_response(loan_json(loan, library), status=201)


def _checked_in_item(
    library: SimulatedLibrary, barcode: str, route_to: str | None
) -> dict[str, Any]:
    """check-in-by-barcode-response.json ``item`` (``additionalProperties: false``)."""
    info = library.item_info(barcode)
    item: dict[str, Any] = {
        "id": folio_id("item", info.item_id),
        "title": info.title,
        "callNumber": info.call_number,
        "materialType": {"name": MATERIAL_TYPE[info.item_type]},
        "contributors": [{"name": info.author}] if info.author else [],
        "holdingsRecordId": holdings_id(info.biblio_id, info.home_branch),
        "instanceId": folio_id("instance", info.biblio_id),
        "barcode": info.barcode,
        "location": {"name": _branch_label(library, info.location)},
        "status": {"name": ITEM_STATUS[info.status]},
    }
    if route_to is not None:
        point = folio_id("service-point", route_to)
        item["inTransitDestinationServicePointId"] = point
        item["inTransitDestinationServicePoint"] = {"name": _branch_label(library, route_to)}
    return item


def _branch_label(library: SimulatedLibrary, code: str) -> str:
    return next((b.name for b in library.data.branches if b.code == code), code)


async def check_in_by_barcode(request: web.Request) -> web.Response:
    """POST /circulation/check-in-by-barcode (check-in-by-barcode-request.json; 200
    check-in-by-barcode-response.json): the loan closed (if any) and the copy as it now
    stands: Available, Awaiting pickup (a hold here), or In transit to the hold's pickup."""
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    stranger = _strangers(body, _CHECK_IN_FIELDS)
    if stranger is not None:
        return stranger
    missing = _first_missing(
        body,
        ("itemBarcode", "Checkin request must have an item barcode"),
        ("servicePointId", "Checkin request must have a service point id"),
        ("checkInDate", "Checkin request must have an check in date"),
    )
    if missing is not None:
        return missing
    try:
        datetime.fromisoformat(body["checkInDate"].replace("Z", "+00:00"))
    except ValueError:
        return _text(400, f"Invalid date-time: {body['checkInDate']}")
    library = _lib(request)
    branch = _branch_of_point(library, body["servicePointId"])
    if branch is None:
        return _refused(
            "Checkin request must have a service point id",
            servicePointId=body["servicePointId"],
        )
    barcode = body["itemBarcode"]
    try:
        library.item_info(barcode)
    except UnknownRecord:
        return _refused(f"No item with barcode {barcode} exists", itemBarcode=barcode)
    before = next(
        (
            ln
            for p in library.data.patrons
            for ln in library.loans(p.card_number)
            if ln.barcode == barcode
        ),
        None,
    )
    result = library.checkin(barcode, branch)
    answer: dict[str, Any] = {
        "item": _checked_in_item(library, barcode, result.route_to),
        "inHouseUse": False,
    }
    if before is not None:
        loan = loan_json(replace(before, returned=library.now()), library)
        loan["action"] = "checkedin"
        loan["returnDate"] = instant(library.now())
        loan["checkinServicePointId"] = body["servicePointId"]
        answer["loan"] = loan
    return web.json_response(answer, status=200)


# -- requests -----------------------------------------------------------------------------


def _open_or_closed(state: FolioState) -> list[HoldView]:
    library = state.library
    return [
        library.hold_by_id(h.id)
        for h in library.data.holds
        if h.state is not HoldState.SUGGESTED  # a purchase suggestion is not a FOLIO request
    ]


async def list_requests(request: web.Request) -> web.Response:
    """GET /circulation/requests (circulation.raml, requests.json)."""
    state = _state(request)
    rows = [_request_json(state, h) for h in _open_or_closed(state)]
    return _collection(request, "requests", rows)


async def get_request(request: web.Request) -> web.Response:
    """GET /circulation/requests/{requestId}: 404 text as mod-circulation's RecordNotFound."""
    state = _state(request)
    request_id = request.match_info["id"]
    try:
        hold = _hold_by_uuid(state.library, request_id)
    except UnknownRecord:
        return _text(404, f'Request record with ID "{request_id}" cannot be found')
    return web.json_response(_request_json(state, hold))


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _text(400, "Json content error")
    if not isinstance(body, dict):
        return _text(400, "Json content error")
    return body


def _pickup_check(state: FolioState, point_id: Any, request_types: list[str]) -> str | web.Response:
    """The pickup code, or FOLIO's refusal (ServicePointPickupLocationValidator, policy)."""
    if not isinstance(point_id, str):
        return _refused("Hold shelf fulfillment requests require a Pickup service point")
    code = _point_code(state.library, point_id)
    if code is None:
        return _refused("Pickup service point does not exist", pickupServicePointId=point_id)
    if not _points(state.library)[code]["pickupLocation"]:
        return _refused("Service point is not a pickup location", pickupServicePointId=point_id)
    if not any(code in _allowed(state, t) for t in request_types):
        return _refused(
            "One or more Pickup locations are no longer available",
            pickupServicePointId=point_id,
        )
    return code


def _place(
    state: FolioState,
    patron: PatronInfo,
    code: str,
    *,
    biblio_id: int | None = None,
    barcode: str | None = None,
) -> HoldView:
    # FOLIO requests carry no contact method; staff ring patrons collecting at a bookmobile
    # stop, so the library's phone-only rule for stations holds (as in the Koha face).
    contact = ContactMethod.PHONE if _is_station(state, code) else None
    return state.library.place_hold(
        patron.card_number, code, biblio_id=biblio_id, barcode=barcode, contact=contact
    )


def _is_station(state: FolioState, code: str) -> bool:
    return any(p.code == code and p.bookmobile for p in state.library.pickup_locations())


def _remember(state: FolioState, hold: HoldView, body: dict[str, Any], **fields: str) -> None:
    extra = {"requestDate": body.get("requestDate"), **fields}
    for key in ("patronComments", "requestExpirationDate"):
        if body.get(key) is not None:
            extra[key] = body[key]
    state.extras[hold.hold_id] = {k: v for k, v in extra.items() if v is not None}


def _requester(library: SimulatedLibrary, body: dict[str, Any]) -> PatronInfo | web.Response:
    """The patron a request is for: one FOLIO knows, and active (mod-circulation's messages)."""
    try:
        patron = _patron_by_uuid(library, body["requesterId"])
    except UnknownRecord:
        return _refused(
            "A valid user and patron group are required. User is null",
            requesterId=body["requesterId"],
        )
    if not _active(patron):
        return _refused("Inactive users cannot make requests", requesterId=body["requesterId"])
    return patron


async def create_request(request: web.Request) -> web.Response:
    """POST /circulation/requests (request.json): one copy (Item level) or, with TLR on, a
    title (Title level). Requires requesterId, requestType, requestDate,
    fulfillmentPreference; an Item request needs itemId, holdingsRecordId and instanceId."""
    state = _state(request)
    library = state.library
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    missing = _first_missing(
        body,
        ("requesterId", "Request must have a requester id"),
        ("requestDate", "Request must have a request date"),
        ("requestType", "Request must have a request type"),
        ("fulfillmentPreference", "Request must have a fulfillment preference"),
    )
    if missing is not None:
        return missing
    if body["fulfillmentPreference"] != "Hold Shelf":
        return _refused(
            "Delivery is not offered by this library",
            fulfillmentPreference=body["fulfillmentPreference"],
        )
    level = body.get("requestLevel", "Item")
    patron = _requester(library, body)
    if isinstance(patron, web.Response):
        return patron
    missing = _first_missing(body, ("instanceId", "Cannot create a request with no instance ID"))
    if missing is not None:
        return missing
    try:
        biblio_id = _biblio_by_uuid(library, body["instanceId"])
    except UnknownRecord:
        return _refused("Instance does not exist", instanceId=body["instanceId"])
    request_type = body["requestType"]
    if level == "Title":
        if not state.tlr_enabled:
            return _refused("Title-level requests are not allowed", requestLevel="Title")
        return await _title_request(state, patron, biblio_id, body, [request_type])
    if level != "Item":
        return _refused(
            "requestLevel must be one of the following: Item, Title", requestLevel=str(level)
        )
    if not isinstance(body.get("itemId"), str):
        return _refused("Cannot create an item level request with no item ID", itemId="null")
    if not isinstance(body.get("holdingsRecordId"), str):
        return _refused(
            "Cannot create a request with item ID but no holdings record ID", itemId=body["itemId"]
        )
    try:
        barcode = _barcode_by_uuid(library, body["itemId"])
    except UnknownRecord:
        return _refused("Item does not exist", itemId=body["itemId"])
    info = library.item_info(barcode)
    if (
        info.biblio_id != biblio_id
        or holdings_id(biblio_id, info.home_branch) != body["holdingsRecordId"]
    ):
        # mod-circulation takes holdings and instance from the item; a client that sends others
        # is wrong, and the simulator says so rather than guess which it meant
        return _refused("Holdings record does not exist", holdingsRecordId=body["holdingsRecordId"])
    types = _requestable_types([_status_name(info.status)], info.holdable)
    if request_type not in types or request_type not in REQUEST_TYPES:
        return _refused(
            f"{request_type} requests are not allowed for this patron and item combination",
            requesterId=body["requesterId"],
            itemId=body["itemId"],
        )
    code = _pickup_check(state, body.get("pickupServicePointId"), [request_type])
    if isinstance(code, web.Response):
        return code
    try:
        hold = _place(state, patron, code, barcode=barcode)
    except Refusal as refusal:
        return _request_refused(patron, refusal)
    _remember(state, hold, body, requestType=request_type, requestLevel="Item")
    return web.json_response(_request_json(state, library.hold_by_id(hold.hold_id)), status=201)


def _status_name(status: str) -> str:
    return ITEM_STATUS[status]


async def _title_request(
    state: FolioState,
    patron: PatronInfo,
    biblio_id: int,
    body: dict[str, Any],
    tried: list[str],
) -> web.Response:
    library = state.library
    copies = library.items_of(biblio_id)
    holdable = any(c.holdable for c in copies) or not copies
    statuses = [_status_name(c.status) for c in copies if not c.not_for_loan] or ["On order"]
    possible = [t for t in tried if t in _requestable_types(statuses, holdable)]
    if not possible:
        return _refused(
            "Hold requests are not allowed for this patron and title combination",
            requesterId=folio_id("user", patron.patron_id),
            instanceId=folio_id("instance", biblio_id),
        )
    code = _pickup_check(state, body.get("pickupServicePointId"), possible)
    if isinstance(code, web.Response):
        return code
    request_type = next(t for t in possible if code in _allowed(state, t))
    try:
        hold = _place(state, patron, code, biblio_id=biblio_id)
    except Refusal as refusal:
        return _request_refused(patron, refusal)
    _remember(state, hold, body, requestType=request_type, requestLevel="Title")
    return web.json_response(_request_json(state, library.hold_by_id(hold.hold_id)), status=201)


async def create_instance_request(request: web.Request) -> web.Response:
    """POST /circulation/requests/instances (request-by-instance-id.json). As
    RequestByInstanceIdResource: with TLR on, a Title request tried as Page, then Hold; with TLR
    off, an Item request on a copy (one on the shelf first). The body's requestLevel is not
    what decides."""
    state = _state(request)
    library = state.library
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    missing = [
        k
        for k in ("instanceId", "requesterId", "requestDate", "pickupServicePointId")
        if not isinstance(body.get(k), str)
    ]
    if missing:
        return _refused(f"{missing[0]} is required", **{missing[0]: "null"})
    patron = _requester(library, body)
    if isinstance(patron, web.Response):
        return patron
    try:
        biblio_id = _biblio_by_uuid(library, body["instanceId"])
    except UnknownRecord:
        return _refused("There are no items for this instance", instanceId=body["instanceId"])
    if state.tlr_enabled:
        return await _title_request(state, patron, biblio_id, body, list(REQUEST_TYPES))
    copies = [c for c in library.items_of(biblio_id) if c.holdable]
    if not copies:
        return _refused("There are no items for this instance", instanceId=body["instanceId"])
    copies.sort(key=lambda c: c.status != ItemStatus.AVAILABLE.value)
    errors: list[dict[str, Any]] = []
    for copy in copies:
        request_type = "Page" if copy.status == ItemStatus.AVAILABLE.value else "Hold"
        code = _pickup_check(state, body.get("pickupServicePointId"), [request_type])
        if isinstance(code, web.Response):
            return code
        try:
            hold = _place(state, patron, code, barcode=copy.barcode)
        except Refusal as refusal:
            errors += _json_errors(_request_refused(patron, refusal))
            continue
        _remember(state, hold, body, requestType=request_type, requestLevel="Item")
        return web.json_response(_request_json(state, library.hold_by_id(hold.hold_id)), status=201)
    return web.json_response({"errors": errors, "total_records": len(errors)}, status=422)


def _json_errors(response: web.Response) -> list[dict[str, Any]]:
    assert response.body is not None
    return list(json.loads(bytes(response.body))["errors"])  # type: ignore[arg-type]  # aiohttp types body as bytes | Payload; json_response sets bytes


_FIXED_ON_PUT = ("requesterId", "instanceId", "requestLevel", "requestType", "itemId")


async def replace_request(request: web.Request) -> web.Response:
    """PUT /circulation/requests/{requestId} (request.json): the whole record, with the status
    set to "Closed - Cancelled" (cancellationReasonId, cancelledByUserId, cancelledDate) or a
    new pickupServicePointId. 204 on success."""
    state = _state(request)
    library = state.library
    request_id = request.match_info["id"]
    try:
        hold = _hold_by_uuid(library, request_id)
    except UnknownRecord:
        return _text(404, f'Request record with ID "{request_id}" cannot be found')
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    if body.get("id", request_id) != request_id:
        return _text(400, "ID in the body does not match the ID in the path")
    current = _request_json(state, hold)
    for key in _FIXED_ON_PUT:
        if body.get(key) != current.get(key):
            return _refused(f"{key} cannot be changed", **{key: str(body.get(key))})
    patron = library.patron_by_id(hold.patron_id)
    status = body.get("status")
    if current["status"].startswith("Closed"):
        return _refused("The request has already been closed", id=request_id)
    if status == "Closed - Cancelled":
        reason = body.get("cancellationReasonId")
        if not isinstance(reason, str):
            return _refused("Cancellation reason is required", cancellationReasonId="null")
        try:
            library.cancel_hold(patron.card_number, hold.hold_id)
        except Refusal as refusal:
            return _request_refused(patron, refusal)
        extra = state.extras.setdefault(hold.hold_id, {})
        for key in CANCELLATION_FIELDS:
            if body.get(key) is not None:
                extra[key] = body[key]
        return web.Response(status=204)
    if status != current["status"]:
        return _refused(f"Status cannot be changed to {status}", status=str(status))
    if body.get("pickupServicePointId") != current["pickupServicePointId"]:
        code = _pickup_check(state, body.get("pickupServicePointId"), [current["requestType"]])
        if isinstance(code, web.Response):
            return code
        try:
            library.change_pickup(
                patron.card_number,
                hold.hold_id,
                code,
                ContactMethod.PHONE if _is_station(state, code) else None,
            )
        except Refusal as refusal:
            return _refused(
                "Pickup service point cannot be changed for a request in this status",
                status=current["status"],
                reason=refusal.token.value,
            )
    return web.Response(status=204)


async def allowed_points(request: web.Request) -> web.Response:
    """GET /circulation/requests/allowed-service-points (allowed-service-points-response.json):
    the parameter combinations AllowedServicePointsResource accepts (create with requesterId
    and one of itemId/instanceId; replace with requestId), 400 text otherwise; service points
    by request type, sorted by name; types with none are left out."""
    state = _state(request)
    library = state.library
    q = request.query
    operation = q.get("operation")
    keys = {k for k in ("requesterId", "instanceId", "itemId", "requestId") if k in q}
    if operation == "create" and keys in ({"requesterId", "instanceId"}, {"requesterId", "itemId"}):
        pass
    elif operation == "replace" and keys == {"requestId"}:
        pass
    else:
        return _text(400, "Invalid combination of query parameters")
    try:
        if operation == "replace":
            hold = _hold_by_uuid(library, q["requestId"])
            types = [_request_json(state, hold)["requestType"]]
        else:
            patron = _patron_by_uuid(library, q["requesterId"])
            if not _active(patron):
                return web.json_response({})
            if "itemId" in q:
                info = library.item_info(_barcode_by_uuid(library, q["itemId"]))
                types = _requestable_types([_status_name(info.status)], info.holdable)
            else:
                copies = library.items_of(_biblio_by_uuid(library, q["instanceId"]))
                holdable = any(c.holdable for c in copies) or not copies
                statuses = [_status_name(c.status) for c in copies if not c.not_for_loan]
                types = _requestable_types(statuses or ["On order"], holdable)
    except UnknownRecord as exc:
        return _text(422, f"{exc.kind.capitalize()} with ID {exc.key} was not found")
    points = _points(library)
    answer: dict[str, list[dict[str, str]]] = {}
    for request_type in types:
        rows = [
            {"id": points[c]["id"], "name": points[c]["name"]}
            for c in _allowed(state, request_type)
        ]
        if rows:
            answer[request_type] = sorted(rows, key=lambda r: r["name"])
    return web.json_response(answer)


# -- service points and inventory -----------------------------------------------------------


async def list_service_points(request: web.Request) -> web.Response:
    """GET /service-points (mod-inventory-storage ramls/service-point.raml)."""
    return _collection(request, "servicepoints", list(_points(_lib(request)).values()))


async def list_items(request: web.Request) -> web.Response:
    """GET /inventory/items (mod-inventory ramls/inventory.raml): CQL over item records."""
    library = _lib(request)
    items = [item_json(library.item_info(i.barcode), library) for i in library.data.items]
    return _collection(request, "items", items)


async def get_item(request: web.Request) -> web.Response:
    """GET /inventory/items/{itemId}: 404 text when there is none."""
    library = _lib(request)
    try:
        barcode = _barcode_by_uuid(library, request.match_info["id"])
    except UnknownRecord:
        return _text(404, "Not found")
    return web.json_response(item_json(library.item_info(barcode), library))


def _holdings_json(item_biblio: int, branch: str, call_number: str | None) -> dict[str, Any]:
    return {
        "id": holdings_id(item_biblio, branch),
        "instanceId": folio_id("instance", item_biblio),
        "permanentLocationId": folio_id("location", branch),
        "callNumber": call_number,
        "sourceId": folio_id("holdings-source", "FOLIO"),
    }


async def list_holdings(request: web.Request) -> web.Response:
    """GET /holdings-storage/holdings (mod-inventory-storage): CQL over holdings records
    (``instanceId==<uuid>``: a title's holdings, the way to its copies)."""
    library = _lib(request)
    seen: dict[str, dict[str, Any]] = {}
    for item in library.data.items:
        record = _holdings_json(item.biblio_id, item.home_branch, item.call_number)
        seen.setdefault(record["id"], record)
    return _collection(request, "holdingsRecords", list(seen.values()))


async def get_loan_policy(request: web.Request) -> web.Response:
    """GET /loan-policy-storage/loan-policies/{id} (mod-circulation-storage loan-policy.json):
    the one policy every loan of the simulated library has; its renewal limit is the house
    rules' ``max_renewals``."""
    if request.match_info["id"] != LOAN_POLICY_ID:
        return _text(404, "Not found")
    rules = _lib(request).rules
    return web.json_response(
        {
            "id": LOAN_POLICY_ID,
            "name": "みどり市立図書館 貸出方針",
            "loanable": True,
            "renewable": rules.max_renewals > 0,
            "renewalsPolicy": {"unlimited": False, "numberAllowed": rules.max_renewals},
        }
    )


async def get_holdings(request: web.Request) -> web.Response:
    """GET /holdings-storage/holdings/{holdingsRecordId} (mod-inventory-storage
    holdingsrecord.json): the record that links copies to their instance."""
    library = _lib(request)
    wanted = request.match_info["id"]
    for item in library.data.items:
        if holdings_id(item.biblio_id, item.home_branch) == wanted:
            return web.json_response(
                {
                    "id": wanted,
                    "instanceId": folio_id("instance", item.biblio_id),
                    "permanentLocationId": folio_id("location", item.home_branch),
                    "callNumber": item.call_number,
                    "sourceId": folio_id("holdings-source", "FOLIO"),
                }
            )
    return _text(404, "Not Found")


# FOLIO reference data (mod-inventory-storage reference-data/identifier-types/isbn.json).
ISBN_IDENTIFIER_TYPE = "8261054f-be78-422d-bd51-4ed9f33c3422"
# A site-defined alternative title type for readings (ヨミ), as Japanese FOLIO sites add one.
READING_TITLE_TYPE = folio_id("alternative-title-type", "reading")


def instance_json(biblio: Biblio, library: SimulatedLibrary) -> dict[str, Any]:
    """An inventory instance (mod-inventory ramls/instance.json): title, contributors,
    publication, identifiers (ISBN), the reading as an alternative title, subjects, and the
    ``metadata`` every FOLIO record carries (raml-util/schemas/metadata.schema). Its
    ``createdDate`` is the day its first copy was received (受入日, 10:00 Tokyo), or a day long
    before the sample's for titles held for years."""
    days = [i.acquired for i in library.data.items if i.biblio_id == biblio.id and i.acquired]
    created = (datetime.combine(min(days), time(10), TOKYO) if days else _LONG_HELD).astimezone(UTC)
    stamp = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": folio_id("instance", biblio.id),
        "title": biblio.title,
        "contributors": [{"name": biblio.author}] if biblio.author else [],
        "publication": [{"publisher": biblio.publisher, "dateOfPublication": str(biblio.year)}]
        if biblio.publisher
        else [],
        "identifiers": [{"identifierTypeId": ISBN_IDENTIFIER_TYPE, "value": biblio.isbn}]
        if biblio.isbn
        else [],
        "alternativeTitles": [
            {"alternativeTitleTypeId": READING_TITLE_TYPE, "alternativeTitle": biblio.title_reading}
        ]
        if biblio.title_reading
        else [],
        # newer mod-inventory: subjects as objects with a value (older: plain strings)
        "subjects": [{"value": s} for s in biblio.subjects],
        "source": "FOLIO",
        "instanceTypeId": folio_id("instance-type", "text"),
        "metadata": {"createdDate": stamp, "updatedDate": stamp},
    }


_LONG_HELD = datetime(2020, 4, 1, tzinfo=UTC)


async def get_instance(request: web.Request) -> web.Response:
    """GET /inventory/instances/{instanceId} (mod-inventory ramls/instance.json)."""
    library = _lib(request)
    try:
        biblio = library.biblio(_biblio_by_uuid(library, request.match_info["id"]))
    except UnknownRecord:
        return _text(404, "Not found")
    return web.json_response(instance_json(biblio, library))


async def list_instances(request: web.Request) -> web.Response:
    """GET /inventory/instances (mod-inventory ramls/inventory.raml, ``searchable`` and
    ``pageable`` traits): CQL over instance records, ``limit``/``offset``, ``totalRecords``;
    e.g. ``metadata.createdDate>="2025-05-24T15:00:00.000Z" sortby metadata.createdDate`` for
    the titles added since a moment (new-arrival alerts)."""
    library = _lib(request)
    return _collection(request, "instances", [instance_json(b, library) for b in library.biblios()])


# -- app ----------------------------------------------------------------------------------

# Which library operation each route exercises (for latency and the fault knobs).
_OPERATIONS: dict[str, Operation] = {
    "/users": Operation.AUTHENTICATE,
    "/circulation/loans": Operation.LOANS,
    "/circulation/renew-by-id": Operation.RENEW,
    "/circulation/renew-by-barcode": Operation.RENEW,
    "/circulation/check-out-by-barcode": Operation.CHECKOUT,
    "/circulation/check-in-by-barcode": Operation.CHECKIN,
    "/circulation/requests": Operation.HOLDS,
    "/circulation/requests/instances": Operation.PLACE_HOLD,
    "/service-points": Operation.PICKUP_LOCATIONS,
    "/inventory/items": Operation.ITEM_INFO,
}


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else request.path


@web.middleware
async def _okapi(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Okapi first (tenant, token), then the handler, the library's faults as FOLIO's 500s,
    and every exchange kept for the tests."""
    state = request.app[FOLIO_STATE]
    route = _route(request)
    body: Any = None
    if request.can_read_body:
        try:
            body = await request.json()
        except ValueError:
            body = await request.text()
    response = await _answer(request, handler, state, route)
    answer: Any = None
    if isinstance(response, web.Response) and response.body is not None:
        if response.content_type == "application/json":
            answer = json.loads(bytes(response.body))  # type: ignore[arg-type]  # aiohttp types body as bytes | Payload; json_response sets bytes
        else:
            answer = response.text
    state.traffic.append(Exchange(request.method, route, body, response.status, answer))
    return response


async def _answer(
    request: web.Request, handler: Handler, state: FolioState, route: str
) -> web.StreamResponse:
    tenant = request.headers.get("X-Okapi-Tenant")
    if not tenant:
        return _text(400, "Missing Tenant")
    if tenant != state.tenant:
        return _text(400, f"No such Tenant {tenant}")
    if not route.startswith("/authn/"):
        token = request.headers.get("X-Okapi-Token")
        expires = state.tokens.get(token or "")
        if expires is None or expires <= state.token_clock():
            return _text(401, "Invalid token")
    operation = _OPERATIONS.get(route)
    delay = state.latency.get(operation.value if operation else route, state.latency.get("*", 0.0))
    if operation is not None:
        delay += state.library.faults.latency_for(operation)
    if delay:
        await asyncio.sleep(delay)
    try:
        return await handler(request)
    except SimulatedFault:
        return _text(500, "Internal server error")
    except UnknownRecord as exc:
        return _text(404, f"{exc.kind.capitalize()} not found")


def create_folio_app(
    library: SimulatedLibrary,
    *,
    tenant: str = "midori",
    username: str = "ils-gateway",
    password: str = "folio-demo-pass",
    tlr_enabled: bool = True,
    allowed_service_points: Mapping[str, frozenset[str]] | None = None,
    latency: Mapping[str, float] | None = None,
    token_clock: Clock | None = None,
) -> web.Application:
    """The FOLIO-like REST app over ``library`` (bind it with ``web.AppRunner``).

    FOLIO closes any open request when it is cancelled, so the library's cancellable states
    become every open state (its rules are replaced for this face).
    """
    rules = library.rules
    library.data.rules = replace(
        rules,
        cancellable_states=tuple(s for s in HoldState if s.is_open),
        cancellation_request_when_found=False,
    )
    state = FolioState(
        library=library,
        tenant=tenant,
        username=username,
        password=password,
        tlr_enabled=tlr_enabled,
        allowed_service_points=allowed_service_points,
        latency=dict(latency or {}),
    )
    if token_clock is not None:
        state.token_clock = token_clock
    app = web.Application(middlewares=[_okapi])
    app[FOLIO_STATE] = state
    r = app.router
    r.add_post("/authn/login-with-expiry", login_with_expiry)
    r.add_post("/authn/login", login_legacy)
    r.add_get("/users", list_users)
    r.add_get("/users/{id}", get_user)
    r.add_put("/users/{id}", update_user)
    r.add_post("/patron-pin/verify", verify_pin)
    r.add_post("/patron-pin", set_pin)
    r.add_get("/manualblocks", manual_blocks)
    r.add_get("/automated-patron-blocks/{id}", automated_blocks)
    r.add_get("/accounts", list_accounts)
    r.add_get("/circulation/loans", list_loans)
    r.add_post("/circulation/renew-by-id", renew_by_id)
    r.add_post("/circulation/renew-by-barcode", renew_by_barcode)
    r.add_post("/circulation/check-out-by-barcode", check_out_by_barcode)
    r.add_post("/circulation/check-in-by-barcode", check_in_by_barcode)
    r.add_get("/circulation/requests", list_requests)
    r.add_post("/circulation/requests", create_request)
    r.add_post("/circulation/requests/instances", create_instance_request)
    r.add_get("/circulation/requests/allowed-service-points", allowed_points)
    r.add_get("/circulation/requests/{id}", get_request)
    r.add_put("/circulation/requests/{id}", replace_request)
    r.add_get("/service-points", list_service_points)
    r.add_get("/inventory/items", list_items)
    r.add_get("/inventory/items/{id}", get_item)
    r.add_get("/inventory/instances", list_instances)
    r.add_get("/inventory/instances/{id}", get_instance)
    r.add_get("/holdings-storage/holdings", list_holdings)
    r.add_get("/holdings-storage/holdings/{id}", get_holdings)
    r.add_get("/loan-policy-storage/loan-policies/{id}", get_loan_policy)
    return app
