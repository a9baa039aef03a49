"""The short fault run (issue 13): 100 seeded writes through a fault-injecting SIP2 proxy.

The in-suite version of ``benchmarks/faults.py``: the SIP2 simulator, the proxy and the
gateway run in the test's event loop, each on its own loopback socket (port 0), and the
clients talk HTTP to the gateway over real sockets. 30 % of the operations meet a fault
(dropped before or after the ACS acts, mid-answer, an ACS that acts and then stays silent
longer than the gateway waits, a late answer) and are retried with the same Idempotency-Key.
The library's own records are then compared with what each client was told: no write may be
lost or made twice. Definitions and the full-size run are in ``benchmarks/_faultload.py``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _faultload import (
    Workload,
    holdable_titles,
    patron_state,
    prepare_library,
    summarise,
    tenant_toml,
)
from _faultproxy import FaultProxy

from ils_gateway.api.app import create_app
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.library import ManualClock
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

SEED = 13
OPERATIONS = 100
TIMEOUT = 1.0  # the gateway's SIP2 timeouts here; the silent fault outlasts them
PATRONS = [("1000000001", "hanako01"), ("1000000006", "yui00006"), ("1000000009", "naoki009")]
PATRONS += [(f"10000000{n}", f"pass00{n}") for n in range(14, 21)]


@pytest.fixture
async def rig() -> AsyncIterator[dict[str, Any]]:
    clock = ManualClock(SAMPLE_NOW)
    library = sample_library(clock=clock)
    prepare_library(library)
    server, _acs = await start_sip2_simulator(library, port=0, logins={"gateway": "gw-pass"})
    proxy = FaultProxy("127.0.0.1", server.port, silence=2.5 * TIMEOUT, delay=TIMEOUT / 5)
    await proxy.start()
    toml = tenant_toml(proxy.port, timeout=TIMEOUT, login_password="gw-pass")
    registry = TenantRegistry(parse_tenants(toml).tenants)
    gateway = TestServer(create_app(GatewaySettings(tenants=registry, clock=clock)))
    await gateway.start_server()
    try:
        yield {"library": library, "proxy": proxy, "base": str(gateway.make_url("")).rstrip("/")}
    finally:
        await gateway.close()
        await proxy.close()
        await server.aclose()


async def test_no_write_is_lost_or_doubled_under_faults(rig: dict[str, Any]) -> None:
    library, proxy = rig["library"], rig["proxy"]

    async def snapshot(card: str) -> dict[str, Any]:
        return patron_state(library, card)

    workload = Workload(
        base=rig["base"],
        proxy=proxy,
        snapshot=snapshot,
        patrons=PATRONS,
        titles=holdable_titles(library),
        operations=OPERATIONS,
        fault_rate=0.3,
        seed=SEED,
    )
    ops = await workload.run()
    await workload.settle(wait=10)
    summary = summarise(ops, title=f"short fault run, seed {SEED}")
    print(summary.table)
    assert not workload.logins_failed
    assert len(ops) == OPERATIONS
    assert sum(1 for op in ops if op.fault) >= 15, "the faults did strike"
    assert (summary.lost, summary.doubled) == (0, 0), summary.table
