"""Fines and fees: what the patron owes, and where to pay it."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api import language
from ils_gateway.api.bodies import freshness_fields, json_response
from ils_gateway.api.handlers.common import caller, runtime
from ils_gateway.api.schemas.fees import FeesView


async def patron_fees(request: web.Request) -> web.Response:
    """GET …/patron/fees."""
    chosen = language.current()
    lang = chosen.lang if chosen is not None else "ja"
    account = await runtime(request).fees.summary(caller(request), lang)
    return json_response(FeesView(account=account, **freshness_fields(request)))
