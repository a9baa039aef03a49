"""A Koha-like REST face (API v1) over ``SimulatedLibrary``, for demos and end-to-end tests.

Only the routes the gateway's Koha adapter uses are served, with the paths, parameters,
status codes and JSON shapes of Koha's published definition (the 23.05 snapshot in
``shared/reference/koha``); the tests hold every answer against it. The staff API acts for the
patron a record belongs to, as Koha's does. Authentication: OAuth2 client credentials
(``POST /api/v1/oauth/token``) or Basic, with the credentials given to ``create_koha_app``.

Koha's defaults and quirks are kept, each from Koha's own source (Koha-Community/Koha):

- Filters match by *contains* unless ``_match`` says ``exact``, ``starts_with`` or
  ``ends_with`` (Koha/REST/Plugin/Query.pm, ``build_query_params``; MySQL's ``LIKE`` and
  ``=`` under Koha's ``utf8mb4_unicode_ci`` collation ignore case). ``patron_id=1`` finds
  patrons 1, 10, 11, 21…. Only the query parameters a route's definition declares filter;
  ``q`` takes a JSON object of ``field: value`` (exact) or ``field: {"-in": [...]}`` /
  ``{"like": "..."}`` (Query.pm ``merge_q_params``; the subset the gateway could send).
- Every list is paged: ``_per_page`` defaults to RESTdefaultPageSize, 20 as installed
  (Koha/REST/Plugin/Objects.pm ``search_rs``; installer/data/mysql/mandatory/sysprefs.sql),
  ``_per_page=-1`` returns all rows; answers carry ``X-Total-Count``, ``X-Base-Total-Count``
  and one ``Link`` header per relation, ``prev``/``next`` where they exist, always ``first``
  and ``last`` (Koha/REST/Plugin/Pagination.pm). ``max_page_size`` imitates newer Koha with
  patron disclosure auditing, which refuses an explicit larger size, -1 included, with 400
  ``patron_disclosure_page_size_exceeded`` (Koha/REST/Plugin/PatronDisclosure.pm).
- ``x-koha-embed`` is honoured only where a route declares it: an embed on a route that has
  none is 400 "Embedding objects is not allowed on this endpoint." (Query.pm
  ``stash_embed``; t/db_dependent/api/v1/query.t). A hold's ``cancellation_requested``
  appears only when embedded (Koha::Hold->to_api; definitions/hold.yaml "(x-koha-embed)").
- A new hold's ``status`` is null: POST /holds calls AddReserve with ``found => undef``
  (Koha/REST/V1/Holds.pm ``add``), and a hold is found (T/W) only when its copy is checked
  in, unless ReservesNeedReturns is off, when an item-level hold on a copy already at the
  pickup library is waiting at once (C4/Reserves.pm ``AddReserve``; ReservesNeedReturns is 1
  as installed). ``reserves_need_returns`` sets that preference here.
- Purchase suggestions are not holds: Koha keeps them in ``suggestions``, never in
  ``reserves`` (Koha/Suggestion.pm), so they are not listed or found as holds.
- DELETE /holds/{id} cancels any hold (Koha/REST/V1/Holds.pm ``delete``: ``$hold->cancel``);
  with ``x-koha-override: cancellation-request-flow`` a *waiting* hold gets a cancellation
  request and 202 instead (newer Koha, same file).
- Error bodies as Koha's controllers write them: a refused renewal is 403
  ``{"error": "Renewal not authorized (<code>)"}`` without ``error_code``
  (Koha/REST/V1/Checkouts.pm ``renew``); a hold refused by the item or record rules is 403
  ``{"error": "Hold cannot be placed. Reason: <code>"}`` and one refused because of the
  patron 409 with ``error_code`` as well (Holds.pm ``add``, newer Koha's
  ``can_place_holds``); suspending a found hold is 400 "Found hold cannot be suspended.
  Status=<letter>" (Koha/Exceptions/Hold.pm); a request the definition rejects is 400
  ``{"errors": [{"message", "path"}], "status": 400}`` (Mojolicious::Plugin::OpenAPI).

The simulated library's own tokens stay inside it: ``koha_code`` says what Koha sends in each
situation (its own code, the code of the Koha setting a site would use for that rule, or no
code where Koha answers with a bare message).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, TypedDict

from aiohttp import web

from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.outcomes import (
    FeeView,
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
from ils_gateway.simulators.policy import HoldState
from ils_gateway.simulators.records import Biblio, ContactMethod, ItemStatus

API = "/api/v1"
TOKEN_LIFETIME = 3600
KOHA_LIBRARY = web.AppKey("koha_library", SimulatedLibrary)
_STATE: web.AppKey[_AuthState] = web.AppKey("koha_state")
_SETTINGS: web.AppKey[KohaSettings] = web.AppKey("koha_settings")
_TOKEN_SECRET = web.AppKey("koha_token_secret", bytes)


class _AuthState(TypedDict):
    """The OAuth client, the tokens handed out, and the Basic credentials (when allowed)."""

    client: tuple[str, str]
    tokens: set[str]
    basic: tuple[str, str] | None


# RESTdefaultPageSize as Koha installs it (installer/data/mysql/mandatory/sysprefs.sql).
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class KohaSettings:
    """The Koha system preferences (and version traits) the face imitates."""

    page_size: int = DEFAULT_PAGE_SIZE  # RESTdefaultPageSize
    reserves_need_returns: bool = True  # ReservesNeedReturns (1 as installed)
    max_page_size: int | None = None  # patron disclosure auditing (newer Koha), off by default


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


# Why Koha refuses a hold because of the patron, not the item (newer Koha: Holds.pm ``add``
# asks Koha::Patron->can_place_holds first and answers 409 with its message as error_code).
_PATRON_HOLD_CODES: dict[RefusalToken, str] = {
    RefusalToken.EXPIRED: "expired",
    RefusalToken.DEBARRED: "restricted",
    RefusalToken.ITEM_OVERDUE: "restricted",  # the OVERDUES restriction is a debarment
}


def _hold_refused(refusal: Refusal) -> web.Response:
    """POST /holds refused, in the shape Koha/REST/V1/Holds.pm ``add`` writes."""
    patron_code = _PATRON_HOLD_CODES.get(refusal.token)
    if patron_code is not None:
        return _error(409, f"Hold cannot be placed. Reason: {patron_code}", patron_code)
    code = koha_code(refusal.token) or refusal.token.value
    return _error(403, f"Hold cannot be placed. Reason: {code}")


def _renewal_refused(refusal: Refusal) -> web.Response:
    """A refused renewal as Koha/REST/V1/Checkouts.pm ``renew`` writes it: no error_code."""
    return _error(403, f"Renewal not authorized ({koha_code(refusal.token) or ''})")


def _internal_error() -> web.Response:
    """Koha's ``unhandled_exception`` (Koha/REST/Plugin/Exceptions.pm)."""
    return _error(
        500, "Something went wrong, check Koha logs for details.", "internal_server_error"
    )


