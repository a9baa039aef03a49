"""The library system of ``benchmarks/faults.py``, in its own process.

``python benchmarks/_ils.py --data FILE --login USER:PASS [--backend koha]`` serves the
dataset with the SIP2 simulator (the same ``start_sip2_simulator`` as ``ils-gateway simulate
sip2 --data FILE``), or the Koha REST simulator (``ils-gateway simulate koha``), and,
on a second port, the library's own records of one patron as JSON
(``GET /patrons/{card}``: open loans with due date and renewal count, every hold record with
its state and pickup library): what a librarian would look up in the ILS's staff client. The
benchmark reads it directly, never through the gateway or the fault proxy. Prints
``READY sip2=<port> state=<port>`` (``koha=<port>``) once both listen (port 0: free ports).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faultload import patron_state


async def _main(data: Path, login: str, backend: str) -> None:
    from ils_gateway.logging import configure_logging
    from ils_gateway.simulators.koha_cli import start_koha_simulator
    from ils_gateway.simulators.library import ManualClock, SimulatedLibrary
    from ils_gateway.simulators.sample_data import SAMPLE_NOW
    from ils_gateway.simulators.sip2_acs import start_sip2_simulator

    configure_logging(json=True, level=logging.WARNING)
    library = SimulatedLibrary.from_json(data, ManualClock(SAMPLE_NOW))
    if backend == "koha":
        _runner, url = await start_koha_simulator(library, port=0)
        ils = f"koha={url.rsplit(':', 1)[1]}"
    else:
        user, _, password = login.partition(":")
        server, _acs = await start_sip2_simulator(library, port=0, logins={user: password})
        ils = f"sip2={server.port}"

    async def patron(request: web.Request) -> web.Response:
        return web.json_response(patron_state(library, request.match_info["card"]))

    app = web.Application()
    app.router.add_get("/patrons/{card}", patron)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"READY {ils} state={runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--login", required=True, help="SIP2 93 login USER:PASS")
    parser.add_argument("--backend", choices=["sip2", "koha"], default="sip2")
    args = parser.parse_args()
    asyncio.run(_main(args.data, args.login, args.backend))


if __name__ == "__main__":
    main()
