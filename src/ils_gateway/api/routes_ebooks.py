"""E-book endpoints, the e-library's auth bridge, and the merge hook of the loan/hold lists.

``setup_ebooks(app)`` registers the routes and a cleanup context that opens every tenant's
e-library after the gateway (starting the simulator where a tenant asks for it) and keeps one
``EbookRuntime`` per tenant under ``EBOOKS_KEY``. Patron routes live under
``/v1/tenants/{tenant}/ebooks`` and need a session like every patron route; the bridge lives
under ``/elibrary/v1/libraries/{library}/patron-check`` and takes the e-library's own key
(``Authorization: Bearer <bridge key>``) instead of a patron session.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime
from ils_gateway.api.keys import GATEWAY_KEY, SETTINGS_KEY
from ils_gateway.api.problems import PROBLEM_BASE, PROBLEM_CONTENT_TYPE
from ils_gateway.domain.ebooks import EbookHold, EbookLoan
from ils_gateway.domain.errors import BadRequest, FeatureDisabled
from ils_gateway.domain.labels import Labels
from ils_gateway.domain.models import Hold, Loan
from ils_gateway.domain.vocab import Feature
from ils_gateway.ratelimit import MemoryRateLimiter
from ils_gateway.services.ebooks.backends import open_elibrary
from ils_gateway.services.ebooks.bridge import (
    CARD_LIMIT,
    CLIENT_LIMIT,
    BridgeLimiters,
    BridgeRateLimited,
    PatronCheckService,
)
from ils_gateway.services.ebooks.merge import EbookPart
from ils_gateway.services.ebooks.service import EbookService

E = "/v1/tenants/{tenant}/ebooks"
BRIDGE_PATH = "/elibrary/v1/libraries/{library}/patron-check"
MAX_TITLE_IDS = 50


@dataclass(frozen=True)
class EbookRuntime:
    """One tenant's e-book service (None without an e-library) and auth bridge."""

    service: EbookService | None
    bridge: PatronCheckService


EBOOKS_KEY = web.AppKey("ebooks", dict[str, EbookRuntime])


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


# -- wiring ---------------------------------------------------------------------------------


def setup_ebooks(app: web.Application) -> None:
    """Register the e-book routes and open the tenants' e-libraries with the app.

    Call after the gateway's cleanup context is registered: the e-book runtimes use it.
    """
    app.cleanup_ctx.append(_ebooks_context)
    app.router.add_get(E + "/titles", list_titles, name="ebook_titles")
    app.router.add_get(E + "/titles/{title_id}", get_title, name="ebook_title")
    app.router.add_get(E + "/loans", list_ebook_loans, name="ebook_loans")
    app.router.add_post(E + "/loans", borrow_ebook, name="borrow_ebook")
    app.router.add_delete(E + "/loans/{title_id}", return_ebook, name="return_ebook")
    app.router.add_get(E + "/holds", list_ebook_holds, name="ebook_holds")
    app.router.add_post(E + "/holds", place_ebook_hold, name="place_ebook_hold")
    app.router.add_delete(E + "/holds/{title_id}", cancel_ebook_hold, name="cancel_ebook_hold")
    app.router.add_post(BRIDGE_PATH, patron_check, name="elibrary_patron_check")


async def _ebooks_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    gateway = app[GATEWAY_KEY]
    limiters = BridgeLimiters(
        per_client=MemoryRateLimiter("ebook-bridge-client", CLIENT_LIMIT, clock=_seconds(settings)),
        per_card=MemoryRateLimiter("ebook-bridge-card", CARD_LIMIT, clock=_seconds(settings)),
    )
    async with AsyncExitStack() as stack:
        runtimes: dict[str, EbookRuntime] = {}
        for tenant in gateway:
            config = tenant.config
            elibrary = await stack.enter_async_context(open_elibrary(config, settings.clock))
            service = EbookService(tenant.context, elibrary) if elibrary is not None else None
            keys = config.elibrary.bridge_keys if config.elibrary is not None else ()
            bridge = PatronCheckService(config.id, tenant.account, keys, limiters)
            runtimes[config.id] = EbookRuntime(service=service, bridge=bridge)
        app[EBOOKS_KEY] = runtimes
        yield


def _seconds(settings: Any) -> Any:
    clock = settings.clock
    return lambda: clock().timestamp()


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
    if not runtime(request).config.policy.feature_enabled(Feature.EBOOKS, caller(request).channel):
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


# -- views ----------------------------------------------------------------------------------


def _loan_view(loan: EbookLoan) -> dict[str, Any]:
    return loan.model_dump(mode="json")


def _hold_view(hold: EbookHold, labels: Labels) -> dict[str, Any]:
    view = hold.model_dump(mode="json")
    view["status_label"] = labels.label(hold.status)
    return view


# -- patron handlers ------------------------------------------------------------------------


async def list_titles(request: web.Request) -> web.Response:
    """GET …/ebooks/titles?ids=KD000001,KD000002: availability of several titles."""
    ids = [i for i in request.query.get("ids", "").split(",") if i.strip()]
    if not ids or len(ids) > MAX_TITLE_IDS:
        raise BadRequest(f"Give between 1 and {MAX_TITLE_IDS} title ids in 'ids'")
    titles = await ebook_service(request).titles([i.strip() for i in ids])
    return json_response({"titles": [t.model_dump(mode="json") for t in titles]})


async def get_title(request: web.Request) -> web.Response:
    """GET …/ebooks/titles/{title_id}: one title with copies owned, free and holds waiting."""
    title = await ebook_service(request).title(request.match_info["title_id"])
    return json_response({"title": title.model_dump(mode="json")})


async def list_ebook_loans(request: web.Request) -> web.Response:
    """GET …/ebooks/loans: e-book loans with their due instants."""
    loans = await ebook_service(request).loans(caller(request))
    return json_response({"loans": [_loan_view(loan) for loan in loans]})


async def borrow_ebook(request: web.Request) -> web.Response:
    """POST …/ebooks/loans: borrow a free title, or the copy kept for a ready hold."""
    body = await read_body(request, BorrowRequest)
    loan = await ebook_service(request).borrow(caller(request), body.title_id)
    return json_response(_loan_view(loan), status=201)


async def return_ebook(request: web.Request) -> web.Response:
    """DELETE …/ebooks/loans/{title_id}: return early."""
    await ebook_service(request).return_loan(caller(request), request.match_info["title_id"])
    return web.Response(status=204)


async def list_ebook_holds(request: web.Request) -> web.Response:
    """GET …/ebooks/holds: e-book holds with the tenant's status labels."""
    holds = await ebook_service(request).holds(caller(request))
    labels = runtime(request).context.labels
    return json_response({"holds": [_hold_view(hold, labels) for hold in holds]})


async def place_ebook_hold(request: web.Request) -> web.Response:
    """POST …/ebooks/holds: reserve a title no copy of which is free."""
    body = await read_body(request, EbookHoldRequest)
    hold = await ebook_service(request).place_hold(caller(request), body.title_id, email=body.email)
    return json_response(_hold_view(hold, runtime(request).context.labels), status=201)


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
    payload: dict[str, Any] = {"valid": answer.valid}
    if answer.patron_category is not None:
        payload["patronCategory"] = answer.patron_category
    return json_response(payload)


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