def _invalid(path: str, message: str) -> web.Response:
    """A request the definition rejects, as Mojolicious::Plugin::OpenAPI renders it."""
    return web.json_response(
        {"errors": [{"message": message, "path": path}], "status": 400}, status=400
    )


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
    if "account_balance" in embed:
        body["account_balance"] = patron.fee_total
    return body


# Koha debit types (account_debit_types) for the library's fee kinds. Koha has no built-in
# damage type; libraries define their own code for it (Administration > Debit types).
_DEBIT_TYPES = {
    "replacement": "LOST",
    "damage": "DAMAGE",
    "overdue": "OVERDUE",
    "processing": "PROCESSING",
    "other": "MANUAL",
}


def account_line_json(patron: PatronInfo, fee: FeeView) -> dict[str, Any]:
    """definitions/account_line.yaml: one outstanding debit (Koha::Account::Line->to_api)."""
    created = datetime.combine(fee.created or date(2000, 1, 1), time(10, 0), tzinfo=TOKYO)
    return {
        "account_line_id": fee.id,
        "checkout_id": None,
        "patron_id": patron.patron_id,
        "item_id": fee.item_id,
        "date": created.isoformat(),
        "amount": float(fee.amount),
        "description": fee.description,
        "account_type": None,
        "debit_type": _DEBIT_TYPES.get(fee.kind, "MANUAL"),
        "credit_type": None,
        "payment_type": None,
        "amount_outstanding": float(fee.outstanding),
        "last_increment": None,
        "timestamp": created.isoformat(),
        "internal_note": None,
        "user_id": None,
        "library_id": patron.home_branch,
        "interface": "intranet",
        "status": None,
        "cash_register_id": None,
    }


def patron_account_json(patron: PatronInfo) -> dict[str, Any]:
    """definitions/patron_balance.yaml, as Koha's Patrons::Account#get builds it: ``balance``
    (debits less credits), then the outstanding debits and credits with their totals. The
    simulated library records payments against the fee itself, so it has no credit lines."""
    lines = [account_line_json(patron, fee) for fee in patron.fees]
    return {
        "balance": float(patron.fee_total),
        "outstanding_debits": {"total": float(patron.fee_total), "lines": lines},
        "outstanding_credits": {"total": 0.0, "lines": []},
    }


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
        "acquisition_date": item.acquired.isoformat() if item.acquired else None,
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


