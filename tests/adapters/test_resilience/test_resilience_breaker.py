"""CircuitBreaker: closed → open after N consecutive failures → half-open after the cool-down."""

from __future__ import annotations

import pytest
from resilience_fakes import FakeClock

from ils_gateway.adapters.resilience.breaker import BreakerState, CircuitBreaker
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    NotFound,
    OutcomeUnknown,
)


def fail(breaker: CircuitBreaker, exc: BaseException | None = None) -> None:
    with pytest.raises(type(exc) if exc else BackendUnavailable), breaker.guard():
        raise exc or BackendUnavailable()


def succeed(breaker: CircuitBreaker) -> None:
    with breaker.guard():
        pass


def test_opens_after_consecutive_failures_only() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ils", failure_threshold=3, cooldown=30, clock=clock)
    fail(breaker)
    fail(breaker)
    succeed(breaker)  # an answer ends the run of failures
    fail(breaker)
    fail(breaker, TimeoutError())
    assert breaker.state is BreakerState.CLOSED
    fail(breaker, OutcomeUnknown())
    assert breaker.state is BreakerState.OPEN
    assert breaker.metrics["opened"] == 1


def test_refusals_and_not_found_are_answers_not_failures() -> None:
    breaker = CircuitBreaker("ils", failure_threshold=1, clock=FakeClock())
    fail(breaker, NotFound())
    assert breaker.state is BreakerState.CLOSED


def test_open_breaker_refuses_fast_with_retry_after_counting_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ils", failure_threshold=1, cooldown=30, clock=clock)
    fail(breaker)
    clock.advance(10.5)
    ran = False
    with pytest.raises(BackendUnavailable) as raised, breaker.guard():
        ran = True
    assert not ran
    assert raised.value.retry_after == 20
    assert breaker.metrics["rejected"] == 1


def test_half_open_lets_one_probe_through_and_closes_on_success() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ils", failure_threshold=1, cooldown=30, clock=clock)
    fail(breaker)
    clock.advance(30)
    assert breaker.state is BreakerState.HALF_OPEN
    with breaker.guard():
        # While the probe is out, everyone else is still refused.
        with pytest.raises(BackendUnavailable), breaker.guard():
            pass
    assert breaker.state is BreakerState.CLOSED
    assert breaker.metrics["closed"] == 1


def test_failed_probe_opens_for_another_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ils", failure_threshold=2, cooldown=30, clock=clock)
    fail(breaker)
    fail(breaker)
    clock.advance(31)
    fail(breaker)  # one failure is enough in half-open
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after == 30
    assert breaker.metrics["opened"] == 2


def test_cancelled_probe_does_not_wedge_half_open() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ils", failure_threshold=1, cooldown=5, clock=clock)
    fail(breaker)
    clock.advance(5)
    with pytest.raises(KeyboardInterrupt), breaker.guard():
        raise KeyboardInterrupt
    succeed(breaker)  # a new probe may go
    assert breaker.state is BreakerState.CLOSED


# --- issue 13: protocol errors count; recovery within seconds -----------------------------


def test_protocol_errors_count_like_timeouts() -> None:
    breaker = CircuitBreaker("ils", failure_threshold=2, clock=FakeClock())
    fail(breaker, BackendProtocolError("an answer for another patron"))
    fail(breaker, BackendProtocolError("garbage"))
    assert breaker.state is BreakerState.OPEN


def test_probes_back_off_from_one_second_capped_at_a_few() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ils", failure_threshold=1, clock=clock)
    fail(breaker)
    waits = []
    for _ in range(5):
        waits.append(breaker.retry_after)
        clock.advance(breaker.cooldown)
        assert breaker.state is BreakerState.HALF_OPEN
        fail(breaker)  # the probe meets a library system still down or still starting
    assert waits == [1, 2, 3, 3, 3]


def test_library_back_after_a_long_outage_is_used_within_the_cap() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ils", failure_threshold=1, clock=clock)
    fail(breaker)
    elapsed = 0.0
    while elapsed < 60:  # a 60 s outage, a client retrying every half second
        clock.advance(0.5)
        elapsed += 0.5
        if breaker.state is BreakerState.HALF_OPEN:
            fail(breaker)
    back_at = elapsed
    while True:
        clock.advance(0.5)
        elapsed += 0.5
        if breaker.state is BreakerState.HALF_OPEN:
            succeed(breaker)
            break
    assert breaker.state is BreakerState.CLOSED
    assert elapsed - back_at <= breaker.max_cooldown
    fail(breaker)  # opened again later: the schedule starts from the short wait again
    assert breaker.retry_after == 1
