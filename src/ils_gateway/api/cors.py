"""CORS per tenant (issue 15, HTTP): the origins of ``[tenants.cors]`` (``tenants.http``) may
call ``/v1/tenants/{tenant}/…`` from a browser; no other origin gets an
``Access-Control-Allow-Origin``.

A small middleware step rather than aio-libs' aiohttp-cors: aiohttp-cors configures origins per
route (resource), while here one route serves every tenant and the allowed origins depend on the
``{tenant}`` in the path; it would also add an OPTIONS route per resource to the route table
that the OpenAPI document is built from.

- Preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``): answered 204
  before any session check, with the route's methods (``Access-Control-Allow-Methods``), the
  request headers the API reads (``Access-Control-Allow-Headers``) and the tenant's
  ``max_age``, when the origin is allowed and the method is one of the route's. Any other
  ``OPTIONS`` on a tenant route is a 204 with ``Allow`` and no CORS headers.
- Every answer on a tenant route (errors too, so that a portal can read a problem document)
  carries ``Vary: Origin``; for an allowed origin also ``Access-Control-Allow-Origin`` and
  ``Access-Control-Expose-Headers`` (Retry-After, Location, X-Request-ID). No credentials
  mode: the API authenticates with a Bearer token, not cookies.
"""

from __future__ import annotations

import re

from aiohttp import web
from multidict import CIMultiDict

from ils_gateway.api.keys import TENANT
from ils_gateway.runtime.keys import GATEWAY_KEY, SETTINGS_KEY
from ils_gateway.tenants.http import CorsPolicy

# The request headers a portal sends (the kiosk's key header is added from the settings).
ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Accept-Language",
                 "X-Request-ID")  # fmt: skip
EXPOSE_HEADERS = "Retry-After, Location, X-Request-ID"
_TENANT_PATH = re.compile(r"^/v1/tenants/([^/]+)/")


async def preflight(request: web.Request) -> web.StreamResponse | None:
    """The answer to an ``OPTIONS`` request on a tenant route; None when the path is no route
    (the caller answers it as before: 404)."""
    found = _TENANT_PATH.match(request.path)
    exc = getattr(request.match_info, "http_exception", None)
    if found is None or not isinstance(exc, web.HTTPMethodNotAllowed):
        return None
    runtime = request.app[GATEWAY_KEY].tenant(found.group(1))  # NotFound for no such tenant
    request[TENANT] = runtime
    methods = sorted(exc.allowed_methods)
    headers = {"Allow": ", ".join([*methods, "OPTIONS"])}
    origin = request.headers.get("Origin")
    wanted = request.headers.get("Access-Control-Request-Method")
    policy = runtime.config.cors
    if origin is not None and wanted in methods and policy.allows(origin):
        kiosk = request.app[SETTINGS_KEY].kiosk_header
        headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        headers["Access-Control-Allow-Headers"] = ", ".join((*ALLOW_HEADERS, kiosk))
        headers["Access-Control-Max-Age"] = str(policy.max_age)
    return web.Response(status=204, headers=headers)


def mark(request: web.Request, headers: CIMultiDict[str], policy: CorsPolicy) -> None:
    """``Vary: Origin`` on an answer of a tenant route, and the allow headers for an allowed
    ``Origin``."""
    vary = headers.get("Vary")
    headers["Vary"] = "Origin" if not vary else f"{vary}, Origin"
    origin = request.headers.get("Origin")
    if origin is not None and policy.allows(origin):
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
