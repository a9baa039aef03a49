"""Loans: list, renew one, renew several."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, list_response, read_body
from ils_gateway.api.handlers.common import caller, runtime
from ils_gateway.api.handlers.ebooks import with_ebook_loans
from ils_gateway.api.schemas.loans import LoanList, RenewManyRequest


async def list_loans(request: web.Request) -> web.Response:
    """GET …/loans."""
    ils_loans = runtime(request).loans.list_loans(caller(request))
    loans, ebooks = await with_ebook_loans(request, ils_loans)
    return list_response(
        request, "loans", loans, ebooks, lambda f: LoanList(loans=loans, ebooks=ebooks, **f)
    )


async def renew_loan(request: web.Request) -> web.Response:
    """POST …/loans/{item_id}/renewal."""
    result = await runtime(request).loans.renew(caller(request), request.match_info["item_id"])
    return json_response(result)


async def renew_loans(request: web.Request) -> web.Response:
    """POST …/loans/renewals: several at once, one result per item."""
    body = await read_body(request, RenewManyRequest)
    batch = await runtime(request).loans.renew_many(caller(request), body.item_ids)
    return json_response(batch)
