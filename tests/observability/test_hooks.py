"""The counting hooks (issue 17): breaker state and transitions, job runs, call outcomes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.adapters.resilience.calls import call_outcome
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    NotFound,
    OutcomeUnknown,
)
from ils_gateway.jobs.registry import JobEnv, JobSpec
from ils_gateway.jobs.schedule import GatewayJobs
from ils_gateway.runtime.jobs import MemoryJobHistory
from ils_gateway.runtime.tenant import Gateway
from ils_gateway.state.joblocks import MemoryJobLocks
from ils_gateway.tenants.jobs import Every


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_breaker_state_and_transitions() -> None:
    now = [0.0]
    breaker = CircuitBreaker("hooks-test", failure_threshold=2, cooldown=1.0, clock=lambda: now[0])
    opened = _value("ils_gateway_breaker_transitions_total", breaker="hooks-test", state="open")
    for _ in range(2):
        with pytest.raises(BackendUnavailable), breaker.guard():
            raise BackendUnavailable()
    assert _value("ils_gateway_breaker_state", breaker="hooks-test") == 2
    after = _value("ils_gateway_breaker_transitions_total", breaker="hooks-test", state="open")
    assert after == opened + 1
    now[0] = 5.0  # the cool-down has passed: one probe, which succeeds
    with breaker.guard():
        pass
    assert _value("ils_gateway_breaker_state", breaker="hooks-test") == 0
    closed = _value("ils_gateway_breaker_transitions_total", breaker="hooks-test", state="closed")
    assert closed >= 1


async def test_job_runs_counted() -> None:
    runs = 0

    async def hooks_job(env: JobEnv, tenant: object) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first run fails")

    spec = JobSpec("hooks_job", "test", False, Every(60), hooks_job, needs_store=False)
    jobs = GatewayJobs(
        Gateway({}),
        None,
        MemoryJobLocks(),
        MemoryJobHistory(),
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        specs={"hooks_job": spec},
    )
    ok = _value("ils_gateway_job_runs_total", job="hooks_job", outcome="ok")
    failed = _value("ils_gateway_job_runs_total", job="hooks_job", outcome="failed")
    assert [r.outcome for r in await jobs.run_named("hooks_job")] == ["failed"]
    assert [r.outcome for r in await jobs.run_named("hooks_job", force=True)] == ["ok"]
    assert _value("ils_gateway_job_runs_total", job="hooks_job", outcome="ok") == ok + 1
    assert _value("ils_gateway_job_runs_total", job="hooks_job", outcome="failed") == failed + 1
    assert _value("ils_gateway_job_duration_seconds_count", job="hooks_job") >= 2


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (OutcomeUnknown(), "unknown"),
        (BackendProtocolError(), "protocol_error"),
        (BackendUnavailable(operator_detail="list_loans timed out after 3s"), "timeout"),
        (BackendUnavailable(operator_detail="circuit breaker for 'x' is open"), "rejected"),
        (BackendUnavailable(), "unavailable"),
        (NotFound(), "refused"),
        (asyncio.CancelledError(), "cancelled"),
        (ValueError("a bug"), "error"),
    ],
)
def test_call_outcomes(exc: BaseException, outcome: str) -> None:
    assert call_outcome(exc) == outcome
