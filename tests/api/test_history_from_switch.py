"""Issue 16: reading history records only loans from the moment it is switched on.

Through the HTTP API with each backend kind's simulator, the gateway and the library on one
``ManualClock``: loans out at the switch are never recorded (SIP2 gives no loan date, and a
loan made earlier on the day of the switch has the same date as one made after it); a loan
made after the switch is; a copy out at the switch, returned and borrowed again, is recorded
as the new loan it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from loan_sites import BACKENDS, BASE, login, serving

from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams

CARD, PASSWORD = "1000000001", "hanako01"
H = f"{BASE}/reading-history"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SAMPLE_NOW)


@pytest.fixture
def library(clock: ManualClock) -> SimulatedLibrary:
    return sample_library(clock=clock)


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


def _free_copy(library: SimulatedLibrary, skip: frozenset[str] = frozenset()) -> str:
    for biblio in library.biblios():
        for info in library.items_of(biblio.id):
            if (
                info.status == "available"
                and info.holdable
                and not info.hold_queue_length
                and info.barcode not in skip
            ):
                return info.barcode
    raise AssertionError("no free copy in the sample library")


async def _history(client: Any, auth: dict[str, str]) -> list[str]:
    page = await (await client.get(H, headers=auth)).json()
    return sorted(e["title"] for e in page["entries"])


@pytest.mark.parametrize("kind", BACKENDS)
async def test_history_starts_at_the_switch(
    aiohttp_client,
    kind: str,
    library: SimulatedLibrary,
    clock: ManualClock,
    stack,
    tmp_path: Path,
) -> None:
    secret = b"history-switch-secret-0123456789"
    store = StoreSettings(default_url(tmp_path / "gw.sqlite3"), secret, KdfParams.minimal())
    client = await serving(aiohttp_client, kind, library, clock, stack, store=store)
    earlier_today = _free_copy(library)
    library.checkout(CARD, earlier_today)  # the morning of the switch, before it
    out_at_switch = {v.title for v in library.loans(CARD)}
    assert len(out_at_switch) >= 3
    clock.advance(hours=2)
    auth = await login(client, CARD, PASSWORD)
    enabled = await client.post(f"{H}/enable", json={"password": PASSWORD}, headers=auth)
    assert enabled.status == 200, await enabled.text()
    assert (await client.get(f"{BASE}/loans", headers=auth)).status == 200
    assert await _history(client, auth) == []

    clock.advance(hours=1)  # later the same day: a new loan, and the morning's copy again
    library.checkin(earlier_today)
    clock.advance(minutes=5)
    await client.get(f"{BASE}/loans", headers=auth)  # seen returned
    after = _free_copy(library, frozenset({earlier_today}))
    library.checkout(CARD, after)
    library.checkout(CARD, earlier_today)
    clock.advance(minutes=5)  # past the read cache
    await client.get(f"{BASE}/loans", headers=auth)
    titles = {v.barcode: v.title for v in library.loans(CARD)}
    assert await _history(client, auth) == sorted([titles[after], titles[earlier_today]])

    clock.advance(days=1)  # the periodic job or another look: still nothing from before
    auth = await login(client, CARD, PASSWORD)
    await client.get(f"{BASE}/loans", headers=auth)
    assert await _history(client, auth) == sorted([titles[after], titles[earlier_today]])
