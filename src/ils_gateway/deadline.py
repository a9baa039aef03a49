"""One deadline per API request, shared by every layer that waits or retries.

The API middleware opens ``request_deadline(seconds)`` (the tenant's ``request_deadline``,
10 s by default) around a request. Inside it, each layer bounds what it waits for by what is
left (``bounded``) and tries again only while time is left (``remaining``): the SIP2 pool
(connect, login, one exchange, its one retry of a read), the REST adapters (their read
retries) and the resilience layer (a write's one attempt, its read-back). So a request against
a silent library system ends with its 503/504 problem at its deadline, whatever the layers'
own timeouts, and no layer's retries multiply another's waiting.

The deadline is an instant on the event loop's clock (what ``asyncio.timeout`` uses), kept in
a context variable: concurrent requests each have their own, and tasks started inside the
block inherit it. Outside any block (the kiosk face, the CLI) there is no deadline: only each
layer's own timeouts apply.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("ils_gateway_deadline", default=None)

# What a write's one attempt may use of the time left; the rest is for reading it back.
WRITE_SHARE = 0.6


def _now() -> float:
    return asyncio.get_running_loop().time()


class _Deadline:
    # A plain context manager rather than @contextmanager: it is entered on every request.
    __slots__ = ("_seconds", "_token")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def __enter__(self) -> float:
        at = _now() + self._seconds
        outer = _deadline.get()
        if outer is not None and outer < at:
            at = outer
        self._token = _deadline.set(at)
        return at

    def __exit__(self, *exc_info: object) -> None:
        _deadline.reset(self._token)


def request_deadline(seconds: float) -> AbstractContextManager[float]:
    """Everything awaited inside the block shares one deadline ``seconds`` from now (a
    deadline already in force that is sooner stays); the block yields that instant."""
    return _Deadline(seconds)


def remaining() -> float | None:
    """Seconds left before the request's deadline (never below 0); None without one."""
    at = _deadline.get()
    if at is None:
        return None
    return max(0.0, at - _now())


def bounded(limit: float, share: float = 1.0) -> float:
    """``limit``, or ``share`` of the time left when that is sooner."""
    left = remaining()
    return limit if left is None else min(limit, left * share)


def time_left() -> bool:
    """False once the request's deadline has passed (True without one)."""
    left = remaining()
    return left is None or left > 0
