"""``ResilientElibrary``: e-library reads cached per patron and title, dropped on that patron's
writes, refused fast by the breaker and served stale from the last good data (injected clock)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from ils_gateway.adapters.resilience.breaker import BreakerState, CircuitBreaker
from ils_gateway.adapters.resilience.cache import MemoryReadCache
from ils_gateway.adapters.resilience.freshness import track_freshness
from ils_gateway.adapters.resilience.journal import write_journal
from ils_gateway.domain.ebooks import EbookAvailability, EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    NotFound,
    OutcomeUnknown,
)
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.elibrary.resilient import ElibraryCachePolicy, ResilientElibrary

START = datetime(2025, 4, 1, 1, 0, tzinfo=UTC)


class Clock:
    """Epoch seconds that move only when told."""

    def __init__(self) -> None:
        self.now = START.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def title(title_id: str, free: int = 1) -> EbookTitle:
    return EbookTitle(
        id=title_id,
        title=f"電子書籍 {title_id}",
        availability=EbookAvailability(copies_owned=2, copies_available=free),
    )


class FakeElibrary:
    """A test double of the e-library: titles, loans and holds in memory, and a down switch."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.titles = {i: title(i) for i in ("KD1", "KD2", "KD3")}
        self.loans: dict[str, list[EbookLoan]] = {}
        self.holds: dict[str, list[EbookHold]] = {}
        self.calls: Counter[str] = Counter()
        self.down = False

    def _call(self, op: str) -> None:
        self.calls[op] += 1
        if self.down:
            raise BackendUnavailable(retry_after=30, operator_detail="e-library down")

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def list_loans(self, card_number: str) -> list[EbookLoan]:
        self._call("list_loans")
        return list(self.loans.get(card_number, []))

    async def list_holds(self, card_number: str) -> list[EbookHold]:
        self._call("list_holds")
        return list(self.holds.get(card_number, []))

    async def place_hold(
        self, card_number: str, title_id: str, *, email: str | None = None
    ) -> EbookHold:
        self._call("place_hold")
        hold = EbookHold(
            title=self.titles[title_id],
            status=HoldStatus.WAITING,
            placed=self._now(),
            queue_position=1,
        )
        self.holds.setdefault(card_number, []).append(hold)
        return hold

    async def cancel_hold(self, card_number: str, title_id: str) -> None:
        self._call("cancel_hold")
        self.holds[card_number] = [
            h for h in self.holds.get(card_number, []) if h.title.id != title_id
        ]

    async def borrow(self, card_number: str, title_id: str) -> EbookLoan:
        self._call("borrow")
        now = self._now()
        loan = EbookLoan(title=self.titles[title_id], borrowed=now, due=now + timedelta(days=14))
        self.loans.setdefault(card_number, []).append(loan)
        return loan

    async def return_loan(self, card_number: str, title_id: str) -> None:
        self._call("return_loan")
        loans = self.loans.get(card_number, [])
        if not any(loan.title.id == title_id for loan in loans):
            raise NotFound("not on loan")
        self.loans[card_number] = [loan for loan in loans if loan.title.id != title_id]

    async def get_title(self, title_id: str) -> EbookTitle:
        self._call("get_title")
        if title_id not in self.titles:
            raise NotFound("unknown title")
        return self.titles[title_id]

    async def get_titles(self, title_ids: Sequence[str]) -> list[EbookTitle]:
        self._call("get_titles")
        self.calls["titles_asked"] += len(title_ids)
        return [self.titles[i] for i in title_ids if i in self.titles]

    async def aclose(self) -> None:
        pass


CARD = "2000000001"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeElibrary:
    return FakeElibrary(clock)


@pytest.fixture
def elibrary(fake: FakeElibrary, clock: Clock) -> ResilientElibrary:
    breaker = CircuitBreaker("e-library", failure_threshold=2, cooldown=30, clock=clock)
    return ResilientElibrary(
        fake,
        tenant_id="t",
        breaker=breaker,
        cache_policy=ElibraryCachePolicy(patron_fresh_for=60, title_fresh_for=30),
        clock=clock,
    )


