"""E-book titles, loans and holds; the merge of the e-book part into the loan/hold lists.

Patron routes under ``/v1/tenants/{tenant}/ebooks``; they need a session like every patron
route (kiosk sessions get the tenant's kiosk restrictions). A tenant without an e-library
answers 403 ``feature-disabled``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime
from ils_gateway.api.keys import SESSION
from ils_gateway.api.schemas.common import LIBRARY_VALUE_MAX, LIBRARY_VALUE_PATTERN
from ils_gateway.api.schemas.ebooks import (
    BorrowRequest,
    EbookHoldList,
    EbookHoldRequest,
    EbookHoldView,
    EbookLoanList,
    EbookTitleList,
    EbookTitleView,
)
from ils_gateway.domain.errors import BadRequest, FeatureDisabled
from ils_gateway.domain.models import Hold, Loan
from ils_gateway.domain.vocab import Feature
from ils_gateway.services.ebooks.merge import EbookPart
from ils_gateway.services.ebooks.service import EbookService

MAX_TITLE_IDS = 50
_LIBRARY_VALUE = re.compile(LIBRARY_VALUE_PATTERN)


def ebook_service(request: web.Request) -> EbookService:
    """The e-book service of this request's tenant; ``FeatureDisabled`` without an e-library."""
    service = runtime(request).ebooks.service
    if service is None:
        raise FeatureDisabled(
            Feature.EBOOKS,
            detail="This library offers no e-books",
            operator_detail=request.match_info["tenant"],
        )
    return service


def _ebooks_shown(request: web.Request) -> EbookService | None:
    tenant = runtime(request)
    service = tenant.ebooks.service
    if service is None:
        return None
    if not tenant.config.policy.feature_enabled(Feature.EBOOKS, request[SESSION].channel):
        return None
    return service


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


async def list_titles(request: web.Request) -> web.Response:
    """GET …/ebooks/titles?ids=KD000001,KD000002: availability of several titles."""
    given = request.query.get("ids", "")
    if not _LIBRARY_VALUE.fullmatch(given):
        raise BadRequest("Invalid request: ids: must not contain '|', CR, LF or NUL")
    ids = [i for i in given.split(",") if i.strip()]
    if not ids or len(ids) > MAX_TITLE_IDS:
        raise BadRequest(f"Give between 1 and {MAX_TITLE_IDS} title ids in 'ids'")
    if any(len(i.strip()) > LIBRARY_VALUE_MAX for i in ids):
        raise BadRequest(f"Invalid request: ids: an id is longer than {LIBRARY_VALUE_MAX}")
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
