"""A write left unknown by one request is read back, never sent blindly, by the retry (issue 13).

The library system here carries out a write and then goes silent (``silent_after``): the
request that sent it cannot read it back and ends ``OutcomeUnknown``; its journal keeps what the
state was before the write. The retry (same Idempotency-Key: the journal's ``earlier``) reads
the state once the library answers again and decides from the *first* baseline.
"""

from __future__ import annotations

from datetime import date

import pytest
from resilience_fakes import FakeClock, FakeLibrary, RecordingSleep, patron

from ils_gateway.adapters.base import CancelOutcome
from ils_gateway.adapters.resilience.backend import (
    CachePolicy,
    CallTimeouts,
    ResilientBackend,
)
from ils_gateway.adapters.resilience.breaker import BreakerState, CircuitBreaker
from ils_gateway.adapters.resilience.freshness import track_freshness
from ils_gateway.adapters.resilience.journal import PendingWrite, WriteJournal, write_journal
from ils_gateway.domain.errors import BackendProtocolError, OutcomeUnknown, RenewalRefused
from ils_gateway.domain.models import Hold, Item
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.domain.vocab import HoldStatus

P1 = patron("p1")


@pytest.fixture
def ils() -> FakeLibrary:
    lib = FakeLibrary()
    lib.lend("p1", "i1", due=date(2025, 6, 16))
    lib.lend("p1", "i2", due=date(2025, 6, 16))
    return lib


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(ils: FakeLibrary, clock: FakeClock) -> ResilientBackend:
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


async def _first_try(backend: ResilientBackend, call) -> list[PendingWrite]:
    """Run ``call`` in its own request; it must end unknown. Its unknown writes."""
    with write_journal() as journal, pytest.raises(OutcomeUnknown) as raised:
        await call()
    assert "Idempotency-Key" in raised.value.detail, "the problem says what to do"
    return list(WriteJournal.loads(journal.dumps()).values())  # as kept under the key


