"""Resilience wrappers around any ``ILSBackend``.

- ``backend``: ``ResilientBackend`` (cache, read retries, timeouts, breaker, write read-back),
  with ``RetryPolicy``, ``CallTimeouts`` and ``CachePolicy``.
- ``breaker``: ``CircuitBreaker`` and ``BreakerState``.
- ``cache``: ``ReadCache`` protocol, ``MemoryReadCache``, ``RedisReadCache``.
- ``freshness``: ``track_freshness()``, how callers learn that an answer was stale.
- ``readback``: how a write of unknown outcome is checked against the backend's lists.
- ``journal``: ``WriteJournal``, the writes of one request left unknown, with the state before
  them, kept under the Idempotency-Key so that a retry reads back before anything is sent.

Import from the submodules.
"""
