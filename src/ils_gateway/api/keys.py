"""Every AppKey and RequestKey of the API, in one place (aiohttp "no singletons").

App-level: the gateway (tenants' services), the settings, the API's stores (sessions,
Idempotency-Keys) and the tenants' e-book runtimes. Request-level:
the request id, the tenant resolved from the path and the patron's session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ils_gateway.adapters.resilience.freshness import Freshness
    from ils_gateway.api.auth import PatronSession
    from ils_gateway.api.state import ApiState
    from ils_gateway.gateway import Gateway, GatewaySettings, TenantRuntime
    from ils_gateway.services.ebooks.runtime import EbookRuntime

SETTINGS_KEY = web.AppKey("settings", "GatewaySettings")
GATEWAY_KEY = web.AppKey("gateway", "Gateway")
STATE_KEY = web.AppKey("state", "ApiState")
EBOOKS_KEY = web.AppKey("ebooks", "dict[str, EbookRuntime]")  # tenant id -> e-book side

REQUEST_ID = web.RequestKey("request_id", str)
TENANT = web.RequestKey("tenant", "TenantRuntime")
SESSION = web.RequestKey("session", "PatronSession")
FRESHNESS = web.RequestKey("freshness", "Freshness")

__all__ = [
    "EBOOKS_KEY",
    "FRESHNESS",
    "GATEWAY_KEY",
    "REQUEST_ID",
    "SESSION",
    "SETTINGS_KEY",
    "STATE_KEY",
    "TENANT",
    "ApiState",
    "EbookRuntime",
    "Freshness",
    "Gateway",
    "GatewaySettings",
    "PatronSession",
    "TenantRuntime",
]
