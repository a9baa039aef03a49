"""``serve_app`` runs the app's after-listening work (the tenants' warm-up) once the port is
open and ``settle_delay`` later, so that start-up answers ``/healthz`` before spending CPU on
caches (issue 17, start-up); a process stopped before then never runs it."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from ils_gateway.api.health import healthz
from ils_gateway.api.server import AFTER_LISTENING_KEY, serve_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _app(ran: list[str], done: asyncio.Event, port: int) -> web.Application:
    def warm(app: web.Application) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            ran.append("warmed with the port open")
        done.set()

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app[AFTER_LISTENING_KEY] = [warm]
    return app


async def test_the_warm_up_runs_once_after_the_port_opens() -> None:
    ran: list[str] = []
    done, stop = asyncio.Event(), asyncio.Event()
    port = _free_port()
    async with asyncio.timeout(30):
        served = asyncio.create_task(
            serve_app(_app(ran, done, port), "127.0.0.1", port, stop, settle_delay=0.0)
        )
        await done.wait()
        stop.set()
        await served
    assert ran == ["warmed with the port open"]


async def test_a_process_stopped_before_the_settle_delay_never_warms_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []
    done, stop, listening = asyncio.Event(), asyncio.Event(), asyncio.Event()
    real_start = web.TCPSite.start

    async def start(self: web.TCPSite) -> None:
        await real_start(self)
        listening.set()

    monkeypatch.setattr(web.TCPSite, "start", start)
    port = _free_port()
    async with asyncio.timeout(30):
        served = asyncio.create_task(
            serve_app(_app(ran, done, port), "127.0.0.1", port, stop, settle_delay=600.0)
        )
        await listening.wait()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
        stop.set()
        await served
    assert ran == [] and not done.is_set()
