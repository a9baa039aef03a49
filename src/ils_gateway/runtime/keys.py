"""The AppKeys under which the runtime's resources live in an aiohttp app (faces read them).

aiohttp's "no singletons": each process-wide resource is opened by one cleanup context
(``runtime.contexts``) and kept under one key here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from ils_gateway.runtime.settings import GatewaySettings
    from ils_gateway.runtime.shared import SharedState
    from ils_gateway.runtime.tenant import Gateway
    from ils_gateway.services.mylists.runtime import MyLists

# The value types are named for the type checker only (the imports above are not made at run
# time, so as not to import every layer with the keys).
SETTINGS_KEY: web.AppKey[GatewaySettings] = web.AppKey("settings")
REDIS_KEY: web.AppKey[Any] = web.AppKey("redis")  # the process's one Redis client, or None
SHARED_KEY: web.AppKey[SharedState] = web.AppKey("shared")  # sessions, keys, caches, limits
STORE_KEY: web.AppKey[MyLists | None] = web.AppKey("store")  # the store and its list services
GATEWAY_KEY: web.AppKey[Gateway] = web.AppKey("gateway")  # every tenant's runtime
# Reload the SIP2 faces' terminal profiles from the tenant file (one tenant, or None: all);
# set by the kiosk face when the file is known, read by the operator route (issue 21).
KIOSK_RELOAD_KEY: web.AppKey[Callable[[str | None], list[Any]]] = web.AppKey("kiosk_reload")

__all__ = [
    "GATEWAY_KEY",
    "KIOSK_RELOAD_KEY",
    "REDIS_KEY",
    "SETTINGS_KEY",
    "SHARED_KEY",
    "STORE_KEY",
    "Gateway",
    "GatewaySettings",
    "MyLists",
    "SharedState",
]
