"""One deadline per API request, shared by every layer (issue 13).

Loop time is fast-forwarded (``looptime``): a silent library system makes every wait run to
its timeout, which takes no real time here, and the loop clock says how long a request took.
Before the deadline, a login against a silent system took 60 s (3 resilient tries of 20 s)
and a write 40 s; with the tenant's 10 s both end with their problem at 10 s.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from resilience_fakes import FakeClock, FakeLibrary, patron

from ils_gateway.adapters.resilience.backend import CallTimeouts, ResilientBackend
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.adapters.resilience.journal import write_journal
from ils_gateway.deadline import bounded, remaining, request_deadline
from ils_gateway.domain.errors import BackendUnavailable, OutcomeUnknown
from ils_gateway.domain.retry import RetryPolicy

pytestmark = pytest.mark.looptime

P1 = patron("p1")
MARGIN = 0.05  # loop seconds; real waits take none here


@pytest.fixture
def ils() -> FakeLibrary:
    lib = FakeLibrary()
    lib.lend("p1", "i1", due=date(2025, 6, 16))
    return lib


def backend_with_long_timeouts(ils: FakeLibrary) -> ResilientBackend:
    # What a tenant gets from its per-phase timeouts: 20 s per read, 30 s per write.
    clock = FakeClock()
    return ResilientBackend(
        ils,
        tenant_id="t",
        breaker=CircuitBreaker("t", failure_threshold=50, clock=clock),
        retry=RetryPolicy(attempts=3, first_wait=0.2, max_wait=2.0),
        timeouts=CallTimeouts(read=20.0, write=30.0),
        clock=clock,
        sleep=asyncio.sleep,
    )


async def test_login_against_a_silent_library_ends_at_the_deadline(ils: FakeLibrary) -> None:
    backend = backend_with_long_timeouts(ils)
    ils.silent = True
    loop = asyncio.get_running_loop()
    started = loop.time()
    with request_deadline(10.0), pytest.raises(BackendUnavailable):
        await backend.authenticate("2000000p1", "pw")
    assert loop.time() - started <= 10.0 + MARGIN


async def test_write_carried_out_then_silent_ends_at_the_deadline_saying_so(
    ils: FakeLibrary,
) -> None:
    backend = backend_with_long_timeouts(ils)
    await backend.list_loans(P1)
    ils.fault("renew", "silent_after")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with request_deadline(10.0), write_journal() as journal:
        with pytest.raises(OutcomeUnknown) as raised:
            await backend.renew(P1, "i1")
    assert loop.time() - started <= 10.0 + MARGIN
    assert "renewal may have been made" in raised.value.detail
    assert ("renew", "i1") in journal.unknown
    assert ils.calls["renew"] == 1


async def test_nothing_is_sent_once_the_deadline_has_passed(ils: FakeLibrary) -> None:
    backend = backend_with_long_timeouts(ils)
    with request_deadline(1.0):
        await asyncio.sleep(1.0)
        with pytest.raises(BackendUnavailable):
            await backend.renew(P1, "i1")
    assert ils.calls["renew"] == 0


async def test_a_write_leaves_time_to_read_it_back(ils: FakeLibrary) -> None:
    backend = backend_with_long_timeouts(ils)
    await backend.list_loans(P1)
    ils.fault("renew", "hang_after")  # done, answer never comes; reads still answered
    loop = asyncio.get_running_loop()
    started = loop.time()
    with request_deadline(10.0):
        result = await backend.renew(P1, "i1")
    assert result.ok and ils.calls["renew"] == 1
    assert loop.time() - started <= 6.0 + MARGIN  # the write's share of the 10 s


async def test_deadlines_nest_to_the_sooner_and_bound_waits() -> None:
    assert remaining() is None and bounded(5.0) == 5.0
    with request_deadline(10.0):
        with request_deadline(30.0):
            left = remaining()
            assert left is not None and left <= 10.0
        assert bounded(20.0) <= 10.0 and bounded(20.0, 0.5) <= 5.0
