"""A Koha-like REST face (API v1) over ``SimulatedLibrary``, for demos and end-to-end tests.

Only the routes the gateway's Koha adapter uses are served, with the paths, parameters,
status codes and JSON shapes of Koha's published definition (the 23.05 snapshot in
``shared/reference/koha``); the tests hold every answer against it. The staff API acts for the
patron a record belongs to, as Koha's does. Authentication: OAuth2 client credentials
(``POST /api/v1/oauth/token``) or Basic, with the credentials given to ``create_koha_app``.

Koha's refusal texts are kept: ``"Hold cannot be placed. Reason: tooManyReserves"``,
``"Renewal not authorized (too_soon)"``, with the code also in ``error_code``. The simulated
library's own tokens stay inside it: ``koha_code`` says what Koha sends in each situation
(its own code, the code of the Koha setting a site would use for that rule, or no code where
Koha answers with a bare message, e.g. suspending a found hold).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any

from aiohttp import web

from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.outcomes import (
    HoldView,
    ItemInfo,
    LoanView,
    PatronBlock,
    PatronInfo,
    PickupLocation,
    Refusal,
    RefusalToken,
    SimulatedFault,
    UnknownRecord,
)
from ils_gateway.simulators.records import Biblio, ContactMethod, ItemStatus

API = "/api/v1"
TOKEN_LIFETIME = 3600
KOHA_LIBRARY = web.AppKey("koha_library", SimulatedLibrary)
_STATE = web.AppKey("koha_state", dict)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, code: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if code:
        body["error_code"] = code
    return web.json_response(body, status=status)


# Tokens that are Koha's own codes (CanBookBeRenewed, CanItemBeReserved, patron checks).
_KOHA_OWN_CODES = frozenset(
    {
        RefusalToken.TOO_MANY,
        RefusalToken.ON_RESERVE,
        RefusalToken.TOO_SOON,
        RefusalToken.OVERDUE,
        RefusalToken.TOO_LATE,
        RefusalToken.ITEM_DENIED_RENEWAL,
        RefusalToken.RESTRICTION,
        RefusalToken.CARD_EXPIRED,
        RefusalToken.TOO_MANY_RESERVES,
        RefusalToken.ALREADY_RESERVED,
        RefusalToken.ALREADY_POSSESSION,
        RefusalToken.NOT_RESERVABLE,
        RefusalToken.EXPIRED,
        RefusalToken.DEBARRED,
        RefusalToken.PICKUP_NOT_VALID,
    }
)
# House rules Koha has no code for, as a Koha site configures them.
_KOHA_EQUIVALENTS: dict[RefusalToken, str] = {
    # Sites stop renewals of interlibrary loans with ItemsDeniedRenewal on the ILL item type.
    RefusalToken.INTERLIBRARY_LOAN: "item_denied_renewal",
    # Overdues block holds in Koha through the automatic OVERDUES restriction on the patron.
    RefusalToken.ITEM_OVERDUE: "debarred",
}


def koha_code(token: RefusalToken) -> str | None:
    """What Koha sends for the situation behind ``token`` (None: a message without a code)."""
    if token in _KOHA_OWN_CODES:
        return token.value
    return _KOHA_EQUIVALENTS.get(token)


def _refused(status: int, refusal: Refusal, text: str | None = None) -> web.Response:
    code = koha_code(refusal.token)
    return _error(status, text.format(code=code) if code and text else refusal.message, code)


# -- Koha JSON shapes ---------------------------------------------------------------------


def _end_of_day(day: date) -> str:
    return datetime.combine(day, time(23, 59), tzinfo=TOKYO).isoformat()


def patron_json(
    patron: PatronInfo, embed: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """definitions/patron.yaml"""
    body: dict[str, Any] = {
        "patron_id": patron.patron_id,
        "cardnumber": patron.card_number,
        "userid": patron.card_number,
        "surname": patron.name,
        "firstname": None,
        "other_name": patron.name_kana,
        "library_id": patron.home_branch,
        "category_id": patron.category,
        "email": patron.email,
        "phone": patron.phone,
        "date_of_birth": patron.birth_date.isoformat(),
        "expiry_date": patron.expiry_date.isoformat(),
        "restricted": PatronBlock.MANUAL in patron.blocks,
    }
    if "checkouts+count" in embed:
        body["checkouts_count"] = len(patron.charged_items)
    if "overdues+count" in embed:
        body["overdues_count"] = len(patron.overdue_items)
    return body


def item_json(item: ItemInfo) -> dict[str, Any]:
    """definitions/item.yaml"""
    lost = item.status in (ItemStatus.LOST.value, ItemStatus.MISSING.value)
    return {
        "item_id": item.item_id,
        "biblio_id": item.biblio_id,
        "external_id": item.barcode,
        "home_library_id": item.home_branch,
        "holding_library_id": item.location,
        "callnumber": item.call_number,
        "item_type_id": item.item_type.value,
        "effective_item_type_id": item.item_type.value,
        "not_for_loan_status": 1 if item.not_for_loan else 0,
        "effective_not_for_loan_status": 1 if item.not_for_loan else 0,
        "lost_status": 1 if lost else 0,
        "withdrawn": 0,
        "damaged_status": 0,
        "checked_out_date": item.checked_out.isoformat() if item.checked_out else None,
        "holds_count": item.hold_queue_length,
    }


def checkout_json(loan: LoanView) -> dict[str, Any]:
    """definitions/checkout.yaml"""
    return {
        "checkout_id": loan.checkout_id,
        "patron_id": loan.patron_id,
        "item_id": loan.item_id,
        "external_id": loan.barcode,
        "due_date": _end_of_day(loan.due),
        "checkout_date": loan.checked_out.isoformat(),
        "library_id": loan.branch,
        "renewals_count": loan.renewals,
        "unseen_renewals": 0,
        "auto_renew": False,
        "onsite_checkout": False,
        "checkin_date": loan.returned.isoformat() if loan.returned else None,
    }


def hold_json(hold: HoldView) -> dict[str, Any]:
    """definitions/hold.yaml"""
    return {
        "hold_id": hold.hold_id,
        "patron_id": hold.patron_id,
        "biblio_id": hold.biblio_id,
        "item_id": str(hold.item_id) if hold.item_id is not None else None,
        "item_level": hold.item_level,
        "pickup_library_id": hold.pickup,
        "hold_date": hold.placed.date().isoformat(),
        "priority": hold.queue_position or 0,
        "status": hold.found,
        "suspended": hold.suspended,
        "suspended_until": (
            datetime.combine(hold.suspended_until, time(), tzinfo=TOKYO).isoformat()
            if hold.suspended_until
            else None
        ),
        "expiration_date": hold.deadline.isoformat() if hold.deadline else None,
        "cancellation_requested": hold.cancellation_requested,
    }


def biblio_json(biblio: Biblio) -> dict[str, Any]:
    """GET /biblios/{biblio_id} as JSON: the names Koha::Biblio->to_api gives the record."""
    return {
        "biblio_id": biblio.id,
        "title": biblio.title,
        "subtitle": None,
        "author": biblio.author,
        "publisher": biblio.publisher or None,
        "copyright_date": biblio.year,
        "series_title": biblio.series,
    }


def library_json(location: PickupLocation) -> dict[str, Any]:
    """definitions/library.yaml"""
    return {"library_id": location.code, "name": location.name, "pickup_location": True}


# -- helpers over the model ---------------------------------------------------------------


def _library(request: web.Request) -> SimulatedLibrary:
    return request.app[KOHA_LIBRARY]


def _int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise web.HTTPBadRequest(
            text='{"error": "Invalid path parameter"}', content_type="application/json"
        )
    return int(raw)


def _embed(request: web.Request) -> set[str]:
    return {e.strip() for e in request.headers.get("x-koha-embed", "").split(",") if e.strip()}


def _hold_owner_card(library: SimulatedLibrary, hold_id: int) -> str:
    hold = library.hold_by_id(hold_id)
    return library.patron_by_id(hold.patron_id).card_number


def _barcode_of(library: SimulatedLibrary, item_id: int) -> str:
    for item in library.data.items:
        if item.id == item_id:
            return item.barcode
    raise UnknownRecord("item", item_id)


def _open_loan(library: SimulatedLibrary, checkout_id: int) -> tuple[str, str]:
    for loan in library.data.loans:
        if loan.id == checkout_id and loan.returned is None:
            return library.patron_by_id(loan.patron_id).card_number, _barcode_of(
                library, loan.item_id
            )
    raise UnknownRecord("checkout", checkout_id)


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "Malformed JSON"}', content_type="application/json"
        ) from None


# -- handlers -----------------------------------------------------------------------------


async def token(request: web.Request) -> web.Response:
    form = await request.post()
    state = request.app[_STATE]
    if form.get("grant_type") != "client_credentials":
        return _error(400, "Unimplemented grant type")
    if (form.get("client_id"), form.get("client_secret")) != state["client"]:
        return _error(403, "unauthorized_client")
    access = secrets.token_urlsafe(24)
    state["tokens"].add(access)
    return web.json_response(
        {"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME}
    )


async def validate_password(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, dict) or not {"userid", "password"} <= body.keys():
        return _error(400, "Missing userid or password")
    result = _library(request).authenticate(str(body["userid"]), str(body["password"]))
    if not result.ok:
        return _error(400, "Validation failed")
    return web.Response(status=204)


async def list_patrons(request: web.Request) -> web.Response:
    card = request.query.get("cardnumber")
    library = _library(request)
    if card is None:
        return _error(400, "This simulator lists patrons by cardnumber only")
    try:
        found = [library.patron_info(card)]
    except UnknownRecord:
        found = []
    return web.json_response([patron_json(p, _embed(request)) for p in found])


async def get_patron(request: web.Request) -> web.Response:
    patron = _library(request).patron_by_id(_int(request, "patron_id"))
    return web.json_response(patron_json(patron))


async def patron_holds(request: web.Request) -> web.Response:
    library = _library(request)
    patron = library.patron_by_id(_int(request, "patron_id"))
    return web.json_response([hold_json(h) for h in library.holds(patron.card_number)])


async def list_checkouts(request: web.Request) -> web.Response:
    library = _library(request)
    patron_id = request.query.get("patron_id")
    if patron_id is None or not patron_id.isdigit():
        return _error(400, "This simulator lists checkouts by patron_id only")
    try:
        card = library.patron_by_id(int(patron_id)).card_number
    except UnknownRecord:
        return web.json_response([])
    return web.json_response([checkout_json(loan) for loan in library.loans(card)])


async def allows_renewal(request: web.Request) -> web.Response:
    library = _library(request)
    card, barcode = _open_loan(library, _int(request, "checkout_id"))
    refusal, _ = library.renewal_check(card, barcode)
    loan = next(v for v in library.loans(card) if v.barcode == barcode)
    return web.json_response(
        {
            "allows_renewal": refusal is None,
            "max_renewals": library.rules.max_renewals,
            "current_renewals": loan.renewals,
            "unseen_renewals": 0,
            "error": koha_code(refusal.token) if refusal else None,
        }
    )


async def renew(request: web.Request) -> web.Response:
    library = _library(request)
    card, barcode = _open_loan(library, _int(request, "checkout_id"))
    try:
        loan = library.renew(card, barcode)
    except Refusal as refusal:
        return _refused(403, refusal, "Renewal not authorized ({code})")
    return web.json_response(checkout_json(loan), status=201)


async def list_holds(request: web.Request) -> web.Response:
    library = _library(request)
    hold_id = request.query.get("hold_id")
    patron_id = request.query.get("patron_id")
    item_id = request.query.get("item_id")
    if patron_id is None and item_id is not None and item_id.isdigit():
        return web.json_response([hold_json(h) for h in _holds_on_item(library, int(item_id))])
    if patron_id is None or not patron_id.isdigit():
        return _error(400, "This simulator lists holds by patron_id or item_id only")
    try:
        card = library.patron_by_id(int(patron_id)).card_number
    except UnknownRecord:
        return web.json_response([])
    holds = library.holds(card)
    if hold_id is not None:
        holds = [h for h in holds if str(h.hold_id) == hold_id]
    return web.json_response([hold_json(h) for h in holds])


def _holds_on_item(library: SimulatedLibrary, item_id: int) -> list[HoldView]:
    """Open holds a copy has been set aside for (Koha: reserves with this itemnumber)."""
    return [
        library.hold_by_id(h.id)
        for h in library.data.holds
        if h.item_id == item_id and h.state.is_open
    ]


_HOLD_FIELDS = {
    "patron_id",
    "biblio_id",
    "item_group_id",
    "hold_date",
    "item_id",
    "pickup_library_id",
    "expiration_date",
    "notes",
    "item_type",
    "non_priority",
}


async def place_hold(request: web.Request) -> web.Response:
    library = _library(request)
    body = await _json_body(request)
    if (
        not isinstance(body, dict)
        or not {"patron_id", "pickup_library_id"} <= body.keys()
        or body.keys() - _HOLD_FIELDS
    ):
        return _error(400, "Missing or wrong parameters")
    card = library.patron_by_id(int(body["patron_id"])).card_number
    pickup = str(body["pickup_library_id"])
    if pickup not in {p.code for p in library.pickup_locations()}:
        return _error(400, "The supplied pickup location is not valid")
    # Koha holds have no contact method (Koha notifies by messaging preferences); staff
    # ring patrons collecting at a bookmobile stop, so the model's phone-only rule holds.
    stations = {p.code for p in library.pickup_locations() if p.bookmobile is not None}
    contact = ContactMethod.PHONE if pickup in stations else None
    try:
        if body.get("item_id") is not None:
            barcode = _barcode_of(library, int(body["item_id"]))
            hold = library.place_hold(card, pickup, barcode=barcode, contact=contact)
        elif body.get("biblio_id") is not None:
            hold = library.place_hold(
                card, pickup, biblio_id=int(body["biblio_id"]), contact=contact
            )
        else:
            return _error(400, "At least one of biblio_id, item_id should be given")
    except Refusal as refusal:
        return _refused(403, refusal, "Hold cannot be placed. Reason: {code}")
    return web.json_response(hold_json(hold), status=201)


async def cancel_hold(request: web.Request) -> web.Response:
    library = _library(request)
    hold_id = _int(request, "hold_id")
    card = _hold_owner_card(library, hold_id)
    hold = library.hold_by_id(hold_id)
    asked_for_request = "cancellation-request-flow" in request.headers.get("x-koha-override", "")
    if hold.state not in library.rules.cancellable_states and not asked_for_request:
        # Koha 23.05 has no cancellation request over this route: refuse rather than pretend.
        return _refused(403, Refusal(RefusalToken.NOT_CANCELLABLE))
    try:
        after = library.cancel_hold(card, hold_id)
    except Refusal as refusal:
        return _refused(403, refusal)
    if after.cancellation_requested and after.state.is_open:
        return web.Response(status=202)
    return web.Response(status=204)


async def change_pickup(request: web.Request) -> web.Response:
    library = _library(request)
    hold_id = _int(request, "hold_id")
    body = await _json_body(request)
    if not isinstance(body, dict) or set(body) != {"pickup_library_id"}:
        return _error(400, "Missing or wrong parameters")
    card = _hold_owner_card(library, hold_id)
    try:
        hold = library.change_pickup(card, hold_id, str(body["pickup_library_id"]))
    except Refusal as refusal:
        if refusal.token is RefusalToken.PICKUP_NOT_VALID:
            return _error(400, "The supplied pickup location is not valid")
        return _error(409, "Unable to perform action on hold")
    return web.json_response({"pickup_library_id": hold.pickup})


async def suspend(request: web.Request) -> web.Response:
    library = _library(request)
    hold_id = _int(request, "hold_id")
    until: date | None = None
    if request.can_read_body:
        body = await _json_body(request)
        if not isinstance(body, dict) or body.keys() - {"end_date"}:
            return _error(400, "Missing or wrong parameters")
        if body.get("end_date"):
            until = date.fromisoformat(str(body["end_date"]))
    card = _hold_owner_card(library, hold_id)
    try:
        library.suspend_hold(card, hold_id, until)
    except Refusal as refusal:
        if refusal.token is RefusalToken.HOLD_FOUND:
            return _error(400, "Found hold cannot be suspended")
        return _refused(403, refusal)
    return web.Response(status=201)


async def resume(request: web.Request) -> web.Response:
    library = _library(request)
    hold_id = _int(request, "hold_id")
    card = _hold_owner_card(library, hold_id)
    try:
        library.resume_hold(card, hold_id)
    except Refusal as refusal:
        return _refused(400, refusal)
    return web.Response(status=204)


async def hold_pickup_locations(request: web.Request) -> web.Response:
    library = _library(request)
    library.hold_by_id(_int(request, "hold_id"))
    return web.json_response([library_json(p) for p in library.pickup_locations()])


async def list_items(request: web.Request) -> web.Response:
    library = _library(request)
    barcode = request.query.get("external_id")
    if barcode is None:
        return _error(400, "This simulator lists items by external_id only")
    try:
        found = [library.item_info(barcode)]
    except UnknownRecord:
        found = []
    return web.json_response([item_json(i) for i in found])


async def get_item(request: web.Request) -> web.Response:
    library = _library(request)
    return web.json_response(
        item_json(library.item_info(_barcode_of(library, _int(request, "item_id"))))
    )


# What Koha's GET /biblios/{biblio_id} produces (paths/biblios.yaml); only JSON is simulated.
_BIBLIO_TYPES = [
    "application/json",
    "application/marcxml+xml",
    "application/marc-in-json",
    "application/marc",
    "text/plain",
]


async def get_biblio(request: web.Request) -> web.Response:
    if "application/json" not in request.headers.get("Accept", ""):
        return web.json_response(_BIBLIO_TYPES, status=406)
    library = _library(request)
    try:
        biblio = library.biblio(_int(request, "biblio_id"))
    except UnknownRecord:
        return _error(404, "Bibliographic record not found")
    return web.json_response(biblio_json(biblio))


async def item_pickup_locations(request: web.Request) -> web.Response:
    library = _library(request)
    _barcode_of(library, _int(request, "item_id"))
    return web.json_response([library_json(p) for p in library.pickup_locations()])


async def list_libraries(request: web.Request) -> web.Response:
    return web.json_response([library_json(p) for p in _library(request).pickup_locations()])


# -- app ----------------------------------------------------------------------------------


@web.middleware
async def _koha_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authentication first, then the model's exceptions as Koha's error bodies."""
    if request.path != f"{API}/oauth/token" and not _authorized(request):
        return _error(401, "Authentication failure.")
    try:
        return await handler(request)
    except UnknownRecord as exc:
        return _error(404, f"{exc.kind.capitalize()} not found")
    except SimulatedFault:
        return _error(
            500,
            "Something went wrong, check Koha logs for details.",
            "internal_server_error",
        )


