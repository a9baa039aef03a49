"""A placed hold is read back from the hold list to learn the id cancel and change take. A
title-level hold with no copy is listed by its title only; when two held records share the
title the list cannot say which is the new one, and the adapter must not guess: the id it
returns for the new hold must never name the older hold (a cancel would hit the wrong one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from sip2_acs_recording import RecordingACS, backend_config

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.records import Biblio, Item, ItemStatus
from ils_gateway.simulators.sample_data import SAMPLE_NOW, build_sample_data
from ils_gateway.simulators.sip2_acs import server_settings
from ils_gateway.sip2.server import SIP2Server

HANAKO = ("1000000001", "hanako01")
FIRST, SECOND = "2199999900", "2199999901"  # one on-order copy of each edition


@pytest.fixture
def library() -> SimulatedLibrary:
    data = build_sample_data()
    data = dataclasses.replace(
        data,
        biblios=[
            *data.biblios,
            Biblio(900, "同じ名の本", "著者", ItemType.BOOK),
            Biblio(901, "同じ名の本", "著者", ItemType.BOOK),
        ],
        items=[
            *data.items,
            Item(9900, FIRST, 900, "CEN", "CEN", "913/オ", ItemStatus.ON_ORDER),
            Item(9901, SECOND, 901, "CEN", "CEN", "913/オ", ItemStatus.ON_ORDER),
        ],
    )
    return SimulatedLibrary(data, ManualClock(SAMPLE_NOW))


@pytest.fixture(params=["record_id_title", "title"])
async def backend(
    request: pytest.FixtureRequest, library: SimulatedLibrary
) -> AsyncIterator[Sip2Backend]:
    recording = RecordingACS(library)
    recording.acs.title_hold_entries = request.param
    server = SIP2Server(recording.handle, server_settings(recording.acs))
    await server.start()
    adapter = Sip2Backend(
        backend_config(server.port, title_hold_entries=request.param), today=library.today
    )
    await adapter.start()
    yield adapter
    await adapter.close()
    await server.aclose()


async def test_a_new_hold_sharing_a_title_is_not_given_the_older_holds_id(
    backend: Sip2Backend, library: SimulatedLibrary
) -> None:
    patron = await backend.authenticate(*HANAKO)
    older = await backend.place_hold(patron, FIRST, "CEN")
    newer = await backend.place_hold(patron, SECOND, "CEN")
    assert newer.id != older.id

    await backend.cancel_hold(patron, newer.id)

    open_records = {h.biblio_id for h in library.holds(HANAKO[0])}
    assert 900 in open_records and 901 not in open_records
