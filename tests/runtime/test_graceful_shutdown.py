"""Graceful shutdown of a served process (issue 17): on the signal, readiness goes off while
the port still answers (``shutdown_delay``, ended early by a second signal), then requests in
flight finish, and only then do the app's pools close."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ils_gateway.api.health import readyz
from ils_gateway.api.server import serve_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sigterm_turns_readiness_off_drains_requests_then_closes_pools(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []
    listening, entered, gate = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await gate.wait()
        events.append("request answered")
        return web.Response(text="done")

    async def pools(app: web.Application) -> AsyncIterator[None]:
        yield
        events.append("pools closed")

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/readyz", readyz)
    app.cleanup_ctx.append(pools)

    real_start = web.TCPSite.start

    async def start(self: web.TCPSite) -> None:
        await real_start(self)
        listening.set()

    monkeypatch.setattr(web.TCPSite, "start", start)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    stop = asyncio.Event()
    async with asyncio.timeout(30):
        served = asyncio.create_task(serve_app(app, "127.0.0.1", port, stop, shutdown_delay=600.0))
        await listening.wait()
        async with aiohttp.ClientSession() as http:
            in_flight = asyncio.create_task(http.get(f"{url}/slow"))
            await entered.wait()
            stop.set()  # the first signal
            async with aiohttp.ClientSession() as probe:
                ready: Any = await probe.get(f"{url}/readyz")
                assert ready.status == 503
                assert (await ready.json())["status"] == "draining"
            os.kill(os.getpid(), signal.SIGTERM)  # the second: stop listening now
            assert events == []  # the request in flight holds the pools open
            gate.set()
            response = await in_flight
            assert response.status == 200 and await response.text() == "done"
        await served
    assert events == ["request answered", "pools closed"]
