"""The process-wide shared state, over ONE Redis client per process (or in memory).

One process (the default): sessions, Idempotency-Keys, read caches, the e-library bridge's
rate limits and the failed-login counts all in memory. Many processes behind a load balancer:
``GatewaySettings.redis_url`` (``serve --redis URL`` or ``ILS_GATEWAY_REDIS_URL``) puts every
one of them in Redis through the same client, so nothing correct depends on a request returning
to the same process.
``open_redis(settings)`` opens that client (closed on exit); ``shared_state(settings, redis)``
builds the stores over it.

The client waits instead of failing (issue 17): its pool is a ``BlockingConnectionPool`` of
``redis_max_connections`` (a request past that waits up to ``redis_pool_timeout`` seconds for a
free connection instead of ``MaxConnectionsError``), every command is bounded by
``redis_socket_timeout``, and a dropped connection is retried once (a Redis restart). Whatever
still fails reaches the stores as ``SharedStateUnavailable`` (``GuardedRedis``): a 503 problem
with ``Retry-After`` for sessions, keys and limits, a bypass for the read caches
(``RedisReadCache``: reads go to the library system), never a 500.

With ``redis_near_cache`` (the default) the process keeps decoded sessions and cached reads in
a ``NearCache`` in front of Redis, and a task listens on ``<prefix>invalidate`` on a connection
of its own: every process drops an entry when another publishes that it changed (a logout, a
scope expired by a write). The near cache is trusted only while that subscription holds; it is
emptied when the connection is lost and used again once the subscription is back.

In Redis nothing personal is readable (issue 15): every store names its keys by a keyed hash
and seals what holds personal data, through the one codec ``ils_gateway.sealing`` with keys
derived from the server secret (``GatewaySettings.server_secret``: the store's), which every
process of a deployment shares; the failed-login counts are named the same way
(``KeyedLoginGuard``). A patron's cached data is kept ``personal_data_minutes`` after its last
write, in memory and in Redis; logging out forgets the session's Idempotency-Keys here, and the
patron's cached reads in the tenant's services.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import structlog

from ils_gateway.adapters.resilience.cache import MemoryReadCache, ReadCache, RedisReadCache
from ils_gateway.domain.clock import epoch_seconds
from ils_gateway.domain.shared_state import SharedStateUnavailable
from ils_gateway.nearcache import NearCache
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.sealing import SealedState
from ils_gateway.services.ebooks.bridge import BridgeLimiters
from ils_gateway.services.sessions import PatronSessions
from ils_gateway.state.idempotency import (
    IdempotencyStore,
    MemoryIdempotencyStore,
    RedisIdempotencyStore,
)
from ils_gateway.state.loginguard import LoginGuard, LoginLimit, MemoryLoginGuard, RedisLoginGuard
from ils_gateway.state.ratelimit import MemoryRateLimiter, RateLimit, RateLimiter, RedisRateLimiter
from ils_gateway.state.sessions import MemorySessionStore, RedisSessionStore

_log = structlog.get_logger("ils_gateway.runtime.shared")


class SecretMissing(ValueError):
    """Shared state in Redis was asked for without a server secret to seal it with."""


class KeyedLoginGuard:
    """A login guard whose keys (``tenant:card:…``, ``tenant:address:…``) reach the guard only
    as their keyed hash: the counts in Redis cannot be tied to a card by trying every card."""

    def __init__(self, inner: LoginGuard, sealed: SealedState) -> None:
        self._inner = inner
        self._sealed = sealed

    def _key(self, key: str) -> str:
        return self._sealed.name("login-guard", key)

    async def locked(self, keys: Sequence[str]) -> int:
        """Whole seconds until every lock on ``keys`` ends (0 when none is locked)."""
        return await self._inner.locked([self._key(k) for k in keys])

    async def delayed(self, keys: Sequence[str]) -> int:
        """Whole seconds until every growing delay on ``keys`` has passed (0 when none)."""
        return await self._inner.delayed([self._key(k) for k in keys])

    async def failed(self, key: str, limit: LoginLimit) -> int:
        """Count one failure for ``key``; the seconds of the lock it started, else 0."""
        return await self._inner.failed(self._key(key), limit)

    async def claim(self, key: str, seconds: float) -> bool:
        """Take ``key``'s one check-at-a-time slot for ``seconds``; False when taken."""
        return await self._inner.claim(self._key(key), seconds)

    async def release(self, key: str) -> None:
        """Give ``key``'s slot back."""
        await self._inner.release(self._key(key))

    async def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures."""
        await self._inner.succeeded(self._key(key))


@dataclass(frozen=True)
class SharedState:
    """Patron sessions, Idempotency-Keys, a read cache per backend, the bridge's limiters, the
    failed-login counts."""

    sessions: PatronSessions
    idempotency: IdempotencyStore
    read_cache: Callable[[], ReadCache]
    bridge_limiters: BridgeLimiters
    login_guard: LoginGuard
    #: Makes a named rate limiter (the account lifecycle's per card and per address: issue 18)
    #: in the same place as the rest: this process, or Redis for every process.
    rate_limiter: Callable[[str, RateLimit], RateLimiter] | None = None


def _unavailable(exc: BaseException) -> SharedStateUnavailable:
    return SharedStateUnavailable(operator_detail=f"redis: {type(exc).__name__}")


class _GuardedPipeline:
    """A pipeline whose ``execute`` raises ``SharedStateUnavailable`` for Redis's failures;
    queuing commands is delegated as it is (nothing is sent before ``execute``)."""

    __slots__ = ("_errors", "_pipe")

    def __init__(self, pipe: Any, errors: tuple[type[BaseException], ...]) -> None:
        self._pipe = pipe
        self._errors = errors

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    async def __aenter__(self) -> _GuardedPipeline:
        await self._pipe.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pipe.__aexit__(exc_type, exc, tb)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            result: list[Any] = await self._pipe.execute(raise_on_error=raise_on_error)
        except self._errors as exc:
            raise _unavailable(exc) from exc
        return result


class GuardedRedis:
    """A ``redis.asyncio.Redis`` whose commands raise ``SharedStateUnavailable`` (a 503 with
    ``Retry-After``) when Redis cannot be reached, times out or has no free connection, instead
    of ``redis.exceptions.*`` (which would be a 500). Commands are the client's own, awaited;
    ``pipeline()`` is guarded at ``execute``. ``client`` is the wrapped client (the owner closes
    it)."""

    def __init__(self, client: Any, near: NearCache | None = None) -> None:
        from redis.exceptions import RedisError

        self.client = client
        self.near = near
        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

    def pipeline(self, transaction: bool = True) -> _GuardedPipeline:
        """The client's pipeline, guarded at ``execute``."""
        return _GuardedPipeline(self.client.pipeline(transaction=transaction), self._errors)

    def __getattr__(self, name: str) -> Any:
        command = getattr(self.client, name)
        if not callable(command):
            return command
        errors = self._errors

        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                result = command(*args, **kwargs)
                return await result if inspect.isawaitable(result) else result
            except errors as exc:
                raise _unavailable(exc) from exc

        setattr(self, name, guarded)  # made once per command name
        return guarded


