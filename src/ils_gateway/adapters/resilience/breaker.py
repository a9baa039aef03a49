"""A circuit breaker for one backend: closed → open after N consecutive failures → half-open.

Closed: calls pass; each failure (the backend unreachable, a timeout, a write whose outcome is
unknown, an answer that breaks the protocol: garbage, wrong sequence, another patron's) adds
to a run of consecutive failures, and any proper answer from the backend (even a refusal or a
not-found) ends the run. When the run reaches ``failure_threshold`` the breaker opens: calls
are refused at once with ``BackendUnavailable(retry_after=…)`` for a short cool-down. Then it
is half-open: one probe call passes (others are still refused); its success closes the
breaker, its failure opens it again.

The cool-downs back off: ``cooldown`` seconds (about 1 s) after opening, doubled after each
failed probe up to ``max_cooldown`` (a few seconds). So a library system that comes back is
used again within ``max_cooldown`` seconds, and a probe that meets it still starting costs
one more short wait, never a long one.

The breaker is per process (each process learns for itself that a backend is down); the clock is
injected so tests step through the states without waiting.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    GatewayError,
    OutcomeUnknown,
)
from ils_gateway.observability import metrics as prometheus


class BreakerState(StrEnum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"  # calls pass
    OPEN = "open"  # calls are refused until the cool-down ends
    HALF_OPEN = "half_open"  # one probe call may pass


def is_backend_failure(exc: BaseException) -> bool:
    """True for errors that say the backend is not answering properly (what opens a breaker):
    unreachable, timed out, outcome unknown, or an answer that breaks the protocol."""
    return isinstance(
        exc, BackendUnavailable | OutcomeUnknown | BackendProtocolError | TimeoutError
    )


class CircuitBreaker:
    """Stops calling a backend that keeps failing, and lets one probe through after a cool-down.

    ``metrics`` counts ``calls``, ``successes``, ``failures``, ``rejected`` and the transitions
    ``opened``, ``half_opened`` and ``closed``.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        cooldown: float = 1.0,
        max_cooldown: float = 3.0,
        clock: EpochSeconds = time.time,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown <= 0:
            raise ValueError("cooldown must be positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.first_cooldown = cooldown
        self.max_cooldown = max(max_cooldown, cooldown)
        self.cooldown = cooldown
        """The cool-down in force: ``first_cooldown``, doubled per failed probe, capped."""
        self._clock = clock
        self._consecutive_failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False
        self.metrics: Counter[str] = Counter()

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker turns half-open when its cool-down has passed)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def retry_after(self) -> int:
        """Whole seconds until a call may pass again (at least 1)."""
        if self._opened_at is None:
            return 1
        left = self.cooldown - (self._clock() - self._opened_at)
        return max(1, math.ceil(left))

    def unavailable(self) -> BackendUnavailable:
        """The error a refused call raises."""
        return BackendUnavailable(
            retry_after=self.retry_after,
            operator_detail=f"circuit breaker for {self.name!r} is {self.state.value}",
        )

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run one backend call under the breaker: refuse it when open, then record its fate.

        Backend failures (see ``is_backend_failure``) count against the backend; any other
        ``GatewayError`` is an answer and counts as a success; other exceptions (bugs,
        cancellation) count as neither.
        """
        self._admit()
        try:
            yield
        except GatewayError as exc:
            if is_backend_failure(exc):
                self._record_failure()
            else:
                self._record_success()
            raise
        except TimeoutError:
            self._record_failure()
            raise
        except BaseException:
            self._probe_in_flight = False
            raise
        else:
            self._record_success()

    def _admit(self) -> None:
        state = self.state
        if state is BreakerState.OPEN or (
            state is BreakerState.HALF_OPEN and self._probe_in_flight
        ):
            self.metrics["rejected"] += 1
            raise self.unavailable()
        if state is BreakerState.HALF_OPEN:
            self._probe_in_flight = True
            self.metrics["half_opened"] += 1
            prometheus.breaker_changed(self.name, BreakerState.HALF_OPEN.value)
        self.metrics["calls"] += 1

    def _record_success(self) -> None:
        self.metrics["successes"] += 1
        self._consecutive_failures = 0
        self._probe_in_flight = False
        if self._opened_at is not None:
            self._opened_at = None
            self.cooldown = self.first_cooldown
            self.metrics["closed"] += 1
            prometheus.breaker_changed(self.name, BreakerState.CLOSED.value)

    def _record_failure(self) -> None:
        self.metrics["failures"] += 1
        self._consecutive_failures += 1
        was_probe = self._probe_in_flight
        self._probe_in_flight = False
        if was_probe:
            # Still down (or still starting): open again, a little longer, never long.
            self.cooldown = min(self.max_cooldown, self.cooldown * 2)
        elif self._opened_at is not None or self._consecutive_failures < self.failure_threshold:
            return  # a call that started before the breaker opened: no new cool-down
        self._opened_at = self._clock()
        self.metrics["opened"] += 1
        prometheus.breaker_changed(self.name, BreakerState.OPEN.value)
