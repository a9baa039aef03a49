"""Idle pooled connections are checked with 99 before use, against an ACS that drops idle ones.

The ACS and the pool read one fake clock that the test moves; nothing sleeps. The ACS here
drops a connection (closes it without answering) when a frame arrives after more than its
stated timeout of silence — what a real ACS or a firewall does, minus the wait.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import SimulatedACS
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.fields import SipDate
from ils_gateway.sip2.messages import ItemInformationRequest, Message, RenewRequest
from ils_gateway.sip2.server import SIP2Server, SIP2Session

HANAKO, HANAKO_PW = "1000000001", "hanako01"
NOW = SipDate("20250602    100000")
ACS_TIMEOUT = 10.0  # seconds; the 98 says 100 tenths


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class DroppingACS:
    """The simulated ACS, closing any connection silent for longer than ``ACS_TIMEOUT``."""

    def __init__(self, library: SimulatedLibrary, clock: FakeClock, timeout_period: int) -> None:
        self.acs = SimulatedACS(library, timeout_period=timeout_period)
        self.clock = clock
        self.dropped = 0
        self.seen: Counter[str] = Counter()

    async def handle(self, message: Message, session: SIP2Session) -> Message:
        last = session.data.get("last", self.clock())
        if self.clock() - last > ACS_TIMEOUT:
            self.dropped += 1
            raise ConnectionAbortedError("idle too long")  # the server face closes, no answer
        session.data["last"] = self.clock()
        self.seen[message.code] += 1
        return await self.acs.handle(message, session)


@pytest.fixture
def library() -> SimulatedLibrary:
    return sample_library()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _rig(
    library: SimulatedLibrary, clock: FakeClock, *, timeout_period: int = 100, **settings: object
) -> tuple[DroppingACS, SIP2Server, SIP2ClientPool]:
    acs = DroppingACS(library, clock, timeout_period)
    server = SIP2Server(acs.handle)
    await server.start()
    values: dict[str, object] = {"host": "127.0.0.1", "port": server.port, "pool_size": 1}
    values.update(settings)
    pool = SIP2ClientPool(SIP2ClientSettings(**values), clock=clock)  # type: ignore[arg-type]
    await pool.start()
    return acs, server, pool


@pytest.fixture
async def rig(
    library: SimulatedLibrary, clock: FakeClock
) -> AsyncIterator[tuple[DroppingACS, SIP2Server, SIP2ClientPool]]:
    acs, server, pool = await _rig(library, clock)
    yield acs, server, pool
    await pool.aclose()
    await server.aclose()


def _renew(barcode: str) -> RenewRequest:
    return RenewRequest.build(
        transaction_date=NOW,
        institution_id="MIDORI",
        patron_identifier=HANAKO,
        patron_password=HANAKO_PW,
        item_identifier=barcode,
    )


def _item(barcode: str) -> ItemInformationRequest:
    return ItemInformationRequest.build(
        transaction_date=NOW, institution_id="MIDORI", item_identifier=barcode
    )


def _renewals(library: SimulatedLibrary, barcode: str) -> int:
    return next(v.renewals for v in library.loans(HANAKO) if v.barcode == barcode)


async def test_idle_limit_is_half_the_acs_timeout(
    rig: tuple[DroppingACS, SIP2Server, SIP2ClientPool],
) -> None:
    _, _, pool = rig
    assert pool.acs_status is not None and pool.acs_status.timeout_period == 100
    assert pool.idle_limit == ACS_TIMEOUT / 2


async def test_write_after_the_acs_dropped_the_idle_connection_goes_on_a_fresh_one(
    rig: tuple[DroppingACS, SIP2Server, SIP2ClientPool], library: SimulatedLibrary, clock: FakeClock
) -> None:
    acs, _, pool = rig
    barcode = next(v.barcode for v in library.loans(HANAKO) if v.renewable)
    before = _renewals(library, barcode)
    clock.now += ACS_TIMEOUT + 1  # the ACS has given up on our connection

    answer = await pool.request(_renew(barcode), idempotent=False)

    assert answer.code == "30" and answer.get("AB") == barcode
    assert acs.dropped == 1  # the 99 check, not the renewal, met the dead connection
    assert acs.seen["29"] == 1
    assert _renewals(library, barcode) == before + 1


async def test_a_recently_used_connection_is_not_checked(
    rig: tuple[DroppingACS, SIP2Server, SIP2ClientPool], clock: FakeClock
) -> None:
    acs, _, pool = rig
    checks = acs.seen["99"]
    clock.now += ACS_TIMEOUT / 2 - 1
    await pool.request(_item("2100000001"), idempotent=True)
    assert acs.seen["99"] == checks


async def test_keep_alive_checks_idle_connections_so_the_acs_keeps_them(
    rig: tuple[DroppingACS, SIP2Server, SIP2ClientPool], clock: FakeClock
) -> None:
    acs, server, pool = rig
    checks = acs.seen["99"]
    assert await pool.keep_alive() == 0  # nothing idle long enough yet
    assert acs.seen["99"] == checks
    for _ in range(3):  # 3 x 6 s: longer than the ACS's timeout in all, never silent that long
        clock.now += ACS_TIMEOUT / 2 + 1
        assert await pool.keep_alive() == 0
    assert acs.seen["99"] == checks + 3
    await pool.request(_item("2100000001"), idempotent=True)
    assert acs.dropped == 0 and server.connection_count == 1


async def test_keep_alive_closes_connections_the_acs_dropped(
    rig: tuple[DroppingACS, SIP2Server, SIP2ClientPool], clock: FakeClock
) -> None:
    acs, _, pool = rig
    clock.now += ACS_TIMEOUT + 1
    assert await pool.keep_alive() == 1
    assert pool.open_connections == 0
    answer = await pool.request(_item("2100000001"), idempotent=True)
    assert answer.code == "18" and acs.dropped == 1


async def test_no_check_when_the_acs_states_no_timeout(
    library: SimulatedLibrary, clock: FakeClock
) -> None:
    acs, server, pool = await _rig(library, clock, timeout_period=0)
    try:
        assert pool.idle_limit is None
        checks = acs.seen["99"]
        clock.now += 3600
        assert await pool.keep_alive() == 0
        assert acs.seen["99"] == checks
    finally:
        await pool.aclose()
        await server.aclose()


async def test_configured_probe_interval_wins_over_the_acs(
    library: SimulatedLibrary, clock: FakeClock
) -> None:
    acs, server, pool = await _rig(library, clock, timeout_period=0, idle_probe_after=2.0)
    try:
        assert pool.idle_limit == 2.0
        checks = acs.seen["99"]
        clock.now += 3
        await pool.request(_item("2100000001"), idempotent=True)
        assert acs.seen["99"] == checks + 1
    finally:
        await pool.aclose()
        await server.aclose()