async def test_lists_are_cached_per_patron_until_they_age(elibrary, fake, clock) -> None:
    await fake.borrow(CARD, "KD1")
    first = await elibrary.list_loans(CARD)
    assert [loan.title.id for loan in first] == ["KD1"]
    assert await elibrary.list_loans(CARD) == first
    assert await elibrary.list_loans("2000000002") == []  # another patron: their own read
    assert fake.calls["list_loans"] == 2
    await fake.borrow(CARD, "KD2")  # behind the gateway's back: seen once the entry ages
    clock.advance(59)
    assert len(await elibrary.list_loans(CARD)) == 1
    clock.advance(1)
    assert len(await elibrary.list_loans(CARD)) == 2
    assert fake.calls["list_loans"] == 3


async def test_a_patrons_writes_drop_their_cached_lists(elibrary, fake) -> None:
    assert await elibrary.list_loans(CARD) == []
    assert await elibrary.list_holds(CARD) == []
    await elibrary.borrow(CARD, "KD1")
    assert [loan.title.id for loan in await elibrary.list_loans(CARD)] == ["KD1"]
    await elibrary.place_hold(CARD, "KD2")
    assert [hold.title.id for hold in await elibrary.list_holds(CARD)] == ["KD2"]
    await elibrary.cancel_hold(CARD, "KD2")
    assert await elibrary.list_holds(CARD) == []
    await elibrary.return_loan(CARD, "KD1")
    assert await elibrary.list_loans(CARD) == []
    with pytest.raises(NotFound):  # a refused write drops them too (it may have changed things)
        await elibrary.return_loan(CARD, "KD1")
    assert await elibrary.list_loans(CARD) == []
    assert fake.calls["list_loans"] == 4 and fake.calls["list_holds"] == 3


async def test_a_list_handed_out_cannot_change_the_cache(elibrary, fake) -> None:
    await fake.borrow(CARD, "KD1")
    mine = await elibrary.list_loans(CARD)
    mine.clear()
    assert len(await elibrary.list_loans(CARD)) == 1
    assert fake.calls["list_loans"] == 1


async def test_a_cached_loan_past_its_due_instant_is_left_out(elibrary, fake, clock) -> None:
    policy = ElibraryCachePolicy(patron_fresh_for=3 * 3600)
    kept = MemoryReadCache(personal_keep_for=3 * 3600, clock=clock)  # fresh as long as kept
    long_lived = ResilientElibrary(
        fake, tenant_id="t", cache=kept, cache_policy=policy, clock=clock
    )
    borrowed = datetime.fromtimestamp(clock(), UTC) - timedelta(days=14)
    fake.loans[CARD] = [
        EbookLoan(
            title=title("KD1"), borrowed=borrowed, due=borrowed + timedelta(days=14, hours=1)
        ),
        EbookLoan(title=title("KD2"), borrowed=borrowed, due=borrowed + timedelta(days=15)),
    ]
    assert len(await long_lived.list_loans(CARD)) == 2
    clock.advance(3600)  # the e-library returned KD1 by itself at its due instant
    assert [loan.title.id for loan in await long_lived.list_loans(CARD)] == ["KD2"]
    assert fake.calls["list_loans"] == 1


async def test_down_lists_are_served_stale_then_refused_fast(elibrary, fake, clock) -> None:
    await fake.borrow(CARD, "KD1")
    read_at = datetime.fromtimestamp(clock(), UTC)
    good = await elibrary.list_loans(CARD)
    clock.advance(120)
    fake.down = True
    with track_freshness() as freshness:
        assert await elibrary.list_loans(CARD) == good
    assert freshness.stale and freshness.as_of == read_at
    with track_freshness():
        assert await elibrary.list_loans(CARD) == good  # second failure: the breaker opens
    calls = fake.calls["list_loans"]
    with track_freshness() as freshness:
        assert await elibrary.list_loans(CARD) == good
    assert freshness.stale and fake.calls["list_loans"] == calls  # not asked while open
    with pytest.raises(BackendUnavailable):  # nothing good to fall back on
        await elibrary.list_holds(CARD)
    with pytest.raises(BackendUnavailable):  # writes are refused fast too
        await elibrary.borrow(CARD, "KD2")
    assert fake.calls["borrow"] == 1
    assert elibrary.metrics["stale_served"] == 3
    clock.advance(30)  # cool-down over: the probe finds it back and the list is fresh again
    fake.down = False
    with track_freshness() as freshness:
        assert await elibrary.list_loans(CARD) == good
    assert not freshness.stale


