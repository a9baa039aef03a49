"""EbookService against the simulated e-library over real HTTP, with Ibaraki's tenant rules.

The gateway's clock and the e-library's are one ``ManualClock``. The tenant context has no ILS
backend at all: e-book use cases must never touch the library system.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from ils_gateway.adapters.resilience.journal import PendingWrite, write_journal
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import (
    BackendUnavailable,
    FeatureDisabled,
    HoldRefused,
    MaintenanceWindow,
    NotFound,
    Refused,
)
from ils_gateway.domain.models import Item, Loan, Patron
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.domain.vocab import (
    Channel,
    Feature,
    HoldStatus,
    ItemSource,
    Outcome,
    RefusalReason,
)
from ils_gateway.elibrary.client import KinodenClient
from ils_gateway.elibrary.kinoden import KinodenBackend
from ils_gateway.elibrary.resilient import ResilientElibrary
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.ebooks.service import EbookService
from ils_gateway.simulators.elibrary import (
    ELIBRARY_STATE,
    JST,
    ElibrarySimulatorConfig,
    ElibraryState,
    create_elibrary_app,
)
from ils_gateway.tenants.backends import KinodenElibrary
from ils_gateway.tenants.loader import load_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
FAST = RetryPolicy(attempts=2, first_wait=0.0)
SECRET = "ebook-service-test-secret"
START = datetime(2025, 6, 2, 10, 0, tzinfo=JST)


def patron(card: str) -> Caller:
    return Caller(patron=Patron(id=card, card_number=card, name="利用者"))


HANAKO, TARO = patron("1000000001"), patron("1000000002")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def elibrary(aiohttp_server, clock) -> AsyncIterator[tuple[KinodenBackend, ElibraryState]]:
    app = create_elibrary_app(ElibrarySimulatorConfig(client_secret=SECRET), clock)
    server = await aiohttp_server(app, host="127.0.0.1", port=0)
    config = KinodenElibrary(
        kind="kinoden",
        base_url=str(server.make_url("")),
        client_id="ils-gateway",
        client_secret=SecretStr(SECRET),
    )
    backend = KinodenBackend(KinodenClient(config, retry=FAST, retry_after=7))
    yield backend, app[ELIBRARY_STATE]
    await backend.aclose()


def ibaraki(elibrary_backend, clock) -> EbookService:
    tenant = load_tenants(EXAMPLES / "ibaraki.toml").get("ibaraki")
    context = TenantContext(config=tenant, backend=None, clock=clock)  # type: ignore[arg-type]
    return EbookService(context, elibrary_backend)


@pytest.fixture
def service(elibrary, clock) -> EbookService:
    return ibaraki(elibrary[0], clock)


async def test_fourth_loan_is_refused_by_the_tenant_rule_before_asking(service, elibrary):
    _, state = elibrary
    for title_id in ("KD000001", "KD000003", "KD000008"):
        loan = await service.borrow(HANAKO, title_id)
        assert loan.due == START + timedelta(days=15)
    with pytest.raises(Refused) as refused:
        await service.borrow(HANAKO, "KD000011")
    assert refused.value.reason is RefusalReason.LOAN_LIMIT
    assert refused.value.backend_message is None  # the gateway said no, not the e-library
    assert len(state.checkouts(HANAKO.patron.card_number)) == 3


async def test_borrowing_the_same_title_twice_is_refused(service):
    await service.borrow(HANAKO, "KD000001")
    with pytest.raises(Refused) as refused:
        await service.borrow(HANAKO, "KD000001")
    assert refused.value.reason is RefusalReason.ALREADY_ON_LOAN


async def test_fourth_hold_is_refused_and_the_elibrary_refusals_pass_through(service):
    lent = ("KD000002", "KD000004", "KD000006", "KD000007")  # one copy each
    for title_id in lent:
        await service.borrow(TARO, title_id) if title_id != "KD000007" else None
    await service.borrow(patron("1000000009"), "KD000007")
    for title_id in lent[:3]:
        hold = await service.place_hold(HANAKO, title_id)
        assert hold.status is HoldStatus.WAITING and hold.queue_position == 1
    with pytest.raises(HoldRefused) as limit:
        await service.place_hold(HANAKO, "KD000007")
    assert limit.value.reason is RefusalReason.HOLD_LIMIT
    with pytest.raises(HoldRefused) as duplicate:
        await service.place_hold(HANAKO, "KD000002")
    assert duplicate.value.reason is RefusalReason.DUPLICATE_HOLD
    # A free title needs no hold: the e-library's own refusal, with its own message.
    with pytest.raises(HoldRefused) as available:
        await service.place_hold(TARO, "KD000003")
    assert available.value.reason is RefusalReason.TITLE_AVAILABLE
    assert available.value.backend_message


async def test_ready_hold_is_borrowed_and_lapses_after_seven_days(service, elibrary, clock):
    _, state = elibrary
    await service.borrow(TARO, "KD000002")
    await service.borrow(TARO, "KD000004")
    await service.place_hold(HANAKO, "KD000002")
    await service.place_hold(HANAKO, "KD000004")
    await service.return_loan(TARO, "KD000002")
    await service.return_loan(TARO, "KD000004")
    ready = {h.title.id: h for h in await service.holds(HANAKO)}
    assert {h.status for h in ready.values()} == {HoldStatus.READY}
    assert ready["KD000002"].ready_until == START + timedelta(days=7)
    loan = await service.borrow(HANAKO, "KD000002")
    assert loan.title.id == "KD000002"
    clock.advance(timedelta(days=7))
    assert await service.holds(HANAKO) == []
    assert [e.type for e in state.events][-1] == "hold_expired"


async def test_place_holds_gives_one_result_per_title(service):
    await service.borrow(TARO, "KD000002")
    batch = await service.place_holds(HANAKO, ["KD000002", "KD000002", "KD999999"])
    outcomes = [(r.outcome, r.reason) for r in batch.results]
    assert outcomes[0] == (Outcome.OK, None)
    assert outcomes[1] == (Outcome.REFUSED, RefusalReason.DUPLICATE_HOLD)
    assert outcomes[2][0] is Outcome.ERROR and batch.results[2].error_type == "not-found"
    hold = batch.results[0].hold
    assert hold is not None and hold.source is ItemSource.EBOOK and hold.item.id == "KD000002"


async def test_title_availability(service):
    await service.borrow(TARO, "KD000001")
    title = await service.title(TARO, "KD000001")
    assert title.availability is not None
    assert (title.availability.copies_owned, title.availability.copies_available) == (2, 1)
    titles = await service.titles(TARO, ["KD000002", "KD999999", "KD000002"])
    assert [t.id for t in titles] == ["KD000002"]
    with pytest.raises(NotFound):
        await service.title(TARO, "KD999999")


def _ils_loan(item_id: str, due: date) -> Loan:
    return Loan(id=item_id, item=Item(id=item_id, title="本"), due_date=due)


async def _ils_loans() -> list[Loan]:
    return [_ils_loan("B1", date(2025, 6, 10)), _ils_loan("B2", date(2025, 6, 30))]


async def test_merged_loans_carry_source_and_local_due_dates(service):
    await service.borrow(HANAKO, "KD000001")
    loans, part = await service.merged_loans(HANAKO, _ils_loans())
    assert part.available and part.count == 1
    assert [(x.item.id, x.source, x.due_date) for x in loans] == [
        ("B1", ItemSource.ILS, date(2025, 6, 10)),
        ("KD000001", ItemSource.EBOOK, date(2025, 6, 17)),
        ("B2", ItemSource.ILS, date(2025, 6, 30)),
    ]
    assert loans[1].renewable is False


async def test_a_failing_elibrary_never_hides_the_ils_part(elibrary, clock):
    dead = KinodenElibrary(
        kind="kinoden",
        base_url="http://127.0.0.1:9",  # discard port: nothing listens
        client_id="ils-gateway",
        client_secret=SecretStr(SECRET),
    )
    backend = KinodenBackend(KinodenClient(dead, retry=FAST, retry_after=7))
    try:
        service = ibaraki(backend, clock)
        loans, part = await service.merged_loans(HANAKO, _ils_loans())
        holds, holds_part = await service.merged_holds(HANAKO, _no_ils_holds())
        with pytest.raises(BackendUnavailable):
            await service.borrow(HANAKO, "KD000001")
    finally:
        await backend.aclose()
    assert [loan.item.id for loan in loans] == ["B1", "B2"]
    assert not part.available and part.detail
    assert holds == [] and not holds_part.available


async def _no_ils_holds() -> list:
    return []


class _StuckElibrary:
    """An e-library whose loan list never answers; records whether the read was cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def list_loans(self, card_number: str) -> list:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return []


