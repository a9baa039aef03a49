"""Costs that do not grow with the crowd (issue 17): login and cached GET loans CPU at 100,
10,000 and 100,000 sessions and cached lists, and one process's memory after 10,000 of each.

Run: ``.venv/bin/python benchmarks/scale.py [--quick]``. One process serves the demo tenant (the
SIP2 simulator embedded, in-memory shared state) on a real socket, and an aiohttp client in
the same process drives it. For each size the crowd is set up by driving the session store and
the read cache directly (fast), then real HTTP requests are measured: the process's CPU time
(``time.process_time``, client included: a constant that does not depend on the crowd) per
login (``POST …/sessions``) and per cached ``GET …/loans`` (rotating over the newest 256
patrons of the crowd, so the per-process memos see many patrons). The ratios to the smallest
size are the figures: target ≈ 1 (the same CPU at every size). Each cached list is the
benchmark patron's loans, its payload a copy of its own and decoded afresh per patron (as a
real one would be).

Resident memory (VmRSS) is printed after 10,000 sessions and 10,000 cached lists (target
≤ 150 MB), beside baselines measured in the same run: the process with aiohttp imported (a bare
aiohttp app's process, before the gateway is imported), the gateway imported, and the gateway
started (one login and one GET served). At 10,000 the sessions are set up first and then the
cached lists, so the memory each adds is printed apart. Besides (not with ``--quick``): the
resident memory of ``ils-gateway serve`` (the demo in its own process, as deployed) once
``/healthz`` answers.

``--quick``: sizes 10 and 100 with few requests, only to check it runs. ``--memory``: sizes
100 and 10,000 only (the memory figures without the 100,000 round).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

CARD, PASSWORD = "1000000001", "hanako01"
TENANT = "demo"
T = f"/v1/tenants/{TENANT}"
RSS_SIZE = 10_000
RSS_TARGET_MB = 150
ROTATE = 256  # cached GETs rotate over this many of the newest patrons


def _rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _measure(
    session: aiohttp.ClientSession, base: str, auths: list[dict[str, str]], requests: int
) -> tuple[float, float]:
    """CPU seconds per login and per cached GET loans (the mean of ``requests`` of each)."""
    body = {"card_number": CARD, "password": PASSWORD}
    started = time.process_time()
    for _ in range(requests):
        async with session.post(f"{base}{T}/sessions", json=body) as response:
            assert response.status in (200, 201), response.status
            token = (await response.json())["token"]
        # Ended again, so that only the crowd (not the measured logins) grows.
        async with session.delete(
            f"{base}{T}/sessions/current", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            await response.read()
    login = (time.process_time() - started) / requests
    started = time.process_time()
    for i in range(requests):
        async with session.get(f"{base}{T}/loans", headers=auths[i % len(auths)]) as response:
            assert response.status == 200, response.status
            await response.read()
    return login, (time.process_time() - started) / requests


async def _served_rss_mb() -> float:
    """VmRSS of ``ils-gateway serve`` (the demo, as deployed: its own process, SQLite store in a
    temporary directory) once ``/healthz`` answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = Path(sys.executable).parent / "ils-gateway"
    with tempfile.TemporaryDirectory() as workdir:
        served = await asyncio.create_subprocess_exec(
            str(command),
            "serve",
            "--port",
            str(port),
            cwd=workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(1200):  # up to 60 s on a loaded machine
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                            if answer.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.05)
                else:
                    return float("nan")
            return _rss_mb(served.pid)
        finally:
            served.terminate()
            await served.wait()


