"""What every patron handler reads from the request: tenant runtime, caller, session token."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.keys import SESSION, TENANT
from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.runtime.tenant import TenantRuntime
from ils_gateway.services.context import Caller
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.runtime import MyLists


def runtime(request: web.Request) -> TenantRuntime:
    """The tenant of this request (resolved by the session middleware)."""
    return request[TENANT]


def caller(request: web.Request) -> Caller:
    """The logged-in patron and channel of this request."""
    return request[SESSION].caller


def token(request: web.Request) -> str:
    """The bearer token of this request (already checked by the middleware)."""
    return request.headers["Authorization"].partition(" ")[2].strip()


def lists_context(request: web.Request) -> tuple[MyLists, PatronContext, TenantRuntime]:
    """The list services, the patron's context for them, and the tenant; ``FeatureDisabled``
    when the gateway runs without a store."""
    tenant = runtime(request)
    lists = tenant.mylists
    if lists is None:
        raise FeatureDisabled(
            "my_lists",
            detail="This gateway keeps no lists",
            operator_detail="no store configured (GatewaySettings.store)",
        )
    who = caller(request)
    return lists, lists.context(tenant.config, who.patron, who.channel), tenant
