"""A password reset ends every session of the patron, on every channel, in both session
stores (memory; Redis, with the patron's keyed index) — and no one else's (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import SessionExpired
from ils_gateway.domain.vocab import Channel
from ils_gateway.sealing import SealedState
from ils_gateway.state.sessions import MemorySessionStore, RedisSessionStore, SessionStore

SEALED = SealedState(b"account-sessions-secret-0123456789")


@pytest.fixture(params=["memory", "redis"])
def sessions(request: pytest.FixtureRequest) -> SessionStore:
    clock = ManualClock(datetime(2025, 6, 2, tzinfo=UTC))
    if request.param == "memory":
        return MemorySessionStore(clock=clock)
    return RedisSessionStore(
        request.getfixturevalue("redis_client"),
        sealed=SEALED,
        prefix=request.getfixturevalue("redis_prefix"),
        clock=clock,
    )


async def _open(store: SessionStore, tenant: str, patron: str, channel: Channel) -> str:
    new = await store.create(
        tenant_id=tenant,
        patron_id=patron,
        masked_card="****0001",
        channel=channel,
        idle_timeout=timedelta(minutes=30),
    )
    return new.token


async def test_end_patron_ends_that_patrons_sessions_only(sessions: SessionStore) -> None:
    web = await _open(sessions, "a", "p1", Channel.WEB)
    kiosk = await _open(sessions, "a", "p1", Channel.KIOSK)
    other = await _open(sessions, "a", "p2", Channel.WEB)
    elsewhere = await _open(sessions, "b", "p1", Channel.WEB)  # same id at another library
    assert await sessions.end_patron("a", "p1") == 2
    for token in (web, kiosk):
        with pytest.raises(SessionExpired):
            await sessions.get(token)
    assert (await sessions.get(other)).patron_id == "p2"
    assert (await sessions.get(elsewhere)).tenant_id == "b"
    assert await sessions.end_patron("a", "p1") == 0
