"""Shared state that waits instead of failing (issue 17).

Two gateway apps on real sockets, each with its own Redis client and a pool far smaller than
the crowd, share the real Redis: 500 concurrent cached GET loans answer 200, every one (the
pool waits; before, ``MaxConnectionsError`` made half of them 500s). With Redis absent
(a closed port) sessions are a 503 problem with ``Retry-After``, never a 500, and the shared
read cache is bypassed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ils_gateway.adapters.resilience.cache import CachedRead, RedisReadCache, patron_scope
from ils_gateway.api.app import create_app
from ils_gateway.api.server import GatewayRunner
from ils_gateway.domain.shared_state import SharedStateUnavailable
from ils_gateway.nearcache import NearCache
from ils_gateway.runtime.keys import REDIS_KEY
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.shared import open_redis
from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants
from sealed_state import SEALED, TEST_SECRET

KOHA_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenants" / "koha-demo.toml"
T = "/v1/tenants/koha-demo"
CARD, PASSWORD = "1000000001", "hanako01"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


@pytest.fixture
async def koha_url() -> AsyncIterator[str]:
    runner, url = await start_koha_simulator(sample_library(), port=0)
    try:
        yield url
    finally:
        await runner.cleanup()


def _settings(koha_url: str, **settings: Any) -> GatewaySettings:
    text = KOHA_EXAMPLE.read_text(encoding="utf-8").replace("http://127.0.0.1:6201", koha_url)
    registry = TenantRegistry(parse_tenants(text).tenants)
    return GatewaySettings(tenants=registry, secret=TEST_SECRET, **settings)


async def _served(settings: GatewaySettings) -> tuple[web.AppRunner, str]:
    runner = GatewayRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_500_concurrent_cached_reads_through_two_processes_sharing_redis(
    koha_url: str, redis_url: str, redis_prefix: str
) -> None:
    # 8 connections per process for 250 concurrent requests each: they must wait their turn.
    settings = _settings(
        koha_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        redis_max_connections=8,
        redis_pool_timeout=60.0,
    )
    servers = [await _served(settings), await _served(settings)]
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            first, second = (url for _, url in servers)
            login = await http.post(
                f"{first}{T}/sessions", json={"card_number": CARD, "password": PASSWORD}
            )
            assert login.status == 201, await login.text()
            auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
            warm = await http.get(f"{second}{T}/loans", headers=auth)  # the session is shared
            assert warm.status == 200, await warm.text()
            body = await warm.read()

            async def one(i: int) -> tuple[int, bytes]:
                url = (first, second)[i % 2]
                async with http.get(f"{url}{T}/loans", headers=auth) as response:
                    return response.status, await response.read()

            answers = await asyncio.gather(*(one(i) for i in range(500)))
    finally:
        for runner, _ in servers:
            await runner.cleanup()
    statuses = [status for status, _ in answers]
    assert statuses.count(200) == 500, {s: statuses.count(s) for s in set(statuses)}
    assert {b for _, b in answers} == {body}


async def test_absent_redis_answers_503_problems_with_retry_after(koha_url: str) -> None:
    settings = _settings(koha_url, redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    runner, url = await _served(settings)
    try:
        async with aiohttp.ClientSession() as http:
            login = await http.post(
                f"{url}{T}/sessions", json={"card_number": CARD, "password": PASSWORD}
            )
            loans = await http.get(f"{url}{T}/loans", headers={"Authorization": "Bearer x" * 3})
            answers = [login, loans]
            for response in answers:
                assert response.status == 503, await response.text()
                assert response.headers["Content-Type"].startswith("application/problem+json")
                assert int(response.headers["Retry-After"]) > 0
                problem = await response.json()
                assert problem["status"] == 503
            health = await http.get(f"{url}/healthz")
            assert health.status == 200
    finally:
        await runner.cleanup()


async def test_the_shared_read_cache_is_bypassed_when_redis_is_absent(koha_url: str) -> None:
    settings = _settings(koha_url, redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    async with open_redis(settings) as redis:
        with pytest.raises(SharedStateUnavailable):
            await redis.get("anything")
        cache = RedisReadCache(redis, sealed=SEALED)
        scope = patron_scope("koha-demo", "koha", CARD)
        await cache.put(scope, "loans", CachedRead(b"[]", 1.0, 2.0))  # dropped, no error
        assert await cache.get(scope, "loans") is None  # a miss: the caller asks the backend
        await cache.expire(scope)
        await cache.forget(scope)


async def _until(near: NearCache, condition: Callable[[], bool]) -> None:
    """Wait (bounded) until ``condition`` holds, woken by each change of ``near``."""
    assert near.changed is not None
    async with asyncio.timeout(30):
        while not condition():
            near.changed.clear()
            await near.changed.wait()


async def test_near_cache_sees_another_process_logout_also_after_a_reconnect(
    koha_url: str, redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    settings = _settings(koha_url, redis_url=redis_url, redis_prefix=redis_prefix)
    (a, a_url), (b, b_url) = await _served(settings), await _served(settings)
    near_b: NearCache = b.app[REDIS_KEY].near
    await _until(near_b, lambda: near_b.active)
    try:
        async with aiohttp.ClientSession() as http:

            async def login() -> dict[str, str]:
                response = await http.post(
                    f"{a_url}{T}/sessions", json={"card_number": CARD, "password": PASSWORD}
                )
                assert response.status == 201, await response.text()
                return {"Authorization": f"Bearer {(await response.json())['token']}"}

            async def loans_on_b(auth: dict[str, str]) -> int:
                async with http.get(f"{b_url}{T}/loans", headers=auth) as response:
                    return response.status

            auth = await login()
            assert await loans_on_b(auth) == 200
            assert await loans_on_b(auth) == 200  # from B's near cache
            assert len(near_b) >= 2  # the session and the cached loans, decoded
            seq = near_b.seq
            assert (await http.delete(f"{a_url}{T}/sessions/current", headers=auth)).status == 204
            await _until(near_b, lambda: near_b.seq > seq)  # the invalidation arrived
            assert await loans_on_b(auth) == 401

            # The subscription drops (a Redis restart, a network cut): B forgets everything
            # it kept, then serves from Redis until it listens again.
            auth = await login()
            assert await loans_on_b(auth) == 200
            await redis_client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            await _until(near_b, lambda: not near_b.active)
            assert len(near_b) == 0
            assert (await http.delete(f"{a_url}{T}/sessions/current", headers=auth)).status == 204
            assert await loans_on_b(auth) == 401
            await _until(near_b, lambda: near_b.active)
            auth = await login()
            assert await loans_on_b(auth) == 200
            assert await loans_on_b(auth) == 200
    finally:
        await a.cleanup()
        await b.cleanup()
