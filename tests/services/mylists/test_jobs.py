"""The periodic jobs over enrolled patrons, against the simulated library through Koha."""

from __future__ import annotations

from mylists_support import OTHER_CARD, OTHER_PASSWORD, PASSWORD, Clock, Library

from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.history_capture import capture_reading_history
from ils_gateway.services.mylists.reading_history import ReadingHistoryService
from ils_gateway.services.mylists.roster import MemoryRoster
from ils_gateway.services.mylists.sequence_enforcement import enforce_hold_sequences
from ils_gateway.services.mylists.sequences import HoldSequenceService
from ils_gateway.store.store import Store


async def test_capture_records_a_loan_returned_before_the_next_login(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    history = ReadingHistoryService(store, clock)
    opened = await history.enable(ctx, library.backend, PASSWORD)
    roster = MemoryRoster()
    await roster.enrol(ctx.tenant.id, ctx.patron)
    other = await library.backend.authenticate(OTHER_CARD, OTHER_PASSWORD)
    await roster.enrol(ctx.tenant.id, other)  # never switched history on: skipped

    # The patron borrows a picture book at the counter while logged out…
    library.sim.checkout(ctx.patron.card_number, "2000105", "CEN")
    report = await capture_reading_history(store, history, ctx.tenant, library.backend, roster)
    assert (report.patrons, report.recorded, report.failed) == (1, 1, [])
    # …and returns it before logging in again: the entry is there.
    library.sim.checkin("2000105", "CEN")
    again = await capture_reading_history(store, history, ctx.tenant, library.backend, roster)
    assert again.recorded == 0
    page = await history.list(ctx, opened.key)
    # (The Koha adapter's loans carry no title yet; the entry keeps whatever the loan says.)
    assert [e.entry.item_id for e in page.entries] == ["2000105"]
    other_ctx = PatronContext.of(store, ctx.tenant, other)
    assert not await store.reading_history.has_key(other_ctx.owner)


async def test_sequence_job_releases_the_next_hold_without_the_patron(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    sequences = HoldSequenceService(store, clock)
    h1 = await library.backend.place_hold(ctx.patron, "2000101", "CEN")
    h2 = await library.backend.place_hold(ctx.patron, "2000102", "CEN")
    await sequences.create(ctx, library.backend, [h1.id, h2.id])
    roster = MemoryRoster()
    await roster.enrol(ctx.tenant.id, ctx.patron)
    library.sim.checkin("2000101", "CEN")
    clock.advance(days=1)
    library.sim.advance()
    assert library.sim.hold_by_id(int(h2.id)).suspended
    report = await enforce_hold_sequences(store, sequences, ctx.tenant, library.backend, roster)
    assert (report.patrons, report.failed) == (1, [])
    assert not library.sim.hold_by_id(int(h2.id)).suspended
