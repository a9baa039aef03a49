"""The shared state's wiring for personal data (issue 15): Redis needs the server secret, and
the failed-login counts reach Redis under keyed names only."""

from __future__ import annotations

import hashlib

import pytest

from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.shared import KeyedLoginGuard, SecretMissing, shared_state
from ils_gateway.state.loginguard import LoginLimit, RedisLoginGuard
from ils_gateway.tenants.loader import TenantRegistry
from sealed_state import SEALED, TEST_SECRET


def test_shared_state_in_redis_needs_the_server_secret() -> None:
    settings = GatewaySettings(tenants=TenantRegistry([]))
    with pytest.raises(SecretMissing, match="server secret"):
        shared_state(settings, redis=object())
    shared_state(settings)  # in memory: nothing to seal


def test_personal_data_lifetime_reaches_both_caches() -> None:
    settings = GatewaySettings(
        tenants=TenantRegistry([]), secret=TEST_SECRET, personal_data_minutes=2
    )
    memory = shared_state(settings).read_cache()
    redis = shared_state(settings, redis=object()).read_cache()
    assert memory._personal.keep_for == 120  # type: ignore[attr-defined]
    assert redis._personal_keep_for_ms == 120_000  # type: ignore[attr-defined]


async def test_login_counts_are_named_by_a_keyed_hash(redis_client, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    guard = KeyedLoginGuard(RedisLoginGuard(redis_client, prefix=redis_prefix), SEALED)
    key = "tokyo-a:card:20001234567"
    await guard.failed(key, LoginLimit(failures=1, window=60, lock=60))
    assert await guard.locked([key]) > 0
    names = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    plain = hashlib.sha256(f"login-guard\x00{key}".encode()).hexdigest()[:40]
    assert names and all("20001234567" not in n and plain not in n for n in names)
    await guard.succeeded(key)


def test_read_cache_bounds_come_from_the_settings() -> None:
    # Issue 17: the in-memory read cache is bounded by entries and bytes (settings).
    defaults = shared_state(GatewaySettings(tenants=TenantRegistry([]))).read_cache()
    assert (defaults.max_entries, defaults.max_bytes) == (50_000, 64 * 1024 * 1024)  # type: ignore[attr-defined]
    assert defaults.max_decoded == 1024  # type: ignore[attr-defined]
    settings = GatewaySettings(
        tenants=TenantRegistry([]),
        read_cache_entries=10,
        read_cache_bytes=1000,
        read_cache_decoded=3,
    )
    cache = shared_state(settings).read_cache()
    assert (cache.max_entries, cache.max_bytes) == (10, 1000)  # type: ignore[attr-defined]
    assert cache.max_decoded == 3  # type: ignore[attr-defined]
