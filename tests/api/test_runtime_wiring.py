"""The runtime as the API app assembles it: one Redis client per process, and every problem
document (the e-library bridge's 429 too) rendered by the one error renderer."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from ils_gateway.runtime.keys import GATEWAY_KEY, REDIS_KEY, SHARED_KEY

BRIDGE = "/elibrary/v1/libraries/koha-demo/patron-check"
BRIDGE_KEY = "bridge-key-for-wiring-tests"
WITH_ELIBRARY = f"""
[tenants.elibrary]
kind = "simulator"
bridge_keys = ["{BRIDGE_KEY}"]
"""


async def test_a_process_opens_one_redis_client_for_all_its_shared_state(
    make_client, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    real = aioredis.Redis.from_pool

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(aioredis.Redis, "from_pool", counting)
    client = await make_client(WITH_ELIBRARY, redis_url=redis_url, redis_prefix=redis_prefix)
    # Sessions, Idempotency-Keys, the read caches (ILS and e-library) and the bridge's rate
    # limits: all over the one client.
    assert len(opened) == 1
    assert client.app[REDIS_KEY].client is opened[0]  # guarded: 503, never 500 (issue 17)
    # over one bounded pool that waits for a free connection instead of failing
    assert isinstance(opened[0].connection_pool, aioredis.BlockingConnectionPool)
    assert opened[0].connection_pool.max_connections == 64
    assert client.app[SHARED_KEY].bridge_limiters.per_card is not None
    runtime = client.app[GATEWAY_KEY].tenant("koha-demo")
    assert runtime.ebooks.service is not None


async def test_the_bridge_429_is_a_problem_of_the_error_tree(make_client) -> None:
    # The bridge's own limit, without the login guard's growing delays answering first.
    client = await make_client(
        WITH_ELIBRARY + "\n[tenants.policy.login]\nfirst_delay_seconds = 0\n"
    )
    key = {"Authorization": f"Bearer {BRIDGE_KEY}", "X-Request-ID": "wiring-test-0001"}
    body = {"cardNumber": "1000000001", "password": "guess"}
    for _ in range(5):
        assert (await client.post(BRIDGE, json=body, headers=key)).status == 200
    limited = await client.post(BRIDGE, json=body, headers=key)
    assert limited.status == 429
    assert limited.headers["Content-Type"].startswith("application/problem+json")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-Request-ID"] == "wiring-test-0001"
    problem = await limited.json()
    # Rendered like every other error: the request id is in the document too.
    assert problem == {
        "type": "https://ils-gateway.dev/problems/rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": "Too many patron checks; try again later",
        "instance": BRIDGE,
        "request_id": "wiring-test-0001",
    }