def redis_client(settings: GatewaySettings) -> Any:
    """A ``redis.asyncio.Redis`` for ``settings.redis_url`` over its own bounded, waiting pool
    (closed with the client). Not guarded: ``open_redis`` wraps it."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    assert settings.redis_url is not None
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
        # One retry, at once: a connection dropped by a Redis restart is made anew; a Redis
        # that is down fails fast (503) rather than after seconds of backing off.
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return aioredis.Redis.from_pool(pool)


async def listen_for_invalidations(url: str, near: NearCache) -> None:
    """Keep ``near`` in step with the channel: drop what others say changed; empty it and
    stop trusting it whenever the subscription is lost, until it is back. Runs until
    cancelled."""
    import redis.asyncio as aioredis

    # A connection of its own, without a read timeout: it waits for messages.
    client = aioredis.Redis.from_url(url, health_check_interval=15, socket_connect_timeout=2)
    delay = 0.05
    try:
        while True:
            pubsub: Any = client.pubsub()
            try:
                await pubsub.subscribe(near.channel)
                async for message in pubsub.listen():
                    kind = message["type"]
                    if kind == "subscribe":
                        near.start()
                        delay = 0.05
                    elif kind == "message":
                        data = message["data"]
                        near.invalidate(data.decode() if isinstance(data, bytes) else data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # lost: nothing kept can be trusted now
                near.stop()
                _log.warning("near_cache_unsubscribed", error=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                near.stop()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
    finally:
        await client.aclose()


@asynccontextmanager
async def open_redis(settings: GatewaySettings) -> AsyncIterator[Any]:
    """The process's one Redis client, guarded (``GuardedRedis``; None without
    ``redis_url``), with its near cache listening for invalidations (``redis_near_cache``);
    all closed on exit."""
    if settings.redis_url is None:
        yield None
        return
    client = redis_client(settings)
    near: NearCache | None = None
    listener: asyncio.Task[None] | None = None
    if settings.redis_near_cache:
        near = NearCache(f"{settings.redis_prefix}invalidate", settings.near_cache_entries)
        near.changed = asyncio.Event()
        listener = asyncio.create_task(listen_for_invalidations(settings.redis_url, near))
    try:
        yield GuardedRedis(client, near)
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        await client.aclose()


def shared_sealing(settings: GatewaySettings) -> SealedState:
    """The codec of shared state, from the server secret; ``SecretMissing`` without one."""
    secret = settings.server_secret
    if secret is None:
        raise SecretMissing(
            "shared state in Redis needs the server secret: configure the store "
            "(ILS_GATEWAY_STORE_SECRET) or GatewaySettings.secret"
        )
    return SealedState(secret)


def shared_state(settings: GatewaySettings, redis: Any = None) -> SharedState:
    """The stores of ``settings``: in Redis through ``redis`` when given, else in memory."""
    seconds = epoch_seconds(settings.clock)
    personal = settings.personal_data_minutes * 60
    if redis is None:
        idempotency = MemoryIdempotencyStore(clock=seconds)
        return SharedState(
            sessions=PatronSessions(
                MemorySessionStore(clock=settings.clock), on_end=(idempotency.forget_session,)
            ),
            idempotency=idempotency,
            read_cache=lambda: MemoryReadCache(
                personal_keep_for=personal,
                max_entries=settings.read_cache_entries,
                max_bytes=settings.read_cache_bytes,
                max_decoded=settings.read_cache_decoded,
                clock=seconds,
            ),
            bridge_limiters=BridgeLimiters.in_memory(seconds),
            login_guard=MemoryLoginGuard(clock=seconds),
            rate_limiter=lambda name, limit: MemoryRateLimiter(name, limit, clock=seconds),
        )
    prefix = settings.redis_prefix
    sealed = shared_sealing(settings)
    redis_idempotency = RedisIdempotencyStore(redis, sealed=sealed, prefix=prefix)
    near: NearCache | None = getattr(redis, "near", None)
    sessions = RedisSessionStore(
        redis, sealed=sealed, prefix=prefix, clock=settings.clock, near=near
    )
    return SharedState(
        sessions=PatronSessions(sessions, on_end=(redis_idempotency.forget_session,)),
        idempotency=redis_idempotency,
        read_cache=lambda: RedisReadCache(
            redis,
            sealed=sealed,
            prefix=prefix,
            personal_keep_for=personal,
            clock=seconds,
            near=near,
        ),
        bridge_limiters=BridgeLimiters.in_redis(redis, prefix, seconds, sealed),
        login_guard=KeyedLoginGuard(RedisLoginGuard(redis, prefix=prefix, clock=seconds), sealed),
        rate_limiter=lambda name, limit: RedisRateLimiter(
            redis, name, limit, sealed=sealed, prefix=prefix, clock=seconds
        ),
    )
