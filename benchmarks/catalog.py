"""Benchmark of the catalogue (issue 19): a search and a record view through the gateway,
cached and uncached, each against one backend round trip measured in the same run.

Run: ``.venv/bin/python benchmarks/catalog.py [requests]`` (default 40 per figure).

For each backend kind — SIP2 with its SRU catalogue (Saitama's example file), Koha (the Koha
demo) and FOLIO (the FOLIO example) — the simulators (``runtime.simulated``) and the gateway
are served on real local ports, and one aiohttp client times, sequentially:

- **backend**: one round trip to the source itself — an SRU searchRetrieve, Koha's
  ``GET /biblios?q=``, FOLIO's ``GET /inventory/instances?query=`` (the record: SRU ``rec.id``,
  ``GET /biblios/{id}``, ``GET /inventory/instances/{id}``), with the same query;
- **uncached**: the same through the gateway with ``[tenants.catalog] cache_seconds = 0``
  (every search also reads the page's copies for the availability summary; a record view also
  reads copies, queue and due dates: SIP2 17 per copy, Koha items/holds/checkouts, FOLIO
  holdings/items/loans/requests);
- **cached**: through the gateway with the default cache, after one warming request.

Medians in milliseconds, and each as a multiple of the backend round trip. The simulators run
in the gateway's process (their CPU competes with the gateway's), so the ratios are upper
bounds of what the gateway adds against a library system on its own server.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "tenants"
TITLE = "こころ"
KINDS = {"sip2": "saitama", "koha": "koha-demo", "folio": "folio-example"}


def _tenant_text(kind: str, cache_seconds: float) -> str:
    import re

    name = KINDS[kind]
    text = (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")
    text = re.sub(r"\n\[tenants\.elibrary\]\n(?:(?!\[).*\n)*", "\n", text)
    text += f"\n[tenants.catalog]\ncache_seconds = {cache_seconds}\n"
    if kind == "sip2":
        text += '[tenants.catalog.sru]\nurl = "http://sru.invalid/sru"\n'
    return text


async def _timed(call: Callable[[], Awaitable[Any]], n: int) -> float:
    """Median milliseconds of ``n`` sequential calls."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def _get(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> None:
    async with session.get(url, **kwargs) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}")


async def _backend_calls(
    session: aiohttp.ClientSession, kind: str, tenant: Any, record_id: str
) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """One search and one record round trip straight to the source."""
    backend = tenant.backend
    if kind == "sip2":
        url = tenant.catalog.sru.url
        base = {"operation": "searchRetrieve", "version": "1.2", "recordSchema": "marcxml"}
        search = {**base, "query": f'dc.title="{TITLE}"', "maximumRecords": "20"}
        record = {**base, "query": f'rec.id="{record_id}"', "maximumRecords": "2"}
        return (
            lambda: _get(session, url, params=search),
            lambda: _get(session, url, params=record),
        )
    if kind == "koha":
        root = backend.base_url.rstrip("/") + "/api/v1"
        async with session.post(
            root + "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": backend.client_id,
                "client_secret": backend.client_secret.get_secret_value(),
            },
        ) as response:
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        q = '{"-and": [{"title": {"-like": "%' + TITLE + '%"}}]}'
        return (
            lambda: _get(session, root + "/biblios", params={"q": q}, headers=headers),
            lambda: _get(session, f"{root}/biblios/{record_id}", headers=headers),
        )
    okapi = backend.okapi_url.rstrip("/")
    async with session.post(
        okapi + "/authn/login",
        json={"username": backend.username, "password": backend.password.get_secret_value()},
        headers={"X-Okapi-Tenant": backend.tenant},
    ) as response:
        token = response.headers["x-okapi-token"]
    headers = {"X-Okapi-Tenant": backend.tenant, "X-Okapi-Token": token}
    query = {"query": f'title="*{TITLE}*"', "limit": "20"}
    return (
        lambda: _get(session, okapi + "/inventory/instances", params=query, headers=headers),
        lambda: _get(session, f"{okapi}/inventory/instances/{record_id}", headers=headers),
    )


async def _measure(kind: str, n: int) -> dict[str, float]:
    from ils_gateway.api.app import create_app
    from ils_gateway.domain.clock import ManualClock
    from ils_gateway.runtime.simulated import simulated_settings
    from ils_gateway.simulators.sample_data import SAMPLE_NOW
    from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

    figures: dict[str, float] = {}
    for label, seconds in (("uncached", 0.0), ("cached", 60.0)):
        tenants = parse_tenants(_tenant_text(kind, seconds)).tenants
        run = await simulated_settings(TenantRegistry(tenants), clock=ManualClock(SAMPLE_NOW))
        runner = web.AppRunner(create_app(run.settings))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        gateway = f"http://127.0.0.1:{port}/v1/tenants/{KINDS[kind]}/catalog"
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{gateway}/search", params={"title": TITLE}) as response:
                    body = await response.json()
                record_id = body["records"][0]["id"]
                search_url, record_url = f"{gateway}/search", f"{gateway}/records/{record_id}"
                if label == "uncached":
                    backend_search, backend_record = await _backend_calls(
                        session, kind, run.settings.tenants.get(KINDS[kind]), record_id
                    )
                    await backend_search()  # warm the connection
                    figures["backend search"] = await _timed(backend_search, n)
                    figures["backend record"] = await _timed(backend_record, n)
                params = {"title": TITLE}
                await _get(session, search_url, params=params)
                await _get(session, record_url)
                figures[f"{label} search"] = await _timed(
                    lambda u=search_url, p=params: _get(session, u, params=p), n
                )
                figures[f"{label} record"] = await _timed(lambda u=record_url: _get(session, u), n)
        finally:
            await runner.cleanup()
    return figures


async def main(n: int) -> None:
    import logging

    from ils_gateway.logging import configure_logging

    configure_logging(json=True, level=logging.WARNING)
    print(f"catalogue through the gateway vs one backend round trip (median of {n}, ms)")
    for kind in KINDS:
        f = await _measure(kind, n)
        for what in ("search", "record"):
            base = f[f"backend {what}"]
            print(
                f"{kind:5} {what:6}: backend {base:6.2f}  uncached {f[f'uncached {what}']:6.2f}"
                f" ({f[f'uncached {what}'] / base:4.1f}x)  cached {f[f'cached {what}']:6.2f}"
                f" ({f[f'cached {what}'] / base:4.2f}x)"
            )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 40))
