"""Fixtures: the SIP2 simulator over real TCP on 127.0.0.1, and a Sip2Backend talking to it.

Every adapter test runs twice: against the simulator as the spec reads, and with every
real-server quirk on (``Sip2Quirks.all()``: padded lists, real field order, CRLF, misleading
98 flags, legacy title bytes, strict required fields, 37 dropped, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sip2_acs_recording import RecordingACS, backend_config

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import Sip2Quirks, server_settings
from ils_gateway.sip2.server import SIP2Server


@pytest.fixture
def library() -> SimulatedLibrary:
    return sample_library()


@pytest.fixture(params=["plain", "quirks"])
def quirks(request: pytest.FixtureRequest) -> Sip2Quirks:
    return Sip2Quirks.all() if request.param == "quirks" else Sip2Quirks()


@pytest.fixture
async def acs(
    library: SimulatedLibrary, quirks: Sip2Quirks
) -> AsyncIterator[tuple[RecordingACS, SIP2Server]]:
    recording = RecordingACS(library, quirks)
    server = SIP2Server(recording.handle, server_settings(recording.acs))
    await server.start()
    yield recording, server
    await server.aclose()


@pytest.fixture
async def backend(
    acs: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary
) -> AsyncIterator[Sip2Backend]:
    _, server = acs
    adapter = Sip2Backend(backend_config(server.port), today=library.today)
    await adapter.start()
    yield adapter
    await adapter.close()
