"""The SIP2 adapter runs on the clock it is given: transaction dates, today, batch times."""

from __future__ import annotations

import pytest
from sip2_acs_recording import RecordingACS, backend_config

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.vocab import LoanState
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.sip2.fields import SipDate
from ils_gateway.sip2.messages import Message
from ils_gateway.sip2.server import SIP2Server, SIP2Session

HANAKO = ("1000000001", "hanako01")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SAMPLE_NOW)


@pytest.fixture
def library(clock: ManualClock) -> SimulatedLibrary:
    return sample_library(clock=clock)


async def test_requests_and_overdue_days_follow_the_injected_clock(
    acs: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary, clock: ManualClock
) -> None:
    recording, server = acs
    dated: list[SipDate] = []

    async def note_date(message: Message, session: SIP2Session, handle) -> Message:
        date = getattr(message, "transaction_date", None)
        if date is not None:
            dated.append(date)
        return await handle(message, session)

    recording.intercept = note_date
    clock.advance(days=3)  # the library's (and the adapter's) clock, far from wall time
    adapter = Sip2Backend(backend_config(server.port), now=library.now)
    await adapter.start()
    try:
        patron = await adapter.authenticate(*HANAKO)
        loans = await adapter.list_loans(patron)
        batch = await adapter.renew_many(patron, [loans[0].item.id])
    finally:
        await adapter.close()

    now = library.now()
    expected = SipDate.from_datetime(now.replace(tzinfo=None))
    assert dated and set(dated) == {expected}, dated
    assert batch.completed_at == now
    today = now.date()
    for loan in loans:
        late = max(0, (today - loan.due_date).days)
        assert loan.days_overdue == late, loan
        assert (loan.state is LoanState.OVERDUE) == (late > 0), loan
    assert any(loan.due_date >= today for loan in loans), "on wall time every loan is overdue"