async def test_titles_are_cached_one_by_one(elibrary, fake, clock) -> None:
    assert [t.id for t in await elibrary.get_titles(["KD1", "KD2", "KD1", "nope"])] == [
        "KD1",
        "KD2",
    ]
    assert fake.calls["titles_asked"] == 3
    assert [t.id for t in await elibrary.get_titles(["KD2", "KD3"])] == ["KD2", "KD3"]
    assert fake.calls["titles_asked"] == 4  # only KD3 was asked
    assert (await elibrary.get_title("KD3")).id == "KD3"
    assert fake.calls["get_title"] == 0
    await elibrary.borrow(CARD, "KD3")  # the title written about is read afresh
    fake.titles["KD3"] = title("KD3", free=0)
    assert not (await elibrary.get_title("KD3")).can_borrow_now
    assert fake.calls["get_title"] == 1


async def test_titles_stale_only_when_every_id_has_last_good_data(elibrary, fake, clock) -> None:
    await elibrary.get_titles(["KD1", "KD2"])
    clock.advance(31)
    fake.down = True
    with track_freshness() as freshness:
        assert [t.id for t in await elibrary.get_titles(["KD2", "KD1"])] == ["KD2", "KD1"]
    assert freshness.stale
    with pytest.raises(BackendUnavailable):  # KD3 was never read: unknown, not "not licensed"
        await elibrary.get_titles(["KD1", "KD3"])


async def test_fresh_lists_in_process_are_answered_without_io(elibrary, fake, clock) -> None:
    await fake.borrow(CARD, "KD1")
    await fake.place_hold(CARD, "KD2")
    assert elibrary.fresh_loans(CARD) is None and elibrary.fresh_holds(CARD) is None
    loans, holds = await elibrary.list_loans(CARD), await elibrary.list_holds(CARD)
    calls = dict(fake.calls)
    assert elibrary.fresh_loans(CARD) == loans and elibrary.fresh_holds(CARD) == holds
    assert elibrary.fresh_loans(CARD)[0] is loans[0], "the cached objects themselves"
    assert dict(fake.calls) == calls
    clock.advance(61)
    assert elibrary.fresh_loans(CARD) is None, "aged: only an awaited read may refresh it"


async def test_fresh_loans_leave_out_loans_past_due(fake, clock) -> None:
    month = ElibraryCachePolicy(patron_fresh_for=30 * 86400)
    kept = MemoryReadCache(personal_keep_for=30 * 86400, clock=clock)  # fresh as long as kept
    elibrary = ResilientElibrary(fake, tenant_id="t", cache=kept, cache_policy=month, clock=clock)
    now = datetime.fromtimestamp(clock(), UTC)
    fake.loans[CARD] = [EbookLoan(title=title("KD1"), borrowed=now, due=now + timedelta(hours=1))]
    await elibrary.list_loans(CARD)
    clock.advance(3601)  # due passed: the e-library has returned it
    assert elibrary.fresh_loans(CARD) == [] == await elibrary.list_loans(CARD)


async def test_fresh_lists_need_a_cache_in_this_process(fake, clock) -> None:
    class RemoteCache:  # like the Redis cache: nothing to peek at without awaiting
        def __init__(self) -> None:
            self.entries: dict = {}

        async def get(self, scope, key):
            return self.entries.get((scope, key))

        async def put(self, scope, key, entry):
            self.entries[(scope, key)] = entry

        async def expire(self, scope, key=None):
            pass

    elibrary = ResilientElibrary(fake, tenant_id="t", cache=RemoteCache(), clock=clock)
    await fake.borrow(CARD, "KD1")
    await elibrary.list_loans(CARD)
    assert elibrary.fresh_loans(CARD) is None