async def test_renewal_carried_out_then_silent_is_not_made_twice(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_loans(P1)
    ils.fault("renew", "silent_after")
    earlier = await _first_try(backend, lambda: backend.renew(P1, "i1"))
    assert [(w.op, w.target) for w in earlier] == [("renew", "i1")]
    assert earlier[0].baseline["loan"]["due_date"] == "2025-06-16"
    ils.wake()
    # the retry: its own "before" would already show the renewal
    with write_journal(earlier) as journal:
        result = await backend.renew(P1, "i1")
    assert result.ok and result.new_due_date == date(2025, 6, 30)
    assert ils.calls["renew"] == 1, "read back, not sent again"
    assert journal.unknown == {}


async def test_an_earlier_unknown_that_did_not_happen_is_sent_once(
    backend: ResilientBackend, ils: FakeLibrary, clock: FakeClock
) -> None:
    await backend.list_loans(P1)
    ils.fault("renew", "hang")  # nothing done, no answer
    ils.fault("list_loans", "hang")  # and the read-back cannot tell
    earlier = await _first_try(backend, lambda: backend.renew(P1, "i1"))
    clock.advance(5)  # it would have landed by now
    with write_journal(earlier) as journal:
        result = await backend.renew(P1, "i1")
    assert result.ok and ils.loans["p1"]["i1"].renewals_used == 1
    assert ils.calls["renew"] == 2 and journal.unknown == {}


async def test_still_silent_retry_stays_unknown_and_sends_nothing(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_loans(P1)
    ils.fault("renew", "silent_after")
    earlier = await _first_try(backend, lambda: backend.renew(P1, "i1"))
    with write_journal(earlier) as journal, pytest.raises(OutcomeUnknown):
        await backend.renew(P1, "i1")
    assert ils.calls["renew"] == 1
    assert list(journal.unknown.values()) == earlier, "the first baseline is kept"


async def test_renew_many_retry_reads_back_the_unknown_items(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_loans(P1)
    ils.fault("renew_many", "silent_after")
    with write_journal() as first:
        batch = await backend.renew_many(P1, ["i1", "i2"])
    assert {r.error_type for r in batch.results} == {"outcome-unknown"}
    ils.wake()
    with write_journal(first.unknown.values()) as journal:
        batch = await backend.renew_many(P1, ["i1", "i2"])
    assert all(r.ok for r in batch.results)
    assert [ils.loans["p1"][i].renewals_used for i in ("i1", "i2")] == [1, 1]
    assert ils.calls["renew"] == 2 and journal.unknown == {}


async def test_title_level_hold_listed_under_its_record_is_found(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.title_level_ids = True  # placed with the barcode i7, listed as title:51
    ils.fault("place_hold", "lost")
    hold = await backend.place_hold(P1, "i7", "CEN")
    assert hold.id == "title:51" and hold.item.title == "本 i7"
    assert ils.calls["place_hold"] == 1 and list(ils.holds["p1"]) == ["title:51"]


async def test_title_level_hold_placed_then_silent_is_found_by_the_retry(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.title_level_ids = True
    ils.fault("place_hold", "silent_after")
    earlier = await _first_try(backend, lambda: backend.place_hold(P1, "i7", "CEN"))
    assert earlier[0].baseline == {"holds": [], "title": "本 i7"}
    ils.wake()
    with write_journal(earlier):
        hold = await backend.place_hold(P1, "i7", "CEN")
    assert hold.id == "title:51" and ils.calls["place_hold"] == 1


async def test_another_titles_new_hold_does_not_count_as_this_one(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("place_hold", "raise", OutcomeUnknown())  # not done
    ils.holds["p1"] = {}
    other = Hold(
        id="h99", item=Item(id="i8", title="別の本"), title_level=False, status=HoldStatus.WAITING
    )

    async def list_holds_with_another(p):  # another device placed a hold meanwhile
        ils.holds["p1"]["h99"] = other
        return list(ils.holds["p1"].values())

    await backend.list_holds(P1)  # baseline: none
    ils.list_holds = list_holds_with_another  # type: ignore[method-assign]
    hold = await backend.place_hold(P1, "i7", "CEN")
    assert hold.item.id == "i7" and ils.calls["place_hold"] == 2


async def test_cancel_carried_out_then_silent_is_a_cancel_on_retry(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    placed = await backend.place_hold(P1, "i7", "CEN")
    ils.fault("cancel_hold", "silent_after")
    earlier = await _first_try(backend, lambda: backend.cancel_hold(P1, placed.id))
    ils.wake()
    with write_journal(earlier):
        assert await backend.cancel_hold(P1, placed.id) is CancelOutcome.CANCELLED
    assert ils.calls["cancel_hold"] == 1


async def test_checkout_carried_out_then_silent_is_not_sent_again(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_loans(P1)
    ils.fault("checkout", "silent_after")
    earlier = await _first_try(backend, lambda: backend.checkout(P1, "i9"))
    assert earlier[0].baseline == {"known": True, "loan": None}
    ils.wake()
    with write_journal(earlier):
        loan = await backend.checkout(P1, "i9")
    assert loan.item.id == "i9" and ils.calls["checkout"] == 1


async def test_a_garbled_answer_to_a_write_is_read_back(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_loans(P1)
    ils.fault("renew", "raise", BackendProtocolError("an answer for another patron"))
    result = await backend.renew(P1, "i1")  # not done: read back, then sent once more
    assert result.ok and ils.calls["renew"] == 2


async def test_a_refusal_settles_the_write(backend: ResilientBackend, ils: FakeLibrary) -> None:
    await backend.list_loans(P1)
    await backend.renew(P1, "i1")
    with write_journal() as journal:
        with pytest.raises(RenewalRefused):
            await backend.renew(P1, "i1")  # the fake allows one renewal
    assert journal.unknown == {}


async def test_a_retry_that_never_reaches_the_write_keeps_it_unknown(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    await backend.list_loans(P1)
    ils.fault("renew", "silent_after")
    earlier = await _first_try(backend, lambda: backend.renew(P1, "i1"))
    with write_journal(earlier) as journal:
        pass  # e.g. refused by a pre-check before the backend was asked
    assert list(journal.pending.values()) == earlier
    assert WriteJournal.loads(journal.dumps()) == {w.key: w for w in earlier}


async def test_an_unmatched_new_title_level_hold_leaves_the_outcome_unknown(
    backend: ResilientBackend, ils: FakeLibrary
) -> None:
    ils.fault("place_hold", "raise", OutcomeUnknown())  # not done
    ils.holds["p1"] = {}
    other = Hold(id="title:77", item=Item(id="title:77", title="別の本"), status=HoldStatus.WAITING)

    async def list_holds_with_another(p):  # a title-level hold whose title reads otherwise
        ils.holds["p1"]["title:77"] = other
        return list(ils.holds["p1"].values())

    await backend.list_holds(P1)
    ils.list_holds = list_holds_with_another  # type: ignore[method-assign]
    with pytest.raises(OutcomeUnknown):
        await backend.place_hold(P1, "i7", "CEN")
    assert ils.calls["place_hold"] == 1, "not sent twice on a guess"


async def test_protocol_errors_serve_last_good_data_and_count_for_the_breaker(
    ils: FakeLibrary, clock: FakeClock
) -> None:
    breaker = CircuitBreaker("t", failure_threshold=2, clock=clock)
    backend = ResilientBackend(
        ils, tenant_id="t", breaker=breaker, retry=RetryPolicy(attempts=1), clock=clock
    )
    fresh = await backend.list_loans(P1)
    clock.advance(120)  # no longer fresh
    ils.fault("list_loans", "raise", BackendProtocolError("an answer for another patron"), 2)
    with track_freshness() as freshness:
        assert await backend.list_loans(P1) == fresh
        assert await backend.list_loans(P1) == fresh
    assert freshness.stale
    assert breaker.state is BreakerState.OPEN
