"""The route table: one entry per endpoint, used to register handlers and to build OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ils_gateway.api import routes_ebooks, routes_mylists, schemas
from ils_gateway.api.handlers import catalog, holds, loans, session
from ils_gateway.domain.models import Hold, RenewalResult

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = "/v1/tenants/{tenant}"


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path, handler, and the models its document is built from."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[Any] | None = None
    response: type[Any] | None = None
    status: int = 200
    session: bool = True
    media_type: str = "application/json"
    prefix: str = PREFIX  # the e-library's auth bridge lives outside the tenant prefix
    # Other successful answers besides ``status``: (status, body model, description).
    also: tuple[tuple[int, type[Any], str], ...] = ()

    @property
    def name(self) -> str:
        """The handler's name, used as the route name and the OpenAPI operationId."""
        return self.handler.__name__


ROUTES: tuple[Route, ...] = (
    Route("POST", "/sessions", session.create_session, "Log in", "session",
          schemas.LoginRequest, schemas.SessionCreated, 201, session=False),
    Route("DELETE", "/sessions/current", session.end_session, "Log out", "session", status=204),
    Route("GET", "/patron", session.patron_summary, "Patron summary", "patron",
          response=schemas.PatronSummary),
    Route("POST", "/patron/password", session.change_password, "Change password", "patron",
          schemas.PasswordChangeRequest, status=204),
    Route("GET", "/patron/card.svg", session.card_barcode, "Card barcode (SVG)", "patron",
          media_type="image/svg+xml"),
    Route("GET", "/loans", loans.list_loans, "Current loans with renewability", "loans",
          response=schemas.LoanList),
    Route("POST", "/loans/renewals", loans.renew_loans, "Renew several loans", "loans",
          schemas.RenewManyRequest, schemas.RenewalBatch),
    Route("POST", "/loans/{item_id}/renewal", loans.renew_loan, "Renew one loan", "loans",
          response=RenewalResult),
    Route("GET", "/holds", holds.list_holds, "Holds with allowed actions", "holds",
          response=schemas.HoldList),
    Route("POST", "/holds", holds.place_holds, "Place holds on several items", "holds",
          schemas.PlaceHoldsRequest, schemas.HoldBatch),
    Route("DELETE", "/holds/{hold_id}", holds.cancel_hold, "Cancel a hold", "holds", status=204,
          also=((202, schemas.CancellationRequested,
                 "Only a cancellation request: the library cancels the hold later"),)),
    Route("PATCH", "/holds/{hold_id}", holds.change_hold,
          "Change pickup library or contact method", "holds", schemas.ChangeHoldRequest, Hold),
    Route("GET", "/libraries", catalog.pickup_libraries, "Pickup libraries", "catalog",
          response=schemas.LibraryList, session=False),
    Route("GET", "/items/{item_id}", catalog.item, "Item lookup", "catalog",
          response=schemas.ItemView, session=False),
)  # fmt: skip
# Basket, sequences, hold extras, cancelled holds, shelves, reading history, settings (issue 6).
ROUTES += routes_mylists.routes()
# E-book titles, loans, holds, and the e-library's patron-check bridge (issue 7).
ROUTES += routes_ebooks.routes()

# Patron routes open without a session (the bridge, outside the tenant prefix, has its own key).
PUBLIC_ROUTE_NAMES = frozenset(r.name for r in ROUTES if not r.session and r.prefix == PREFIX)


# Registered first: aiohttp tries the routes under one prefix in the order they were added, so
# the lists a portal asks for on every page view are found without trying the others.
HOT_PATHS = ("/loans", "/holds", "/patron")


def add_routes(app: web.Application) -> None:
    """Register every route of the table under its prefix (``/v1/tenants/{tenant}``)."""
    # sorted() is stable: apart from the hot paths, the table's order (which matters where two
    # paths could match the same URL) is kept.
    hot_first = sorted(ROUTES, key=lambda r: r.path not in HOT_PATHS)
    for route in hot_first:
        app.router.add_route(
            route.method, route.prefix + route.path, route.handler, name=route.name
        )
