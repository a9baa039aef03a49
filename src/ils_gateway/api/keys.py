"""The API's own AppKey and its RequestKeys (aiohttp "no singletons").

The runtime's resources (settings, shared state, store, every tenant's runtime) are under
``ils_gateway.runtime.keys``. Here: this process's rendered list bodies, and per request the
request id, the tenant resolved from the path, the patron's session and the freshness report
of the request's reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ils_gateway.api.rendered import RenderedLists
    from ils_gateway.runtime.tenant import TenantRuntime
    from ils_gateway.services.sessions import PatronSession
    from ils_gateway.services.tracking import Freshness
    from ils_gateway.state.ratelimit import RateLimiter

# The value types are named for the type checker only (imported under TYPE_CHECKING above).
RENDERED_KEY: web.AppKey[RenderedLists] = web.AppKey("rendered")
# Anonymous catalog lookups per client address (api.limits).
LOOKUP_LIMITER_KEY: web.AppKey[RateLimiter] = web.AppKey("lookup_limiter")

REQUEST_ID = web.RequestKey("request_id", str)
# The client's address (api.client: the peer, or what a trusted proxy says); None: unknown.
CLIENT: web.RequestKey[str | None] = web.RequestKey("client")
TENANT: web.RequestKey[TenantRuntime] = web.RequestKey("tenant")
SESSION: web.RequestKey[PatronSession] = web.RequestKey("session")
FRESHNESS: web.RequestKey[Freshness] = web.RequestKey("freshness")

__all__ = [
    "CLIENT",
    "FRESHNESS",
    "LOOKUP_LIMITER_KEY",
    "RENDERED_KEY",
    "REQUEST_ID",
    "SESSION",
    "TENANT",
    "Freshness",
    "PatronSession",
    "RateLimiter",
    "RenderedLists",
    "TenantRuntime",
]