async def test_an_ils_failure_fails_the_list_and_cancels_the_ebook_read(clock):
    stuck = _StuckElibrary()
    service = ibaraki(stuck, clock)

    async def failing() -> list[Loan]:
        await stuck.started.wait()
        raise BackendUnavailable("down", retry_after=5)

    with pytest.raises(BackendUnavailable):
        await service.merged_loans(HANAKO, failing())
    for _ in range(3):  # let the cancellation be delivered
        await asyncio.sleep(0)
    assert stuck.cancelled


def test_hold_limit_is_the_stricter_of_the_two_settings(elibrary, clock):
    service = ibaraki(elibrary[0], clock)
    assert service.max_holds == 3


# -- maintenance window and kiosk restrictions ------------------------------------------------

IN_WINDOW = datetime(2025, 6, 3, 3, 55, tzinfo=JST)  # Ibaraki pauses writes 03:50-04:20


async def test_ebook_writes_are_refused_during_the_maintenance_window(service, elibrary, clock):
    _, state = elibrary
    await service.borrow(HANAKO, "KD000001")
    await service.borrow(TARO, "KD000002")
    await service.place_hold(HANAKO, "KD000002")
    clock.advance(IN_WINDOW - clock())
    writes = [
        service.borrow(HANAKO, "KD000003"),
        service.return_loan(HANAKO, "KD000001"),
        service.place_hold(TARO, "KD000004"),
        service.place_holds(TARO, ["KD000004"]),
        service.cancel_hold(HANAKO, "KD000002"),
    ]
    for write in writes:
        with pytest.raises(MaintenanceWindow) as paused:
            await write
        assert paused.value.until == datetime(2025, 6, 3, 4, 20, tzinfo=JST)
    # Nothing reached the e-library, and reads still answer.
    assert [loan.title.id for loan in await service.loans(HANAKO)] == ["KD000001"]
    assert [hold.title.id for hold in await service.holds(HANAKO)] == ["KD000002"]
    assert len(state.checkouts(HANAKO.patron.card_number)) == 1
    clock.advance(timedelta(minutes=25))  # 04:20: the window has closed
    await service.return_loan(HANAKO, "KD000001")
    assert await service.loans(HANAKO) == []


