"""``/healthz`` (the process answers) and ``/readyz`` (every tenant's backend is reachable)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.api.bodies import json_response
from ils_gateway.api.keys import GATEWAY_KEY
from ils_gateway.api.schemas import Health
from ils_gateway.domain.errors import GatewayError

PROBE_ITEM = "ils-gateway-readiness-probe"
READY_TIMEOUT = 2.0  # seconds per backend; a probe must answer well inside a balancer's check


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the event loop answers."""
    return json_response(Health(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    """Readiness: each tenant's backend answers a cheap read in time."""
    runtimes = list(request.app[GATEWAY_KEY])
    states = await asyncio.gather(*(_probe(r.context.backend) for r in runtimes))
    tenants = {r.config.id: state for r, state in zip(runtimes, states, strict=True)}
    ready = all(state == "ok" for state in tenants.values())
    body = Health(status="ready" if ready else "not_ready", tenants=tenants)
    return json_response(body, status=200 if ready else 503)


async def _probe(backend: ILSBackend) -> str:
    inner: ILSBackend = getattr(backend, "inner", backend)  # bypass cache and breaker
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