async def main(quick: bool, memory_only: bool = False) -> int:
    gc.collect()
    bare = _rss_mb()  # aiohttp imported (this module's imports), nothing of the gateway
    from ils_gateway.adapters.resilience.backend import _LOANS
    from ils_gateway.adapters.resilience.cache import CachedRead
    from ils_gateway.api.app import create_app
    from ils_gateway.domain.clock import ManualClock
    from ils_gateway.logging import configure_logging
    from ils_gateway.runtime.demo import embedded_settings
    from ils_gateway.runtime.keys import GATEWAY_KEY, SHARED_KEY
    from ils_gateway.simulators.sample_data import SAMPLE_NOW

    gc.collect()
    imported = _rss_mb()
    configure_logging(json=True, level=logging.WARNING)
    sizes = (10, 100) if quick else (100, 10_000) if memory_only else (100, 10_000, 100_000)
    requests = 20 if quick else 300
    settings, _acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW), elibrary=False)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    rows: list[tuple[int, float, float, float]] = []
    try:
        async with aiohttp.ClientSession() as session:
            body = {"card_number": CARD, "password": PASSWORD}
            async with session.post(f"{base}{T}/sessions", json=body) as response:
                token = (await response.json())["token"]
            auth = {"Authorization": f"Bearer {token}"}
            async with session.get(f"{base}{T}/loans", headers=auth) as response:
                assert response.status == 200, response.status
            shared = app[SHARED_KEY]
            backend: Any = app[GATEWAY_KEY].tenant(TENANT).context.backend
            me = await shared.sessions.resolve(TENANT, token)
            template = backend.cache.peek(backend._patron_scope(me.patron), "loans")
            assert template is not None, "the loans list was not cached"
            gc.collect()
            started = _rss_mb()
            memory = [
                ("aiohttp imported (a bare aiohttp app's process)", bare),
                ("the gateway imported", imported),
                ("the gateway started, one login and one GET loans served", started),
            ]
            now = time.time()
            sessions = lists = 0
            # GETs rotate over the newest patrons of the crowd (their lists are cached), so the
            # per-process memos see many patrons, as they would in service.
            recent: collections.deque[dict[str, str]] = collections.deque(maxlen=ROTATE)
            for size in sizes:
                while sessions < size:
                    patron = me.patron.model_copy(update={"id": f"bench{sessions:07d}"})
                    token = await shared.sessions.create(
                        TENANT,
                        patron,
                        me.channel,
                        password_change_required=False,
                        idle_timeout_minutes=None,
                    )
                    recent.append({"Authorization": f"Bearer {token}"})
                    sessions += 1
                if size == RSS_SIZE or (quick and size == sizes[-1]):
                    gc.collect()
                    memory.append((f"+ {size:,} sessions", _rss_mb()))
                while lists < size:
                    patron = me.patron.model_copy(update={"id": f"bench{lists:07d}"})
                    payload = bytes(bytearray(template.payload))  # each patron's its own
                    await backend.cache.put(
                        backend._patron_scope(patron),
                        "loans",
                        CachedRead(payload, now, now + 3600, tuple(_LOANS.validate_json(payload))),
                    )
                    lists += 1
                # The setup's garbage is collected first (in service it is spread over many
                # requests); then the median of three rounds (the machine is shared).
                gc.collect()
                rss = _rss_mb() if size == RSS_SIZE or (quick and size == sizes[-1]) else None
                if rss is not None:
                    memory.append((f"+ {size:,} cached lists", rss))
                full = gc.get_stats()[2]["collections"]
                rounds = [
                    await _measure(session, base, [auth, *recent], requests) for _ in range(3)
                ]
                login = statistics.median(r[0] for r in rounds)
                cached = statistics.median(r[1] for r in rounds)
                full = gc.get_stats()[2]["collections"] - full
                rows.append((size, login, cached, rss if rss is not None else float("nan")))
                print(
                    f"{size:>7,} sessions + cached lists: login {login * 1e6:,.0f} µs CPU, "
                    f"cached GET loans {cached * 1e6:,.0f} µs CPU"
                    f" (read cache: {backend.cache.entries:,} entries,"
                    f" {backend.cache.nbytes / 2**20:.1f} MB of payloads;"
                    f" {full} full garbage collections while measuring)",
                    flush=True,
                )
                if rss is not None:
                    verdict = "OK" if rss <= RSS_TARGET_MB else "ABOVE TARGET"
                    print(
                        f"  resident after {size:,} sessions + {size:,} cached lists: "
                        f"{rss:.0f} MB (target <= {RSS_TARGET_MB} MB at {RSS_SIZE:,}) {verdict}",
                        flush=True,
                    )
                    for label, value in memory:
                        print(f"    {value:6.1f} MB  {label}", flush=True)
                    print(
                        f"    {rss - bare:6.1f} MB  above the bare aiohttp process "
                        f"({rss / bare:.2f} x its {bare:.1f} MB)",
                        flush=True,
                    )
                    if not quick:
                        served = await _served_rss_mb()
                        print(
                            f"    {served:6.1f} MB  `ils-gateway serve` (the demo, its own "
                            "process) once /healthz answers",
                            flush=True,
                        )
    finally:
        await runner.cleanup()
    first = rows[0]
    for size, login, cached, _ in rows[1:]:
        print(
            f"ratio {size:,} / {first[0]:,}: login {login / first[1]:.2f}, "
            f"cached GET loans {cached / first[2]:.2f} (target ≈ 1)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main("--quick" in sys.argv, "--memory" in sys.argv)))
