"""The embedded demo served on a real port from a thread of its own, and Chromium driven by
Playwright, for the demo page's browser tests (issue 20).

The gateway runs on its own event loop in a background thread (Playwright's sync API runs its
own, and the page calls the gateway over real HTTP). The tenant is the embedded demo's
(``tenants/demo.py``: page on, kiosk key ``demo-kiosk``) with a store for the basket and two
test changes that make the page's duties visible: the waiting-hold status worded by the tenant
(``予約待ち`` / ``In the queue``, not the built-in words) and the basket switched off on kiosks.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.vocab import Channel, Feature
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry
from ils_gateway.tenants.models import LabelsConfig, TenantConfig

CHROMIUM = Path("/usr/bin/chromium")
# The system's Chromium, as CI runs it: no GPU, no sandbox (containers), nothing fetched.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KIOSK_KEY = "demo-kiosk"  # tenants/demo.py, docs/demo.md
WAITING_JA, WAITING_EN = "予約待ち", "In the queue"
SECRET = b"demo-page-test-secret-0123456789"


def need_chromium() -> None:
    """Skip (fail under CI=true) unless Playwright and the system's Chromium are there."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it as root)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (the test extra)"
    if missing is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI: {missing}")
    pytest.skip(missing)


def _test_tenant(tenant: TenantConfig) -> TenantConfig:
    labels = LabelsConfig(
        ja={"hold_status": {"waiting": WAITING_JA}}, en={"hold_status": {"waiting": WAITING_EN}}
    )
    disabled = dict(tenant.policy.disabled_features)
    disabled[Channel.KIOSK] = frozenset({*disabled.get(Channel.KIOSK, ()), Feature.BASKET})
    policy = tenant.policy.model_copy(update={"disabled_features": disabled})
    return tenant.model_copy(update={"labels": labels, "policy": policy})


class DemoGateway:
    """``start()``/``stop()``; ``base_url`` is the gateway's root, ``library`` the simulated
    library behind it (read it only while the page is idle)."""

    def __init__(self, store_dir: Path) -> None:
        self._store_dir = store_dir
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._backends: list[web.AppRunner] = []
        self.clock = ManualClock(SAMPLE_NOW)
        self.base_url = ""
        self.library: SimulatedLibrary | None = None

    def start(self) -> None:
        self._thread.start()
        self.base_url = self._run(self._start())

    def stop(self) -> None:
        try:
            self._run(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()

    def adjust(self, tenant: TenantConfig) -> TenantConfig:
        """The demo tenant as this gateway serves it (a subclass may change it)."""
        return tenant

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def in_loop(self, work: Callable[[], Any]) -> Any:
        """Run ``work()`` on the gateway's event loop (the simulated library and the outbox
        are the gateway thread's objects) and return what it returns (awaited when a coroutine)."""

        async def call() -> Any:
            result = work()
            return await result if asyncio.iscoroutine(result) else result

        return self._run(call())

    @property
    def app(self) -> web.Application:
        assert self._runner is not None
        return self._runner.app

    async def _start(self) -> str:
        store = StoreSettings(
            default_url(self._store_dir / "store.db"), SECRET, kdf=KdfParams.minimal()
        )
        settings, acs = await embedded_settings(clock=self.clock, store=store)
        tenants = TenantRegistry([self.adjust(_test_tenant(t)) for t in settings.tenants])
        self.library = acs.library
        self._runner = web.AppRunner(create_app(replace(settings, tenants=tenants)))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        for runner in self._backends:
            await runner.cleanup()


KOHA_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenants" / "koha-demo.toml"


# Kanagawa's first-login rule: a 10-digit password is a temporary one (1000000004's is).
KOHA_EXTRA = """
[tenants.policy.account]
temporary_password_gate = true
temporary_password_pattern = '^\\d{10}$'

[tenants.policy.password]
min_length = 8
"""


class KohaGateway(DemoGateway):
    """A configured tenant instead of the embedded demo: the koha-demo example on the Koha
    simulator, with the page turned on in its file, hold sequences offered (Koha can suspend
    holds; the SIP2 demo cannot) and temporary passwords changed through the API."""

    async def _start(self) -> str:
        from ils_gateway.simulators.koha_cli import start_koha_simulator
        from ils_gateway.simulators.sample_data import sample_library
        from ils_gateway.tenants.loader import parse_tenants

        library = sample_library(clock=self.clock)
        koha, url = await start_koha_simulator(library, port=0)
        self._backends.append(koha)
        text = KOHA_EXAMPLE.read_text(encoding="utf-8").replace("http://127.0.0.1:6201", url)
        text = text.replace('id = "koha-demo"\n', 'id = "koha-demo"\ndemo_page = true\n', 1)
        holds = "[tenants.policy.holds]\n"
        text = text.replace(holds, f"{holds}sequences = true\n") + KOHA_EXTRA
        store = StoreSettings(
            default_url(self._store_dir / "store.db"), SECRET, kdf=KdfParams.minimal()
        )
        registry = TenantRegistry(parse_tenants(text).tenants)
        settings = GatewaySettings(tenants=registry, clock=self.clock, store=store)
        self.library = library
        self._runner = web.AppRunner(create_app(settings))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"
