"""``open_gateway``: every tenant's backend, e-library and services, closed on exit.

Builds each tenant's backend by its ``kind`` (``runtime.backends``), wraps it in
``ResilientBackend`` (unless the settings say not to), opens its e-library (``runtime.elibrary``,
wrapped in ``ResilientElibrary``) and builds the ``TenantRuntime`` over them and the shared
state. Closes only what it opened, in reverse order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from ils_gateway.domain.clock import epoch_seconds
from ils_gateway.elibrary.resilient import ResilientElibrary
from ils_gateway.mail.outbox import Outbox
from ils_gateway.runtime.backends import start_backend
from ils_gateway.runtime.catalog import build_catalog
from ils_gateway.runtime.elibrary import open_elibrary
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.shared import SharedState, shared_state
from ils_gateway.runtime.tenant import Gateway, TenantRuntime
from ils_gateway.services.context import TenantContext
from ils_gateway.services.ebooks.service import EbookService
from ils_gateway.services.mylists.runtime import MyLists


@asynccontextmanager
async def open_gateway(
    settings: GatewaySettings,
    shared: SharedState | None = None,
    mylists: MyLists | None = None,
) -> AsyncIterator[Gateway]:
    """Every tenant's runtime over ``shared`` (in memory by default) and ``mylists``.

    Without ``mylists`` and with ``settings.store``, the store is opened here too (for callers
    outside an aiohttp app, e.g. the kiosk face alone); inside the app it has its own context.
    Caches and breakers run on ``settings.clock``.
    """
    shared = shared or shared_state(settings)
    seconds = epoch_seconds(settings.clock)
    async with AsyncExitStack() as stack:
        if mylists is None and settings.store is not None:
            from ils_gateway.runtime.store import open_mylists

            mylists = await stack.enter_async_context(open_mylists(settings.store, settings.clock))
        outbox = Outbox(mylists.store.outbox) if mylists is not None else None
        runtimes: dict[str, TenantRuntime] = {}
        starting = []
        for tenant in settings.tenants:
            backend = settings.backend_factory(tenant, settings.clock)
            stack.push_async_callback(backend.close)
            catalog = build_catalog(tenant, backend)
            if catalog is not None:
                stack.push_async_callback(catalog.close)
            starting.append(start_backend(tenant, backend))
            if settings.wrap_backend is not None:
                backend = settings.wrap_backend(tenant, backend, shared.read_cache(), seconds)
            context = TenantContext(config=tenant, backend=backend, clock=settings.clock)
            opened = await stack.enter_async_context(open_elibrary(tenant, settings.clock))
            service = None
            if opened is not None:
                elibrary = ResilientElibrary(
                    opened, tenant_id=tenant.id, cache=shared.read_cache(), clock=seconds
                )
                service = EbookService(context, elibrary)
            runtimes[tenant.id] = TenantRuntime.build(
                context,
                sessions=shared.sessions,
                limiters=shared.bridge_limiters,
                guard=shared.login_guard,
                rate_limiter=shared.rate_limiter,
                elibrary=service,
                mylists=mylists,
                outbox=outbox.for_tenant(tenant.id) if outbox is not None else None,
                catalog=catalog,
            )
        await asyncio.gather(*starting)
        yield Gateway(runtimes, outbox)
