"""Requests per second through ``SIP2ClientPool`` against the SIP2 ACS simulator (localhost).

Run: ``.venv/bin/python benchmarks/sip2_pool.py [requests] [pool sizes...]``. Each request is a
17 Item Information for a different barcode; the figure includes both ends (one process).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import structlog

from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.fields import SipDate
from ils_gateway.sip2.messages import ItemInformationRequest

NOW = SipDate("20250602    100000")


async def run(requests: int, pool_size: int) -> float:
    library = sample_library()
    server, _ = await start_sip2_simulator(library)
    barcodes = [item.barcode for item in library.data.items]
    settings = SIP2ClientSettings(host="127.0.0.1", port=server.port, pool_size=pool_size)
    try:
        async with SIP2ClientPool(settings) as pool:
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    pool.request(
                        ItemInformationRequest.build(
                            transaction_date=NOW,
                            institution_id="MIDORI",
                            item_identifier=barcodes[n % len(barcodes)],
                        ),
                        idempotent=True,
                    )
                    for n in range(requests)
                )
            )
            return requests / (time.perf_counter() - started)
    finally:
        await server.aclose()


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    sizes = [int(a) for a in sys.argv[2:]] or [1, 4, 8]
    for size in sizes:
        rate = asyncio.run(run(requests, size))
        print(f"pool_size={size:<3} {requests} requests: {rate:,.0f} req/s")


if __name__ == "__main__":
    main()
