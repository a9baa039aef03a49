"""The AppKeys under which the runtime's resources live in an aiohttp app (faces read them).

aiohttp's "no singletons": each process-wide resource is opened by one cleanup context
(``runtime.contexts``) and kept under one key here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from ils_gateway.runtime.settings import GatewaySettings
    from ils_gateway.runtime.shared import SharedState
    from ils_gateway.runtime.tenant import Gateway
    from ils_gateway.services.mylists.runtime import MyLists

SETTINGS_KEY = web.AppKey("settings", "GatewaySettings")
REDIS_KEY = web.AppKey("redis", Any)  # the process's one Redis client, or None
SHARED_KEY = web.AppKey("shared", "SharedState")  # sessions, Idempotency-Keys, caches, limits
STORE_KEY = web.AppKey("store", "MyLists | None")  # the gateway store and its list services
GATEWAY_KEY = web.AppKey("gateway", "Gateway")  # every tenant's runtime

__all__ = [
    "GATEWAY_KEY",
    "REDIS_KEY",
    "SETTINGS_KEY",
    "SHARED_KEY",
    "STORE_KEY",
    "Gateway",
    "GatewaySettings",
    "MyLists",
    "SharedState",
]
