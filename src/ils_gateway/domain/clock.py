"""Time as the gateway reads it: one clock type, its test double, and the second counts.

- ``Clock``: the current instant as a timezone-aware ``datetime``. Every rule that depends on
  the date or time (due dates, sessions, maintenance windows, retention) reads one, injected.
- ``EpochSeconds``: wall-clock seconds since the epoch (``time.time``), for timers whose marks
  are shared or stored (rate limits, idempotency claims, read-cache freshness, the breaker);
  ``epoch_seconds(clock)`` runs them on a ``Clock``, so a test moving the clock moves them too.
- ``MonotonicSeconds``: seconds from an arbitrary start (``time.monotonic``), for intervals
  within one process that must not jump with the wall clock (connection idle time, token
  lifetimes).

- ``RunningClock``: time that starts at a given instant and runs at the wall clock's pace
  (``serve --now``, ``simulate … --now``: sample data and gateway agree on the date);
  ``parse_instant`` reads that instant from the command line (ISO date or date-time).

- ``SystemDays``: the library's date by the system clock, worked out once a day (the day is read
  on every patron list).

No I/O here beyond reading the system time in ``system_clock``, ``RunningClock`` and
``SystemDays``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo

Clock = Callable[[], datetime]
EpochSeconds = Callable[[], float]
MonotonicSeconds = Callable[[], float]

__all__ = [
    "Clock",
    "EpochSeconds",
    "ManualClock",
    "MonotonicSeconds",
    "RunningClock",
    "SystemDays",
    "epoch_seconds",
    "parse_instant",
    "system_clock",
]


def system_clock() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return datetime.now(UTC)


def epoch_seconds(clock: Clock) -> EpochSeconds:
    """``clock`` as epoch seconds (``time.time`` itself for the system clock: the read cache
    and the guarded calls read it on every request, and an aware ``datetime`` made only to
    be turned back into seconds costs several times as much)."""
    if clock is system_clock:
        return time.time

    def seconds() -> float:
        return clock().timestamp()

    return seconds


class SystemDays:
    """Today's date in ``zone`` by the system clock, worked out once a day: until the next
    local midnight (and at most an hour, whatever the zone's transitions) the day is known
    from one ``time.time()`` (every patron list reads the library's day).

    Only for ``system_clock``: an injected clock is read afresh each time.
    """

    __slots__ = ("_day", "_since", "_time", "_until", "_zone")

    def __init__(self, zone: tzinfo, seconds: EpochSeconds = time.time) -> None:
        self._zone = zone
        self._time = seconds
        self._day = date.min
        self._since = self._until = float("-inf")

    def today(self) -> date:
        """The local date now."""
        now = self._time()
        if self._since <= now < self._until:  # a clock set back is asked again
            return self._day
        day = datetime.fromtimestamp(now, self._zone).date()
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), self._zone)
        self._day, self._since = day, now
        self._until = min(midnight.timestamp(), now + 3600.0)
        return day


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


class RunningClock:
    """A ``Clock`` that starts at ``start`` and runs at the wall clock's pace.

    Demos and simulated examples read as of a chosen instant (due dates, holds ready for
    pickup) while sessions still time out and days still pass.
    """

    __slots__ = ("_start", "_started")

    def __init__(self, start: datetime, monotonic: MonotonicSeconds = time.monotonic) -> None:
        self._start = _aware(start)
        self._started = (monotonic(), monotonic)

    @property
    def start(self) -> datetime:
        """The instant the clock showed when made."""
        return self._start

    def __call__(self) -> datetime:
        began, monotonic = self._started
        return self._start + timedelta(seconds=monotonic() - began)


def parse_instant(text: str, zone: tzinfo, *, day_starts_at: int = 10) -> datetime:
    """An aware instant from ISO ``text``: a date (``2025-06-02``, read as ``day_starts_at``
    o'clock in ``zone``, a library's opening hour) or a date-time (``2025-06-02T14:30``, in
    ``zone`` unless it names an offset). ``ValueError`` when it is neither."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, day_starts_at, tzinfo=zone)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date or date-time: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a clock shows timezone-aware times")
    return value