def hold_json(hold: HoldView, embed: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """definitions/hold.yaml; ``cancellation_requested`` only when embedded (Koha::Hold)."""
    body: dict[str, Any] = {
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
    }
    if "cancellation_requested" in embed:
        body["cancellation_requested"] = hold.cancellation_requested
    return body


def biblio_json(biblio: Biblio) -> dict[str, Any]:
    """GET /biblios[/{biblio_id}] as JSON: the names Koha::Biblio->to_api gives the record,
    which merges its biblioitem's (Koha/Biblio.pm ``to_api``; Koha/Biblioitem.pm
    ``to_api_mapping``: itemtype → item_type, publishercode → publisher)."""
    return {
        "biblio_id": biblio.id,
        "title": biblio.title,
        "subtitle": None,
        "author": biblio.author,
        "publisher": biblio.publisher or None,
        "copyright_date": biblio.year,
        "publication_year": biblio.year,
        "series_title": biblio.series,
        "isbn": biblio.isbn,
        "item_type": biblio.item_type.value,
    }


def library_json(location: PickupLocation) -> dict[str, Any]:
    """definitions/library.yaml"""
    return {"library_id": location.code, "name": location.name, "pickup_location": True}


# -- Koha's list machinery: filters, q, embeds, pages -------------------------------------

# Query parameters that are not filters (Koha/REST/Plugin/Query.pm ``_reserved_words``).
_RESERVED = frozenset(
    {"_match", "_order_by", "_page", "_per_page", "q", "query", "x-koha-request-id"}
)
_MATCHES = ("contains", "exact", "starts_with", "ends_with")  # swagger.yaml parameters/match

# The filters each list declares (paths/*.yaml), limited to fields these rows carry.
_PATRON_FILTERS = (
    "patron_id",
    "cardnumber",
    "surname",
    "firstname",
    "other_name",
    "email",
    "phone",
    "date_of_birth",
    "library_id",
    "category_id",
    "expiry_date",
    "restricted",
    "userid",
)
_CHECKOUT_FILTERS = ("patron_id",)  # paths/checkouts.yaml (patron_id_qp)
_HOLD_FILTERS = (
    "hold_id",
    "patron_id",
    "hold_date",
    "biblio_id",
    "pickup_library_id",
    "priority",
    "status",
    "item_id",
    "expiration_date",
    "suspended",
    "suspended_until",
)
_ITEM_FILTERS = ("external_id",)  # paths/items.yaml
_LIBRARY_FILTERS = ("name",)  # paths/libraries.yaml

# x-koha-embed values each route declares (paths/*.yaml; GET /holds and /patrons/{id}/holds
# as newer Koha declares them, for cancellation requests).
_EMBEDS: dict[str, frozenset[str]] = {
    "list_patrons": frozenset(
        {"extended_attributes", "checkouts+count", "overdues+count", "account_balance", "library"}
    ),
    "get_patron": frozenset({"extended_attributes"}),
    "list_checkouts": frozenset({"issuer", "renewals"}),
    "list_holds": frozenset({"cancellation_requested"}),
    "patron_holds": frozenset({"cancellation_requested"}),
    "list_items": frozenset({"+strings"}),
    "get_item": frozenset({"+strings"}),
}


class _Rejected(Exception):
    """A request Koha answers with an error before doing anything."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


def _embed(request: web.Request, route: str = "") -> set[str]:
    """The embeds asked for, as Koha's ``stash_embed`` and the definition allow them."""
    asked = {e.strip() for e in request.headers.get("x-koha-embed", "").split(",") if e.strip()}
    if not asked:
        return set()
    allowed = _EMBEDS.get(route)
    if allowed is None:
        raise _Rejected(
            web.json_response("Embedding objects is not allowed on this endpoint.", status=400)
        )
    if asked - allowed:
        raise _Rejected(_invalid("/x-koha-embed", f"Not in enum list: {', '.join(allowed)}."))
    return asked


def _text(value: Any) -> str | None:
    """A field as MySQL compares it (booleans are tinyint)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _param_text(raw: str) -> str:
    return {"true": "1", "false": "0"}.get(raw, raw)


_HIRAGANA = {c: c + 0x60 for c in range(0x3041, 0x3097)}


def _collate(text: str) -> str:
    """How Koha's ``utf8mb4_unicode_ci`` columns compare (UCA 4.0.0 at the primary level):
    without case, full- and half-width forms alike, hiragana and katakana alike (the
    collation also equates voiced and unvoiced kana, which is not imitated)."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_HIRAGANA)


def _like(value: str | None, wanted: str, match: str) -> bool:
    """Query.pm ``build_query_params``: LIKE '%x%' / 'x%' / '%x' or =, as the collation
    compares (``_collate``)."""
    if value is None:
        return False
    got, wanted = _collate(value), _collate(wanted)
    if match == "exact":
        return got == wanted
    if match == "starts_with":
        return got.startswith(wanted)
    if match == "ends_with":
        return got.endswith(wanted)
    return wanted in got


def _q_matches(row: dict[str, Any], query: Any) -> bool:
    """The subset of Koha's ``q`` (SQL::Abstract as JSON) that a client of ids would send."""
    if isinstance(query, list):  # SQL::Abstract: an array of conditions is an OR
        return any(_q_matches(row, q) for q in query)
    if not isinstance(query, dict):
        raise ValueError("q must be an object")
    for field, condition in query.items():
        if field in ("-and", "-or") and isinstance(condition, list):
            combine = all if field == "-and" else any
            if not combine(_q_matches(row, q) for q in condition):
                return False
            continue
        value = _text(row.get(field.removeprefix("me.")))
        if isinstance(condition, dict):
            for op, operand in condition.items():
                if op == "-in" and isinstance(operand, list):
                    ok = value in {_text(o) for o in operand}
                elif op in ("=", "-eq"):
                    ok = value == _text(operand)
                elif op in _ORDERING:
                    # SQL::Abstract's comparison operators; ISO dates order as text (null never
                    # matches, as in SQL). New arrivals: {"acquisition_date": {">=": day}}.
                    ok = value is not None and _ORDERING[op](value, _text(operand))
                elif op in ("like", "-like"):
                    pattern = str(operand)
                    ok = _like(value, pattern.strip("%"), _like_mode(pattern))
                else:
                    raise ValueError(f"operator {op} is not simulated")
                if not ok:
                    return False
        elif value != _text(condition):
            return False
    return True


_ORDERING: dict[str, Any] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _like_mode(pattern: str) -> str:
    starts, ends = pattern.startswith("%"), pattern.endswith("%")
    if starts and ends:
        return "contains"
    if ends:
        return "starts_with"
    if starts:
        return "ends_with"
    return "exact"


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise _Rejected(_invalid(f"/{name}", "Expected integer - got string.")) from None


def _search(
    request: web.Request, rows: Sequence[dict[str, Any]], filters: Sequence[str]
) -> web.Response:
    """Koha's ``$c->objects->search``: filter, page, and add the pagination headers.

    Koha/REST/Plugin/Objects.pm ``search_rs`` and Koha/REST/Plugin/Pagination.pm.
    """
    match = request.query.get("_match", "contains")
    if match not in _MATCHES:
        raise _Rejected(_invalid("/_match", f"Not in enum list: {', '.join(_MATCHES)}."))
    found = list(rows)
    for name in filters:
        if name in request.query and name not in _RESERVED:
            wanted = _param_text(request.query[name])
            found = [r for r in found if _like(_text(r.get(name)), wanted, match)]
    for raw in request.query.getall("q", []):
        if not raw:
            continue
        try:
            query = json.loads(raw)
            found = [r for r in found if _q_matches(r, query)]
        except ValueError:
            raise _Rejected(_internal_error()) from None
    for spec in reversed(",".join(request.query.getall("_order_by", [])).split(",")):
        # Koha/REST/Plugin/Query.pm ``_build_order_atom``: +field / -field / field (ascending)
        spec = spec.strip()
        if spec:
            name = spec.lstrip("+-").removeprefix("me.")
            found.sort(
                key=lambda r: (r.get(name) is None, _text(r.get(name)) or ""),
                reverse=spec.startswith("-"),
            )
    settings = request.app[_SETTINGS]
    explicit = "_per_page" in request.query
    per_page = _int_param(request, "_per_page", settings.page_size)
    page = _int_param(request, "_page", 1)
    limit = settings.max_page_size
    if limit is not None and explicit and not 1 <= per_page <= limit:
        raise _Rejected(
            _error(
                400,
                f"Page size must be between 1 and {limit} while patron "
                "disclosure auditing is enabled",
                "patron_disclosure_page_size_exceeded",
            )
        )
    if per_page == 0 or per_page < -1 or page < 1:
        raise _Rejected(_internal_error())
    total = len(found)
    if per_page == -1:
        shown, page, pages = found, 1, 1
    else:
        shown = found[(page - 1) * per_page : page * per_page]
        pages = total // per_page + (1 if total % per_page else 0)
    response = web.json_response(shown)
    links: list[tuple[int, str]] = []
    if per_page != -1 and pages > 1 and page > 1:
        links.append((page - 1, "prev"))
    if per_page != -1 and pages > 1 and page < pages:
        links.append((page + 1, "next"))
    links += [(1, "first"), (pages, "last")]
    for number, rel in links:
        url = request.url.update_query({"_page": str(number), "_per_page": str(per_page)})
        response.headers.add("Link", f'<{url}>; rel="{rel}"')
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Base-Total-Count"] = str(len(rows))
    return response


# -- helpers over the model ---------------------------------------------------------------


def _library(request: web.Request) -> SimulatedLibrary:
    return request.app[KOHA_LIBRARY]


def _int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise _Rejected(_invalid(f"/{name}", "Expected integer - got string."))
    return int(raw)


def _is_hold(hold: HoldView) -> bool:
    """Koha lists reserves only: a purchase suggestion is not one (Koha/Suggestion.pm)."""
    return hold.state.is_open and hold.state is not HoldState.SUGGESTED


def _hold(library: SimulatedLibrary, hold_id: int) -> HoldView:
    hold = library.hold_by_id(hold_id)
    if not _is_hold(hold):
        raise UnknownRecord("hold", hold_id)
    return hold


def _hold_owner_card(library: SimulatedLibrary, hold_id: int) -> str:
    return library.patron_by_id(_hold(library, hold_id).patron_id).card_number


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
    raise _Rejected(_error(404, "Checkout doesn't exist"))


def _all_holds(library: SimulatedLibrary) -> list[HoldView]:
    views = (library.hold_by_id(h.id) for h in library.data.holds)
    return sorted((h for h in views if _is_hold(h)), key=lambda h: h.hold_id)


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise _Rejected(_invalid("/body", "Invalid JSON.")) from None


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
        return _invalid("/body", "Missing property.")
    result = _library(request).authenticate(str(body["userid"]), str(body["password"]))
    if not result.ok:
        return _error(400, "Validation failed")
    return web.Response(status=204)


async def set_patron_password(request: web.Request) -> web.Response:
    """Patrons::Password#set (``POST /patrons/{patron_id}/password``, staff permission
    ``borrowers``): body ``{"password", "password_2"}`` (both required, nothing else);
    404 "Patron not found", 400 "Passwords don't match", 400 with the text of the
    ``Koha::Exceptions::Password`` the patron's ``set_password`` threw; 200 with ``""``."""
    library = _library(request)
    patron = library.patron_by_id(_int(request, "patron_id"))
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _invalid("/body", "Expected object - got " + type(body).__name__ + ".")
    for name in ("password", "password_2"):
        if name not in body:
            return _invalid(f"/body/{name}", "Missing property.")
        if not isinstance(body[name], str):
            return _invalid(f"/body/{name}", "Expected string - got other.")
    extra = sorted(set(body) - {"password", "password_2"})
    if extra:
        return _invalid("/body", f"Properties not allowed: {', '.join(extra)}.")
    password, repeated = body["password"], body["password_2"]
    if password != repeated:
        return _error(400, "Passwords don't match")
    rules = library.rules
    if len(password) < rules.password_min_length:
        return _error(
            400,
            f"Password length ({len(password)}) is shorter than required "
            f"({rules.password_min_length})",
        )
    if password != password.strip():
        return _error(400, "Password contains leading/trailing whitespace character(s)")
    try:
        library.set_password(patron.card_number, password)
    except Refusal:
        return _error(400, "Password is too weak")
    return web.json_response("", status=200)


# definitions/patron.yaml: its properties (``additionalProperties: false``), the readOnly ones
# and the required ones.
_PATRON_PROPERTIES = frozenset(
    """_strings account_balance address address2 altaddress_address altaddress_address2
    altaddress_city altaddress_country altaddress_email altaddress_notes altaddress_phone
    altaddress_postal_code altaddress_state altaddress_street_number altaddress_street_type
    altcontact_address altcontact_address2 altcontact_city altcontact_country
    altcontact_firstname altcontact_phone altcontact_postal_code altcontact_state
    altcontact_surname anonymized autorenew_checkouts cardnumber category_id
    check_previous_checkout checkouts_count city country date_enrolled date_of_birth
    date_renewed email expiry_date extended_attributes fax firstname gender incorrect_address
    initials lang last_seen library library_id login_attempts middle_name mobile opac_notes
    other_name overdrive_auth_token overdues_count patron_card_lost patron_id phone postal_code
    preferred_name privacy privacy_guarantor_checkouts privacy_guarantor_fines pronouns
    protected relationship_type restricted secondary_email secondary_phone sms_number
    sms_provider_id staff_notes state statistics_1 statistics_2 street_number street_type
    surname title updated_on userid""".split()
)
_PATRON_READ_ONLY = ("restricted", "anonymized")
_PATRON_REQUIRED = ("surname", "library_id", "category_id")


async def update_patron(request: web.Request) -> web.Response:
    """Patrons#update (``PUT /patrons/{patron_id}``, paths/patrons.yaml, permission
    ``borrowers``): the body is a whole definitions/patron.yaml object — the OpenAPI validator
    refuses a member the definition lacks (``additionalProperties: false``), a readOnly one
    (``restricted``, ``anonymized``: "Read-only.") and a missing required one (``surname``,
    ``library_id``, ``category_id``); then ``set_from_api`` stores the body, so a nullable
    field left out is cleared. Of the record, the model keeps ``email`` and ``phone``. 200
    with the patron as stored."""
    library = _library(request)
    patron = library.patron_by_id(_int(request, "patron_id"))
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _invalid("/body", "Expected object - got " + type(body).__name__ + ".")
    extra = sorted(set(body) - _PATRON_PROPERTIES)
    if extra:
        return _invalid("/body", f"Properties not allowed: {', '.join(extra)}.")
    for name in _PATRON_READ_ONLY:
        if name in body:
            return _invalid(f"/body/{name}", "Read-only.")
    for name in _PATRON_REQUIRED:
        if name not in body:
            return _invalid(f"/body/{name}", "Missing property.")
    for name in ("email", "phone"):
        if body.get(name) is not None and not isinstance(body[name], str):
            return _invalid(f"/body/{name}", "Expected string/null - got other.")
    library.update_contact(
        patron.card_number, email=body.get("email") or None, phone=body.get("phone") or None
    )
    return web.json_response(patron_json(library.patron_by_id(patron.patron_id)))


async def list_patrons(request: web.Request) -> web.Response:
    library = _library(request)
    embed = _embed(request, "list_patrons")
    rows = [patron_json(library.patron_by_id(p.id), embed) for p in library.data.patrons]
    return _search(request, sorted(rows, key=lambda r: r["patron_id"]), _PATRON_FILTERS)


async def get_patron(request: web.Request) -> web.Response:
    _embed(request, "get_patron")
    patron = _library(request).patron_by_id(_int(request, "patron_id"))
    return web.json_response(patron_json(patron))


async def patron_account(request: web.Request) -> web.Response:
    """GET /patrons/{patron_id}/account (paths/patrons_account.yaml): the patron's balance."""
    try:
        patron = _library(request).patron_by_id(_int(request, "patron_id"))
    except UnknownRecord:
        return _error(404, "Patron not found")
    return web.json_response(patron_account_json(patron))


async def patron_holds(request: web.Request) -> web.Response:
    library = _library(request)
    embed = _embed(request, "patron_holds")
    patron = library.patron_by_id(_int(request, "patron_id"))
    holds = [h for h in library.holds(patron.card_number) if _is_hold(h)]
    return _search(request, [hold_json(h, embed) for h in holds], ())


async def list_checkouts(request: web.Request) -> web.Response:
    """Checkouts#list: current checkouts, or returned ones with ``checked_in`` (Checkouts.pm)."""
    library = _library(request)
    _embed(request, "list_checkouts")
    returned = request.query.get("checked_in") in ("true", "1")
    rows: list[dict[str, Any]] = []
    for patron in library.data.patrons:
        if returned:
            continue  # the simulated library keeps no old_issues for this face
        rows.extend(checkout_json(loan) for loan in library.loans(patron.card_number))
    return _search(request, sorted(rows, key=lambda r: r["checkout_id"]), _CHECKOUT_FILTERS)


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
        return _renewal_refused(refusal)
    return web.json_response(checkout_json(loan), status=201)


# -- checkouts (Checkouts#get_availability, Checkouts#add) ---------------------------------

# The API user the confirmation token is bound to (Koha: ``$user->id`` of the API client).
_API_USER_ID = 1
# definitions/checkout.yaml (``additionalProperties: false``): each member and its types.
_CHECKOUT_MEMBERS: dict[str, tuple[type, ...]] = {
    "checkout_id": (int,),
    "patron_id": (int,),
    "item_id": (int, type(None)),
    "booking_id": (int, type(None)),
    "external_id": (str, type(None)),
    "due_date": (str,),
    "library_id": (str, type(None)),
    "issuer_id": (int, type(None)),
    "checkin_date": (str, type(None)),
    "checkin_library_id": (str, type(None)),
    "last_renewed_date": (str, type(None)),
    "renewals_count": (int, type(None)),
    "unseen_renewals": (int, type(None)),
    "auto_renew": (bool,),
    "auto_renew_error": (str, type(None)),
    "timestamp": (str,),
    "checkout_date": (str,),
    "onsite_checkout": (bool,),
    "note": (str, type(None)),
    "note_date": (str, type(None)),
    "note_seen": (bool, type(None)),
    "issuer": (dict, type(None)),
    "item": (dict, type(None)),
    "library": (dict, type(None)),
    "patron": (dict, type(None)),
    "booking": (dict, type(None)),
}
# Item statuses Koha keeps as a lost value (itemlost): IssueLostItem "confirm" (its default)
# asks for confirmation; the others are negative notforloan values (ordered, in processing).
_LOST_STATUSES = frozenset(
    {ItemStatus.LOST.value, ItemStatus.MISSING.value, ItemStatus.CLAIMED_RETURNED.value}
)


def _issue_verdict(
    library: SimulatedLibrary, patron: PatronInfo, item: ItemInfo
) -> tuple[dict[str, Any], dict[str, Any]]:
    """C4::Circulation::CanBookBeIssued's ``issuingimpossible`` and ``needsconfirmation`` for
    the library's reasons, as the staff API returns them (the restricted keys included: the
    public filtering applies to ``/public`` routes only)."""
    blockers: dict[str, Any] = {}
    confirms: dict[str, Any] = {}
    for refusal in library.checkout_refusals(patron.card_number, item.barcode):
        token = refusal.token
        if token is RefusalToken.CARD_EXPIRED:
            blockers["EXPIRED"] = 1
        elif token is RefusalToken.RESTRICTION:
            blockers["DEBARRED"] = "9999-12-31"  # an indefinite restriction
        elif token is RefusalToken.NOT_FOR_LOAN:
            blockers["NOT_FOR_LOAN"] = 1
            blockers["item_notforloan"] = 1
        elif token is RefusalToken.NOT_LOANABLE_NOW and item.status in _LOST_STATUSES:
            confirms["ITEM_LOST"] = _ITEM_LOST_WORDS.get(item.status, item.status)
        elif token is RefusalToken.NOT_LOANABLE_NOW:
            blockers["NOT_FOR_LOAN"] = 1
            blockers["item_notforloan"] = -1
        elif token is RefusalToken.ALREADY_POSSESSION:
            confirms["RENEW_ISSUE"] = 1
        elif token is RefusalToken.CHECKED_OUT:
            holder = next(
                p
                for p in library.data.patrons
                if any(ln.barcode == item.barcode for ln in library.loans(p.card_number))
            )
            confirms["ISSUED_TO_ANOTHER"] = 1
            confirms["issued_borrowernumber"] = holder.id
            confirms["issued_cardnumber"] = holder.card_number
        elif token is RefusalToken.RESERVED:
            confirms["RESERVE_WAITING"] = 1
        else:
            blockers[token.value.upper()] = 1
    return blockers, confirms


# authorised values of LOST as Koha installs them (installer/data/mysql/en/optional/auth_val)
_ITEM_LOST_WORDS = {
    ItemStatus.LOST.value: "Lost",
    ItemStatus.MISSING.value: "Missing",
    ItemStatus.CLAIMED_RETURNED.value: "Claims returned",
}


def _confirmation_token(request: web.Request, item_id: int, confirms: dict[str, Any]) -> str:
    """Koha::Token->generate_jwt over "user:item:sorted keys" (Checkouts.pm), here an HMAC."""
    key = ":".join([str(_API_USER_ID), str(item_id), *sorted(confirms)])
    secret = request.app[_TOKEN_SECRET]
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def _query_id(request: web.Request, name: str) -> int | None:
    """An integer query parameter (``patron_id_qp``, ``item_id_qp``: type integer)."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise _Rejected(_invalid(f"/{name}", "Expected integer - got string."))
    return int(raw)


def _item_by_id(library: SimulatedLibrary, item_id: int | None) -> ItemInfo | None:
    for item in library.data.items:
        if item.id == item_id:
            return library.item_info(item.barcode)
    return None


def _patron_by_id(library: SimulatedLibrary, patron_id: int | None) -> PatronInfo | None:
    try:
        return library.patron_by_id(patron_id) if patron_id is not None else None
    except UnknownRecord:
        return None


async def checkout_availability(request: web.Request) -> web.Response:
    """GET /checkouts/availability (Checkouts#get_availability): ``blockers``, ``confirms``,
    ``warnings`` and a ``confirmation_token`` for the confirms. Koha finds both records and
    dies on a missing one (``$item->id`` of undef): 500."""
    library = _library(request)
    patron = _patron_by_id(library, _query_id(request, "patron_id"))
    item = _item_by_id(library, _query_id(request, "item_id"))
    if patron is None or item is None:
        return _internal_error()
    blockers, confirms = _issue_verdict(library, patron, item)
    return web.json_response(
        {
            "blockers": blockers,
            "confirms": confirms,
            "warnings": {},
            "confirmation_token": _confirmation_token(request, item.item_id, confirms),
        }
    )


async def add_checkout(request: web.Request) -> web.Response:
    """POST /checkouts (Checkouts#add): body per definitions/checkout.yaml; 409 an unknown item
    or patron; 403 "Checkout not authorized (<keys>)" for blockers; 412 "Confirmation error"
    for confirms without a valid ``confirmation`` token; 201 the checkout, with Location."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _invalid("/body", "Expected object - got " + type(body).__name__ + ".")
    extra = sorted(set(body) - set(_CHECKOUT_MEMBERS))
    if extra:
        return _invalid("/body", f"Properties not allowed: {', '.join(extra)}.")
    for name, value in body.items():
        kinds = _CHECKOUT_MEMBERS[name]
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            wanted = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            return _invalid(f"/body/{name}", f"Expected {wanted} - got {type(value).__name__}.")
    library = _library(request)
    item = _item_by_id(library, body.get("item_id"))
    if item is None:
        return _error(409, "Item not found", "ITEM_NOT_FOUND")
    patron = _patron_by_id(library, body.get("patron_id"))
    if patron is None:
        return _error(409, "Patron not found", "PATRON_NOT_FOUND")
    blockers, confirms = _issue_verdict(library, patron, item)
    if blockers:
        return _error(403, f"Checkout not authorized ({' '.join(sorted(blockers))})")
    if confirms:
        token = request.query.get("confirmation")
        wanted = _confirmation_token(request, item.item_id, confirms)
        if not token or not hmac.compare_digest(token, wanted):
            return _error(412, "Confirmation error")
        # A confirmed issue (to another patron's copy, a lost copy) is beyond the simulated
        # library; Koha's own answer when AddIssue returns nothing.
        return _error(500, "Unknown error during checkout")
    try:
        loan = library.checkout(patron.card_number, item.barcode)
    except Refusal:
        return _error(500, "Unknown error during checkout")
    response = web.json_response(checkout_json(loan), status=201)
    response.headers["Location"] = f"{request.url.path}/{loan.checkout_id}"
    return response


async def list_holds(request: web.Request) -> web.Response:
    embed = _embed(request, "list_holds")
    rows = [hold_json(h, embed) for h in _all_holds(_library(request))]
    return _search(request, rows, _HOLD_FILTERS)


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
    """Holds#add (Koha/REST/V1/Holds.pm), in its order of checks."""
    library = _library(request)
    settings = request.app[_SETTINGS]
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _invalid("/body", "Expected object - got other.")
    for required in ("patron_id", "pickup_library_id"):
        if required not in body:
            return _invalid(f"/body/{required}", "Missing property.")
    for extra in sorted(body.keys() - _HOLD_FIELDS):
        return _invalid("/body", f"Properties not allowed: {extra}.")
    item_id, biblio_id = body.get("item_id"), body.get("biblio_id")
    barcode = None
    if item_id is not None:
        try:
            barcode = _barcode_of(library, int(item_id))
        except UnknownRecord:
            return _error(404, "item_id not found.")
        if biblio_id is not None and library.item_info(barcode).biblio_id != int(biblio_id):
            return _error(400, f"Item {item_id} doesn't belong to biblio {biblio_id}")
    elif biblio_id is not None:
        try:
            library.biblio(int(biblio_id))
        except UnknownRecord:
            return web.json_response("Biblio not found.", status=400)
    else:
        return _error(400, "At least one of biblio_id, item_id should be given")
    try:
        card = library.patron_by_id(int(body["patron_id"])).card_number
    except UnknownRecord:
        return _error(400, "patron_id not found")
    pickup = str(body["pickup_library_id"])
    if pickup not in {p.code for p in library.pickup_locations()}:
        return _error(400, "The supplied pickup location is not valid")
    # Koha holds have no contact method (Koha notifies by messaging preferences); staff
    # ring patrons collecting at a bookmobile stop, so the model's phone-only rule holds.
    stations = {p.code for p in library.pickup_locations() if p.bookmobile is not None}
    contact = ContactMethod.PHONE if pickup in stations else None
    # AddReserve: found stays undef, except an item-level hold on a copy already at the
    # pickup library while ReservesNeedReturns is off (C4/Reserves.pm).
    allocate = (
        barcode is not None
        and not settings.reserves_need_returns
        and library.item_info(barcode).location == pickup
    )
    try:
        if barcode is not None:
            hold = library.place_hold(
                card, pickup, barcode=barcode, contact=contact, allocate=allocate
            )
        else:
            assert biblio_id is not None  # without an item the biblio was required above
            hold = library.place_hold(
                card, pickup, biblio_id=int(biblio_id), contact=contact, allocate=False
            )
    except Refusal as refusal:
        return _hold_refused(refusal)
    return web.json_response(hold_json(hold), status=201)


async def cancel_hold(request: web.Request) -> web.Response:
    """Holds#delete: cancels any hold; with the cancellation-request-flow override a waiting
    hold gets a cancellation request and 202 (newer Koha)."""
    library = _library(request)
    hold_id = _int(request, "hold_id")
    card = _hold_owner_card(library, hold_id)
    hold = _hold(library, hold_id)
    overrides = {o.strip() for o in request.headers.get("x-koha-override", "").split(",")}
    if "cancellation-request-flow" in overrides and hold.found == "W":
        library.cancel_hold(card, hold_id, mode="request")
        return web.Response(status=202)
    library.cancel_hold(card, hold_id, mode="cancel")
    return web.Response(status=204)


async def change_pickup(request: web.Request) -> web.Response:
    library = _library(request)
    hold_id = _int(request, "hold_id")
    body = await _json_body(request)
    if not isinstance(body, dict) or set(body) != {"pickup_library_id"}:
        return _invalid("/body/pickup_library_id", "Missing property.")
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
            return _invalid("/body", "Properties not allowed.")
        if body.get("end_date"):
            until = date.fromisoformat(str(body["end_date"]))
    card = _hold_owner_card(library, hold_id)
    hold = _hold(library, hold_id)
    try:
        library.suspend_hold(card, hold_id, until)
    except Refusal as refusal:
        if refusal.token is RefusalToken.HOLD_FOUND:
            # Koha::Exceptions::Hold::CannotSuspendFound, stringified (Koha/Exceptions/Hold.pm)
            return _error(400, f"Found hold cannot be suspended. Status={hold.found}")
        return _error(400, refusal.message)
    return web.json_response({"end_date": until.isoformat() if until else None}, status=201)


async def resume(request: web.Request) -> web.Response:
    library = _library(request)
    hold_id = _int(request, "hold_id")
    card = _hold_owner_card(library, hold_id)
    try:
        library.resume_hold(card, hold_id)
    except Refusal as refusal:
        return _error(400, refusal.message)
    return web.Response(status=204)


def _pickup_locations(request: web.Request, library: SimulatedLibrary) -> web.Response:
    """Every pickup location, unfiltered (Holds#pickup_locations, Items#pickup_locations)."""
    return _search(request, [library_json(p) for p in library.pickup_locations()], ())


async def hold_pickup_locations(request: web.Request) -> web.Response:
    library = _library(request)
    _hold(library, _int(request, "hold_id"))
    return _pickup_locations(request, library)


async def list_items(request: web.Request) -> web.Response:
    library = _library(request)
    _embed(request, "list_items")
    rows = [item_json(library.item_info(i.barcode)) for i in library.data.items]
    return _search(request, sorted(rows, key=lambda r: r["item_id"]), _ITEM_FILTERS)


async def get_item(request: web.Request) -> web.Response:
    library = _library(request)
    _embed(request, "get_item")
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


async def list_biblios(request: web.Request) -> web.Response:
    """Biblios#list (GET /biblios, operationId listBiblio in Koha's paths/biblios.yaml, e.g.
    Koha-Community/Koha 0093c368): ``q``/``_match``/``_order_by``/``_page``/``_per_page``, no
    field filters declared; JSON only simulated (406 lists what Koha produces otherwise)."""
    if "application/json" not in request.headers.get("Accept", ""):
        return web.json_response(_BIBLIO_TYPES, status=406)
    rows = [biblio_json(b) for b in _library(request).biblios()]
    return _search(request, sorted(rows, key=lambda r: r["biblio_id"]), ())


async def get_biblio(request: web.Request) -> web.Response:
    if "application/json" not in request.headers.get("Accept", ""):
        return web.json_response(_BIBLIO_TYPES, status=406)
    library = _library(request)
    try:
        biblio = library.biblio(_int(request, "biblio_id"))
    except UnknownRecord:
        return _error(404, "Bibliographic record not found")
    return web.json_response(biblio_json(biblio))


async def biblio_items(request: web.Request) -> web.Response:
    """Biblios#get_items (GET /biblios/{biblio_id}/items): the record's copies."""
    library = _library(request)
    biblio_id = _int(request, "biblio_id")
    try:
        library.biblio(biblio_id)
    except UnknownRecord:
        return _error(404, "Bibliographic record not found")
    _embed(request, "list_items")
    rows = [
        item_json(library.item_info(i.barcode))
        for i in library.data.items
        if i.biblio_id == biblio_id
    ]
    return _search(request, sorted(rows, key=lambda r: r["item_id"]), _ITEM_FILTERS)


async def item_pickup_locations(request: web.Request) -> web.Response:
    """Items#pickup_locations: ``patron_id`` picks the patron and is not a filter."""
    library = _library(request)
    _barcode_of(library, _int(request, "item_id"))
    return _pickup_locations(request, library)


async def list_libraries(request: web.Request) -> web.Response:
    rows = [library_json(p) for p in _library(request).pickup_locations()]
    return _search(request, rows, _LIBRARY_FILTERS)


# -- app ----------------------------------------------------------------------------------


@web.middleware
async def _koha_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authentication first, then the model's exceptions as Koha's error bodies."""
    if request.path != f"{API}/oauth/token" and not _authorized(request):
        return _error(401, "Authentication failure.")
    try:
        if "x-koha-embed" in request.headers:
            _embed(request, getattr(request.match_info.handler, "__name__", ""))
        return await handler(request)
    except _Rejected as rejected:
        return rejected.response
    except UnknownRecord as exc:
        return _error(404, f"{exc.kind.capitalize()} not found")
    except SimulatedFault:
        return _internal_error()


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
    settings: KohaSettings | None = None,
) -> web.Application:
    """The Koha-like REST app over ``library`` (bind it with ``web.AppRunner``)."""
    app = web.Application(middlewares=[_koha_errors])
    app[KOHA_LIBRARY] = library
    app[_STATE] = _AuthState(client=(client_id, client_secret), tokens=set(), basic=basic)
    app[_SETTINGS] = settings or KohaSettings()
    app[_TOKEN_SECRET] = secrets.token_bytes(32)
    r = app.router
    r.add_post(f"{API}/oauth/token", token)
    r.add_post(f"{API}/auth/password/validation", validate_password)
    r.add_get(f"{API}/patrons", list_patrons)
    r.add_get(f"{API}/patrons/{{patron_id}}", get_patron)
    r.add_put(f"{API}/patrons/{{patron_id}}", update_patron)
    r.add_get(f"{API}/patrons/{{patron_id}}/holds", patron_holds)
    r.add_get(f"{API}/patrons/{{patron_id}}/account", patron_account)
    r.add_post(f"{API}/patrons/{{patron_id}}/password", set_patron_password)
    r.add_get(f"{API}/checkouts", list_checkouts)
    r.add_post(f"{API}/checkouts", add_checkout)
    r.add_get(f"{API}/checkouts/availability", checkout_availability)
    r.add_get(f"{API}/checkouts/{{checkout_id}}/allows_renewal", allows_renewal)
    r.add_post(f"{API}/checkouts/{{checkout_id}}/renewal", renew)
    r.add_get(f"{API}/holds", list_holds)
    r.add_post(f"{API}/holds", place_hold)
    r.add_delete(f"{API}/holds/{{hold_id}}", cancel_hold)
    r.add_put(f"{API}/holds/{{hold_id}}/pickup_location", change_pickup)
    r.add_post(f"{API}/holds/{{hold_id}}/suspension", suspend)
    r.add_delete(f"{API}/holds/{{hold_id}}/suspension", resume)
    r.add_get(f"{API}/holds/{{hold_id}}/pickup_locations", hold_pickup_locations)
    r.add_get(f"{API}/biblios", list_biblios)
    r.add_get(f"{API}/biblios/{{biblio_id}}", get_biblio)
    r.add_get(f"{API}/biblios/{{biblio_id}}/items", biblio_items)
    r.add_get(f"{API}/items", list_items)
    r.add_get(f"{API}/items/{{item_id}}", get_item)
    r.add_get(f"{API}/items/{{item_id}}/pickup_locations", item_pickup_locations)
    r.add_get(f"{API}/libraries", list_libraries)
    return app
