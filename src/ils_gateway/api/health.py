"""``/healthz`` (the process answers) and ``/readyz`` (every tenant's backend is reachable)."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response
from ils_gateway.api.schemas.common import Health
from ils_gateway.api.server import DRAINING_KEY
from ils_gateway.runtime.health import readiness
from ils_gateway.runtime.keys import GATEWAY_KEY


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the event loop answers."""
    return json_response(Health(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    """Readiness: each tenant's backend answers a cheap read in time; 503 ``draining`` once
    the process is shutting down (``serve_app``), so a balancer stops sending it requests."""
    draining = request.app.get(DRAINING_KEY)
    if draining is not None and draining.on:
        return json_response(Health(status="draining"), status=503)
    tenants = await readiness(request.app[GATEWAY_KEY])
    ready = all(state == "ok" for state in tenants.values())
    body = Health(status="ready" if ready else "not_ready", tenants=tenants)
    return json_response(body, status=200 if ready else 503)
