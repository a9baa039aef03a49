"""ResilientBackend around a fake library system: cache, read retries, breaker, stale reads,
fast-failing writes, timeouts and read-back after a lost write answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from resilience_fakes import FakeClock, FakeLibrary, RecordingSleep, patron

from ils_gateway.adapters.base import CancelOutcome, ILSBackend
from ils_gateway.adapters.resilience import readback
from ils_gateway.adapters.resilience.backend import (
    CachePolicy,
    CallTimeouts,
    ResilientBackend,
)
from ils_gateway.adapters.resilience.breaker import BreakerState, CircuitBreaker
from ils_gateway.adapters.resilience.cache import is_personal
from ils_gateway.adapters.resilience.freshness import track_freshness
from ils_gateway.adapters.resilience.journal import write_journal
from ils_gateway.domain.errors import (
    BackendUnavailable,
    NotFound,
    OutcomeUnknown,
    RenewalRefused,
)
from ils_gateway.domain.models import Item as ItemModel
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.domain.vocab import ContactMethod, HoldStatus, Outcome

P1 = patron("p1")
P2 = patron("p2")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def ils() -> FakeLibrary:
    lib = FakeLibrary()
    lib.lend("p1", "i1", due=date(2025, 6, 16))
    lib.lend("p1", "i2", due=date(2025, 6, 16))
    lib.lend("p2", "i3")
    return lib


def make(
    ils: FakeLibrary,
    clock: FakeClock,
    sleep: RecordingSleep,
    *,
    attempts: int = 3,
    threshold: int = 5,
    timeouts: CallTimeouts | None = None,
) -> ResilientBackend:
    return ResilientBackend(
        ils,
        tenant_id="tokyo-a",
        breaker=CircuitBreaker("tokyo-a", failure_threshold=threshold, cooldown=30, clock=clock),
        retry=RetryPolicy(attempts=attempts, first_wait=0.2, max_wait=1.0),
        timeouts=timeouts or CallTimeouts(read=5, write=5),
        cache_policy=CachePolicy(patron_fresh_for=60, shared_fresh_for=600),
        clock=clock,
        sleep=sleep,
    )


@pytest.fixture
def backend(ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep) -> ResilientBackend:
    return make(ils, clock, sleep)


def test_is_an_ils_backend(backend: ResilientBackend) -> None:
    assert isinstance(backend, ILSBackend)


# --- cache ---------------------------------------------------------------------------------


async def test_reads_are_cached_per_patron_until_they_age(
    backend: ResilientBackend, ils: FakeLibrary, clock: FakeClock
) -> None:
    first = await backend.list_loans(P1)
    assert await backend.list_loans(P1) == first
    assert ils.calls["list_loans"] == 1
    await backend.list_loans(P2)
    assert ils.calls["list_loans"] == 2  # another patron's data is not shared
    clock.advance(61)
    await backend.list_loans(P1)
    assert ils.calls["list_loans"] == 3
    assert backend.metrics["cache_hits"] == 1


async def test_a_patrons_write_drops_only_that_patrons_cache(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_loans(P1)
    await backend.list_loans(P2)
    await backend.renew(P1, "i1")
    loans = {loan.item.id: loan for loan in await backend.list_loans(P1)}
    assert loans["i1"].due_date == date(2025, 6, 30)  # not the cached pre-renewal due date
    await backend.list_loans(P2)
    assert ils.calls["list_loans"] == 3  # p1 twice, p2 once


async def test_a_refused_write_also_drops_the_cache(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.renew(P1, "i1")
    await backend.list_holds(P1)
    with pytest.raises(RenewalRefused):
        await backend.renew(P1, "i1")
    await backend.list_holds(P1)
    assert ils.calls["list_holds"] == 2


async def test_items_are_cached_per_tenant_and_dropped_on_checkout(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.get_item("i9")
    await backend.get_item("i9")
    assert ils.calls["get_item"] == 1
    await backend.checkout(P2, "i9")  # its baseline reads the copy fresh: one more request
    assert ils.calls["get_item"] == 2
    await backend.get_item("i9")
    assert ils.calls["get_item"] == 3


async def test_patron_reads_are_cached_in_a_personal_scope(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    # Personal scopes are kept only briefly; in Redis their names are keyed hashes
    # (test_resilience_cache: test_redis_names_are_keyed_and_entries_sealed).
    await backend.list_loans(P1)
    await backend.list_holds(P1)
    scopes = list(backend.cache._personal.scopes)  # type: ignore[attr-defined]
    assert len(scopes) == 1 and is_personal(scopes[0])
    await backend.forget_patron(P1)
    assert not backend.cache._personal.scopes  # type: ignore[attr-defined]
    await backend.list_loans(P1)
    assert ils.calls["list_loans"] == 2  # forgotten: read again


# --- retries -------------------------------------------------------------------------------


async def test_reads_are_retried_with_jittered_backoff(
    backend: ResilientBackend, ils: FakeLibrary, sleep: RecordingSleep
) -> None:
    ils.fault("list_holds", "raise", BackendUnavailable(), times=2)
    assert await backend.list_holds(P1) == []
    assert ils.calls["list_holds"] == 3
    assert len(sleep.waits) == 2
    assert 0 <= sleep.waits[0] <= 0.2 and 0 <= sleep.waits[1] <= 0.4
    assert backend.metrics["read_retries"] == 2


async def test_reads_give_up_after_the_bounded_attempts(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.down = True
    with pytest.raises(BackendUnavailable):
        await backend.list_holds(P1)
    assert ils.calls["list_holds"] == 3


async def test_not_found_is_not_retried(backend: ResilientBackend, ils: FakeLibrary) -> None:
    with pytest.raises(NotFound):
        await backend.get_item("x1")
    assert ils.calls["get_item"] == 1


async def test_writes_are_never_retried_when_unavailable(
    backend: ResilientBackend, ils: FakeLibrary, sleep: RecordingSleep
) -> None:
    ils.fault("place_hold", "raise", BackendUnavailable())
    with pytest.raises(BackendUnavailable):
        await backend.place_hold(P1, "i7", "CEN")
    assert ils.calls["place_hold"] == 1
    assert ils.holds.get("p1", {}) == {}


# --- breaker, stale reads, fast writes -----------------------------------------------------


async def test_backend_down_serves_last_good_data_marked_stale_and_writes_fail_fast(
    ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep
) -> None:
    backend = make(ils, clock, sleep, attempts=1, threshold=2)
    read_at = datetime.fromtimestamp(clock.now, UTC)
    fresh = await backend.list_loans(P1)
    clock.advance(120)  # past freshness
    ils.down = True

    with track_freshness() as freshness:
        assert await backend.list_loans(P1) == fresh
    assert freshness.stale and freshness.as_of == read_at

    with pytest.raises(BackendUnavailable):
        await backend.list_holds(P1)  # no last good data
    assert backend.breaker.state is BreakerState.OPEN

    calls_before = sum(ils.calls.values())
    with pytest.raises(BackendUnavailable) as raised:
        await backend.renew(P1, "i1")
    assert raised.value.retry_after == 30
    with track_freshness() as freshness:
        assert await backend.list_loans(P1) == fresh
    assert freshness.stale
    assert sum(ils.calls.values()) == calls_before  # the breaker kept the backend out of it
    assert backend.metrics["stale_served"] == 2

    clock.advance(30)
    ils.down = False
    with track_freshness() as freshness:
        await backend.list_loans(P1)  # the half-open probe succeeds
    assert not freshness.stale
    assert backend.breaker.state is BreakerState.CLOSED


async def test_retries_stop_once_the_breaker_opens(
    ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep
) -> None:
    backend = make(ils, clock, sleep, attempts=5, threshold=2)
    ils.down = True
    with pytest.raises(BackendUnavailable):
        await backend.list_holds(P1)
    assert ils.calls["list_holds"] == 2


async def test_freshness_reports_do_not_leak_between_concurrent_requests(
    ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep
) -> None:
    backend = make(ils, clock, sleep, attempts=1, threshold=1)
    await backend.list_loans(P1)
    clock.advance(120)
    ils.down = True

    async def request(p):  # type: ignore[no-untyped-def]
        with track_freshness() as freshness:
            try:
                await backend.list_loans(p)
            except BackendUnavailable:
                pass
        return freshness.stale

    assert await asyncio.gather(request(P1), request(P2)) == [True, False]


# --- timeouts ------------------------------------------------------------------------------


async def test_a_hanging_read_times_out_and_is_retried(
    ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep
) -> None:
    backend = make(ils, clock, sleep, timeouts=CallTimeouts(read=0.01, write=0.01))
    ils.fault("list_pickup_libraries", "hang")
    libraries = await backend.list_pickup_libraries()
    assert [lib.code for lib in libraries] == ["CEN"]
    assert ils.calls["list_pickup_libraries"] == 2
    assert backend.breaker.metrics["failures"] == 1


async def test_a_write_that_times_out_after_it_happened_is_read_back_not_repeated(
    ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep
) -> None:
    backend = make(ils, clock, sleep, timeouts=CallTimeouts(read=0.05, write=0.01))
    ils.fault("renew", "hang_after")
    result = await backend.renew(P1, "i1")
    assert result.ok and result.new_due_date == date(2025, 6, 30)
    assert ils.calls["renew"] == 1
    assert backend.metrics["readback_happened"] == 1


async def test_a_write_that_timed_out_and_is_not_seen_is_not_resent_at_once(
    ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep
) -> None:
    # A timed-out request may still reach the library system late: "not there yet" is not
    # "never". The retry with the same key sends it once that time has passed.
    backend = make(ils, clock, sleep, timeouts=CallTimeouts(read=0.05, write=0.01))
    ils.fault("renew", "hang")
    with write_journal() as first, pytest.raises(OutcomeUnknown) as raised:
        await backend.renew(P1, "i1")
    assert raised.value.retry_after == 5  # type: ignore[attr-defined]
    assert ils.calls["renew"] == 1
    clock.advance(2)
    with write_journal(first.pending.values()) as early, pytest.raises(OutcomeUnknown):
        await backend.renew(P1, "i1")  # too early: still not sent again
    assert ils.calls["renew"] == 1
    clock.advance(3)
    with write_journal(early.pending.values()):
        result = await backend.renew(P1, "i1")
    assert result.ok and ils.loans["p1"]["i1"].renewals_used == 1
    assert ils.calls["renew"] == 2


async def test_a_write_whose_connection_broke_and_is_not_seen_is_tried_once_more(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("renew", "raise", OutcomeUnknown(operator_detail="connection reset"))
    result = await backend.renew(P1, "i1")
    assert result.ok and ils.calls["renew"] == 2
    assert backend.metrics["write_retries"] == 1


# --- read-back after a lost answer ---------------------------------------------------------


async def test_lost_answer_to_a_renewal_that_happened(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_loans(P1)  # the baseline comes from the fresh cache
    ils.fault("renew", "lost")
    result = await backend.renew(P1, "i1")
    assert result.ok and result.loan is not None and result.loan.renewals_used == 1
    assert ils.calls["renew"] == 1


async def test_renewal_lost_twice_is_reported_unknown(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("renew", "raise", OutcomeUnknown(), times=2)
    with pytest.raises(OutcomeUnknown):
        await backend.renew(P1, "i1")
    assert ils.calls["renew"] == 2  # the original and one retry after reading back: no more


async def test_lost_answer_to_a_hold_placement_does_not_place_it_twice(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("place_hold", "lost")
    hold = await backend.place_hold(P1, "i7", "CEN", ContactMethod.EMAIL)
    assert hold.item.id == "i7" and hold.pickup_library == "CEN"
    assert list(ils.holds["p1"]) == [hold.id]
    assert ils.calls["place_hold"] == 1


async def test_hold_placement_that_did_not_happen_is_tried_once_more(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("place_hold", "raise", OutcomeUnknown())
    hold = await backend.place_hold(P1, "i7", "CEN")
    assert list(ils.holds["p1"]) == [hold.id]
    assert ils.calls["place_hold"] == 2


async def test_when_the_read_back_fails_the_outcome_stays_unknown(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_holds(P1)
    ils.fault("place_hold", "lost")
    ils.fault("list_holds", "raise", BackendUnavailable(), times=3)
    with pytest.raises(OutcomeUnknown):
        await backend.place_hold(P1, "i7", "CEN")
    assert ils.calls["place_hold"] == 1
    assert backend.metrics["readback_unknown"] == 1


async def test_lost_answer_to_a_cancellation(backend: ResilientBackend, ils: FakeLibrary) -> None:
    hold = await backend.place_hold(P1, "i7", "CEN")
    ils.fault("cancel_hold", "lost")
    assert await backend.cancel_hold(P1, hold.id) is CancelOutcome.CANCELLED
    assert ils.calls["cancel_hold"] == 1
    ils.fault("cancel_hold", "raise", OutcomeUnknown())
    hold = await backend.place_hold(P1, "i8", "CEN")
    assert await backend.cancel_hold(P1, hold.id) is CancelOutcome.CANCELLED
    assert ils.calls["cancel_hold"] == 3 and ils.holds["p1"] == {}


async def test_lost_answer_to_a_cancellation_request_reads_back_as_requested(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.cancellation_request_flow = True
    hold = await backend.place_hold(P1, "i7", "CEN")
    ils.holds["p1"][hold.id] = hold.model_copy(update={"status": HoldStatus.READY})
    assert await backend.cancel_hold(P1, hold.id) is CancelOutcome.CANCELLATION_REQUESTED
    other = await backend.place_hold(P1, "i8", "CEN")
    ils.holds["p1"][other.id] = other.model_copy(update={"status": HoldStatus.READY})
    ils.fault("cancel_hold", "lost")
    # still listed and active, marked requested: the request happened; not sent again
    assert await backend.cancel_hold(P1, other.id) is CancelOutcome.CANCELLATION_REQUESTED
    assert ils.calls["cancel_hold"] == 2
    assert ils.holds["p1"][other.id].cancellation_requested
    assert backend.metrics["readback_happened"] == 1


async def test_lost_answers_to_hold_changes_are_read_back(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    hold = await backend.place_hold(P1, "i7", "CEN")
    ils.fault("change_hold", "lost")
    changed = await backend.change_hold(P1, hold.id, pickup_library="KITA")
    assert changed.pickup_library == "KITA"
    ils.fault("suspend_hold", "lost")
    suspended = await backend.suspend_hold(P1, hold.id, date(2025, 7, 1))
    assert suspended.status is HoldStatus.SUSPENDED
    ils.fault("resume_hold", "raise", OutcomeUnknown())
    resumed = await backend.resume_hold(P1, hold.id)
    assert resumed.status is HoldStatus.WAITING
    assert (ils.calls["change_hold"], ils.calls["suspend_hold"], ils.calls["resume_hold"]) == (
        1,
        1,
        2,
    )


async def test_pickup_change_the_lists_cannot_show_is_sent_again_not_left_unknown(
    ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep
) -> None:
    """Over SIP2 a waiting hold is listed without its pickup library. A pickup change carried
    out, then unanswered, read back as "not happened, may still land" and stayed unknown on
    every retry (benchmarks/faults.py: 5 of 1000). Setting the same pickup library twice does
    no harm, so it is sent again at once."""
    backend = make(ils, clock, sleep, timeouts=CallTimeouts(read=0.05, write=0.01))
    hold = await backend.place_hold(P1, "i7", "CEN")
    ils.lists_pickup = False
    ils.fault("change_hold", "hang_after")
    await backend.change_hold(P1, hold.id, pickup_library="KITA")
    assert ils.calls["change_hold"] == 2
    assert ils.holds["p1"][hold.id].pickup_library == "KITA"


async def test_lost_answer_to_a_checkout(backend: ResilientBackend, ils: FakeLibrary) -> None:
    ils.fault("checkout", "lost")
    loan = await backend.checkout(P2, "i9")
    assert loan.item.id == "i9" and ils.calls["checkout"] == 1


async def test_a_checkout_of_a_copy_on_the_shelf_reads_the_copy_not_every_loan(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    """The baseline of a self-check loan: the copy's status, one request, instead of the
    patron's whole loan list (a SIP2 library reads a title per loan)."""
    ils.item_status = True
    await backend.checkout(P2, "i9")
    assert ils.calls["get_item"] == 1 and ils.calls["list_loans"] == 0
    assert ils.calls["checkout"] == 1


