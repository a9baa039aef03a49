"""E-book endpoints, the e-library's auth bridge, and the merge hook of the loan/hold lists.

``routes()`` gives the entries ``api.routes.ROUTES`` appends, so they are registered and
documented in ``/openapi.json`` like the core routes; ``setup_ebooks(app)`` adds the cleanup
context that opens every tenant's e-book side after the gateway (``services.ebooks.runtime``)
and keeps it under ``EBOOKS_KEY``. Patron routes live under ``/v1/tenants/{tenant}/ebooks`` and
need a session like every patron route (kiosk sessions get the tenant's kiosk restrictions);
the bridge lives under ``/elibrary/v1/libraries/{library}/patron-check`` and takes the
e-library's own key (``Authorization: Bearer <bridge key>``) instead of a patron session.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime
from ils_gateway.api.keys import EBOOKS_KEY, GATEWAY_KEY, SESSION, SETTINGS_KEY
from ils_gateway.api.problems import PROBLEM_BASE, PROBLEM_CONTENT_TYPE
from ils_gateway.domain.ebooks import EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.errors import BadRequest, FeatureDisabled
from ils_gateway.domain.labels import Labels
from ils_gateway.domain.models import Hold, Loan
from ils_gateway.domain.vocab import Feature
from ils_gateway.services.ebooks.bridge import BridgeRateLimited
from ils_gateway.services.ebooks.merge import EbookPart
from ils_gateway.services.ebooks.runtime import EbookTenant, open_ebooks
from ils_gateway.services.ebooks.service import EbookService

if TYPE_CHECKING:
    from ils_gateway.api.routes import Route

E = "/ebooks"
BRIDGE_PREFIX = "/elibrary/v1/libraries/{library}"
BRIDGE_PATH = BRIDGE_PREFIX + "/patron-check"
MAX_TITLE_IDS = 50


# -- bodies ---------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BorrowRequest(_Body):
    """The title to borrow (a free copy, or the copy kept for the patron's ready hold)."""

    title_id: str = Field(min_length=1, max_length=64)


class EbookHoldRequest(_Body):
    """The title to reserve; ``email`` gets the e-library's "ready" mail (default: on file)."""

    title_id: str = Field(min_length=1, max_length=64)
    email: str | None = Field(None, max_length=254)


class PatronCheckRequest(BaseModel):
    """The e-library's question, in its own (camelCase) words."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cardNumber: str = Field(min_length=1, max_length=64)  # the e-library's field name
    password: str = Field(min_length=1, max_length=128, repr=False)


class PatronCheckResponse(BaseModel):
    """Yes/no, and the patron category when yes; nothing says why a check failed."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    patronCategory: str | None = Field(None, description="only when valid")  # e-library's name


class EbookTitleList(_Body):
    """The titles the e-library knows among those asked for, with availability."""

    titles: list[EbookTitle]


class EbookTitleView(_Body):
    """One title with copies owned, free, and holds waiting."""

    title: EbookTitle


class EbookLoanList(_Body):
    """The patron's e-book loans with their due instants (they return themselves then)."""

    loans: list[EbookLoan]


class EbookHoldView(EbookHold):
    """An e-book hold with the tenant's label for its status."""

    status_label: str

    @classmethod
    def of(cls, hold: EbookHold, labels: Labels) -> EbookHoldView:
        """The view of ``hold`` with ``labels``' word for its status."""
        return cls(**dict(hold), status_label=labels.label(hold.status))


class EbookHoldList(_Body):
    """The patron's e-book holds (waiting or ready), in the order placed."""

    holds: list[EbookHoldView]


# -- wiring ---------------------------------------------------------------------------------


def setup_ebooks(app: web.Application) -> None:
    """Open the tenants' e-book side with the app (routes come from ``api.routes.ROUTES``).

    Call after the gateway's cleanup context is registered: the e-book runtimes use it.
    """
    app.cleanup_ctx.append(_ebooks_context)


async def _ebooks_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    tenants = [EbookTenant(t.context, t.account) for t in app[GATEWAY_KEY]]
    async with open_ebooks(
        tenants,
        settings.clock,
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_prefix,
    ) as runtimes:
        app[EBOOKS_KEY] = runtimes
        yield


def ebook_service(request: web.Request) -> EbookService:
    """The e-book service of this request's tenant; ``FeatureDisabled`` without an e-library."""
    tenant_id = request.match_info["tenant"]
    found = request.app[EBOOKS_KEY].get(tenant_id)
    if found is None or found.service is None:
        raise FeatureDisabled(
            Feature.EBOOKS, detail="This library offers no e-books", operator_detail=tenant_id
        )
    return found.service


def _ebooks_shown(request: web.Request) -> EbookService | None:
    found = request.app[EBOOKS_KEY].get(request.match_info["tenant"])
    if found is None or found.service is None:
        return None
    if not runtime(request).config.policy.feature_enabled(Feature.EBOOKS, request[SESSION].channel):
        return None
    return found.service


async def with_ebook_loans(
    request: web.Request, ils_loans: Awaitable[list[Loan]]
) -> tuple[list[Loan], EbookPart | None]:
    """The ILS loans merged with the patron's e-book loans (``None`` part without e-books)."""
    service = _ebooks_shown(request)
    if service is None:
        return await ils_loans, None
    return await service.merged_loans(caller(request), ils_loans)


async def with_ebook_holds(
    request: web.Request, ils_holds: Awaitable[list[Hold]]
) -> tuple[list[Hold], EbookPart | None]:
    """The ILS holds merged with the patron's e-book holds (``None`` part without e-books)."""
    service = _ebooks_shown(request)
    if service is None:
        return await ils_holds, None
    return await service.merged_holds(caller(request), ils_holds)


# -- patron handlers ------------------------------------------------------------------------


async def list_titles(request: web.Request) -> web.Response:
    """GET …/ebooks/titles?ids=KD000001,KD000002: availability of several titles."""
    ids = [i for i in request.query.get("ids", "").split(",") if i.strip()]
    if not ids or len(ids) > MAX_TITLE_IDS:
        raise BadRequest(f"Give between 1 and {MAX_TITLE_IDS} title ids in 'ids'")
    titles = await ebook_service(request).titles(caller(request), [i.strip() for i in ids])
    return json_response(EbookTitleList(titles=titles))


async def get_title(request: web.Request) -> web.Response:
    """GET …/ebooks/titles/{title_id}: one title with copies owned, free and holds waiting."""
    title = await ebook_service(request).title(caller(request), request.match_info["title_id"])
    return json_response(EbookTitleView(title=title))


async def list_ebook_loans(request: web.Request) -> web.Response:
    """GET …/ebooks/loans: e-book loans with their due instants."""
    loans = await ebook_service(request).loans(caller(request))
    return json_response(EbookLoanList(loans=loans))


async def borrow_ebook(request: web.Request) -> web.Response:
    """POST …/ebooks/loans: borrow a free title, or the copy kept for a ready hold."""
    body = await read_body(request, BorrowRequest)
    loan = await ebook_service(request).borrow(caller(request), body.title_id)
    return json_response(loan, status=201)


async def return_ebook(request: web.Request) -> web.Response:
    """DELETE …/ebooks/loans/{title_id}: return early."""
    await ebook_service(request).return_loan(caller(request), request.match_info["title_id"])
    return web.Response(status=204)


async def list_ebook_holds(request: web.Request) -> web.Response:
    """GET …/ebooks/holds: e-book holds with the tenant's status labels."""
    holds = await ebook_service(request).holds(caller(request))
    labels = runtime(request).context.labels
    return json_response(EbookHoldList(holds=[EbookHoldView.of(hold, labels) for hold in holds]))


async def place_ebook_hold(request: web.Request) -> web.Response:
    """POST …/ebooks/holds: reserve a title no copy of which is free."""
    body = await read_body(request, EbookHoldRequest)
    hold = await ebook_service(request).place_hold(caller(request), body.title_id, email=body.email)
    return json_response(EbookHoldView.of(hold, runtime(request).context.labels), status=201)


async def cancel_ebook_hold(request: web.Request) -> web.Response:
    """DELETE …/ebooks/holds/{title_id}: withdraw an e-book hold (waiting or ready)."""
    await ebook_service(request).cancel_hold(caller(request), request.match_info["title_id"])
    return web.Response(status=204)


# -- the e-library's auth bridge ------------------------------------------------------------


async def patron_check(request: web.Request) -> web.Response:
    """POST /elibrary/v1/libraries/{library}/patron-check: is this a valid patron? yes/no."""
    tenant_id = request.match_info["library"]
    request.app[GATEWAY_KEY].tenant(tenant_id)  # NotFound for an unknown library
    bridge = request.app[EBOOKS_KEY][tenant_id].bridge
    body = await read_body(request, PatronCheckRequest)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    try:
        answer = await bridge.check(
            api_key=key.strip() if scheme.lower() == "bearer" else None,
            client=request.remote or "unknown",
            card_number=body.cardNumber,
            password=body.password,
        )
    except BridgeRateLimited as exc:
        return _too_many(exc.retry_after, request.path)
    payload = PatronCheckResponse(valid=answer.valid, patronCategory=answer.patron_category)
    return json_response(payload.model_dump(mode="json", exclude_none=True))


def _too_many(retry_after: int, instance: str) -> web.Response:
    doc = {
        "type": PROBLEM_BASE + "rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": "Too many patron checks; try again later",
        "instance": instance,
    }
    return web.Response(
        status=429,
        body=json.dumps(doc).encode(),
        content_type=PROBLEM_CONTENT_TYPE,
        headers={"Retry-After": str(retry_after)},
    )


# -- route table ----------------------------------------------------------------------------


def routes() -> tuple[Route, ...]:
    """The entries ``api.routes.ROUTES`` appends: e-book routes and the e-library's bridge."""
    from ils_gateway.api.routes import Route

    return (
        Route("GET", E + "/titles", list_titles,
              "E-book titles' availability (?ids=KD000001,KD000002)", "ebooks",
              response=EbookTitleList),
        Route("GET", E + "/titles/{title_id}", get_title, "One e-book title's availability",
              "ebooks", response=EbookTitleView),
        Route("GET", E + "/loans", list_ebook_loans, "E-book loans with due instants", "ebooks",
              response=EbookLoanList),
        Route("POST", E + "/loans", borrow_ebook, "Borrow an e-book (free, or a ready hold)",
              "ebooks", BorrowRequest, EbookLoan, 201),
        Route("DELETE", E + "/loans/{title_id}", return_ebook, "Return an e-book early",
              "ebooks", status=204),
        Route("GET", E + "/holds", list_ebook_holds, "E-book holds with the tenant's labels",
              "ebooks", response=EbookHoldList),
        Route("POST", E + "/holds", place_ebook_hold, "Reserve an e-book", "ebooks",
              EbookHoldRequest, EbookHoldView, 201),
        Route("DELETE", E + "/holds/{title_id}", cancel_ebook_hold, "Withdraw an e-book hold",
              "ebooks", status=204),
        Route("POST", "/patron-check", patron_check,
              "E-library asks: is this card + password a valid patron? (Bearer: bridge key)",
              "e-library bridge", PatronCheckRequest, PatronCheckResponse, session=False,
              prefix=BRIDGE_PREFIX),
    )  # fmt: skip
