"""The SIP2 pool inside an API request's deadline (issue 13): every wait is bounded by the time
left, and a read is tried again only while time is left.

Loop time is fast-forwarded (``looptime``): a silent ACS costs no real time, and the loop
clock says how long the pool waited. Before, a read against an ACS gone silent waited its
10 s exchange timeout twice (the pool's retry), whatever the caller's deadline.
"""

from __future__ import annotations

import asyncio

import pytest
from test_client import HANAKO, faulty, item_info, renew

from ils_gateway.deadline import request_deadline
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.sip2.client import ClientTimeouts, SIP2OutcomeUnknown, SIP2Timeout

pytestmark = pytest.mark.looptime

TIMEOUTS = ClientTimeouts(connect=5.0, request=10.0, pool=5.0)  # the defaults


@pytest.fixture
def library() -> SimulatedLibrary:
    return sample_library()


@pytest.fixture
def renewable(library: SimulatedLibrary) -> str:
    return next(loan.barcode for loan in library.loans(HANAKO) if loan.renewable)


async def test_a_read_against_a_silent_acs_ends_at_the_deadline(library: SimulatedLibrary) -> None:
    faults = {("17", 1): "silent", ("17", 2): "silent"}
    async with faulty(library, faults, timeouts=TIMEOUTS) as (acs, pool):
        loop = asyncio.get_running_loop()
        started = loop.time()
        with request_deadline(10.0), pytest.raises(SIP2Timeout):
            await pool.request(item_info("2100000001"), idempotent=True)
        assert loop.time() - started <= 10.0 + 0.05
        assert acs.seen["17"] == 1, "no retry: the deadline left no time for one"


async def test_a_read_is_retried_while_time_is_left(library: SimulatedLibrary) -> None:
    timeouts = ClientTimeouts(connect=5.0, request=3.0, pool=5.0)
    async with faulty(library, {("17", 1): "silent"}, timeouts=timeouts) as (acs, pool):
        with request_deadline(10.0):
            answer = await pool.request(item_info("2100000001"), idempotent=True)
    assert answer.code == "18" and acs.seen["17"] == 2


async def test_a_write_waits_no_longer_than_the_deadline(
    library: SimulatedLibrary, renewable: str
) -> None:
    async with faulty(library, {("29", 1): "silent"}, timeouts=TIMEOUTS) as (acs, pool):
        loop = asyncio.get_running_loop()
        started = loop.time()
        with request_deadline(4.0), pytest.raises(SIP2OutcomeUnknown):
            await pool.request(renew(renewable), idempotent=False)
        assert loop.time() - started <= 4.0 + 0.05
    assert acs.seen["29"] == 1
