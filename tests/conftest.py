"""Shared fixtures: real PostgreSQL and Redis when reachable.

Tests that need them use them for real. When a service is not reachable the test is skipped
with the reason shown, except under ``CI=true``, where a missing service is a failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from logging_state import kept_logging

PG_HOST = os.environ.get("ILS_GATEWAY_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ILS_GATEWAY_TEST_PG_PORT", "5432"))
PG_DB = os.environ.get("ILS_GATEWAY_TEST_PG_DB", "test")
PG_USER = os.environ.get("ILS_GATEWAY_TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("ILS_GATEWAY_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("ILS_GATEWAY_TEST_REDIS_PORT", "6379"))


@pytest.fixture(autouse=True)
def _keep_global_logging() -> Iterator[None]:
    """Every test leaves structlog and the root logger as it found them."""
    with kept_logging():
        yield


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (under CI=true) when a service is not reachable."""
    if _reachable(host, port):
        return
    reason = f"{name} not reachable at {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: required services must be up)")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy async URL for a fresh, empty schema on the real PostgreSQL; dropped after."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    import asyncio

    import asyncpg

    schema = f"t_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_DB)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        asyncio.run(run(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def redis_url() -> str:
    """A URL for the real Redis, on a database number reserved for tests."""
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/15"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Any]:
    """A ``redis.asyncio`` client on the test database; closed after the test."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: Any) -> AsyncIterator[str]:
    """A random key prefix for one test; only keys under it are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    async for key in redis_client.scan_iter(match=f"{prefix}*"):
        await redis_client.delete(key)
