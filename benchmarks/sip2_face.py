"""Transactions per second of self-check machines on the gateway's SIP2 face, printed beside the
SIP2 simulator's own ACS serving the same machines directly (issue 21).

Run: ``.venv/bin/python benchmarks/sip2_face.py [terminals] [transactions per terminal]``
(default 50 and 40). Each terminal is one connection (``SIP2ClientPool`` of one, logged in
with 93 and 99), as a self-check machine holds; a transaction is what a machine does for a
patron at the screen: 23 patron status (card and password checked) then 17 item information
for a copy. Both servers run in this process over localhost on the sample library; the face
reaches the simulator through the demo tenant's SIP2 backend (its pool of connections, the
resilience layer as deployed), with the default terminal profile. The face's figure therefore
includes a full SIP2 hop to the library system: it is the cost of putting the gateway in
front, not a comparison of two equal servers.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from contextlib import AsyncExitStack

import structlog

from ils_gateway.kiosk.face import open_kiosk_faces
from ils_gateway.runtime.assemble import open_gateway
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import ServerLimits, start_sip2_simulator
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.fields import SipDate
from ils_gateway.sip2.messages import ItemInformationRequest, PatronStatusRequest
from ils_gateway.tenants.demo import demo_tenant
from ils_gateway.tenants.loader import TenantRegistry

NOW = SipDate("20250602    100000")
PATRONS = [("1000000001", "hanako01"), ("1000000002", "ken00002")]
INSTITUTION = "DEMO"


async def terminal(port: int, user: str, password: str, items: list[str], count: int) -> None:
    settings = SIP2ClientSettings(
        host="127.0.0.1",
        port=port,
        login_user=user,
        login_password=password,
        institution_id=INSTITUTION,
        pool_size=1,
    )
    async with SIP2ClientPool(settings) as machine:
        for n in range(count):
            card, pin = PATRONS[n % len(PATRONS)]
            await machine.request(
                PatronStatusRequest.build(
                    transaction_date=NOW,
                    institution_id=INSTITUTION,
                    patron_identifier=card,
                    patron_password=pin,
                ),
                idempotent=True,
            )
            await machine.request(
                ItemInformationRequest.build(
                    transaction_date=NOW,
                    institution_id=INSTITUTION,
                    item_identifier=items[n % len(items)],
                ),
                idempotent=True,
            )


async def measure(terminals: int, count: int, *, through_face: bool) -> float:
    """Transactions per second of ``terminals`` machines doing ``count`` transactions each."""
    library = sample_library()
    items = [item.barcode for item in library.data.items][:200]
    many = ServerLimits(max_connections=None, max_connections_per_address=None)
    async with AsyncExitStack() as stack:
        server, _acs = await start_sip2_simulator(
            library,
            logins={"gateway": "demo", "sc01": "demo-selfcheck"},
            institution_id=INSTITUTION,
            limits=many,
        )
        stack.push_async_callback(server.aclose)
        port = server.port
        if through_face:
            tenant = demo_tenant(server.port)
            assert tenant.kiosk_sip2 is not None
            kiosk = tenant.kiosk_sip2.model_copy(
                update={"port": 0, "max_connections": None, "max_connections_per_address": None}
            )
            tenant = tenant.model_copy(update={"kiosk_sip2": kiosk, "elibrary": None})
            settings = GatewaySettings(tenants=TenantRegistry([tenant]), clock=library.now)
            gateway = await stack.enter_async_context(open_gateway(settings))
            faces = await stack.enter_async_context(open_kiosk_faces(gateway))
            port = faces["demo"].port
        started = time.perf_counter()
        await asyncio.gather(
            *(terminal(port, "sc01", "demo-selfcheck", items, count) for _ in range(terminals))
        )
        return terminals * count / (time.perf_counter() - started)


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    terminals = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    direct = asyncio.run(measure(terminals, count, through_face=False))
    face = asyncio.run(measure(terminals, count, through_face=True))
    print(f"{terminals} terminals x {count} transactions (23 + 17 each):")
    print(f"  simulator's own ACS, directly : {direct:8,.0f} transactions/s")
    print(f"  gateway's SIP2 face over it   : {face:8,.0f} transactions/s")


if __name__ == "__main__":
    main()
