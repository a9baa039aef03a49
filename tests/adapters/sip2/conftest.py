"""Fixtures: the SIP2 simulator over real TCP on 127.0.0.1, and a Sip2Backend talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sip2_acs_recording import RecordingACS, backend_config

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.sip2.server import SIP2Server, SIP2ServerSettings


@pytest.fixture
def library() -> SimulatedLibrary:
    return sample_library()


@pytest.fixture
async def acs(library: SimulatedLibrary) -> AsyncIterator[tuple[RecordingACS, SIP2Server]]:
    recording = RecordingACS(library)
    server = SIP2Server(recording.handle, SIP2ServerSettings(login_required=True))
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
