"""Readiness: does each tenant's backend answer a cheap read in time?"""

from __future__ import annotations

import asyncio

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.errors import GatewayError
from ils_gateway.runtime.tenant import Gateway

PROBE_ITEM = "ils-gateway-readiness-probe"
READY_TIMEOUT = 2.0  # seconds per backend; a probe must answer well inside a balancer's check


async def readiness(gateway: Gateway) -> dict[str, str]:
    """Each tenant's backend state by tenant id: ``ok``, ``timeout`` or the error's slug."""
    runtimes = list(gateway)
    states = await asyncio.gather(*(probe(r.context.backend) for r in runtimes))
    return {r.config.id: state for r, state in zip(runtimes, states, strict=True)}


async def probe(backend: ILSBackend) -> str:
    """One cheap read straight to the adapter (past cache and breaker)."""
    inner: ILSBackend = getattr(backend, "inner", backend)
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            if inner.capabilities.supports(Capability.LIST_PICKUP_LIBRARIES):
                await inner.list_pickup_libraries()
            else:  # SIP2: look up an item no library has; "not found" is an answer too
                await inner.get_item(PROBE_ITEM)
    except TimeoutError:
        return "timeout"
    except GatewayError as exc:
        # A refusal or "not found" came from the backend: it is there. 5xx: it is not.
        return "ok" if exc.status < 500 else exc.type_slug
    return "ok"
