"""Idempotency-Key on patron writes: a repeated request gets the first answer, not a second run.

A POST, PATCH or DELETE of a logged-in patron may carry ``Idempotency-Key``. The first request
with a key runs; its answer (refusals included) is kept for 24 h and replayed, with
``Idempotent-Replayed: true``, to every repeat of the same request (same method, path and
body). The same key with another request is a 409 ``conflict``. Keys are scoped to tenant and
patron.

A request that leaves a write's outcome unknown (a 504 ``outcome-unknown``, or a batch with an
item so) keeps its answer only provisionally, together with the request's ``WriteJournal``
(what each unknown write was and the state before it). A repeat is not answered from it: it
runs again with that journal, so the resilient backend reads each unknown write back against
the state before the *first* attempt and sends nothing that may have happened. Its answer is
kept as final once no write is unknown. Any other 5xx (nothing was sent, or nothing is
unknown) is not kept, so a retry runs again.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from ils_gateway.api.keys import SESSION
from ils_gateway.domain.errors import BadRequest, GatewayError
from ils_gateway.runtime.keys import SHARED_KEY
from ils_gateway.services.tracking import WriteJournal, write_journal
from ils_gateway.state.idempotency import (
    IdempotencyStore,
    StoredResponse,
    Ticket,
    request_fingerprint,
)
from ils_gateway.state.sessions import token_hash

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
# Printable ASCII, bounded: the IETF draft's keys are UUIDs; 255 leaves room for other schemes.
# api/openapi.py documents the header with the same bound and pattern.
KEY_MAX = 255
KEY_PATTERN = r"^[\x21-\x7e]+$"
_KEY = re.compile(rf"^[\x21-\x7e]{{1,{KEY_MAX}}}$")
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
    store = request.app[SHARED_KEY].idempotency
    fingerprint = request_fingerprint(request.method, request.path, await request.read())
    bearer = request.headers.get("Authorization", "").partition(" ")[2].strip()
    outcome = await store.begin(
        session.tenant_id, session.patron.id, key, fingerprint, session=token_hash(bearer)
    )
    if isinstance(outcome, StoredResponse):
        return _replay(outcome)
    earlier = WriteJournal.loads(outcome.unsettled).values()
    with write_journal(earlier) as journal:
        try:
            response = await _run(request, handler, render_error)
        except BaseException:
            if journal.pending:  # cut off mid-write: what was sent stays to be read back
                await store.complete(outcome, _UNKNOWN_ANSWER, unsettled=journal.dumps())
            else:
                await store.release(outcome)
            raise
    await _finish(store, outcome, response, journal)
    return response


async def _run(request: web.Request, handler: Handler, render_error: ErrorRenderer) -> web.Response:
    try:
        response = await handler(request)
    except GatewayError as exc:
        return render_error(request, exc)
    if not isinstance(response, web.Response):
        raise TypeError("keyed writes must answer with a plain web.Response")
    return response


async def _finish(
    store: IdempotencyStore, ticket: Ticket, response: web.Response, journal: WriteJournal
) -> None:
    headers = {h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers}
    body = response.body if isinstance(response.body, bytes) else b""
    answer = StoredResponse(response.status, headers, body)
    if journal.pending:
        await store.complete(ticket, answer, unsettled=journal.dumps())
    elif response.status >= 500:
        await store.release(ticket)
    else:
        await store.complete(ticket, answer)


# Kept with the unknown writes of a request that ended without an answer (never replayed).
_UNKNOWN_ANSWER = StoredResponse(504)


def _replay(stored: StoredResponse) -> web.Response:
    response = web.Response(status=stored.status, body=stored.body or None)
    response.headers.update(stored.headers)
    response.headers[REPLAYED_HEADER] = "true"
    return response
