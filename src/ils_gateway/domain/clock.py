"""Time as the gateway reads it: one clock type, its test double, and the second counts.

- ``Clock``: the current instant as a timezone-aware ``datetime``. Every rule that depends on
  the date or time (due dates, sessions, maintenance windows, retention) reads one, injected.
- ``EpochSeconds``: wall-clock seconds since the epoch (``time.time``), for timers whose marks
  are shared or stored (rate limits, idempotency claims, read-cache freshness, the breaker);
  ``epoch_seconds(clock)`` runs them on a ``Clock``, so a test moving the clock moves them too.
- ``MonotonicSeconds``: seconds from an arbitrary start (``time.monotonic``), for intervals
  within one process that must not jump with the wall clock (connection idle time, token
  lifetimes).

No I/O here beyond reading the system time in ``system_clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
EpochSeconds = Callable[[], float]
MonotonicSeconds = Callable[[], float]

__all__ = [
    "Clock",
    "EpochSeconds",
    "ManualClock",
    "MonotonicSeconds",
    "epoch_seconds",
    "system_clock",
]


def system_clock() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return datetime.now(UTC)


def epoch_seconds(clock: Clock) -> EpochSeconds:
    """``clock`` as epoch seconds."""

    def seconds() -> float:
        return clock().timestamp()

    return seconds


class ManualClock:
    """A ``Clock`` that stands still until moved (tests, demos, simulators' sample data).

    ``now`` may be set directly; ``advance`` moves it by a ``timedelta`` or by
    ``timedelta``'s keyword arguments (``advance(days=2)``).
    """

    __slots__ = ("_now",)

    def __init__(self, now: datetime) -> None:
        self._now = _aware(now)

    @property
    def now(self) -> datetime:
        """The instant the clock shows."""
        return self._now

    @now.setter
    def now(self, value: datetime) -> None:
        self._now = _aware(value)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, /, **parts: float) -> datetime:
        """Move by ``delta`` or ``timedelta(**parts)`` and return the new now."""
        if delta is not None and parts:
            raise TypeError("give a timedelta or its keyword arguments, not both")
        self._now += delta if delta is not None else timedelta(**parts)
        return self._now


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a clock shows timezone-aware times")
    return value
