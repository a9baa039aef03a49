"""The demo gateway served on a real local port from a thread of its own (issue 15).

Schemathesis calls the API with ``requests`` (blocking), so the gateway cannot share the test's
event loop: ``ServedGateway`` runs the Koha simulator, the in-process e-library simulator, the
gateway store (a SQLite file) and the gateway itself on an event loop in a background thread,
each on 127.0.0.1 port 0. The tenant is the koha-demo example (see ``api_helpers.tenant_toml``)
with the e-library, a kiosk key and the store switched on, so every operation of the document
has something behind it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web
from api_helpers import tenant_toml

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

TENANT = "koha-demo"
KIOSK_KEY = "kiosk-key-for-schemathesis"
BRIDGE_KEY = "bridge-key-for-schemathesis"
SECRET = b"schemathesis-test-secret-0123456789"
# The e-library, a kiosk key, and a login lock the fuzzer's wrong passwords cannot reach (it
# would lock the demo patron's card and then every login of the run answers 429).
EXTRA = f"""
[tenants.elibrary]
kind = "simulator"
bridge_keys = ["{BRIDGE_KEY}"]

[tenants.policy.login]
max_failures = 100000
max_failures_per_address = 100000

[tenants.policy.lists]
basket_size = 10
max_shelves = 20

[tenants.policy.holds.pickup_extension]
times = 1
"""
# Every optional hold feature on, so their routes answer more than "not offered here".
HOLD_FEATURES = """[tenants.policy.holds]
skip_allowed = true
sequences = true
cancelled_history_deletable = true
"""
FIELDS = f'kiosk_keys = ["{KIOSK_KEY}"]'


class ServedGateway:
    """Start with ``start()``, stop with ``stop()``; ``base_url`` is the gateway's root."""

    def __init__(self, store_dir: Path) -> None:
        self._store_dir = store_dir
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runners: list[web.AppRunner] = []
        self.clock = ManualClock(SAMPLE_NOW)
        self.base_url = ""

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

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    async def _start(self) -> str:
        library = sample_library(clock=self.clock)
        koha_runner, koha_url = await start_koha_simulator(library, port=0)
        self._runners.append(koha_runner)
        text = tenant_toml(koha_url, EXTRA, FIELDS).replace(
            "[tenants.policy.holds]\n", HOLD_FEATURES
        )
        registry = TenantRegistry(parse_tenants(text).tenants)
        store = StoreSettings(
            default_url(self._store_dir / "store.db"), SECRET, kdf=KdfParams.minimal()
        )
        app = create_app(GatewaySettings(tenants=registry, clock=self.clock, store=store))
        runner = web.AppRunner(app)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def _stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
