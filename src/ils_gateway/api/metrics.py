"""``/metrics``: the Prometheus text exposition (``ils_gateway.observability.metrics``).

Operational, like ``/healthz``: outside the OpenAPI document, no session. It carries counts and
latencies by route name, tenant, backend kind, operation and outcome, never a card number,
patron, item, hold or title id. Open to any client that reaches the bind address unless
``GatewaySettings.metrics_allowed`` (``serve --metrics-allow``, ``ILS_GATEWAY_METRICS_ALLOW``)
lists networks: then only a socket peer in one of them is answered (403 otherwise; forwarding
headers are not believed here, a scraper talks to the process directly).
"""

from __future__ import annotations

from ipaddress import ip_address

from aiohttp import web

from ils_gateway.observability import metrics
from ils_gateway.runtime.keys import SETTINGS_KEY


async def metrics_endpoint(request: web.Request) -> web.Response:
    """The metrics of every worker process (multi-process mode) or of this one."""
    allowed = request.app[SETTINGS_KEY].metrics_allowed
    if allowed:
        try:
            peer = ip_address(request.remote or "")
        except ValueError:
            raise web.HTTPForbidden() from None
        if not any(peer in network for network in allowed):
            raise web.HTTPForbidden()
    response = web.Response(body=metrics.render())
    response.headers["Content-Type"] = metrics.CONTENT_TYPE
    return response
