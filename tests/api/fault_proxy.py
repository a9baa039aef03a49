"""A TCP-level fault injector for API tests: an HTTP proxy in front of a backend simulator.

``mode`` decides what happens to each request: ``pass`` forwards it; ``hang`` never answers
(a backend too slow to wait for; ``release()`` drops the waiting requests unanswered);
``lose_answer`` forwards the request (the backend acts on it) and then drops the connection
instead of relaying the answer, once, for requests matching ``lose_pattern``; ``silent_after``
forwards the first request matching ``lose_pattern`` (the backend carries it out) and then
answers nothing at all, that request included, until ``release()`` (a library system that does
a write and goes silent for a while); ``delay_forward`` holds the first request matching
``lose_pattern`` for ``delay`` seconds and then delivers it, even to a client gone meanwhile (a
slow link: a write that timed out may still land); ``unavailable`` answers 503 to everything without
forwarding (a library system stopped behind its web server). ``go_down()`` stops listening:
connections are refused from then on.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web


@dataclass
class FaultProxy:
    """Forwards to ``target`` unless told to fail; counts what reached it."""

    target: str
    mode: str = "pass"
    lose_pattern: str = ""
    lose_skip: int = 0  # matching requests passed through before the fault applies
    delay: float = 0.0  # seconds a ``delay_forward`` request is held before it goes on
    seen: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)  # what reached the backend
    runner: web.AppRunner | None = None
    url: str = ""
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        line = f"{request.method} {request.path}"
        self.seen.append(line)
        if self.mode == "hang":
            await self._release.wait()
            return _drop(request)  # released at last: the answer never comes
        if self.mode == "unavailable":
            return web.Response(status=503, text="Service Unavailable")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        if self.mode == "delay_forward" and re.search(self.lose_pattern, line):
            self.mode = "pass"
            # held on the way, then delivered even if the client has given up meanwhile
            await asyncio.shield(asyncio.sleep(self.delay))
        self.forwarded.append(line)
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, self.target + request.path_qs, data=body, headers=headers
            ) as upstream,
        ):
            payload = await upstream.read()
            status = upstream.status
            content_type = upstream.headers.get("Content-Type")
        if self.mode == "lose_answer" and re.search(self.lose_pattern, line):
            self.mode = "pass"
            return _drop(request)
        if self.mode == "silent_after" and re.search(self.lose_pattern, line):
            if self.lose_skip > 0:
                self.lose_skip -= 1
                return _relay(status, payload, content_type)
            self.mode = "hang"
            await self._release.wait()
            return _drop(request)
        return _relay(status, payload, content_type)

    async def go_down(self) -> None:
        """Stop listening and close every connection: the backend is unreachable."""
        self.release()
        assert self.runner is not None
        await self.runner.cleanup()

    def release(self) -> None:
        """End the hanging requests (their connections close without an answer)."""
        self._release.set()


_HOP = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}


def _relay(status: int, payload: bytes, content_type: str | None) -> web.Response:
    response = web.Response(status=status, body=payload)
    if content_type:
        response.headers["Content-Type"] = content_type
    return response


def _drop(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=500)  # never reaches the client: the connection is gone


async def start_fault_proxy(target: str) -> FaultProxy:
    """A proxy to ``target`` listening on 127.0.0.1 (port 0); ``runner.cleanup()`` stops it."""
    proxy = FaultProxy(target)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    proxy.runner, proxy.url = runner, f"http://127.0.0.1:{runner.addresses[0][1]}"
    return proxy
