"""What every patron handler reads from the request: tenant runtime, caller, session token."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.keys import SESSION, TENANT
from ils_gateway.gateway import TenantRuntime
from ils_gateway.services.context import Caller


def runtime(request: web.Request) -> TenantRuntime:
    """The tenant of this request (resolved by the session middleware)."""
    return request[TENANT]


def caller(request: web.Request) -> Caller:
    """The logged-in patron and channel of this request."""
    return request[SESSION].caller


def token(request: web.Request) -> str:
    """The bearer token of this request (already checked by the middleware)."""
    return request.headers["Authorization"].partition(" ")[2].strip()
