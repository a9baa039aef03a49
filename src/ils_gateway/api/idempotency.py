"""Idempotency-Key on patron writes: a repeated request gets the first answer, not a second run.

A POST, PATCH or DELETE of a logged-in patron may carry ``Idempotency-Key``. The first request
with a key runs; its answer (refusals included) is kept for 24 h and replayed, with
``Idempotent-Replayed: true``, to every repeat of the same request (same method, path and
body). The same key with another request is a 409 ``conflict``. A 5xx answer is not kept: the
resilient backend has already read back a write of unknown outcome, so a retry may run again
and will not duplicate it. Keys are scoped to tenant and patron.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from ils_gateway.api.keys import SESSION, STATE_KEY
from ils_gateway.domain.errors import BadRequest, GatewayError
from ils_gateway.idempotency import (
    IdempotencyStore,
    StoredResponse,
    Ticket,
    request_fingerprint,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
# Printable ASCII, bounded: the IETF draft's keys are UUIDs; 255 leaves room for other schemes.
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Headers of the first answer that a replay repeats.
_REPLAYED_HEADERS = ("Content-Type", "Location", "Retry-After")


ErrorRenderer = Callable[[web.Request, GatewayError], web.Response]


async def keyed_write(
    request: web.Request, handler: Handler, render_error: ErrorRenderer
) -> web.StreamResponse:
    """Run a patron write once per ``Idempotency-Key``; replay its answer to repeats.

    Called by the gateway middleware, once the session is known, for write methods carrying the
    header (reads and unkeyed writes never come here). Refusals (4xx ``GatewayError``) are
    rendered with ``render_error`` and kept like any answer.
    """
    key = request.headers.get(HEADER)
    session = request.get(SESSION)
    if key is None or session is None or request.method not in WRITE_METHODS:
        return await handler(request)
    if not _KEY.match(key):
        raise BadRequest(f"{HEADER} must be 1–255 printable ASCII characters")
    store = request.app[STATE_KEY].idempotency
    fingerprint = request_fingerprint(request.method, request.path, await request.read())
    outcome = await store.begin(session.tenant_id, session.patron.id, key, fingerprint)
    if isinstance(outcome, StoredResponse):
        return _replay(outcome)
    try:
        response = await _run(request, handler, render_error)
    except BaseException:
        await store.release(outcome)
        raise
    await _finish(store, outcome, response)
    return response


async def _run(request: web.Request, handler: Handler, render_error: ErrorRenderer) -> web.Response:
    try:
        response = await handler(request)
    except GatewayError as exc:
        if exc.status >= 500:
            raise  # not kept: rendered (and logged) by the problem middleware
        return render_error(request, exc)
    if not isinstance(response, web.Response):
        raise TypeError("keyed writes must answer with a plain web.Response")
    return response


async def _finish(store: IdempotencyStore, ticket: Ticket, response: web.Response) -> None:
    if response.status >= 500:
        await store.release(ticket)
        return
    headers = {h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers}
    body = response.body if isinstance(response.body, bytes) else b""
    await store.complete(ticket, StoredResponse(response.status, headers, body))


def _replay(stored: StoredResponse) -> web.Response:
    response = web.Response(status=stored.status, body=stored.body or None)
    response.headers.update(stored.headers)
    response.headers[REPLAYED_HEADER] = "true"
    return response
