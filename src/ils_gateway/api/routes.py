"""The route table: one entry per endpoint, used to register handlers and to build OpenAPI.

The table imports the handlers and schemas of every resource; nothing imports this module but
the app, the middleware (which routes are public) and the OpenAPI document, so ``api`` has no
import cycle.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote_to_bytes

from aiohttp import web

from ils_gateway.api.bodies import check_encodable
from ils_gateway.api.handlers import (
    account,
    basket,
    bridge,
    calendar,
    catalog,
    ebooks,
    fees,
    history,
    holds,
    kiosk,
    loans,
    notices,
    or_holds,
    sdi,
    sequences,
    session,
    settings,
    shelves,
)
from ils_gateway.api.keys import TENANT
from ils_gateway.api.routing import BRIDGE_PREFIX, PREFIX, Handler, QueryParam, Route
from ils_gateway.api.schemas import account as account_schemas
from ils_gateway.api.schemas import basket as basket_schemas
from ils_gateway.api.schemas import calendar as calendar_schemas
from ils_gateway.api.schemas import catalog as catalog_schemas
from ils_gateway.api.schemas import ebooks as ebook_schemas
from ils_gateway.api.schemas import fees as fee_schemas
from ils_gateway.api.schemas import history as history_schemas
from ils_gateway.api.schemas import holds as hold_schemas
from ils_gateway.api.schemas import kiosk as kiosk_schemas
from ils_gateway.api.schemas import loans as loan_schemas
from ils_gateway.api.schemas import notices as notice_schemas
from ils_gateway.api.schemas import or_holds as or_hold_schemas
from ils_gateway.api.schemas import sdi as sdi_schemas
from ils_gateway.api.schemas import sequences as sequence_schemas
from ils_gateway.api.schemas import session as session_schemas
from ils_gateway.api.schemas import settings as settings_schemas
from ils_gateway.api.schemas import shelves as shelf_schemas
from ils_gateway.api.schemas.common import LIBRARY_VALUE_MAX, LIBRARY_VALUE_PATTERN
from ils_gateway.domain.catalog import SearchSort
from ils_gateway.domain.ebooks import EbookLoan
from ils_gateway.domain.errors import BadRequest
from ils_gateway.domain.models import BatchResult, Hold, HoldResult, RenewalResult
from ils_gateway.domain.vocab import ItemSource, MaterialType
from ils_gateway.services.catalog import PAGE_MAX as CATALOG_PAGE_MAX
from ils_gateway.services.catalog import TEXT_MAX as CATALOG_TEXT_MAX

CORE_ROUTES: tuple[Route, ...] = (
    Route("POST", "/sessions", session.create_session, "Log in", "session",
          session_schemas.LoginRequest, session_schemas.SessionCreated, 201, session=False),
    Route("DELETE", "/sessions/current", session.end_session, "Log out", "session", status=204),
    Route("GET", "/patron", session.patron_summary, "Patron summary", "patron",
          response=session_schemas.PatronSummary),
    Route("POST", "/patron/password", session.change_password, "Change password", "patron",
          session_schemas.PasswordChangeRequest, status=204),
    Route("GET", "/patron/card.svg", session.card_barcode, "Card barcode (SVG)", "patron",
          media_type="image/svg+xml"),
    Route("GET", "/patron/fees", fees.patron_fees,
          "Fines and fees owed, the blocks they cause, where to pay (payment stays with the "
          "library)", "patron", response=fee_schemas.FeesView),
    Route("GET", "/loans", loans.list_loans, "Current loans with renewability", "loans",
          response=loan_schemas.LoanList),
    Route("POST", "/loans/renewals", loans.renew_loans, "Renew several loans", "loans",
          loan_schemas.RenewManyRequest, loan_schemas.RenewalBatch),
    Route("POST", "/loans/{item_id}/renewal", loans.renew_loan, "Renew one loan", "loans",
          response=RenewalResult),
    Route("GET", "/holds", holds.list_holds, "Holds with allowed actions", "holds",
          response=hold_schemas.HoldList),
    Route("POST", "/holds", holds.place_holds, "Place holds on several items", "holds",
          hold_schemas.PlaceHoldsRequest, hold_schemas.HoldBatch),
    Route("DELETE", "/holds/{hold_id}", holds.cancel_hold, "Cancel a hold", "holds", status=204,
          also=((202, hold_schemas.CancellationRequested,
                 "Only a cancellation request: the library cancels the hold later"),),
          query=(QueryParam("source", {"type": "string", "enum": [s.value for s in ItemSource],
                                       "default": ItemSource.ILS.value},
                            "Which system holds the hold (an e-book hold: ebook)"),)),
    Route("PATCH", "/holds/{hold_id}", holds.change_hold,
          "Change pickup library or contact method", "holds", hold_schemas.ChangeHoldRequest, Hold),
    Route("GET", "/libraries", catalog.pickup_libraries, "Pickup libraries", "catalog",
          response=catalog_schemas.LibraryList, session=False),
    Route("GET", "/items/{item_id}", catalog.item, "Item lookup", "catalog",
          response=catalog_schemas.ItemView, session=False),
    Route("GET", "/catalog/search", catalog.search,
          "Search the catalogue (501 search-unavailable: no search source for this library)",
          "catalog",
          response=catalog_schemas.SearchResults, session=False,
          query=(QueryParam("keyword", {"type": "string", "maxLength": CATALOG_TEXT_MAX},
                            "Any word of title, author or ISBN (kana match readings)"),
                 QueryParam("title", {"type": "string", "maxLength": CATALOG_TEXT_MAX},
                            "Words of the title or its reading (ヨミ)"),
                 QueryParam("author", {"type": "string", "maxLength": CATALOG_TEXT_MAX},
                            "Words of an author's name"),
                 QueryParam("isbn", {"type": "string", "maxLength": 20},
                            "ISBN-10 or ISBN-13 (hyphens allowed), or its start"),
                 QueryParam("material_type", {"type": "string",
                                              "enum": [m.value for m in MaterialType]},
                            "Only records of this material type"),
                 QueryParam("page", {"type": "integer", "minimum": 1,
                                     "maximum": CATALOG_PAGE_MAX, "default": 1}, "Page number"),
                 QueryParam("per_page", {"type": "integer", "minimum": 1, "maximum": 200,
                                         "default": 20},
                            "Records per page (at most the tenant's max_per_page, 50 by "
                            "default)"),
                 QueryParam("sort", {"type": "string", "enum": [s.value for s in SearchSort],
                                     "default": SearchSort.RELEVANCE.value}, "Order"))),
    Route("GET", "/catalog/records/{record_id}", catalog.record,
          "A record with its copies, holdability and pickup libraries", "catalog",
          response=catalog_schemas.RecordDetail, session=False),
    Route("POST", "/catalog/records/{record_id}/holds", catalog.record_hold,
          "Place a hold on a record (title-level where the library system allows)", "holds",
          catalog_schemas.CatalogHoldRequest, HoldResult),
    Route("GET", "/calendar", calendar.library_calendar,
          "Opening days and hours, holidays and closures", "catalog",
          response=calendar_schemas.CalendarView, session=False,
          query=(QueryParam("from", {"type": "string", "format": "date"},
                            "First day (YYYY-MM-DD, 2000-01-01 to 2099-12-31; default: "
                            "today)"),
                 QueryParam("to", {"type": "string", "format": "date"},
                            f"Last day, at most {calendar.MAX_DAYS} days on (default: "
                            f"{calendar.DEFAULT_DAYS} days from from)"))),
)  # fmt: skip
# Basket, sequences, hold extras, cancelled holds, shelves, reading history, settings (issue 6):
# every one needs a patron session.
LIST_ROUTES: tuple[Route, ...] = (
    Route("GET", "/basket", basket.basket_list, "The reservation basket", "basket",
          response=basket_schemas.BasketView),
    Route("POST", "/basket/items", basket.basket_add, "Put an item in the basket", "basket",
          basket_schemas.BasketAddRequest, basket_schemas.BasketAddedView, 201,
          also=((200, basket_schemas.BasketAddedView,
                 "Already in the basket (added: false): nothing changed"),)),
    Route("DELETE", "/basket/items/{item_id}", basket.basket_remove, "Take an item out", "basket",
          status=204),
    Route("DELETE", "/basket", basket.basket_clear, "Empty the basket", "basket", status=204),
    Route("POST", "/basket/holds", basket.basket_confirm, "Place holds on chosen basket items",
          "basket", basket_schemas.BasketConfirmRequest, BatchResult[HoldResult]),
    Route("GET", "/hold-sequences", sequences.sequence_list, "Hold sequences", "hold sequences",
          response=sequence_schemas.SequenceList),
    Route("POST", "/hold-sequences", sequences.sequence_create,
          "Order waiting holds into a sequence", "hold sequences",
          sequence_schemas.SequenceCreateRequest, sequence_schemas.SequenceViewModel, 201),
    Route("DELETE", "/hold-sequences/{sequence_id}", sequences.sequence_dissolve,
          "Dissolve a sequence", "hold sequences", status=204),
    Route("DELETE", "/holds/{hold_id}/sequence", sequences.sequence_leave,
          "Take a hold out of its sequence", "hold sequences", status=204),
    Route("GET", "/or-holds", or_holds.or_hold_list,
          "OR-holds (いずれか予約) waiting for one of their holds", "or-holds",
          response=or_hold_schemas.OrHoldList),
    Route("POST", "/or-holds", or_holds.or_hold_create,
          "Hold any one of several records (403 feature-disabled where not offered)", "or-holds",
          or_hold_schemas.OrHoldCreateRequest, or_hold_schemas.OrHoldViewModel, 201),
    Route("DELETE", "/or-holds/{group_id}", or_holds.or_hold_cancel,
          "Cancel an OR-hold's remaining holds", "or-holds", status=204),
    Route("POST", "/holds/{hold_id}/skip", holds.hold_skip, "Skip a waiting hold until a day",
          "holds", hold_schemas.SkipRequest, Hold),
    Route("DELETE", "/holds/{hold_id}/skip", holds.hold_resume, "End a skip", "holds",
          response=Hold),
    Route("POST", "/holds/{hold_id}/pickup-extension", holds.hold_extend_pickup,
          "Keep a ready hold on the pickup shelf longer", "holds", response=Hold),
    Route("GET", "/cancelled-holds", holds.cancelled_hold_list, "Cancelled and expired holds",
          "holds", response=hold_schemas.CancelledHoldList),
    Route("DELETE", "/cancelled-holds/{hold_id}", holds.cancelled_hold_delete,
          "Delete a cancelled-hold entry", "holds", status=204),
    Route("GET", "/shelves", shelves.shelf_list, "Bookshelves", "shelves",
          response=shelf_schemas.ShelfList),
    Route("POST", "/shelves", shelves.shelf_create, "Make a bookshelf", "shelves",
          shelf_schemas.ShelfCreateRequest, shelf_schemas.ShelfView, 201),
    Route("PATCH", "/shelves/{shelf_id}", shelves.shelf_update, "Rename or re-comment a shelf",
          "shelves", shelf_schemas.ShelfUpdateRequest, shelf_schemas.ShelfView),
    Route("DELETE", "/shelves/{shelf_id}", shelves.shelf_delete, "Delete a shelf", "shelves",
          status=204),
    Route("GET", "/shelves/{shelf_id}/items", shelves.shelf_items, "Items on a shelf", "shelves",
          response=shelf_schemas.ShelfItemList),
    Route("POST", "/shelves/{shelf_id}/items", shelves.shelf_item_add,
          "Put an item (or a reading-history entry) on a shelf", "shelves",
          shelf_schemas.ShelfItemAddRequest, shelf_schemas.ShelfItemView, 201),
    Route("PATCH", "/shelves/{shelf_id}/items/{item_id}", shelves.shelf_item_update,
          "Rate or comment an item", "shelves", shelf_schemas.ShelfItemUpdateRequest,
          shelf_schemas.ShelfItemView),
    Route("DELETE", "/shelves/{shelf_id}/items/{item_id}", shelves.shelf_item_remove,
          "Take an item off a shelf", "shelves", status=204),
    Route("POST", "/shelves/{shelf_id}/items/{item_id}/copy", shelves.shelf_item_copy,
          "Copy an item to another shelf", "shelves", shelf_schemas.ShelfItemTransferRequest,
          shelf_schemas.ShelfItemView, 201),
    Route("POST", "/shelves/{shelf_id}/items/{item_id}/move", shelves.shelf_item_move,
          "Move an item to another shelf", "shelves", shelf_schemas.ShelfItemTransferRequest,
          shelf_schemas.ShelfItemView),
    Route("GET", "/reading-history", history.history_list, "Reading history (opened key needed)",
          "reading history", response=history_schemas.HistoryPageView,
          query=(QueryParam("limit", {"type": "integer", "minimum": 1,
                                      "maximum": history.LIMIT_MAX},
                            "At most this many entries (default: all)"),
                 QueryParam("offset", {"type": "integer", "minimum": 0,
                                       "maximum": history.OFFSET_MAX, "default": 0},
                            "Entries skipped first"))),
    Route("GET", "/reading-history/status", history.history_status, "Whether history is on",
          "reading history", response=history_schemas.HistoryStatus),
    Route("POST", "/reading-history/enable", history.history_enable, "Switch reading history on",
          "reading history", history_schemas.PasswordRequest, history_schemas.HistoryStatus),
    Route("POST", "/reading-history/disable", history.history_disable,
          "Switch reading history off (entries stay)", "reading history",
          response=history_schemas.HistoryStatus),
    Route("POST", "/reading-history/unlock", history.history_unlock,
          "Open the reading history in this session", "reading history",
          history_schemas.PasswordRequest, history_schemas.HistoryStatus),
    Route("DELETE", "/reading-history/entries/{entry_id}", history.history_delete,
          "Delete one entry", "reading history", status=204),
    Route("DELETE", "/reading-history/entries", history.history_delete_all, "Delete every entry",
          "reading history", response=history_schemas.HistoryDeleted),
    Route("GET", "/new-arrival-conditions", sdi.sdi_list,
          "Saved new-arrival conditions (新着図書お知らせ)", "new arrivals",
          response=sdi_schemas.SdiConditionList),
    Route("POST", "/new-arrival-conditions", sdi.sdi_create, "Save a new-arrival condition",
          "new arrivals", sdi_schemas.SdiConditionCreateRequest, sdi_schemas.SdiConditionView,
          201),
    Route("PATCH", "/new-arrival-conditions/{condition_id}", sdi.sdi_update,
          "Change a new-arrival condition", "new arrivals",
          sdi_schemas.SdiConditionUpdateRequest, sdi_schemas.SdiConditionView),
    Route("DELETE", "/new-arrival-conditions/{condition_id}", sdi.sdi_delete,
          "Delete a new-arrival condition", "new arrivals", status=204),
    Route("GET", "/patron/settings", settings.settings_get, "Patron settings", "patron",
          response=settings_schemas.SettingsView),
    Route("PATCH", "/patron/settings", settings.settings_update, "Change patron settings", "patron",
          settings_schemas.SettingsUpdateRequest, settings_schemas.SettingsUpdateView,
          also=((202, settings_schemas.SettingsUpdateView,
                 "A new e-mail address waits for the link mailed to it"),)),
    Route("GET", "/patron/notices", notices.notice_preferences_get, "Notice preferences",
          "patron", response=notice_schemas.NoticePreferencesView),
    Route("PUT", "/patron/notices", notices.notice_preferences_update,
          "Change notice preferences (contact method, due-date reminder, …)", "patron",
          notice_schemas.NoticePreferencesUpdate, notice_schemas.NoticePreferencesView),
)  # fmt: skip

# The staff's phone call list (issue 18): no patron session; an operator key as Bearer.
OPERATOR_ROUTES: tuple[Route, ...] = (
    Route("GET", "/operator/calls", notices.call_list,
          "Phone notices for staff to make (Bearer: operator key)", "operator",
          response=notice_schemas.CallList, session=False,
          query=(QueryParam("all", {"type": "string", "enum": ["true", "false"],
                                    "default": "false"},
                            "Also the calls already made"),)),
    Route("POST", "/operator/calls/{call_id}/done", notices.call_done,
          "Mark a call made (Bearer: operator key)", "operator",
          notice_schemas.CallDoneRequest, notice_schemas.CallView, session=False),
    Route("POST", "/operator/kiosk/reload", kiosk.kiosk_reload,
          "Reload the self-check terminal profiles from the tenant file (Bearer: operator key)",
          "operator", response=kiosk_schemas.KioskReloadView, session=False),
)  # fmt: skip

# E-book titles, loans, holds, and the e-library's patron-check bridge (issue 7).
E = "/ebooks"
EBOOK_ROUTES: tuple[Route, ...] = (
    Route("GET", E + "/titles", ebooks.list_titles,
          "E-book titles' availability (?ids=KD000001,KD000002)", "ebooks",
          response=ebook_schemas.EbookTitleList,
          query=(QueryParam("ids", {"type": "string", "minLength": 1,
                                    "pattern": LIBRARY_VALUE_PATTERN},
                            f"Title ids separated by commas: 1 to {ebooks.MAX_TITLE_IDS}, each "
                            f"at most {LIBRARY_VALUE_MAX} characters",
                            required=True),)),
    Route("GET", E + "/titles/{title_id}", ebooks.get_title, "One e-book title's availability",
          "ebooks", response=ebook_schemas.EbookTitleView),
    Route("GET", E + "/loans", ebooks.list_ebook_loans, "E-book loans with due instants", "ebooks",
          response=ebook_schemas.EbookLoanList),
    Route("POST", E + "/loans", ebooks.borrow_ebook, "Borrow an e-book (free, or a ready hold)",
          "ebooks", ebook_schemas.BorrowRequest, EbookLoan, 201),
    Route("DELETE", E + "/loans/{title_id}", ebooks.return_ebook, "Return an e-book early",
          "ebooks", status=204),
    Route("GET", E + "/holds", ebooks.list_ebook_holds, "E-book holds with the tenant's labels",
          "ebooks", response=ebook_schemas.EbookHoldList),
    Route("POST", E + "/holds", ebooks.place_ebook_hold, "Reserve an e-book", "ebooks",
          ebook_schemas.EbookHoldRequest, ebook_schemas.EbookHoldView, 201),
    Route("DELETE", E + "/holds/{title_id}", ebooks.cancel_ebook_hold, "Withdraw an e-book hold",
          "ebooks", status=204),
    Route("POST", "/patron-check", bridge.patron_check,
          "E-library asks: is this card + password a valid patron? (Bearer: bridge key)",
          "e-library bridge", ebook_schemas.PatronCheckRequest,
          ebook_schemas.PatronCheckResponse, session=False, prefix=BRIDGE_PREFIX),
)  # fmt: skip


# Registration, reset by mailed link, contact changes (issue 18): the patron is not logged in
# for the first three and the confirmations (the link's token is the proof).
ACCOUNT_ROUTES: tuple[Route, ...] = (
    Route("POST", "/account/registration", account.register_password,
          "Register a first password by proving identity", "account",
          account_schemas.RegistrationRequest, account_schemas.PasswordStored, 201,
          session=False),
    Route("POST", "/account/password-reset", account.request_password_reset,
          "Ask for a password-reset link (the same answer whatever the card)", "account",
          account_schemas.ResetRequest, account_schemas.ResetAccepted, 202, session=False),
    Route("POST", "/account/password-reset/confirm", account.confirm_password_reset,
          "Set a new password with a reset link's token (ends every session)", "account",
          account_schemas.ResetConfirmRequest, account_schemas.PasswordStored, session=False),
    Route("POST", "/patron/contact", account.request_contact_change,
          "Change e-mail address or phone (pending until the mailed link is followed)",
          "account", account_schemas.ContactChangeRequest,
          account_schemas.ContactChangePendingView, 202),
    Route("POST", "/account/contact/confirm", account.confirm_contact_change,
          "Confirm a contact change with the mailed link's token", "account",
          account_schemas.ContactConfirmRequest, account_schemas.ContactChangeDoneView,
          session=False),
)  # fmt: skip

ROUTES: tuple[Route, ...] = (
    CORE_ROUTES + LIST_ROUTES + EBOOK_ROUTES + ACCOUNT_ROUTES + OPERATOR_ROUTES
)

# Operator routes: no patron session, their handlers check the operator key.
OPERATOR_ROUTE_NAMES = frozenset(r.name for r in OPERATOR_ROUTES)
# Patron routes open without a session (the bridge, outside the tenant prefix, has its own key).
PUBLIC_ROUTE_NAMES = (
    frozenset(r.name for r in ROUTES if not r.session and r.prefix == PREFIX) - OPERATOR_ROUTE_NAMES
)
# Of those, the catalog lookups: limited per client address (api.limits); the login has the
# login guard instead.
ANONYMOUS_LOOKUP_NAMES = PUBLIC_ROUTE_NAMES - {"create_session"}


# Registered first: aiohttp tries the routes under one prefix in the order they were added, so
# the lists a portal asks for on every page view are found without trying the others.
HOT_PATHS = ("/loans", "/holds", "/patron")


def add_routes(app: web.Application) -> None:
    """Register every route of the table under its prefix (``/v1/tenants/{tenant}``)."""
    # sorted() is stable: apart from the hot paths, the table's order (which matters where two
    # paths could match the same URL) is kept.
    hot_first = sorted(ROUTES, key=lambda r: r.path not in HOT_PATHS)
    for route in hot_first:
        path = route.prefix + route.path
        # The tenant alone (the lists, the account…): the middleware has resolved it to a
        # configured tenant before any handler runs, so there is nothing left to check.
        tenant_only = _PATH_VARIABLES.findall(path) == ["tenant"]
        handler = route.handler if tenant_only else _checked(route.handler)
        app.router.add_route(route.method, path, handler, name=route.name)


_PATH_VARIABLES = re.compile(r"\{(\w+)")


_LIBRARY_VALUE = re.compile(LIBRARY_VALUE_PATTERN)


def _checked(handler: Handler) -> Handler:
    """``handler`` after every path parameter is checked as a ``LibraryValue`` (ids in the
    path reach the library system as SIP2 fields): 400 naming the parameter, before any I/O.

    A parameter must be UTF-8 once percent-decoded (``%FF%FE`` is not; the router leaves such
    bytes percent-encoded, so they would otherwise reach the library system as ``%FF%FE``),
    free of ``|``, CR, LF and NUL, at most ``LIBRARY_VALUE_MAX`` characters, and writable in
    the tenant's wire encoding."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        if len(info) == 1 and request.get(TENANT) is not None and "tenant" in info:
            # (the lists, the account…) the tenant alone, and it named a configured tenant
            return await handler(request)
        undecodable = _undecodable(request)
        if undecodable:
            raise BadRequest(f"Invalid request: {undecodable[0]}: not UTF-8 once percent-decoded")
        values = list(request.match_info.items())
        for name, value in values:
            if len(value) > LIBRARY_VALUE_MAX:
                raise BadRequest(
                    f"Invalid request: {name}: longer than {LIBRARY_VALUE_MAX} characters"
                )
            if not _LIBRARY_VALUE.fullmatch(value):
                raise BadRequest(f"Invalid request: {name}: must not contain '|', CR, LF or NUL")
        check_encodable(request.get(TENANT), values)
        return await handler(request)

    return checked


def _undecodable(request: web.Request) -> list[str]:
    """The path parameters whose percent-decoded bytes are not UTF-8.

    The router matches the path decoded except for ``%2F`` and ``%25`` (``path_safe``) and
    leaves a byte sequence that is not UTF-8 percent-encoded, so ``match_info`` cannot tell
    ``%FF`` (a byte) from ``%25FF`` (the text ``%FF``). The route's own path says which
    segment each parameter is; that segment, decoded the rest of the way, must be UTF-8."""
    resource = request.match_info.route.resource
    template = resource.canonical.split("/") if resource is not None else []
    segments = request.rel_url.path_safe.split("/")
    if "%" not in request.rel_url.path_safe or len(template) != len(segments):
        return []
    found: list[str] = []
    for part, segment in zip(template, segments, strict=True):
        if not (part.startswith("{") and part.endswith("}")):
            continue
        try:
            unquote_to_bytes(segment).decode("utf-8")
        except UnicodeDecodeError:
            found.append(part[1:-1])
    return found
