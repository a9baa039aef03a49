"""A password change whose answer was lost is read back by logging in (issue 16): with the
new password (it happened: not sent again), else with the old one (it did not: sent once more),
else it stays unknown."""

from __future__ import annotations

import pytest
from resilience_fakes import FakeClock, FakeLibrary, RecordingSleep, patron

from ils_gateway.adapters.resilience.backend import CachePolicy, CallTimeouts, ResilientBackend
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.domain.errors import OutcomeUnknown
from ils_gateway.domain.retry import RetryPolicy

P1 = patron("p1")


@pytest.fixture
def ils() -> FakeLibrary:
    lib = FakeLibrary()
    lib.passwords[P1.card_number] = "old-pass-1"
    return lib


@pytest.fixture
def backend(ils: FakeLibrary) -> ResilientBackend:
    clock = FakeClock()
    return ResilientBackend(
        ils,
        tenant_id="t",
        breaker=CircuitBreaker("t", failure_threshold=50, cooldown=30, clock=clock),
        retry=RetryPolicy(attempts=1),
        timeouts=CallTimeouts(read=0.01, write=0.01),
        cache_policy=CachePolicy(patron_fresh_for=60, shared_fresh_for=600),
        clock=clock,
        sleep=RecordingSleep(),
    )


async def test_a_lost_answer_to_a_change_that_happened_is_read_back_not_resent(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("change_password", "lost")  # carried out, the answer lost
    await backend.change_password(P1, "old-pass-1", "new-pass-2")
    assert ils.passwords[P1.card_number] == "new-pass-2"
    assert ils.calls["change_password"] == 1
    assert backend.metrics["readback_happened"] == 1


async def test_a_change_that_certainly_did_not_happen_is_sent_once_more(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("change_password", "raise", OutcomeUnknown(operator_detail="connection reset"))
    await backend.change_password(P1, "old-pass-1", "new-pass-2")
    assert ils.passwords[P1.card_number] == "new-pass-2"
    assert ils.calls["change_password"] == 2  # the old password still worked: resent once
    assert backend.metrics["readback_not_happened"] == 1


async def test_when_neither_password_logs_in_the_outcome_stays_unknown(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("change_password", "raise", OutcomeUnknown(operator_detail="connection reset"))
    ils.passwords[P1.card_number] = "changed-by-staff"  # neither old nor new logs in now
    with pytest.raises(OutcomeUnknown) as raised:
        await backend.change_password(P1, "old-pass-1", "new-pass-2")
    assert "password may have been changed" in raised.value.detail
    assert ils.calls["change_password"] == 1