# --- writes of unknown outcome are read back (issue 13) -------------------------------------


class LosingElibrary(FakeElibrary):
    """Carries out the next ``lose`` write and then loses its answer; ``silent`` makes every
    list fail as well (a system gone quiet right after the write)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.lose: set[str] = set()
        self.silent = False

    def _call(self, op: str) -> None:
        super()._call(op)
        if self.silent and op.startswith("list_"):
            raise BackendUnavailable(retry_after=1, operator_detail="silent")

    async def _lost(self, op: str, result):  # type: ignore[no-untyped-def]
        if op in self.lose:
            self.lose.discard(op)
            raise OutcomeUnknown(operator_detail="answer lost")
        return result

    async def place_hold(self, card_number, title_id, *, email=None):  # type: ignore[no-untyped-def]
        return await self._lost("place_hold", await super().place_hold(card_number, title_id))

    async def cancel_hold(self, card_number, title_id):  # type: ignore[no-untyped-def]
        return await self._lost("cancel_hold", await super().cancel_hold(card_number, title_id))

    async def borrow(self, card_number, title_id):  # type: ignore[no-untyped-def]
        return await self._lost("borrow", await super().borrow(card_number, title_id))


@pytest.fixture
def losing(clock: Clock) -> LosingElibrary:
    return LosingElibrary(clock)


@pytest.fixture
def resilient_losing(losing: LosingElibrary, clock: Clock) -> ResilientElibrary:
    breaker = CircuitBreaker("e-library", failure_threshold=20, clock=clock)
    return ResilientElibrary(losing, tenant_id="t", breaker=breaker, clock=clock)


async def test_lost_answer_to_an_ebook_hold_is_read_back_not_repeated(
    resilient_losing: ResilientElibrary, losing: LosingElibrary
) -> None:
    losing.lose.add("place_hold")
    hold = await resilient_losing.place_hold(CARD, "KD2")
    assert hold.title.id == "KD2"
    assert losing.calls["place_hold"] == 1 and len(losing.holds[CARD]) == 1


async def test_lost_answer_to_an_ebook_cancel_is_a_cancel(
    resilient_losing: ResilientElibrary, losing: LosingElibrary
) -> None:
    await resilient_losing.place_hold(CARD, "KD2")
    losing.lose.add("cancel_hold")
    await resilient_losing.cancel_hold(CARD, "KD2")
    assert losing.calls["cancel_hold"] == 1 and losing.holds[CARD] == []


async def test_ebook_borrow_done_then_silent_is_settled_by_the_retry(
    resilient_losing: ResilientElibrary, losing: LosingElibrary
) -> None:
    losing.lose.add("borrow")
    losing.silent = True
    with write_journal() as first, pytest.raises(OutcomeUnknown) as raised:
        await resilient_losing.borrow(CARD, "KD1")
    assert "Idempotency-Key" in raised.value.detail
    losing.silent = False
    with write_journal(first.unknown.values()) as retry:
        loan = await resilient_losing.borrow(CARD, "KD1")
    assert loan.title.id == "KD1"
    assert losing.calls["borrow"] == 1 and len(losing.loans[CARD]) == 1
    assert retry.unknown == {}


async def test_protocol_errors_open_the_breaker_and_lists_are_served_stale(
    fake: FakeElibrary, clock: Clock
) -> None:
    breaker = CircuitBreaker("e-library", failure_threshold=2, clock=clock)
    elibrary = ResilientElibrary(fake, tenant_id="t", breaker=breaker, clock=clock)
    await elibrary.list_holds(CARD)
    clock.advance(120)  # no longer fresh

    async def garbage(card_number: str) -> list[EbookHold]:
        raise BackendProtocolError("not JSON")

    fake.list_holds = garbage  # type: ignore[method-assign]
    with track_freshness() as freshness:
        assert await elibrary.list_holds(CARD) == []
        assert await elibrary.list_holds(CARD) == []
    assert freshness.stale
    assert breaker.state is BreakerState.OPEN