def kiosk_without_ebooks(elibrary_backend, clock) -> EbookService:
    tenant = load_tenants(EXAMPLES / "ibaraki.toml").get("ibaraki")
    policy = tenant.policy.model_copy(
        update={"disabled_features": {Channel.KIOSK: frozenset({Feature.EBOOKS})}}
    )
    tenant = tenant.model_copy(update={"policy": policy})
    context = TenantContext(config=tenant, backend=None, clock=clock)  # type: ignore[arg-type]
    return EbookService(context, elibrary_backend)


async def test_title_lookup_follows_the_kiosk_restrictions(elibrary, clock):
    service = kiosk_without_ebooks(elibrary[0], clock)
    at_kiosk = Caller(patron=HANAKO.patron, channel=Channel.KIOSK)
    with pytest.raises(FeatureDisabled):
        await service.title(at_kiosk, "KD000001")
    with pytest.raises(FeatureDisabled):
        await service.titles(at_kiosk, ["KD000001"])
    assert (await service.title(HANAKO, "KD000001")).id == "KD000001"  # web is not restricted


async def test_fresh_cached_ebook_lists_merge_without_a_task_and_with_the_same_entries(
    elibrary, clock, monkeypatch
):
    from ils_gateway.elibrary.resilient import ResilientElibrary

    seconds = lambda: clock().timestamp()  # noqa: E731
    resilient = ResilientElibrary(elibrary[0], tenant_id="ibaraki", clock=seconds)
    service = ibaraki(resilient, clock)
    await service.borrow(HANAKO, "KD000001")
    clock.advance(timedelta(seconds=1))  # reads in the instant of a write count as before it
    first, _ = await service.merged_loans(HANAKO, _ils_loans())  # reads the e-library: a task

    concurrent: list[int] = []
    both = EbookService._both

    async def counted(first, second):
        concurrent.append(1)
        return await both(first, second)

    monkeypatch.setattr(EbookService, "_both", staticmethod(counted))
    again, part = await service.merged_loans(HANAKO, _ils_loans())
    assert concurrent == [], "no task beside the ILS read for a fresh cached e-book list"
    await service.merged_holds(HANAKO, _no_ils_holds())  # not read yet: read beside the ILS
    assert concurrent == [1]
    assert part.available and part.count == 1
    ebook = [loan for loan in again if loan.source is ItemSource.EBOOK]
    assert ebook[0] is next(x for x in first if x.source is ItemSource.EBOOK)


async def test_a_borrow_left_unknown_is_read_back_by_the_retry_not_refused(elibrary, clock):
    """Issue 13: the first borrow was carried out but its answer lost (the journal kept it);
    the retry with the same key must answer the loan, not "already on loan"."""
    backend, state = elibrary
    resilient = ResilientElibrary(backend, tenant_id="ibaraki", clock=lambda: START.timestamp())
    service = ibaraki(resilient, clock)
    await backend.borrow(HANAKO.patron.card_number, "KD000001")  # done; the answer was lost
    earlier = [PendingWrite("ebook_borrow", "KD000001")]
    with write_journal(earlier) as journal:
        loan = await service.borrow(HANAKO, "KD000001")
    assert loan.title.id == "KD000001" and journal.pending == {}
    assert len(state.checkouts(HANAKO.patron.card_number)) == 1


async def test_an_ebook_hold_left_unknown_is_read_back_not_refused_as_duplicate(elibrary, clock):
    backend, _ = elibrary
    resilient = ResilientElibrary(backend, tenant_id="ibaraki", clock=lambda: START.timestamp())
    service = ibaraki(resilient, clock)
    await service.borrow(TARO, "KD000002")
    await backend.place_hold(HANAKO.patron.card_number, "KD000002")  # done; answer lost
    with write_journal([PendingWrite("ebook_place_hold", "KD000002")]):
        batch = await service.place_holds(HANAKO, ["KD000002"])
    assert [r.outcome for r in batch.results] == [Outcome.OK]