def _authorized(request: web.Request) -> bool:
    state = request.app[_STATE]
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme == "Bearer":
        return value in state["tokens"]
    if scheme == "Basic" and state["basic"] is not None:
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == state["basic"]
    return False


def create_koha_app(
    library: SimulatedLibrary,
    *,
    client_id: str = "koha-demo-gateway",
    client_secret: str = "koha-demo-secret",
    basic: tuple[str, str] | None = None,
) -> web.Application:
    """The Koha-like REST app over ``library`` (bind it with ``web.AppRunner``)."""
    app = web.Application(middlewares=[_koha_errors])
    app[KOHA_LIBRARY] = library
    app[_STATE] = {"client": (client_id, client_secret), "tokens": set(), "basic": basic}
    r = app.router
    r.add_post(f"{API}/oauth/token", token)
    r.add_post(f"{API}/auth/password/validation", validate_password)
    r.add_get(f"{API}/patrons", list_patrons)
    r.add_get(f"{API}/patrons/{{patron_id}}", get_patron)
    r.add_get(f"{API}/patrons/{{patron_id}}/holds", patron_holds)
    r.add_get(f"{API}/checkouts", list_checkouts)
    r.add_get(f"{API}/checkouts/{{checkout_id}}/allows_renewal", allows_renewal)
    r.add_post(f"{API}/checkouts/{{checkout_id}}/renewal", renew)
    r.add_get(f"{API}/holds", list_holds)
    r.add_post(f"{API}/holds", place_hold)
    r.add_delete(f"{API}/holds/{{hold_id}}", cancel_hold)
    r.add_put(f"{API}/holds/{{hold_id}}/pickup_location", change_pickup)
    r.add_post(f"{API}/holds/{{hold_id}}/suspension", suspend)
    r.add_delete(f"{API}/holds/{{hold_id}}/suspension", resume)
    r.add_get(f"{API}/holds/{{hold_id}}/pickup_locations", hold_pickup_locations)
    r.add_get(f"{API}/biblios/{{biblio_id}}", get_biblio)
    r.add_get(f"{API}/items", list_items)
    r.add_get(f"{API}/items/{{item_id}}", get_item)
    r.add_get(f"{API}/items/{{item_id}}/pickup_locations", item_pickup_locations)
    r.add_get(f"{API}/libraries", list_libraries)
    return app
