"""Errors as RFC 9457 ``application/problem+json``: the one place a ``GatewayError`` becomes HTTP.

``type`` is ``https://ils-gateway.dev/problems/<type_slug>`` (unique per error class); the
patron-readable ``detail`` is sent, the ``operator_detail`` never is. aiohttp's own HTTP errors
(404 no route, 405, 413 body too large) are rendered the same way under their own slugs.

``title`` and ``detail`` are in the request's language (``api.language``: ``Accept-Language``
against the tenant's default), refusals and blocks in the tenant's words
(``domain.messages.problem_text``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ils_gateway.api.language import current
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.messages import JA_TITLES, problem_text

PROBLEM_BASE = "https://ils-gateway.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
# RFC 9110 §11.6.1: every 401 names the scheme to authenticate with (RFC 6750, Bearer).
BEARER_CHALLENGE = 'Bearer realm="ils-gateway"'

# aiohttp exceptions that reach the error middleware, by status: (slug, title).
HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    404: ("no-such-resource", "No such resource"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("request-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


# aiohttp errors about the request's form: their English detail (the limit) is kept in Japanese.
INPUT_SLUGS = frozenset({"request-too-large", "unsupported-media-type"})


def problem_document(error: GatewayError, *, instance: str | None = None) -> dict[str, Any]:
    """The problem document for ``error`` (extension members included, operator detail not)."""
    chosen = current()
    if chosen is None:
        title, detail = error.title, error.detail
    else:
        title, detail = problem_text(error, chosen.lang, chosen.labels)
    doc: dict[str, Any] = {
        "type": PROBLEM_BASE + error.type_slug,
        "title": title,
        "status": error.status,
        "detail": detail,
    }
    if instance is not None:
        doc["instance"] = instance
    doc.update(error.extensions())
    return doc


def problem_response(
    error: GatewayError, *, instance: str | None = None, request_id: str | None = None
) -> web.Response:
    """``error`` as an HTTP response, with ``Retry-After`` where the error says when to retry.

    The seconds are the error's own ``retry_after``, worked out once where it was raised (a
    maintenance window's from the gateway's clock that judged it).
    """
    doc = problem_document(error, instance=instance)
    if request_id is not None:
        doc["request_id"] = request_id
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        headers["WWW-Authenticate"] = BEARER_CHALLENGE
    return _response(doc, error.status, headers)


def http_problem_response(
    exc: web.HTTPException, *, instance: str | None = None, request_id: str | None = None
) -> web.Response:
    """An aiohttp HTTP error (no route, wrong method, body too large…) as problem+json."""
    slug, title = HTTP_PROBLEMS.get(exc.status, ("http-error", exc.reason))
    detail = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else title
    chosen = current()
    if chosen is not None and chosen.lang == "ja":
        english = detail if detail != title else None
        title = JA_TITLES.get(slug, JA_TITLES["http-error"])
        detail = f"{title}（{english}）" if english and slug in INPUT_SLUGS else title
    doc: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": exc.status,
        "detail": detail,
    }
    if instance is not None:
        doc["instance"] = instance
    if request_id is not None:
        doc["request_id"] = request_id
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = BEARER_CHALLENGE
    return _response(doc, exc.status, headers)


def _response(doc: dict[str, Any], status: int, headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(doc, ensure_ascii=False).encode(),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )
