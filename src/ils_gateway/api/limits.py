"""Anonymous catalog lookups limited per client address (issue 15, HTTP).

The routes open without a session that read the library system (``ANONYMOUS_LOOKUP_NAMES``:
item lookup, pickup libraries) could otherwise be used to walk the catalog or load the library
system from one address. Each request is counted per tenant and client address
(``api.client``) in ``GatewaySettings.anonymous_lookup_limit`` (default 300 a minute); past
it the answer is a 429 ``lookup-rate-limited`` problem with ``Retry-After`` and nothing reaches
the library system. The counts are in Redis when the gateway has one (``runtime.limits``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ils_gateway.api.keys import CLIENT, LOOKUP_LIMITER_KEY
from ils_gateway.domain.errors import GatewayError
from ils_gateway.runtime.keys import REDIS_KEY, SETTINGS_KEY
from ils_gateway.runtime.limits import lookup_limiter


class LookupRateLimited(GatewayError):
    """Too many lookups without a session from this address; retry after ``retry_after`` s."""

    type_slug = "lookup-rate-limited"
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many lookups from this address; try again later",
            operator_detail=f"anonymous lookups rate limited, retry after {retry_after}s",
        )
        self.retry_after = retry_after


async def limit_lookup(request: web.Request, tenant_id: str) -> None:
    """Count this lookup for its tenant and client; ``LookupRateLimited`` past the limit."""
    client = request.get(CLIENT) or "unknown"
    decision = await request.app[LOOKUP_LIMITER_KEY].hit(f"{tenant_id}:{client}")
    if not decision.allowed:
        raise LookupRateLimited(decision.retry_after)


async def lookup_limiter_context(app: web.Application) -> AsyncIterator[None]:
    """The limiter (``LOOKUP_LIMITER_KEY``), over the runtime's Redis client when there is one."""
    app[LOOKUP_LIMITER_KEY] = lookup_limiter(app[SETTINGS_KEY], app[REDIS_KEY])
    yield