async def test_a_lost_checkout_of_a_copy_from_the_shelf_is_read_back_not_resent(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.item_status = True
    ils.fault("checkout", "lost")
    loan = await backend.checkout(P2, "i9")
    assert loan.item.id == "i9" and ils.calls["checkout"] == 1
    assert ils.calls["list_loans"] == 1  # the read-back, not a baseline


async def test_a_checkout_of_a_copy_on_loan_still_lists_the_patrons_loans(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    """The patron may have it already (a renewal by checkout): the loan's due date is the
    baseline, as before."""
    ils.item_status = True
    ils.lend("p2", "i9")
    await backend.checkout(P2, "i9")
    assert ils.calls["list_loans"] == 1


async def test_checkin_of_unknown_outcome_is_reported_not_guessed(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("checkin", "lost")
    with pytest.raises(OutcomeUnknown):
        await backend.checkin("i3")
    assert ils.calls["checkin"] == 1


async def test_renew_many_settles_unknown_items_by_reading_back(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("renew", "lost")  # i1: renewed, answer lost
    ils.fault("renew", "raise", OutcomeUnknown())  # i2: not renewed
    batch = await backend.renew_many(P1, ["i1", "i2"])
    assert [r.outcome for r in batch.results] == [Outcome.OK, Outcome.OK]
    assert batch.results[0].new_due_date == date(2025, 6, 30)
    assert ils.calls["renew"] == 3  # i1 once, i2 twice (the retry after reading back)
    assert all(loan.renewals_used == 1 for loan in ils.loans["p1"].values())


async def test_renew_many_whose_whole_answer_was_lost(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("renew_many", "lost")
    batch = await backend.renew_many(P1, ["i1", "i2"])
    assert all(r.ok for r in batch.results)
    assert ils.calls["renew"] == 2


async def test_every_call_is_timed(ils: FakeLibrary, clock: FakeClock, sleep: RecordingSleep):
    backend = make(ils, clock, sleep, attempts=1, timeouts=CallTimeouts(read=0.01, write=0.01))
    ils.fault("authenticate", "hang")
    with pytest.raises(BackendUnavailable):
        await backend.authenticate("200000p1", "pw")
    ils.fault("checkin", "hang")
    with pytest.raises(OutcomeUnknown):
        await backend.checkin("i3")


async def test_close_closes_the_inner_backend(backend: ResilientBackend, ils: FakeLibrary):
    await backend.close()
    assert ils.calls["close"] == 1


def test_call_timeouts_from_tenant_timeouts() -> None:
    from ils_gateway.tenants.backends import Timeouts

    t = CallTimeouts.from_backend(Timeouts(connect=1, read=2, write=3, pool=4))
    assert (t.read, t.write) == (7, 10)


def test_a_checkin_is_told_by_the_items_status_only_when_it_was_on_loan() -> None:
    def status(text: str | None) -> ItemModel:
        return ItemModel(id="i1", title="t", circulation_status=text)

    on_loan = readback.item_baseline(status("Checked out"))
    assert readback.returned(on_loan, status("Available")) is True
    assert readback.returned(on_loan, status("checked_out")) is False
    assert readback.returned(on_loan, status("charged")) is False
    assert readback.returned(on_loan, status(None)) is None
    assert readback.returned(readback.item_baseline(status("available")), status("x")) is None
    assert readback.returned(readback.item_baseline(None), status("Available")) is None
