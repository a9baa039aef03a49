"""Writes of unknown outcome over SIP2, through the resilience layer (issue 13).

The simulated ACS over TCP carries out a write and then answers nothing (``silent``: that
request, or everything until ``speak()``). Loop time is fast-forwarded (``looptime``), so the
timeouts cost no real time. A title-level hold placed with a barcode is listed under its
record (``title:<biblio id> <title>``) and must be recognised; a renewal or cancel left unknown
by a silent ACS is read back by the retry (same Idempotency-Key: the journal) and never sent
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sip2_acs_recording import RecordingACS, backend_config

from ils_gateway.adapters.base import CancelOutcome
from ils_gateway.adapters.resilience.backend import CallTimeouts, ResilientBackend
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.adapters.resilience.journal import write_journal
from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.contract.embedded import holdable_waiting_item
from ils_gateway.deadline import request_deadline
from ils_gateway.domain.errors import OutcomeUnknown
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.policy import HoldState
from ils_gateway.sip2.messages import Message
from ils_gateway.sip2.server import SIP2Server, SIP2ServerSettings, SIP2Session

pytestmark = pytest.mark.looptime

HANAKO = ("1000000001", "hanako01")


class SilentAfter:
    """Lets the first request with ``code`` through to the ACS, then answers nothing: that
    request only (``everything=False``) or every request until ``speak()``."""

    def __init__(self, code: str, *, everything: bool) -> None:
        self.code = code
        self.everything = everything
        self.silent = False
        self.done = False
        self._end = asyncio.Event()

    def speak(self) -> None:
        self.silent = False

    def end(self) -> None:
        """Let the requests still hanging go (the test is over)."""
        self._end.set()

    async def __call__(self, message: Message, session: SIP2Session, handle) -> Message:  # type: ignore[no-untyped-def]
        if self.silent:
            await self._end.wait()
        answer = await handle(message, session)
        if message.code == self.code and not self.done:
            self.done = True
            self.silent = self.everything
            await self._end.wait()
        return answer


@pytest.fixture
async def wire(library: SimulatedLibrary) -> AsyncIterator[tuple[RecordingACS, SIP2Server]]:
    recording = RecordingACS(library)
    server = SIP2Server(recording.handle, SIP2ServerSettings(login_required=True))
    await server.start()
    yield recording, server
    if isinstance(recording.intercept, SilentAfter):
        recording.intercept.end()
    await server.aclose()


@pytest.fixture
async def resilient(
    wire: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary
) -> AsyncIterator[ResilientBackend]:
    _, server = wire
    adapter = Sip2Backend(backend_config(server.port), today=library.today)
    await adapter.start()
    clock = lambda: asyncio.get_running_loop().time()  # noqa: E731
    yield ResilientBackend(
        adapter,
        tenant_id="t",
        breaker=CircuitBreaker("t", failure_threshold=50, clock=clock),
        retry=RetryPolicy(attempts=1),
        timeouts=CallTimeouts(read=5.0, write=5.0),
        clock=clock,
    )
    await adapter.close()


async def test_title_level_hold_whose_answer_never_came_is_found_under_its_record(
    wire: tuple[RecordingACS, SIP2Server], resilient: ResilientBackend, library: SimulatedLibrary
) -> None:
    recording, _ = wire
    patron = await resilient.authenticate(*HANAKO)
    barcode = holdable_waiting_item(library, HANAKO[0])
    assert barcode is not None
    await resilient.list_holds(patron)  # the state before
    recording.intercept = SilentAfter("15", everything=False)

    hold = await resilient.place_hold(patron, barcode, "KITA")

    biblio = library.item_info(barcode).biblio_id
    assert hold.id == f"title:{biblio}", "listed under its record, not the barcode"
    assert recording.counts["15"] == 1
    assert sum(v.biblio_id == biblio for v in library.holds(HANAKO[0])) == 1


async def test_renewal_carried_out_then_silent_is_made_once(
    wire: tuple[RecordingACS, SIP2Server], resilient: ResilientBackend, library: SimulatedLibrary
) -> None:
    recording, _ = wire
    patron = await resilient.authenticate(*HANAKO)
    loans = await resilient.list_loans(patron)
    # Plain SIP2 does not say which loans can be renewed (renewable None): ask the library.
    can_renew = {v.barcode for v in library.loans(HANAKO[0]) if v.renewable}
    loan = next(loan for loan in loans if loan.item.id in can_renew)
    silence = SilentAfter("29", everything=True)
    recording.intercept = silence
    with request_deadline(10.0), write_journal() as first, pytest.raises(OutcomeUnknown):
        await resilient.renew(patron, loan.item.id)
    silence.speak()
    with request_deadline(10.0), write_journal(first.pending.values()):
        result = await resilient.renew(patron, loan.item.id)
    assert result.ok and result.new_due_date is not None
    assert result.new_due_date > loan.due_date
    assert recording.counts["29"] == 1
    renewals = [v.renewals for v in library.loans(HANAKO[0]) if v.barcode == loan.item.id]
    assert renewals == [1]


async def test_cancel_carried_out_then_silent_is_a_cancel_on_retry(
    wire: tuple[RecordingACS, SIP2Server], resilient: ResilientBackend, library: SimulatedLibrary
) -> None:
    recording, _ = wire
    patron = await resilient.authenticate(*HANAKO)
    waiting = next(
        v for v in library.holds(HANAKO[0]) if v.state in library.rules.cancellable_states
    )
    hold_id = waiting.barcode or f"title:{waiting.biblio_id}"
    silence = SilentAfter("15", everything=True)
    recording.intercept = silence
    with request_deadline(10.0), write_journal() as first, pytest.raises(OutcomeUnknown):
        await resilient.cancel_hold(patron, hold_id)
    silence.speak()
    with request_deadline(10.0), write_journal(first.pending.values()):
        assert await resilient.cancel_hold(patron, hold_id) is CancelOutcome.CANCELLED
    assert recording.counts["15"] == 1
    closed = {v.hold_id: v for v in library.holds(HANAKO[0], include_closed=True)}
    assert closed[waiting.hold_id].state is HoldState.CANCELLED
