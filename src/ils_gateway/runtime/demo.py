"""The embedded demo: the demo library on an in-process SIP2 simulator.

``embedded_settings()`` starts the SIP2 ACS simulator over the seeded sample library
(みどり市立図書館) on 127.0.0.1 (a free port), with its SRU catalogue beside it (issue 19,
``start_demo_sru``), and returns the ``GatewaySettings`` of the
``demo`` tenant (``ils_gateway.tenants.demo``) talking SIP2 to it; the simulator stops in a
cleanup context after the gateway. The demo tenant's e-library is ``kind = "simulator"``, which
``runtime.elibrary`` starts in-process. ``start_demo_sip2`` is the one place the simulator and
the demo tenant are put together (``serve`` and ``contract-test`` both use it). Nothing here
reads files: it works from an installed package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web

from ils_gateway.domain.clock import Clock, RunningClock
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.opac import FEED_PATH, create_opac_app
from ils_gateway.simulators.sample_data import DEFAULT_SEED, SAMPLE_NOW, build_sample_data
from ils_gateway.simulators.sip2_acs import SimulatedACS, start_sip2_simulator
from ils_gateway.simulators.sru import create_sru_app
from ils_gateway.sip2.server import SIP2Server
from ils_gateway.tenants.backends import Sip2Backend
from ils_gateway.tenants.catalog import SruSource
from ils_gateway.tenants.demo import demo_tenant
from ils_gateway.tenants.loader import TenantRegistry
from ils_gateway.tenants.models import TenantConfig
from ils_gateway.tenants.sdi import SdiConfig, SdiFeedConfig

__all__ = [
    "RunningClock",
    "embedded_settings",
    "start_demo_opac",
    "start_demo_sip2",
    "start_demo_sru",
    "with_demo_sdi",
]


async def start_demo_sip2(
    library: SimulatedLibrary, *, latency: Mapping[str, float] | None = None
) -> tuple[SIP2Server, SimulatedACS, TenantConfig]:
    """The SIP2 simulator over ``library`` on 127.0.0.1 (a free port) and the demo tenant on it.

    The simulator takes the logins and institution the demo tenant uses. ``latency`` (seconds
    per request code, ``"*"`` for all) slows it down for benchmarks.
    """
    backend = demo_tenant(1).backend  # only its login settings are read here
    assert isinstance(backend, Sip2Backend)
    logins = {}
    if backend.login_user is not None and backend.login_password is not None:
        logins[backend.login_user] = backend.login_password.get_secret_value()
    server, acs = await start_sip2_simulator(
        library, port=0, logins=logins, latency=latency, institution_id=backend.institution_id
    )
    return server, acs, demo_tenant(server.port, server.host)


async def start_demo_opac(library: SimulatedLibrary) -> tuple[web.AppRunner, str]:
    """The OPAC new-arrival feed (RSS) over ``library`` on 127.0.0.1 (a free port): the
    runner (clean it up to stop) and the feed's URL."""
    runner = web.AppRunner(create_opac_app(library), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}{FEED_PATH}"


async def start_demo_sru(
    library: SimulatedLibrary, tenant: TenantConfig
) -> tuple[web.AppRunner, TenantConfig]:
    """The SRU catalogue simulator over ``library`` on 127.0.0.1 (a free port), and ``tenant``
    searching it (``[tenants.catalog.sru]``): the SIP2 demo's catalogue (issue 19)."""
    runner = web.AppRunner(create_sru_app(library))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    sru = SruSource(url=f"http://127.0.0.1:{port}/sru")
    catalog = tenant.catalog.model_copy(update={"sru": sru})
    return runner, tenant.model_copy(update={"catalog": catalog})


def with_demo_sdi(tenant: TenantConfig, feed_url: str) -> TenantConfig:
    """The demo tenant with new-arrival alerts on (Akiruno's schedule, Saturday 15:30), read
    from the simulated OPAC's RSS feed (a SIP2 library system lists no new arrivals)."""
    sdi = SdiConfig(
        enabled=True,
        schedule="sat 15:30",
        max_conditions=10,
        feed=SdiFeedConfig.model_validate({"url": feed_url, "format": "rss"}),
    )
    return tenant.model_copy(update={"sdi": sdi})


async def embedded_settings(
    *,
    clock: Clock | None = None,
    now: datetime = SAMPLE_NOW,
    sip2_latency: Mapping[str, float] | None = None,
    elibrary: bool = True,
    **settings: Any,
) -> tuple[GatewaySettings, SimulatedACS]:
    """Start the SIP2 simulator; the settings serving ``demo`` on it, and the simulator.

    ``sip2_latency`` (seconds per request code, ``"*"`` for all) slows the simulator down for
    benchmarks; ``elibrary=False`` serves the demo tenant without its e-library; other keyword
    arguments go to ``GatewaySettings`` (e.g. ``redis_url``, ``store``). The sample library is
    written as of ``now`` (``serve --now``); the clock, unless given, runs on from it.
    """
    clock = clock or RunningClock(now)
    library = SimulatedLibrary(build_sample_data(DEFAULT_SEED, now), clock)
    server, acs, tenant = await start_demo_sip2(library, latency=sip2_latency)
    opac, feed_url = await start_demo_opac(library)
    tenant = with_demo_sdi(tenant, feed_url)
    sru, tenant = await start_demo_sru(library, tenant)

    async def stop_simulator() -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sru.cleanup()
            await server.aclose()
            await opac.cleanup()

    if not elibrary:
        tenant = tenant.model_copy(update={"elibrary": None})
    gateway_settings = GatewaySettings(
        tenants=TenantRegistry([tenant]), clock=clock, extra_cleanups=(stop_simulator,)
    )
    return replace(gateway_settings, **settings), acs
