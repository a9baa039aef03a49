"""Deliberately wrong variants of the Koha REST simulator, for proving the contract suite.

Each ``KohaFault`` breaks one promise the way a misconfigured or buggy ILS would, on top of
the correct simulator (a middleware rewrites its answers), so the contract tests can be
shown to fail, and to fail in the right check:

- ``unmappable_hold_status``: hold lists carry a ``status`` letter Koha never uses.
- ``missing_due_date``: checkouts come without ``due_date``.
- ``renewal_without_effect``: a renewal answers 201 with the loan as it was; nothing renewed.

Never serve these to anything but tests.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from aiohttp import web

from ils_gateway.simulators.koha import (
    API,
    KOHA_LIBRARY,
    Handler,
    checkout_json,
    create_koha_app,
)
from ils_gateway.simulators.library import SimulatedLibrary


class KohaFault(StrEnum):
    """One way the broken Koha simulator breaks the contract."""

    UNMAPPABLE_HOLD_STATUS = "unmappable_hold_status"
    MISSING_DUE_DATE = "missing_due_date"
    RENEWAL_WITHOUT_EFFECT = "renewal_without_effect"


UNMAPPABLE_STATUS = "Z"  # not one of Koha's found letters (null, T, P, W)

_HOLD_LISTS = re.compile(rf"^{API}/(holds|patrons/\d+/holds)$")
_RENEWAL = re.compile(rf"^{API}/checkouts/(\d+)/renewal$")


def _rewrite(body: Any, change: Any) -> Any:
    rows = body if isinstance(body, list) else [body]
    for row in rows:
        if isinstance(row, dict):
            change(row)
    return body


async def _answer_json(response: web.StreamResponse) -> Any | None:
    if not isinstance(response, web.Response) or response.content_type != "application/json":
        return None
    return json.loads(response.text or "null")


def _fault_middleware(fault: KohaFault) -> Any:
    @web.middleware
    async def broken(request: web.Request, handler: Handler) -> web.StreamResponse:
        renewal = _RENEWAL.match(request.path)
        if fault is KohaFault.RENEWAL_WITHOUT_EFFECT and renewal and request.method == "POST":
            library: SimulatedLibrary = request.app[KOHA_LIBRARY]
            checkout_id = int(renewal.group(1))
            for patron in library.data.patrons:
                for loan in library.loans(patron.card_number):
                    if loan.checkout_id == checkout_id:
                        return web.json_response(checkout_json(loan), status=201)
            return await handler(request)
        response = await handler(request)
        if request.method != "GET" or response.status != 200:
            return response
        body = await _answer_json(response)
        if body is None:
            return response
        if fault is KohaFault.UNMAPPABLE_HOLD_STATUS and _HOLD_LISTS.match(request.path):
            body = _rewrite(body, lambda row: row.update(status=UNMAPPABLE_STATUS))
        elif fault is KohaFault.MISSING_DUE_DATE and request.path == f"{API}/checkouts":
            body = _rewrite(body, lambda row: row.pop("due_date", None))
        else:
            return response
        return web.json_response(body, status=response.status)

    return broken


def create_broken_koha_app(
    library: SimulatedLibrary, fault: KohaFault, **kwargs: Any
) -> web.Application:
    """The Koha simulator over ``library`` with ``fault`` (kwargs as ``create_koha_app``)."""
    app = create_koha_app(library, **kwargs)
    app.middlewares.append(_fault_middleware(fault))
    return app
