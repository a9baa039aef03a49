"""The REST adapters' read retries stop at the request's deadline (issue 13).

Loop time is fast-forwarded (``looptime``): the retries' backoff waits take no real time, and
the loop clock says how long they took.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ils_gateway.adapters.rest import send_with_retries
from ils_gateway.deadline import request_deadline
from ils_gateway.domain.retry import RetryPolicy

pytestmark = pytest.mark.looptime


async def test_read_retries_stop_when_the_deadline_leaves_no_time() -> None:
    sent = 0

    async def slow_503() -> httpx.Response:
        nonlocal sent
        sent += 1
        await asyncio.sleep(4.0)  # a library system answering 503 slowly
        return httpx.Response(503)

    loop = asyncio.get_running_loop()
    started = loop.time()
    with request_deadline(10.0):
        response = await send_with_retries(
            slow_503,
            idempotent=True,
            policy=RetryPolicy(attempts=5, first_wait=1.0, max_wait=5.0),
            system="test",
        )
    assert response.status_code == 503
    # 4 s, wait 1 s, 4 s: 1 s left, less than the next wait: no third try
    assert sent == 2
    assert loop.time() - started <= 10.0


async def test_without_a_deadline_the_policy_alone_counts() -> None:
    sent = 0

    async def unavailable() -> httpx.Response:
        nonlocal sent
        sent += 1
        return httpx.Response(503)

    policy = RetryPolicy(attempts=3, first_wait=0.1, max_wait=1.0)
    await send_with_retries(unavailable, idempotent=True, policy=policy, system="test")
    assert sent == 3
